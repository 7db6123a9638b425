"""``ag.grad``: dL/dwrt as Values, without touching ``.grad``; with ``create_graph=True`` the
gradient is itself a graph, built from the same table of rules, that can be differentiated
again (Newton's method, Hessian-vector products), drawn, explained and gradchecked.

The second-order sweep is the reference sweep (backward.py) with cotangents that are Values:
each chain-rule step applies the rule's factor to Values with recorded ops. How a rule's
factor becomes recorded ops is one of four ways (the tables below):

* smooth rules: the table's derivative is called on the Values themselves (its inputs and
  the node as ``out``): it is written with operators and NumPy functions, which record ops
  on Values (numpy_api.py), so ``1 − out·out`` for tanh becomes three nodes;
* rules whose factor does not depend on the inputs' values (sums, reshapes, where): the
  factor is data, applied to the Value cotangent;
* piecewise-linear rules (relu, leaky_relu, abs, clip, maximum, minimum, and max/min's share
  of the ties): the factor is piecewise constant, so its derivative is 0, undefined on the
  first pass's kinks. It becomes a ``step`` node of the input (ops.STEP) holding the factor,
  with those kinks counted again: ``ag.kinks`` on a gradient says where curvature was not
  defined (PyTorch and JAX give 0 there without a word);
* rules whose factor the table computes from saved data (cross-entropy's softmax, the logits
  loss's exp(−|z|), getitem's scatter) have their factor written here with ops.

A custom op's derivative is NumPy on data: ``create_graph=True`` through it is refused with a
ValueError naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import ops
from .backward import sweep, toposort
from .shapes import unbroadcast
from .value import Value, _check_seed

# the table's derivative, called on Values (the inputs, the node as out)
SMOOTH = {"mul", "div", "pow", "tanh", "sigmoid", "exp", "log", "sqrt", "matmul", "softmax",
          "log_softmax", "logsumexp", "binary_cross_entropy"}
# the factor does not depend on the inputs' values: data, applied to the Value cotangent
FROZEN = {"add", "sub", "neg", "sum", "mean", "reshape", "transpose", "concatenate", "stack",
          "where", "scatter", "step"}
# a piecewise-constant factor: a step node of the input, the first pass's kinks counted again
STEPPED = {"relu", "leaky_relu", "abs", "clip", "maximum", "minimum"}


def _cross_entropy(i: int, g: Value, node: Value, vals: tuple) -> Any:
    z, ctx = vals[0], node._ctx
    onehot = np.zeros(np.shape(z))
    onehot[ops._picked(ctx["labels"])] = 1.0
    return (ops.SOFTMAX(z, axis=-1) - onehot) * (g if type(g) is Value else np.asarray(g))[
        ..., None]


def _bce_logits(i: int, g: Value, node: Value, vals: tuple) -> Any:
    z, t = vals[0], vals[1]
    return _times(g, ops.SIGMOID(z) - t) if i == 0 else _times(g, -z)


def _getitem(i: int, g: Value, node: Value, vals: tuple) -> Any:
    x = vals[0]
    return ops.SCATTER(g, index=node._ctx["index"], like=x._data if type(x) is Value else x)


def _share(i: int, g: Value, node: Value, vals: tuple) -> Any:
    """max/min: g shared by the entries tied for the max: 1[x = max]/#ties, piecewise constant,
    as a step node (ties are the kinks)."""
    x, out, ctx = *_saved(node)[:2], node._ctx  # (a float's max is a scalar node)
    if type(x) is float:
        return g
    at = (x == ops._kept(out, ctx)).astype(x.dtype)
    share = ops.STEP(node.parents[0], value=at / np.sum(at, axis=ctx["axes"], keepdims=True),
                     of=node.op, at=ctx["kinks"])
    return ops._spread(g, x, ctx) * share


def _dtype(a: Any) -> Any:
    return a.dtype if type(a) is Value else np.result_type(a)


def _place(parts: list, like: Any, ctx: dict) -> Any:
    """ops._col2im with recorded ops: each kernel offset's part (N, C, OH, OW) scattered where
    it came from in the zero-padded x, added up, the padding cut off."""
    (ph, pw), (sh, sw), (kh, kw) = ctx["padding"], ctx["stride"], ctx["kernel"]
    n, c, h, w = np.shape(like)
    zeros = np.zeros((n, c, h + 2 * ph, w + 2 * pw), _dtype(like))
    oh, ow = np.shape(parts[0])[2:]
    total = sum(ops.SCATTER(part, index=(slice(None), slice(None), slice(i, i + sh * oh, sh),
                                         slice(j, j + sw * ow, sw)), like=zeros)
                for (i, j), part in zip(np.ndindex(kh, kw), parts))
    return total[:, :, ph:ph + h, pw:pw + w] if ph or pw else total


def _windows(x: Any, ctx: dict) -> list:
    """ops._offsets with recorded ops: per kernel offset, every window's entry there."""
    (ph, pw), (sh, sw), (kh, kw) = ctx["padding"], ctx["stride"], ctx["kernel"]
    if ph or pw:
        n, c, h, w = np.shape(x)
        x = ops.SCATTER(x, index=(slice(None), slice(None), slice(ph, ph + h), slice(pw, pw + w)),
                        like=np.zeros((n, c, h + 2 * ph, w + 2 * pw), _dtype(x)))
    oh, ow = (np.shape(x)[2] - kh) // sh + 1, (np.shape(x)[3] - kw) // sw + 1
    return [x[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] for i, j in np.ndindex(kh, kw)]


def _rows(a: Any) -> Any:
    """(N, C, OH, OW) -> (N·OH·OW, C): one row per output position."""
    n, c = np.shape(a)[:2]
    return np.reshape(np.transpose(a, (0, 2, 3, 1)), (-1, c))


def _conv2d(i: int, g: Any, node: Value, vals: tuple) -> Any:
    """conv2d is bilinear: ∂/∂x is col2im(wᵀ @ g), ∂/∂w is g @ im2col(x)ᵀ; both written with
    recorded ops (per kernel offset: a matrix product), so they are differentiated again."""
    x, w, ctx = vals[0], vals[1], node._ctx
    g = g if type(g) is Value else np.asarray(g)
    n, o, oh, ow = np.shape(g)
    kh, kw = ctx["kernel"]
    if i == 0:  # the part of x's gradient at offset (a, b): g's rows @ w[:, :, a, b]
        parts = [np.transpose(np.reshape(_rows(g) @ w[:, :, a, b], (n, oh, ow, -1)), (0, 3, 1, 2))
                 for a, b in np.ndindex(kh, kw)]
        return _place(parts, node.parents[0]._data if type(x) is Value else x, ctx)
    cols = [np.transpose(_rows(g)) @ _rows(part) for part in _windows(x, ctx)]  # (O, C) each
    return np.reshape(ops.STACK(*cols, axis=-1), np.shape(w))


def _avg_pool2d(i: int, g: Any, node: Value, vals: tuple) -> Any:
    """Each window's g/n back to its entries: linear in g, with a factor free of x."""
    ctx = node._ctx
    if type(g) is not Value:
        return node._op.factors[0].vjp(np.asarray(g), *_saved(node))
    return _place([g * (1.0 / ctx["n"])] * ctx["n"], node.parents[0]._data, ctx)


def _max_pool2d(i: int, g: Any, node: Value, vals: tuple) -> Any:
    """g shared by each window's entries equal to its max: per kernel offset, 1[x = max]/#ties
    is piecewise constant, a step node of that offset's entries; the ties (the first pass's
    kinks) are counted again on the first of them."""
    x, ctx = node.parents[0], node._ctx
    shares = [ops.STEP(part, value=(at / ctx["ties"]).astype(x.dtype),
                       of="max_pool2d", at=ctx.get("kinks", 0) if k == 0 else 0)
              for k, (part, at) in enumerate(zip(_windows(x, ctx), ctx["at"]))]
    return _place([_times(g, share) for share in shares], x._data, ctx)


OWN = {"cross_entropy": _cross_entropy, "binary_cross_entropy_with_logits": _bce_logits,
       "getitem": _getitem, "max": _share, "min": _share,
       "conv2d": _conv2d, "avg_pool2d": _avg_pool2d, "max_pool2d": _max_pool2d}


def _saved(node: Value) -> tuple:
    """What the rule's functions take: (*inputs' data, out[, ctx]), as the forward saw them."""
    if type(node._y) is tuple:  # an array node's saved data (a scalar node's is its input)
        return node._y
    data = tuple(p._data if type(p) is Value else p for p in node.parents)
    return (*data, node._data) + (() if node._ctx is None else (node._ctx,))


def _pull(node: Value, i: int, g: Value) -> Any:
    """One chain-rule step with recorded ops: g · ∂node/∂(input i), a Value."""
    rule, p = node._op, node.parents[i]
    name, f, saved = rule.name, rule.factors[i], _saved(node)
    n = len(node.parents)
    vals = (*node.parents, node, *saved[n + 1:])  # the Values where the rule has them
    if rule.custom:
        raise ValueError(f"ag.grad(create_graph=True) cannot differentiate the derivative of "
                         f"the custom op {name!r} (it is NumPy on data); use create_graph=False, "
                         "or build the op from built-in ops")
    if name in OWN:
        gp = OWN[name](i, g, node, vals)
    elif f.const is not None:
        gp = g if f.const == 1.0 else g * f.const
    elif name in SMOOTH:
        gp = _times(g, f.local(*vals)) if f.local is not None else f.vjp(g, *vals)
    elif name in FROZEN:
        gp = g * _like(f.local(*saved), p) if f.local is not None else f.vjp(g, *saved)
    elif name in STEPPED:
        gp = _times(g, ops.STEP(p, value=_like(f.local(*saved), p), of=name,
                                at=node._ctx.get("kinks", 0)))
    else:
        raise ValueError(f"ag.grad(create_graph=True): the rule {name!r} has no derivative "
                         "written with ops, so it cannot be differentiated again; use "
                         "create_graph=False")
    return _unbroadcast(gp, p)


def _times(g: Any, factor: Any) -> Any:
    return factor if type(g) is float and g == 1.0 else g * factor  # the seed 1: no node


def _like(factor: Any, p: Value) -> Any:
    """A piecewise factor's value (a mask, a number) as data of p's kind: a float or floats."""
    if type(p._data) is float and np.ndim(factor) == 0:
        return float(factor)
    return np.asarray(factor, dtype=np.result_type(p._data))


def _unbroadcast(g: Any, like: Value) -> Any:
    """shapes.unbroadcast for a Value cotangent: a sum over the broadcast axes (a recorded op)."""
    if type(g) is not Value:
        return unbroadcast(g, like._data)
    shape, lead = like.shape, g.ndim - like.ndim
    if g.shape == shape:
        return g
    if lead < 0:
        return np.broadcast_to(g, shape)
    axes = (*range(lead), *(k + lead for k, n in enumerate(shape) if n == 1 != g.shape[k + lead]))
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g if g.shape == shape else g.reshape(shape)


def _sweep_values(root: Value, seed: Value, targets: list) -> dict:
    """The reference sweep with cotangents that are Values (or constants, from a constant
    seed, until a factor that is a Value meets them), only along paths that reach a target."""
    order = toposort(root)
    reaches = set(targets)
    for node in reversed(order):  # inputs first
        if any(type(p) is Value and p in reaches for p in node.parents):
            reaches.add(node)
    cot, found = {root: seed}, {}
    for node in order:
        if node not in reaches or node not in cot:
            continue
        g = cot.pop(node)
        found[node] = g
        for i, p in enumerate(node.parents):
            if type(p) is Value and p in reaches:
                gp = _pull(node, i, g)
                cot[p] = gp if p not in cot else cot[p] + gp
    return found


def grad(L: Value, wrt: Value | Sequence[Value], grad: Any = None,
         create_graph: bool = False) -> Value | list[Value]:
    """dL/dwrt as a Value (a list of Values for a list ``wrt``), leaving every ``.grad`` alone.

    ``grad`` seeds dL/dL (needed when L has more than one element, as ``L.backward(grad)``);
    a ``wrt`` that L does not depend on gets zeros. With ``create_graph=False`` the results
    are new leaves holding the numbers backward would add to ``.grad``. With
    ``create_graph=True`` each result is a graph built from the table of rules, so it can be
    differentiated again (``ag.grad`` of it, or ``.backward()``), drawn, explained and
    gradchecked; a kink of a piecewise-linear op (relu at 0) is counted again on its ``step``
    node, where the second derivative is not defined.

    >>> import autograd_lite as ag
    >>> x = ag.Value(2.0, "x")
    >>> y = x ** 4 - 2 * x ** 2
    >>> dy = ag.grad(y, x, create_graph=True)   # 4x³ − 4x
    >>> d2y = ag.grad(dy, x)                    # 12x² − 4
    >>> dy.data, d2y.data, x.grad
    (24.0, 44.0, 0.0)
    """
    if type(L) is not Value:
        raise TypeError(f"ag.grad takes a Value L, got {type(L).__name__}")
    many = isinstance(wrt, list | tuple)
    targets = list(wrt) if many else [wrt]
    if not targets or any(type(t) is not Value for t in targets):
        raise TypeError("ag.grad's wrt must be a Value or a non-empty list of Values")
    if grad is None:
        if L.size != 1:
            raise ValueError(f"ag.grad of a Value of shape {L.shape} needs grad= of that shape "
                             "(or reduce it first, e.g. L.sum())")
        seed = 1.0 if type(L._data) is float else np.ones_like(L._data)
    elif type(grad) is Value and create_graph:
        if grad.shape != L.shape:
            raise ValueError(f"grad must have shape {L.shape}, got {grad.shape}")
        seed = grad
    else:
        seed = _check_seed(grad.data if type(grad) is Value else grad, L, "grad")
    if create_graph:
        found = _sweep_values(L, seed, targets)  # a constant seed: no seed leaf in the graph
    else:
        want = set(targets)
        found = {n: g for n, g in sweep(L, seed) if n in want}
    out = [_as_value(found[t]) if t in found else Value(0.0 if type(t._data) is float
                                                       else np.zeros_like(t._data))
           for t in targets]
    return out if many else out[0]


def _as_value(g: Any) -> Value:
    return g if type(g) is Value else Value(g)  # a constant gradient: a leaf
