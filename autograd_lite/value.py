"""The node of the graph, ``Value``, and ``apply``, the one builder of nodes.

A node keeps the rule that made it, its inputs in order (``x * x`` has two edges to ``x``; an
input that is not a Value is a constant and gets no gradient) and what backward needs from
the forward: a scalar node (float inputs and output) its factor values, any other node the
data its rule reads. Backward never reads a Value's data again, so changing it after the
forward changes no gradient of a graph already built (see ``Value.data``). Nodes hold no
closures and no back-references: a graph is freed by reference counting.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import backward as sweeps
from . import ops
from .ops import Rule
from .shapes import as_data, shape_of

_new = object.__new__
GRAD_ENABLED = contextvars.ContextVar("autograd_lite_grad_enabled", default=True)  # ag.no_grad


# A leaf's own copy of its array, once a graph holds the old one (see Value.data); kernels.py
# attaches a form that reuses an array a graph held and let go.
copy_leaf = np.ndarray.copy


class Value:
    """A node of the graph: a scalar (``data`` is a Python float) or a tensor (an ndarray).

    >>> from autograd_lite import Value
    >>> w, x, b = Value(2.0, "w"), Value(3.0, "x"), Value(-1.0, "b")
    >>> L = (w * x + b).relu()
    >>> L.backward()
    >>> L.data, w.grad, x.grad, b.grad
    (5.0, 3.0, 2.0, 1.0)
    """

    # _op, _ctx: the rule and its ctx (None for a leaf). A scalar node (at most two inputs,
    # all floats, a float output) keeps its inputs in _x and _y (_y None for one input) and
    # its local derivatives ∂out/∂x and ∂out/∂y, computed when it was built, in _dout_dx and
    # _dout_dy. Any other node keeps its inputs as a tuple in _x, and in _y what its rule reads
    # (its saved data): (*inputs' data, out[, ctx]); its _dout_dx is None, which is how backward
    # tells the two apart. A leaf's _y is True while a graph may hold its array. _grad: the
    # .grad (None: zero). _cot, _pending: the fast sweep's cotangent and count of edges to come.
    # (One slot serves as _y and saved data: a twelfth slot made W1 with gc on 3-4 % slower.)
    __slots__ = ("_data", "_grad", "_op", "_ctx", "_x", "_y", "_dout_dx", "_dout_dy", "_pending",
                 "_cot", "label")
    __array_ufunc__ = None  # ndarray + Value calls our reflected operators; numpy_api.py puts
    # NumPy's protocols here (__array_ufunc__, __array_function__, __array__): np.exp(v) is a Value

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("Value cannot be subclassed (the engine tests `type(v) is Value`); "
                        "wrap a Value in your own class instead")

    def __init__(self, data: Any, label: str = "") -> None:
        if isinstance(data, Value) or not isinstance(label, str):
            raise TypeError("Value(data, label) takes a number or an array and a str label"
                            + ("; to copy a Value's data use Value(v.data)"
                               if isinstance(data, Value) else f", got {type(label).__name__}"))
        d = as_data(data)
        self._data = d if type(d) is float else np.array(d)  # a leaf owns its array
        self._grad = self._op = self._ctx = self._x = self._y = self._dout_dx = self._dout_dy = None
        self._pending, self.label = 0, label

    @property
    def data(self) -> Any:
        """The value: a Python float (a scalar) or an ndarray (a tensor).

        A graph keeps the arrays it was built from, so backward gives the gradient at the
        forward's values. An op's result is read-only. A leaf's array is yours to change in
        place (``W.data -= lr * W.grad``): once a graph has saved it, reading ``.data`` first
        gives the leaf a copy of its own, and graphs built before keep the old values.
        """
        d = self._data
        if type(d) is not float:
            if self._op is not None:
                if d.flags.writeable:
                    d.flags.writeable = False
            elif self._y:  # a graph may hold the leaf's array
                d = self._data = copy_leaf(d)
                self._y = None
        return d

    @data.setter
    def data(self, d: Any) -> None:
        if d is not self._data:  # (W.data -= ...: the leaf's own array, changed in place)
            if self._op is not None:
                raise TypeError(f"the data of {self.op}'s result comes from its inputs: make "
                                "a leaf instead, Value(new_data)")
            d = as_data(d)
            self._data = d if type(d) is float or d.flags.writeable else d.copy()
            self._y = None

    @property
    def grad(self) -> Any:
        """dL/dself, same shape and dtype as ``data``; zero before any backward.

        A leaf's ``.grad`` is an array of its own, safe to change in place. An intermediate
        node's may be the very array another node was passed, where the chain rule passes
        it on unchanged (through ``+`` or ``reshape``): treat those as read-only.
        """
        if self._grad is None:
            self._grad = 0.0 if type(self._data) is float else np.zeros_like(self._data)
        return self._grad

    @grad.setter
    def grad(self, g: Any) -> None:
        self._grad = None if g is None else _check_seed(g, self, "grad")

    @property
    def shape(self) -> tuple[int, ...]: return shape_of(self._data)
    @property
    def dtype(self) -> np.dtype: return np.result_type(self._data)
    @property
    def ndim(self) -> int: return len(self.shape)
    @property
    def size(self) -> int: return 1 if type(self._data) is float else self._data.size
    @property
    def rule(self) -> Rule | None: return self._op  # the rule that made this node (None: a leaf)
    @property
    def op(self) -> str: return "" if self._op is None else self._op.name  # the rule's name

    @property
    def parents(self) -> tuple:
        """The inputs of this node, in order (constants as plain data)."""
        x = self._x
        if x is None or type(x) is tuple:
            return x or ()
        return (x,) if self._y is None else (x, self._y)

    @property
    def params(self) -> dict:
        """The parameters recorded when the op was built (e.g. the ReLU subgradient, kinks);
        not what a kernel keeps for its factor (kernels.py, under names that start with _)."""
        return {k: v for k, v in (self._ctx or {}).items() if k[0] != "_"}

    def factor(self, i: int) -> Any:
        """The chain-rule factor ∂self/∂(input i) at the forward's values, as backward uses it
        (a float, an array, or for a vector-Jacobian product what the rule shows, or None);
        None for a constant input, for which backward computes no factor (nor keeps its data)."""
        scalar = self._dout_dx is not None
        if type((self._x, self._y)[i] if scalar else self._x[i]) is not Value:
            return None
        if scalar:
            return self._dout_dx if i == 0 else self._dout_dy
        return self._op.factors[i].value(self._y)

    def item(self) -> float:
        if self.size != 1:
            raise ValueError(f"item() needs a one-element Value, this one has shape {self.shape}")
        return float(np.asarray(self._data).item())

    def __float__(self) -> float: return self.item()

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(f"the truth value of a Value of shape {self.shape} is ambiguous: "
                             "use (v.data > 0).any() or .all()")
        return bool(self.item())

    def zero_grad(self) -> None:
        """Reset ``grad`` to zero."""
        self._grad = None

    def detach(self) -> Value:
        """A new leaf with a copy of this Value's data: no graph behind it, so backward stops
        there (PyTorch's ``detach``, though the data is copied: a leaf owns its array).

        >>> import autograd_lite as ag
        >>> w = ag.Value(2.0)
        >>> u = (w * 3).detach(); (u * w).backward(); w.grad, u.rule is None
        (6.0, True)
        """
        return Value(self.data, self.label)

    def __repr__(self) -> str:
        more = (f", label={self.label!r}" if self.label else "") + (f", op={self.op!r}" if
                                                                    self._op else "")
        if type(self._data) is float:
            return f"Value(data={self._data:.6g}, grad={self.grad:.6g}{more})"
        text = np.array2string(self._data, precision=4, threshold=6, edgeitems=2, separator=", ")
        return f"Value(shape={self.shape}, dtype={self.dtype}, data={text}{more})"

    # --- recorded ops: each operator is its own rule (kernels.py inlines + - * of floats) ------

    def __add__(self, other: Any) -> Value: return apply(ops.ADD, self, other)
    def __radd__(self, other: Any) -> Value: return apply(ops.ADD, other, self)
    def __sub__(self, other: Any) -> Value: return apply(ops.SUB, self, other)
    def __rsub__(self, other: Any) -> Value: return apply(ops.SUB, other, self)
    def __mul__(self, other: Any) -> Value: return apply(ops.MUL, self, other)
    def __rmul__(self, other: Any) -> Value: return apply(ops.MUL, other, self)
    def __truediv__(self, other: Any) -> Value: return apply(ops.DIV, self, other)
    def __rtruediv__(self, other: Any) -> Value: return apply(ops.DIV, other, self)
    def __matmul__(self, other: Any) -> Value: return apply(ops.MATMUL, self, other)
    def __rmatmul__(self, other: Any) -> Value: return apply(ops.MATMUL, other, self)
    def __neg__(self) -> Value: return apply(ops.NEG, self)
    def __pos__(self) -> Value: return self
    def __abs__(self) -> Value: return apply(ops.ABS, self)

    def __pow__(self, p: float) -> Value:
        if isinstance(p, Value):
            raise TypeError("the exponent of ** must be a number, not a Value; "
                            "for x ** y with a Value y write (y * x.log()).exp()")
        return apply(ops.POW, self, p=p)

    def __rpow__(self, base: Any) -> Value:
        raise TypeError("c ** Value is not an op here; write (Value * log(c)).exp()")

    def relu(self, subgradient: float | None = None) -> Value:
        """max(x, 0) with relu'(0) = ``subgradient`` (default: ``get_relu_subgradient()``, 0).

        ReLU is not differentiable at 0; any s in its Clarke subdifferential [0, 1] is a valid
        choice. 0 is the PyTorch, TensorFlow and JAX convention; see Bertoin et al.,
        "Numerical influence of ReLU'(0) on backpropagation", NeurIPS 2021. The choice is
        recorded on the node and backward multiplies the upstream gradient by it.

        >>> import autograd_lite as ag
        >>> x = ag.Value(0.0)
        >>> y = ag.relu(x, subgradient=0.5); y.backward(); x.grad
        0.5
        """
        return apply(ops.RELU, self) if subgradient is None else apply(
            ops.RELU, self, subgradient=subgradient)

    def leaky_relu(self, slope: float = 0.01, subgradient: float | None = None) -> Value:
        """x for x > 0, ``slope``·x otherwise; the derivative at 0 defaults to ``slope``."""
        return apply(ops.LEAKY_RELU, self, slope=slope, subgradient=subgradient)

    def abs(self, subgradient: float | None = None) -> Value:
        """|x|; abs'(0) = ``subgradient`` in [−1, 1], default 0 (PyTorch's choice)."""
        return apply(ops.ABS, self, subgradient=subgradient)

    def tanh(self) -> Value: return apply(ops.TANH, self)
    def sigmoid(self) -> Value: return apply(ops.SIGMOID, self)
    def exp(self) -> Value: return apply(ops.EXP, self)
    def log(self) -> Value: return apply(ops.LOG, self)

    def sqrt(self) -> Value:
        """√x; its derivative 1/(2√x) is inf at 0 (as PyTorch), and a 0 counts as a kink."""
        return apply(ops.SQRT, self)

    def clip(self, lo: float | None = None, hi: float | None = None) -> Value:
        """x limited to [lo, hi] (None: no bound on that side), as NumPy clip.

        The derivative is 1 on [lo, hi], the bounds included (PyTorch clamp's choice), 0
        outside; an entry exactly on a bound is a kink, counted by ``ag.kinks``.

        >>> import numpy as np, autograd_lite as ag
        >>> x = ag.Value(np.array([-2.0, -1.0, 0.5, 3.0]))
        >>> y = x.clip(-1, 1); y.sum().backward(); y.data, x.grad
        (array([-1. , -1. ,  0.5,  1. ]), array([0., 1., 1., 0.]))
        """
        return apply(ops.CLIP, self, lo=lo, hi=hi)

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Value:
        return apply(ops.SUM, self, axis=axis, keepdims=keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Value:
        return apply(ops.MEAN, self, axis=axis, keepdims=keepdims)

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Value:
        """The largest entry over ``axis`` (default: all). Entries that tie for it share the
        gradient equally (PyTorch amax): a tie is a kink, counted by ``ag.kinks``.

        >>> import numpy as np, autograd_lite as ag
        >>> x = ag.Value(np.array([1.0, 3.0, 3.0]))
        >>> x.max().backward(); x.grad
        array([0. , 0.5, 0.5])
        """
        return apply(ops.MAX, self, axis=axis, keepdims=keepdims)

    def min(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Value:
        """The smallest entry over ``axis`` (default: all); ties share the gradient equally."""
        return apply(ops.MIN, self, axis=axis, keepdims=keepdims)

    def var(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Value:
        """The population variance (ddof 0, PyTorch ``correction=0``): mean((x − mean x)²),
        built from mean, − and ** (its picture shows each)."""
        d = self - self.mean(axis=axis, keepdims=True)
        return (d ** 2).mean(axis=axis, keepdims=keepdims)

    def std(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Value:
        """√var (ddof 0); where the variance is 0, sqrt'(0) = inf makes the gradient NaN, as
        in PyTorch, and ``ag.kinks`` lists it."""
        return self.var(axis=axis, keepdims=keepdims).sqrt()

    def reshape(self, *shape: Any) -> Value: return apply(ops.RESHAPE, self, shape=_flat(shape))
    def flatten(self) -> Value: return apply(ops.RESHAPE, self, shape=(-1,))

    def squeeze(self, axis: int | tuple[int, ...] | None = None) -> Value:
        """The Value without its axes of size 1 (or only ``axis``, which must have size 1); a
        reshape."""
        return apply(ops.RESHAPE, self, shape=np.squeeze(_stand_in(self), axis).shape)

    def transpose(self, *axes: Any) -> Value:
        return apply(ops.TRANSPOSE, self, axes=_flat(axes) or None)

    @property
    def T(self) -> Value: return self.transpose()  # noqa: N802 -- NumPy's name

    def __getitem__(self, index: Any) -> Value:
        if any(isinstance(p, Value) for p in (index if isinstance(index, tuple) else (index,))):
            raise TypeError("a Value cannot be used as an index; use an int or integer array")
        return apply(ops.GETITEM, self, index=index)

    # comparisons give plain boolean arrays: constants, no graph (masks, ag.where's cond)
    def __lt__(self, other: Any) -> Any: return np.less(self._data, _data_of(other))
    def __le__(self, other: Any) -> Any: return np.less_equal(self._data, _data_of(other))
    def __gt__(self, other: Any) -> Any: return np.greater(self._data, _data_of(other))
    def __ge__(self, other: Any) -> Any: return np.greater_equal(self._data, _data_of(other))

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a scalar (0-d) Value")
        return self.shape[0]

    def __iter__(self) -> Iterator[Value]: return (self[i] for i in range(len(self)))

    def backward(self, grad: Any = None) -> None:
        """Add dself/dnode to ``.grad`` of every node this Value depends on.

        A one-element root is seeded with 1; any other root needs ``grad`` of its shape.
        Each node's ``.grad`` changes once, when its dself/dnode is complete; if backward
        fails, every ``.grad`` is left as it was.
        """
        if grad is not None:
            seed = _check_seed(grad, self, "backward(grad)")
        elif self.size != 1:
            raise ValueError(f"backward() on a Value of shape {self.shape} needs grad= of that "
                             "shape (or reduce it first, e.g. L.sum() or L.mean())")
        elif type(self._data) is float:
            seed = 1.0
        else:
            seed = np.empty_like(self._data)  # np.ones_like, without its Python wrapper
            seed.fill(1)
        sweeps.backward(self, seed)  # the reference sweep, or the fast one (kernels.py)


def _flat(args: tuple) -> tuple:
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], tuple | list) else args


def _data_of(x: Any) -> Any: return x._data if type(x) is Value else x


def _stand_in(x: Any) -> np.ndarray:  # an array of x's shape that costs no memory
    return np.broadcast_to(False, shape_of(as_data(_data_of(x))))


def _check_seed(g: Any, like: Value, what: str) -> Any:
    d = as_data(g, what)
    if shape_of(d) != like.shape:
        raise ValueError(f"{what} must have shape {like.shape}, got {shape_of(d)}")
    return float(d) if type(like._data) is float else np.array(d, dtype=like.dtype)  # a copy


def _replace(args: tuple, a: Any, x: Any) -> tuple:
    new = [x if b is a else b for b in args]  # (a list, then a tuple: see W3 in benchmarks)
    return tuple(new)


def apply(rule: Rule, *args: Any, **params: Any) -> Value:
    """The node ``rule(*args)``: resolve the parameters, run the forward, count the kinks, and
    keep what backward needs (the factor values of a scalar node, else the data it reads)."""
    if len(args) != len(rule.factors) and not rule.variadic or params and rule.prepare is None:
        raise TypeError(f"{rule.name} takes {len(rule.factors)} input(s)" + " and no parameters"
                        * (rule.prepare is None) + f", got {len(args)} and {sorted(params)}")
    ctx = None if rule.prepare is None else rule.prepare(**params)
    xs, floats, leaves, values = [], len(args) < 3, [], 0
    for a in args:
        if type(a) is Value:
            x, values = a._data, values + 1
            if type(x) is not float:
                floats = False
                if a._op is None:
                    leaves.append(a)
        else:  # a constant
            x = a if type(a) is float else as_data(a, f"an input of {rule.name}")
            if type(x) is not float:
                floats = False
            if x is not a:
                args = _replace(args, a, x)
        xs.append(x)
    if leaves and (not rule.linear or values > 1):
        for a in leaves:  # this graph reads the leaf's array in backward: see Value.data
            a._y = True
    if floats and rule.scalar is not None:  # a kernel (kernels.py): output, factors, kinks
        out, dx, dy = rule.scalar(*xs) if ctx is None else rule.scalar(*xs, ctx)
    else:
        out = rule.run(*xs) if ctx is None else rule.run(*xs, ctx)
        if rule.kink is not None:  # after the forward: it may read what the forward saved
            ctx["kinks"] = rule.kink(*xs, ctx)
        xs.append(out)  # xs becomes what the factors take: (*inputs' data, out[, ctx])
        if ctx is not None:
            xs.append(ctx)
        if floats and (type(out) is float or not np.ndim(out)):  # a scalar node
            xs[len(args)] = out = float(out)
            chains, dy = rule.chains, None  # the factors' values, stored (0 for a constant)
            dx = float(chains[0](1.0, xs)) if type(args[0]) is Value else 0.0
            if len(args) == 2:
                dy = float(chains[1](1.0, xs)) if type(args[1]) is Value else 0.0
        else:
            floats = False
            if type(out) is not np.ndarray:
                xs[len(args)] = out = np.asarray(out)
    if not GRAD_ENABLED.get():  # inside ag.no_grad(): no graph, the result is a new leaf
        return Value(out)
    node = _new(Value)
    if floats:
        node._x, node._y = args[0], args[1] if len(args) == 2 else None
        node._dout_dx, node._dout_dy = dx, dy
    else:
        node._x = args
        node._dout_dx = node._dout_dy = None
        node._y = tuple(xs)  # the data its rule reads
    node._data = out
    node._op = rule
    node._ctx = ctx
    node._grad, node._pending, node.label = None, 0, ""
    return node


Rule.__call__ = apply  # calling a rule builds its node: ops.RELU(x) is x.relu()

# the same ops as functions: ag.relu(x) is x.relu() (x may be a constant: a number or array)
relu, leaky_relu, abs, tanh = Value.relu, Value.leaky_relu, Value.abs, Value.tanh  # noqa: A001
sigmoid, exp, log, sqrt, clip = Value.sigmoid, Value.exp, Value.log, Value.sqrt, Value.clip

