"""The engine: ``Value``, applying a rule, topological order, the backward sweep.

Nothing here knows what any particular op means; every op is a :class:`~.ops.Rule` in the
table in ``ops.py``. A node keeps its inputs in order (``x * x`` has two edges to ``x``);
inputs that are not ``Value`` s are constants and get no gradient. Nodes hold
no closures and no back-references, so a graph is freed by reference counting.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from . import ops
from .ops import Factor, Rule
from .shapes import as_data, fit, shape_of, summary

_new = object.__new__


def _arithmetic(rule: Rule, name: str) -> tuple[Callable, Callable]:
    """``Value.__op__`` and ``__rop__`` for an operator's rule (two inputs, no parameters).

    The hot path of scalar code, so a node with float inputs is built right here, with its
    output and factor values: constant factors (add, sub), factors that are the other
    input's value (mul), or else the rule's scalar form. A float output of a rule without
    a scalar form (matmul) cannot happen: its forward raises for floats.
    """
    forward, consts, picks, scalar = rule.forward, rule.consts, rule.picks, rule.scalar
    cx, cy = consts if consts is not None else (None, None)
    x_is_y, y_is_y = (picks[0] == 1, picks[1] == 1) if picks is not None else (False, False)
    what = f"an input of {rule.name}"

    def op(self: Value, other: Any) -> Value:
        x = self.data
        if type(other) is Value:
            y = other.data
        else:
            other = y = other if type(other) is float else as_data(other, what)  # a constant
        if type(x) is not float or type(y) is not float:
            return _make(rule, (self, other), (x, y), None)
        node = _new(Value)
        if consts is not None:
            node.data = forward(x, y)
            node._dx = cx
            node._dy = cy
        elif picks is not None:
            node.data = forward(x, y)
            node._dx = y if x_is_y else x
            node._dy = y if y_is_y else x
        else:
            node.data, (node._dx, node._dy) = scalar(x, y)
        node._grad = None
        node._op = rule
        node._ctx = None
        node._x = self
        node._y = other
        node._n = 0
        node.label = ""
        return node

    def rop(self: Value, other: Any) -> Value:  # other ⊙ self, other a constant
        x = other if type(other) is float else as_data(other, what)
        y = self.data
        if type(x) is float and type(y) is float:
            return _build(rule, (x, self), None)
        return _make(rule, (x, self), (x, y), None)

    op.__name__, rop.__name__ = name, name.replace("__", "__r", 1)
    op.__qualname__, rop.__qualname__ = f"Value.{op.__name__}", f"Value.{rop.__name__}"
    return op, rop


class Value:
    """A node of the graph: a scalar (``data`` is a Python float) or a tensor (an ndarray).

    >>> from autograd_lite import Value
    >>> w, x, b = Value(2.0, "w"), Value(3.0, "x"), Value(-1.0, "b")
    >>> L = (w * x + b).relu()
    >>> L.backward()
    >>> L.data, w.grad, x.grad, b.grad
    (5.0, 3.0, 2.0, 1.0)
    """

    # The inputs are kept in order, duplicates included (x * x has two edges to x): _x is the
    # first, _y the second (None for a leaf or a one-input op); an op of three or more
    # inputs keeps them all as a tuple in _x (parents gives the tuple in every case). Two
    # slots instead of a tuple make a scalar node one object: the cyclic collector, which
    # counts objects, runs less often. _dx, _dy: for a scalar node (float inputs and output)
    # of one or two inputs, its factor values, computed by the rule when the node is built
    # (the scalar fast path); None otherwise. _n: 0, except during a backward sweep, where it
    # counts the edges into the node not yet passed, and _cot holds its cotangent dL/dnode
    # (unset outside a sweep).
    __slots__ = ("data", "_grad", "_op", "_ctx", "_x", "_y", "_dx", "_dy", "_n", "_cot",
                 "label")
    __array_ufunc__ = None  # ndarray + Value and ndarray @ Value call our reflected operators

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("Value cannot be subclassed (the engine tests `type(v) is Value`); "
                        "wrap a Value in your own class instead")

    def __init__(self, data: Any, label: str = "") -> None:
        if isinstance(data, Value):
            raise TypeError("Value() takes a number or an array; to copy a Value's data use "
                            "Value(v.data)")
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        d = as_data(data)
        self.data = d if type(d) is float else np.array(d)  # leaves own their array
        self._grad = None
        self._op: Rule | None = None
        self._ctx: dict | None = None
        self._x = self._y = self._dx = self._dy = None
        self._n = 0
        self.label = label

    # --- what a node is -----------------------------------------------------------------------

    @property
    def grad(self) -> Any:
        """dL/dself, same shape and dtype as ``data``; zero before any backward.

        A leaf's ``.grad`` is an array of its own, safe to change in place. An intermediate
        node's may be the very array another node was passed, where the chain rule passes
        it on unchanged (through ``+`` or ``reshape``): treat those as read-only.
        """
        g = self._grad
        if g is None:
            g = self._grad = 0.0 if type(self.data) is float else np.zeros_like(self.data)
        return g

    @grad.setter
    def grad(self, g: Any) -> None:
        self._grad = None if g is None else _check_seed(g, self, "grad")

    @property
    def shape(self) -> tuple[int, ...]:
        return shape_of(self.data)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float64) if type(self.data) is float else self.data.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def op(self) -> str:
        """The name of the rule that made this node ('' for a leaf)."""
        return "" if self._op is None else self._op.name

    @property
    def parents(self) -> tuple:
        """The inputs of this node, in order (constants as plain data)."""
        x = self._x
        if x is None:
            return ()
        if type(x) is tuple:
            return x
        y = self._y
        return (x,) if y is None else (x, y)

    @property
    def _local(self) -> tuple | None:
        """The factor values of a scalar node of one or two inputs, else None."""
        if self._dx is None:
            return None
        return (self._dx,) if self._y is None else (self._dx, self._dy)

    @property
    def params(self) -> dict:
        """The parameters recorded when the op was built (e.g. the ReLU subgradient, kinks)."""
        return dict(self._ctx or {})

    def item(self) -> float:
        if type(self.data) is float:
            return self.data
        if self.data.size != 1:
            raise ValueError(f"item() needs a one-element Value, this one has shape {self.shape}")
        return float(self.data.reshape(-1)[0])

    def __float__(self) -> float:
        return self.item()

    def zero_grad(self) -> None:
        """Reset ``grad`` to zero."""
        self._grad = None

    def __repr__(self) -> str:
        name = f", label={self.label!r}" if self.label else ""
        op = f", op={self.op!r}" if self._op is not None else ""
        if type(self.data) is float:
            return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{name}{op})"
        return (f"Value(shape={self.shape}, dtype={self.dtype}, data={summary(self.data)}"
                f"{name}{op})")

    # --- recorded ops -----------------------------------------------------------------------

    __add__, __radd__ = _arithmetic(ops.ADD, "__add__")
    __sub__, __rsub__ = _arithmetic(ops.SUB, "__sub__")
    __mul__, __rmul__ = _arithmetic(ops.MUL, "__mul__")
    __truediv__, __rtruediv__ = _arithmetic(ops.DIV, "__truediv__")
    __matmul__, __rmatmul__ = _arithmetic(ops.MATMUL, "__matmul__")
    def __neg__(self) -> Value: return _build(ops.NEG, (self,), None)
    def __pos__(self) -> Value: return self
    def __abs__(self) -> Value: return self.abs()

    def __pow__(self, p: float) -> Value:
        if isinstance(p, Value):
            raise TypeError("the exponent of ** must be a number, not a Value; "
                            "for x ** y with a Value y write (y * x.log()).exp()")
        return apply(ops.POW, self, p=p)

    def __rpow__(self, base: Any) -> Value:
        raise TypeError("c ** Value is not an op here; write (Value * log(c)).exp()")

    def relu(self, subgradient: float | None = None) -> Value:
        """max(x, 0); relu'(0) is ``subgradient`` if given, else :func:`get_relu_subgradient`."""
        return _unary(ops.RELU, self, ops.RELU.prepare(subgradient))  # type: ignore[misc]

    def leaky_relu(self, slope: float = 0.01, subgradient: float | None = None) -> Value:
        """x if x > 0 else slope·x; the derivative at 0 defaults to ``slope``."""
        return apply(ops.LEAKY_RELU, self, slope=slope, subgradient=subgradient)

    def abs(self, subgradient: float | None = None) -> Value:
        """|x|; abs'(0) defaults to 0."""
        return apply(ops.ABS, self, subgradient=subgradient)

    def tanh(self) -> Value: return _unary(ops.TANH, self, None)
    def sigmoid(self) -> Value: return _unary(ops.SIGMOID, self, None)
    def exp(self) -> Value: return _unary(ops.EXP, self, None)
    def log(self) -> Value: return _unary(ops.LOG, self, None)

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Value:
        return _unary(ops.SUM, self, ops.SUM.prepare(axis, keepdims))  # type: ignore[misc]

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Value:
        return _unary(ops.MEAN, self, ops.MEAN.prepare(axis, keepdims))  # type: ignore[misc]

    def reshape(self, *shape: Any) -> Value:
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = tuple(shape[0])
        return apply(ops.RESHAPE, self, shape=shape)

    def transpose(self, *axes: Any) -> Value:
        if len(axes) == 1 and isinstance(axes[0], tuple | list):
            axes = tuple(axes[0])
        return apply(ops.TRANSPOSE, self, axes=axes or None)

    @property
    def T(self) -> Value:  # noqa: N802 -- NumPy's name
        return self.transpose()

    def __getitem__(self, index: Any) -> Value:
        parts = index if isinstance(index, tuple) else (index,)
        if any(isinstance(p, Value) for p in parts):
            raise TypeError("a Value cannot be used as an index; use an int or integer array")
        return apply(ops.GETITEM, self, index=index)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a scalar (0-d) Value")
        return self.shape[0]

    def __iter__(self) -> Iterator[Value]:
        return (self[i] for i in range(len(self)))

    # --- backward -----------------------------------------------------------------------------

    def backward(self, grad: Any = None) -> None:
        """Add dself/dnode to ``.grad`` of every node this Value depends on.

        A one-element root is seeded with 1; any other root needs ``grad`` of its shape.
        Each node's ``.grad`` changes once, when its dself/dnode is complete; if backward
        fails, every ``.grad`` is left as it was.
        """
        if grad is None:
            d = self.data
            if type(d) is float:
                seed = 1.0
            elif d.size == 1:
                seed = np.empty_like(d)  # np.ones_like, without its wrappers
                seed.fill(1)
            else:
                raise ValueError(
                    f"backward() on a Value of shape {self.shape} needs grad= of that shape "
                    "(or reduce it first, e.g. L.sum() or L.mean())"
                )
        else:
            seed = _check_seed(grad, self, "backward(grad)")
        _backward(self, seed)


def _check_seed(g: Any, like: Value, what: str) -> Any:
    d = as_data(g, what)
    if shape_of(d) != like.shape:
        raise ValueError(f"{what} must have shape {like.shape}, got {shape_of(d)}")
    if type(like.data) is float:
        return float(d)
    return np.array(d, dtype=like.data.dtype)  # a private copy


def apply(rule: Rule, *args: Any, **params: Any) -> Value:
    """Build the node ``rule(*args)``: run the forward, record inputs, parameters and kinks."""
    if rule.prepare is not None:
        ctx = rule.prepare(**params)
    elif params:
        raise TypeError(f"{rule.name} takes no parameters, got {sorted(params)}")
    else:
        ctx = None
    return _build(rule, args, ctx)


def _build(rule: Rule, args: tuple, ctx: dict | None) -> Value:
    n = len(args)
    if n != len(rule.factors):
        raise TypeError(f"{rule.name} takes {len(rule.factors)} input(s), got {n}")
    if n == 1:  # activations, reductions, shape ops
        a = args[0]
        if type(a) is Value:
            x = a.data
        else:
            a = x = as_data(a, f"the input of {rule.name}")  # a constant
        prev, xs, scalar = (a,), (x,), type(x) is float
    else:
        prev, xs, scalar = [], [], True
        for a in args:
            if type(a) is Value:
                x = a.data
            else:
                a = x = as_data(a, f"an input of {rule.name}")
            if type(x) is not float:
                scalar = False
            prev.append(a)
            xs.append(x)
        prev, xs = tuple(prev), tuple(xs)
    if not (scalar and n <= 2 and (rule.scalar is not None or rule.consts is not None)):
        return _make(rule, prev, xs, ctx, scalar)
    if ctx is None:  # the scalar fast path
        out, local = rule.scalar(*xs) if rule.consts is None else (rule.forward(*xs), rule.consts)
    else:
        out, local = rule.scalar(*xs, ctx)
        if rule.kink is not None:
            ctx["kinks"] = rule.kink(*xs, ctx)
    return _node(out, local, prev, rule, ctx)


def _unary(rule: Rule, a: Value, ctx: dict | None) -> Value:
    """``rule(a)`` for a Value ``a``: a scalar node straight from the rule's scalar form (the
    activations of a scalar network), anything else by :func:`_build`."""
    x, scalar = a.data, rule.scalar
    if type(x) is not float:
        return _make(rule, (a,), (x,), ctx)
    if scalar is None:
        return _build(rule, (a,), ctx)
    if ctx is None:
        return _node(*scalar(x), (a,), rule, None)
    out, local = scalar(x, ctx)
    if rule.kink is not None:
        ctx["kinks"] = rule.kink(x, ctx)
    return _node(out, local, (a,), rule, ctx)


def _make(rule: Rule, prev: tuple, xs: tuple, ctx: dict | None, scalar: bool = False) -> Value:
    """The node for any inputs: tensors, and float inputs of rules without a scalar form."""
    out = rule.forward(*xs) if ctx is None else rule.forward(*xs, ctx)
    if ctx is not None and rule.kink is not None:
        ctx["kinks"] = rule.kink(*xs, ctx)
    if scalar and np.ndim(out) == 0:
        out = float(out)
        local = None if len(xs) > 2 else rule.scalar_factors(
            (*xs, out) if ctx is None else (*xs, out, ctx), [type(p) is Value for p in prev])
        return _node(out, local, prev, rule, ctx)
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if len(prev) > 2:
        return _node(out, None, prev, rule, ctx)
    node = _new(Value)  # _node's work for a tensor of one or two inputs, written out
    node.data = out
    node._grad = node._dx = node._dy = None
    node._op = rule
    node._ctx = ctx
    node._x = prev[0]
    node._y = prev[1] if len(prev) == 2 else None
    node._n = 0
    node.label = ""
    return node


def _node(out: Any, local: tuple | None, prev: tuple, rule: Rule, ctx: dict | None) -> Value:
    node = _new(Value)
    node.data = out
    node._grad = None
    node._op = rule
    node._ctx = ctx
    if len(prev) > 2:  # local is None: factors are computed by backward
        node._x, node._y = prev, None
    else:
        node._x = prev[0]
        node._y = prev[1] if len(prev) == 2 else None
    if local is None:
        node._dx = node._dy = None
    else:
        node._dx = local[0]
        node._dy = local[1] if len(local) == 2 else None
    node._n = 0
    node.label = ""
    return node


def local_args(node: Value) -> tuple:
    """What the node's factor functions take: the inputs' data, the output, [the ctx]."""
    x, y, out, ctx = node._x, node._y, node.data, node._ctx
    if type(x) is Value:
        x = x.data
    elif type(x) is tuple:  # three inputs or more
        xs = [p.data if type(p) is Value else p for p in x]
        return (*xs, out) if ctx is None else (*xs, out, ctx)
    if y is None:  # one input
        return (x, out) if ctx is None else (x, out, ctx)
    if type(y) is Value:
        y = y.data
    return (x, y, out) if ctx is None else (x, y, out, ctx)


def toposort(root: Value) -> list[Value]:
    """Every Value ``root`` depends on, each before its inputs (root first); iterative.

    Kahn's order, as the backward sweep goes: a node comes once every node that uses it
    has come. Read backwards it is the order of the formula: the first input's part first.
    """
    uses = {root: 0}
    nodes = [root]
    for node in nodes:  # grows as it goes: every node is visited once
        for p in node.parents:
            if type(p) is Value:
                if p in uses:
                    uses[p] += 1
                else:
                    uses[p] = 1
                    nodes.append(p)
    order, stack = [], [root]
    while True:  # not `while stack:`, see _reach
        if not stack:
            break
        node = stack.pop()
        order.append(node)
        for p in node.parents:
            if type(p) is Value:
                uses[p] -= 1
                if not uses[p]:
                    stack.append(p)
    return order


_sweeping = threading.RLock()  # one sweep at a time: it uses the nodes' _n and _cot slots
_running: list = []  # while a sweep runs: its root and the additions other sweeps owe its nodes


def _backward(root: Value, seed: Any) -> None:
    # The cotangents live in the nodes' _cot slots while the sweep runs (reading and adding
    # on the node itself is what makes the sweep fast); a node's .grad gets its dL/dnode
    # added once that is final, when the sweep passes it on. If the sweep fails, every node
    # gets back the .grad it had (`kept`). `start` is this sweep's "no cotangent yet":
    # −0.0, since −0.0 + g is g bit for bit, and a fresh object.
    with _sweeping:
        if _running:  # backward called by a custom op's backward: a sweep of its own
            return _backward_inside(root, seed)
        start = float("-0.0")
        kept: dict = {}
        owed: dict = {}
        _running.append((root, owed))
        try:
            if root._grad is not None:
                kept[root] = root._grad
            root._cot = seed
            _reach(root, start, kept)
            _sweep(root, start)
        except BaseException:
            for node in toposort(root):
                node._grad = kept.get(node)
                node._cot = None
                node._n = 0
            raise
        finally:
            _running.clear()
            for node, g in owed.items():
                if node._grad is not None:
                    node._grad = node._grad + g
                else:
                    node._grad = g if type(g) is float else _own(g, set())


def _reach(root: Value, start: float, kept: dict) -> None:
    """Set the cotangent of every Value that ``root`` depends on to ``start``; count in
    ``_n`` the edges into each from the nodes reached; keep the old .grad.

    The first and second input are written out rather than looped over: a loop over a
    tuple made W1's reach a third slower."""
    stack = [root]
    pop, push = stack.pop, stack.append
    # `while True` and a break, not `while stack:`: CPython 3.11 specializes a function's
    # bytecode after 8 calls or 8 unconditional backward jumps, and `while stack:` ends in a
    # conditional one, which left the first backward calls of a process twice as slow.
    while True:  # depth first: one part of the graph after another, for the memory caches
        if not stack:
            break
        node = pop()
        p = node._x
        if type(p) is not Value:
            if type(p) is tuple:  # three inputs or more
                _reach_many(p, start, kept, push)
        elif p._n:
            p._n += 1
        else:
            p._n = 1
            if p._grad is not None:
                kept[p] = p._grad
            p._cot = start
            push(p)
        p = node._y
        if type(p) is Value:
            if p._n:
                p._n += 1
            else:
                p._n = 1
                if p._grad is not None:
                    kept[p] = p._grad
                p._cot = start
                push(p)


def _reach_many(inputs: tuple, start: float, kept: dict, push: Callable) -> None:
    for p in inputs:
        if type(p) is Value:
            if p._n:
                p._n += 1
            else:
                p._n = 1
                if p._grad is not None:
                    kept[p] = p._grad
                p._cot = start
                push(p)


def _sweep(root: Value, start: float) -> None:
    """Pass each cotangent to the node's inputs once it is final: when every node that uses
    the node has passed its part (Kahn's order: ``_n`` counts down to 0); then add it to
    the node's .grad."""
    handed: set[int] = set()  # arrays passed on unchanged (held by two nodes), leaves' arrays
    stack = [root]
    pop, push = stack.pop, stack.append
    while True:  # not `while stack:`, see _reach
        if not stack:
            break
        node = pop()
        g = node._cot  # a float left in _cot is harmless: reach sets it before it is read
        dx = node._dx
        if dx is not None:  # scalar node: its factor values were stored when it was built
            a = node._x
            if type(a) is Value:
                a._cot += g * dx
                n = a._n - 1
                a._n = n
                if not n:
                    push(a)
            b = node._y
            if type(b) is Value:
                b._cot += g * node._dy
                n = b._n - 1
                b._n = n
                if not n:
                    push(b)
        else:
            node._cot = None  # an array is not kept twice
            rule = node._op
            if rule is None:  # a leaf owns its .grad: the user may change it in place
                if type(g) is not float:  # _own(g, handed), written out
                    if g.base is not None or id(g) in handed:
                        g = g.copy()
                    handed.add(id(g))
            elif type(node._x) is tuple:  # three inputs or more
                _pass_many(node, g, start, handed, push)
            else:  # the inputs written out, as in _reach (see _pass_many for the loop)
                a, b, ctx = node._x, node._y, node._ctx
                xa = a.data if type(a) is Value else a
                if b is None:
                    args = (xa, node.data) if ctx is None else (xa, node.data, ctx)
                else:
                    xb = b.data if type(b) is Value else b
                    args = (xa, xb, node.data) if ctx is None else (xa, xb, node.data, ctx)
                if type(a) is Value:
                    gp = rule.chains[0](g, args)
                    if (type(gp) is not np.ndarray or type(xa) is float
                            or gp.shape != xa.shape or gp.dtype != xa.dtype):
                        gp = fit(gp, xa)  # un-broadcast, or a dtype or kind to match
                    if gp is g:  # passed on as it is: the node's .grad and a's share it
                        handed.add(id(g))
                    old = a._cot
                    a._cot = gp if old is start else old + gp
                    n = a._n - 1
                    a._n = n
                    if not n:
                        push(a)
                if type(b) is Value:
                    gp = rule.chains[1](g, args)
                    if (type(gp) is not np.ndarray or type(xb) is float
                            or gp.shape != xb.shape or gp.dtype != xb.dtype):
                        gp = fit(gp, xb)
                    if gp is g:
                        handed.add(id(g))
                    old = b._cot
                    b._cot = gp if old is start else old + gp
                    n = b._n - 1
                    b._n = n
                    if not n:
                        push(b)
        old = node._grad
        node._grad = g if old is None else old + g


def _pass_many(node: Value, g: Any, start: float, handed: set, push: Callable) -> None:
    """The tensor branch of :func:`_sweep` for a node of three inputs or more."""
    args = local_args(node)
    for p, chain in zip(node._x, node._op.chains):
        if type(p) is Value:
            d = p.data
            gp = fit(chain(g, args), d)
            if gp is g:
                handed.add(id(g))
            old = p._cot
            p._cot = gp if old is start else old + gp
            n = p._n - 1
            p._n = n
            if not n:
                push(p)


def _own(g: np.ndarray, handed: set) -> np.ndarray:
    """``g`` as an array a node's .grad may keep: not a view, not given to another node."""
    if g.base is not None or id(g) in handed:
        g = g.copy()
    handed.add(id(g))
    return g


def _backward_inside(root: Value, seed: Any) -> None:
    """A sweep that starts while another runs: cotangents in a dict of its own. Nodes of the
    running sweep are owed their part, added when it ends; the others get it now."""
    cot = {root: seed}
    for node in toposort(root):
        g = cot[node]
        if node._op is None:
            continue
        local = node._local
        args = local_args(node) if local is None else None
        for i, p in enumerate(node.parents):
            if type(p) is Value:
                gp = g * local[i] if args is None else fit(node._op.factors[i].chain(g, args),
                                                          p.data)
                old = cot.get(p)
                cot[p] = gp if old is None else old + gp
    outer, owed = _running[0]
    running, handed = set(toposort(outer)), set()
    for node, g in cot.items():
        if node in running:
            owed[node] = g if node not in owed else owed[node] + g
        else:
            g = g if type(g) is float else _own(g, handed)
            node._grad = g if node._grad is None else node._grad + g


# --- the same ops as functions --------------------------------------------------------------

def relu(x: Any, subgradient: float | None = None) -> Value:
    """max(x, 0) with relu'(0) = ``subgradient`` (default: :func:`get_relu_subgradient`, 0).

    ReLU is not differentiable at 0; any s in its Clarke subdifferential [0, 1] is a valid
    choice. 0 is the PyTorch, TensorFlow and JAX convention; see Bertoin et al., "Numerical
    influence of ReLU'(0) on backpropagation", NeurIPS 2021. The choice is recorded on the
    node and backward multiplies the upstream gradient by it.

    >>> import autograd_lite as ag
    >>> x = ag.Value(0.0)
    >>> y = ag.relu(x, subgradient=0.5); y.backward(); x.grad
    0.5
    """
    return apply(ops.RELU, x, subgradient=subgradient)


def leaky_relu(x: Any, slope: float = 0.01, subgradient: float | None = None) -> Value:
    """x for x > 0, ``slope``·x otherwise; the derivative at 0 defaults to ``slope``."""
    return apply(ops.LEAKY_RELU, x, slope=slope, subgradient=subgradient)


def abs(x: Any, subgradient: float | None = None) -> Value:  # noqa: A001 -- ag.abs
    """|x|; abs'(0) = ``subgradient`` in [−1, 1], default 0 (PyTorch's choice)."""
    return apply(ops.ABS, x, subgradient=subgradient)


def tanh(x: Any) -> Value:
    return apply(ops.TANH, x)


def sigmoid(x: Any) -> Value:
    return apply(ops.SIGMOID, x)


def exp(x: Any) -> Value:
    return apply(ops.EXP, x)


def log(x: Any) -> Value:
    return apply(ops.LOG, x)


def _as_output(out: Any, name: str) -> Any:
    """A custom forward's result as engine data (the engine makes 0-d results of floats floats)."""
    if out.__class__ is float:
        return out
    arr = np.asarray(out)
    if arr.dtype.kind in "iub":
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise TypeError(f"the forward of {name!r} must return numbers, got dtype {arr.dtype}")
    return arr


# --- custom ops -------------------------------------------------------------------------------

def custom_op(name: str, forward: Callable[..., Any],
              derivative: Callable | Sequence[Callable] | None = None, *,
              vjp: Callable | Sequence[Callable] | None = None,
              symbol: str | Sequence[str] | None = None) -> Callable[..., Value]:
    """Declare an op; it joins the table of rules like a built-in.

    ``forward(*inputs)`` computes the output from the inputs' data. Give, per input, either
    ``derivative`` -- the elementwise local derivative ``(*inputs, out) -> ∂out/∂input``,
    which backward multiplies the upstream gradient by -- or ``vjp`` --
    ``(g, *inputs, out) -> g·∂out/∂input``.
    ``symbol`` is how pictures write each factor. Backward, ``gradcheck``, ``draw``,
    ``explain`` and ``kinks`` treat the op as they treat built-ins.

    The seed question: a ReLU whose derivative is written from the output ``A`` instead of
    the input ``Z`` is "1 everywhere", and gradcheck says so.

    >>> import numpy as np, autograd_lite as ag
    >>> relu_z = ag.custom_op("relu_z", lambda z: np.maximum(z, 0),
    ...                       derivative=lambda z, a: 1.0 * (z > 0), symbol="1[z>0]")
    >>> relu_a = ag.custom_op("relu_a", lambda z: np.maximum(z, 0),
    ...                       derivative=lambda z, a: 1.0 * (a >= 0), symbol="1[A>=0]")
    >>> z = ag.Value(np.array([-1.5, -0.5, 0.5, 2.0]))
    >>> ag.gradcheck(lambda v: relu_z(v[0]).sum(), [z])
    True
    >>> ag.gradcheck(lambda v: relu_a(v[0]).sum(), [z])
    Traceback (most recent call last):
    ...
    autograd_lite.gradcheck.GradcheckError: input 0, element (0,): analytic 1, numeric 0 ...
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"an op name must be an identifier, got {name!r}")
    if not callable(forward):
        raise TypeError("forward must be a function of the inputs' data")
    if (derivative is None) == (vjp is None):
        raise TypeError("give exactly one of derivative= (elementwise) or vjp=")
    fns = derivative if derivative is not None else vjp
    fns = (fns,) if callable(fns) else tuple(fns)  # type: ignore[arg-type]
    if not fns or not all(callable(f) for f in fns):
        raise TypeError("derivative/vjp must be a function, or one function per input")
    default = [f"∂{name}/∂in{i}" if len(fns) > 1 else f"∂{name}/∂in" for i in range(len(fns))]
    symbols = ((symbol,) if isinstance(symbol, str) else
               tuple(symbol) if symbol is not None else tuple(default))
    if len(symbols) != len(fns):
        raise ValueError(f"{len(fns)} derivative(s) but {len(symbols)} symbol(s)")
    key = "local" if derivative is not None else "vjp"
    factors = tuple(Factor(s, **{key: f}) for s, f in zip(symbols, fns))
    inputs = ", ".join("{" + "xyzuvw"[i] + "}" if i < 6 else "…" for i in range(len(fns)))
    rule = ops.register(Rule(name, f"{name}({inputs})", lambda *xs: _as_output(forward(*xs), name),
                             factors, custom=True), replace=True)

    def op(*inputs: Any) -> Value:
        return apply(rule, *inputs)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"The custom op {name!r} ({len(fns)} input(s))."
    op.rule = rule  # type: ignore[attr-defined]
    return op
