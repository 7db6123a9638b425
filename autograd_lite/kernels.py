"""The hand-tuned code, all of it, attached by name: the fast sweep and fast forms of some ops.

The engine (value.py, ops.py, backward.py) is complete without this module; importing the
package attaches it. Each form replaces what the engine calls -- ``backward.backward``, a
rule's ``run``, ``chains`` or ``scalar`` (see ``ops.Rule``), a Value operator, the sweeps'
un-broadcast -- and falls back to the plain form outside the case it is tuned for.
tests/test_kernels.py and tests/test_sweep.py hold each to the plain form: bit for bit where
the arithmetic is the same, to rounding where BLAS adds up in another order.

* the fast sweep: backward.sweep()'s steps, on the nodes' slots (below);
* ``+ - *`` on floats build their node inline (the hot path of scalar code: no call into
  ``apply``), and scalar forms of relu and the smooth functions give output and factor in one
  call -- ``x.relu()``, ``x.tanh()``, ... on a float build their node inline from it too;
* ``+ - * @`` with an array (``ndarray @ Value`` too), and ``x.relu()`` ... ``x.mean()`` on an
  array, build their node without ``apply``'s checks (0.5-1 µs an op at W4's sizes);
* mean and sum over every axis, and relu's factor, in fewer array calls; float constants
  in array arithmetic (``np.subtract(1.0, p)``, not ``1 - p``);
* matmul of 2-D arrays through ``np.dot``, which calls BLAS where ``@`` may not (x @ wᵀ with
  an inner size of 1 took 5 µs instead of 1.5) -- except the factor xᵀ @ g of a large
  product, where ``@`` was 3-14 % quicker;
* sigmoid of arrays in place where no exp(−x) overflows (4 array calls instead of 8), and its
  factor in place (one array instead of three);
* binary cross-entropy of same-shaped arrays: the inputs checked through p(1 − p), which the
  factor reuses, and the clipping skipped when it cannot change a bit; with logits, in place;
* a bias's un-broadcast, (N, k) -> (k,) and conv2d's (N, C, H, W) -> (C, 1, 1), as products
  with ones (BLAS: 4-5x NumPy's sum);
* max-pool where the windows tile the input: the ties counted in uint8, and backward written
  straight into each kernel offset's view of dx, not added into zeros;
* cross-entropy of (N, C) logits with the ufuncs' own reductions and ``arange`` indexing.
"""

from __future__ import annotations

import functools
import math
import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from . import backward, growing, losses, ops, shapes, value
from .value import GRAD_ENABLED, Value, apply

_new = object.__new__
ndarray = np.ndarray
grad_enabled = GRAD_ENABLED.get
try:  # np.count_nonzero(x) without its Python wrapper and dispatch: 0.3 µs less a call
    from numpy._core.multiarray import count_nonzero as _count
except ImportError:  # NumPy 1.x
    _count = np.count_nonzero


def _new_node(rule: ops.Rule, inputs: tuple, saved: tuple, out: Any, ctx: Any) -> Value:
    node = _new(Value)
    node._data = out
    node._x = inputs
    node._y = saved  # what the rule reads (a scalar node's _y is its second input)
    node._op = rule
    node._ctx = ctx
    node._dout_dx = node._dout_dy = node._grad = None
    node._pending = 0
    node.label = ""
    return node


def _plain(a: Any, x: Any) -> bool:
    """Whether ``a`` (data ``x``) is a Value or a constant that ``as_data`` keeps as it is."""
    return type(a) is Value or type(x) is float or type(x) is ndarray and x.dtype.char in "efd"


def _binary(rule: ops.Rule, a: Any, b: Any, x: Any, y: Any) -> Value:
    """``apply(rule, a, b)`` for add, sub, mul or matmul (linear in each input, no parameters,
    no kinks), ``x`` and ``y`` the data of ``a`` and ``b``. Where an input's data is an array
    and both are Values or plain data, the node is built here, without apply's checks; a
    leaf's array is kept for backward only where its partner is a Value too (as apply keeps
    it). Anything else -- ``ag.no_grad()``, a list, an int array -- goes to ``apply``."""
    if not ((type(x) is ndarray or type(y) is ndarray) and _plain(a, x) and _plain(b, y)
            and grad_enabled()):
        return apply(rule, a, b)
    out = rule.run(x, y)
    if type(out) is not ndarray:  # a 0-d result
        out = np.asarray(out)
    if type(a) is Value and type(b) is Value:
        if a._op is None and type(x) is ndarray:
            a._y = True
        if b._op is None and type(y) is ndarray:
            b._y = True
    return _new_node(rule, (a, b), (x, y, out), out, None)


def _loss(rule: ops.Rule, a: Any, b: Any) -> Value:
    """``apply(rule, a, b)`` for binary cross-entropy (on probabilities or logits): two inputs,
    a context, no parameters, no kinks. Built here where an input's data is an array, as
    ``_binary`` builds; every leaf's array is kept for backward (both factors read both)."""
    x = a._data if type(a) is Value else a
    y = b._data if type(b) is Value else b
    if not ((type(x) is ndarray or type(y) is ndarray) and _plain(a, x) and _plain(b, y)
            and grad_enabled()):
        return apply(rule, a, b)
    ctx = rule.prepare()
    out = rule.run(x, y, ctx)
    if type(out) is not ndarray:  # a 0-d result
        out = np.asarray(out)
    if type(a) is Value and a._op is None and type(x) is ndarray:
        a._y = True
    if type(b) is Value and b._op is None and type(y) is ndarray:
        b._y = True
    return _new_node(rule, (a, b), (x, y, out, ctx), out, ctx)


def _unary(rule: ops.Rule, a: Value, x: np.ndarray) -> Value:
    """``apply(rule, a)`` with no parameters, ``a``'s data an array: the node built here."""
    ctx = None if rule.prepare is None else rule.prepare()
    out = rule.run(x) if ctx is None else rule.run(x, ctx)
    if rule.kink is not None:
        ctx["kinks"] = rule.kink(x, ctx)
    if type(out) is not ndarray:  # a 0-d result
        out = np.asarray(out)
    if a._op is None:  # this graph reads the leaf's array in backward
        a._y = True
    return _new_node(rule, (a,), (x, out) if ctx is None else (x, out, ctx), out, ctx)


def _operator(rule: ops.Rule, reflected: bool = False) -> Callable:
    """``Value.__op__`` (or ``__rop__``) for add, sub, mul or matmul. With floats on both sides
    (``+ - *``) the node is built right here, its factors the rule's constants (add, sub) or
    each the other input (mul); anything else goes to ``_binary``. The arithmetic is written
    out: calling operator.add made W1's forward 4-6 % slower, about what reading
    ``ag.no_grad()``'s context variable costs (and so does one more test on this path)."""
    cx, cy = (f.const for f in rule.factors)
    add = rule is ops.ADD
    name = f"__{'r' * reflected}{rule.name}__"

    def op(self: Value, other: Any) -> Value:
        x = self._data
        y = other._data if type(other) is Value else other
        if type(x) is not float or type(y) is not float or not grad_enabled():
            return _binary(rule, self, other, x, y)
        node = _new(Value)
        if cx is None:  # mul
            node._data = x * y
            node._dout_dx = y
            node._dout_dy = x
        else:
            node._data = x + y if add else x - y
            node._dout_dx = cx
            node._dout_dy = cy
        node._x = self
        node._y = other
        node._op = rule
        node._ctx = node._grad = None
        node._pending = 0
        node.label = ""
        return node

    def other_first(self: Value, other: Any) -> Value:  # other op self
        return _binary(rule, other, self, other._data if type(other) is Value else other,
                       self._data)

    def arrays(self: Value, other: Any) -> Value:  # self @ other
        return _binary(rule, self, other, self._data,
                       other._data if type(other) is Value else other)

    op = other_first if reflected else arrays if rule is ops.MATMUL else op
    op.__name__ = op.__qualname__ = f"Value.{name}"
    op.__doc__ = getattr(Value, name).__doc__
    return op


def _method(rule: ops.Rule, plain: Callable) -> Callable:
    """``Value.relu`` (tanh, sigmoid, exp, log; mean, sum: arrays only) called with no
    arguments, on a float or an array: the node is built right here, as the operators build
    theirs (``apply``'s checks of its arguments cost about 300 ns a call, 3 % of W1's
    forward) -- on a float from the rule's scalar kernel below, on an array by ``_unary``.
    Anything else -- arguments, a constant, ``ag.no_grad()`` -- goes to ``plain``."""
    prepare = rule.prepare

    @functools.wraps(plain)
    def method(self: Any, *args: Any, **params: Any) -> Value:
        x = self._data if type(self) is Value else None
        if type(x) is not float or args or params or not grad_enabled():
            if type(x) is ndarray and not (args or params) and grad_enabled():
                return _unary(rule, self, x)
            return plain(self, *args, **params)
        ctx = None if prepare is None else prepare()
        node = _new(Value)
        node._data, node._dout_dx, _ = rule.scalar(x) if ctx is None else rule.scalar(x, ctx)
        node._x = self
        node._op = rule
        node._ctx = ctx
        node._y = node._dout_dy = node._grad = None
        node._pending = 0
        node.label = ""
        return node

    @functools.wraps(plain)
    def on_arrays(self: Any, *args: Any, **params: Any) -> Value:
        x = self._data if type(self) is Value else None
        if type(x) is ndarray and not (args or params) and grad_enabled():
            return _unary(rule, self, x)
        return plain(self, *args, **params)

    return method if rule.scalar is not None else on_arrays


def _relu(x: float, ctx: dict) -> tuple:
    ctx["kinks"] = 1 if x == 0.0 else 0
    if x > 0.0:
        return x, 1.0, None
    return (0.0 if x <= 0.0 else x), (ctx["subgradient"] if x == 0.0 else 0.0), None


def _tanh(x: float) -> tuple:
    t = math.tanh(x)
    return t, 1.0 - t * t, None


def _sigmoid(x: float) -> tuple:
    s = ops.sigmoid(x)
    return s, s * (1.0 - s), None


def _exp(x: float) -> tuple:
    e = ops.exp(x)
    return e, e, None


def _log(x: float) -> tuple:
    return ops.log(x), ops.div(1.0, x), None


def _neg(x: float) -> tuple:
    return -x, -1.0, None


def _div(x: float, y: float) -> tuple:
    try:
        return x / y, 1.0 / y, -(x / (y * y))
    except ZeroDivisionError:  # y (or y²) is 0: IEEE's infinities and NaN, as the table gives
        return ops.div(x, y), ops.div(1.0, y), -ops.div(x, y * y)


def _pow(x: float, ctx: dict) -> tuple:
    p = ctx["p"]
    d = 0.0 * x if p == 0 else 2 * x if p == 2 else p * ops.power(x, p - 1)
    return ops.power(x, p), d, None


# (In the array kernels the numbers are floats, 1.0 not 1, and 1 − x is np.subtract(1.0, x):
# a Python int costs NumPy 2 another 150-450 ns a call, and the reflected 1.0 - x 250 ns.)


def _matmul(rule: ops.Rule) -> None:
    run, (dx, dy) = rule.run, rule.chains

    def fast(x: Any, y: Any) -> Any:
        if (type(x) is np.ndarray and type(y) is np.ndarray and x.ndim == 2 == y.ndim
                and x.shape[1] == y.shape[0]):  # (else the table's forward, or its error)
            return np.dot(x, y)
        return run(x, y)

    def fast_dx(g: Any, saved: tuple) -> Any:
        y = saved[1]
        return np.dot(g, y.T) if type(g) is ndarray and y.ndim == 2 == g.ndim else dx(g, saved)

    def fast_dy(g: Any, saved: tuple) -> Any:
        x = saved[0]
        if type(g) is not ndarray or not x.ndim == 2 == g.ndim:
            return dy(g, saved)
        # xᵀ @ g through np.dot while small (0.3-0.5 µs less a call), through @ from a
        # 256 x 256 result up: there np.dot took 3-14 % longer (W5's dW1, 784 x 256: 7 %)
        return np.dot(x.T, g) if x.shape[1] * g.shape[1] < 65536 else x.T @ g

    rule.run, rule.chains = fast, (fast_dx, fast_dy)


def _relu_arrays(rule: ops.Rule) -> None:
    (d,) = rule.chains

    def fast_d(g: Any, saved: tuple) -> Any:
        x, out, ctx = saved
        if type(g) is not ndarray or ctx["kinks"] and ctx["subgradient"]:
            return d(g, saved)
        r = (x > 0.0).astype(g.dtype)  # g · 1[x > 0] (NaN: 0), the mask as g's dtype, in place
        r *= g
        return r

    rule.chains = (fast_d,)


def _sigmoid_arrays(rule: ops.Rule) -> None:
    run, (d,) = rule.run, rule.chains

    def fast(x: Any) -> Any:
        if type(x) is not np.ndarray or not x.ndim or _count(x < ops.EXP_SAFE[x.dtype.char]):
            return run(x)
        e = np.negative(x)  # 1/(1 + exp(−x)), in place
        np.exp(e, out=e)
        e += 1.0
        return np.reciprocal(e, out=e)

    def fast_d(g: Any, saved: tuple) -> Any:
        out = saved[1]
        if type(g) is not ndarray or type(out) is not ndarray or g.shape != out.shape:
            return d(g, saved)
        r = np.subtract(1.0, out)  # g · out(1 − out), in place
        r *= out
        r *= g
        return r

    rule.run, rule.chains = fast, (fast_d,)


def _bce(rule: ops.Rule) -> None:
    run, (dp, dt) = rule.run, rule.chains

    def fast(p: Any, t: Any, ctx: dict) -> Any:
        if not (type(p) is np.ndarray and type(t) is np.ndarray and p.ndim and p.shape == t.shape
                and p.dtype == t.dtype):
            return run(p, t, ctx)
        q = np.subtract(1.0, p)
        d = p * q  # p is in [0, 1] exactly when p(1 − p) >= 0, t when t(t − 1) <= 0 (NaN: never)
        n, tm = d.size, t - 1.0
        floor = _count(d > 1e-12) != n  # else no log is clipped, no floor is used
        if floor and _count(d >= 0.0) != n:
            raise ValueError("binary_cross_entropy: every prob must lie in [0, 1]")
        if _count(t * tm <= 0.0) != n:
            raise ValueError("binary_cross_entropy: every target must lie in [0, 1]")
        if not floor:
            lp, lq = np.log(p), np.log(q)
        else:
            with np.errstate(divide="ignore"):  # log 0 = −inf, then clipped
                lp, lq = np.log(p), np.log(q)
            np.maximum(lp, -100.0, out=lp)
            np.maximum(lq, -100.0, out=lq)
        ctx["_d"], ctx["_floor"] = d, floor  # for the factor (not among the node's params)
        lp *= t
        lq *= tm
        lq -= lp  # (t − 1)·log(1 − p) − t·log p: the bits of −(t·log p + (1 − t)·log(1 − p))
        return lq

    def fast_dp(g: Any, saved: tuple) -> Any:
        p, t, out, ctx = saved
        if "_d" not in ctx:
            return dp(g, saved)
        r = p - t
        r /= np.maximum(ctx["_d"], 1e-12) if ctx["_floor"] else ctx["_d"]
        r *= g
        return r

    rule.run, rule.chains = fast, (fast_dp, dt)


def _bce_logits(rule: ops.Rule) -> None:
    run, (dz, dt) = rule.run, rule.chains

    def fast(z: Any, t: Any, ctx: dict) -> Any:
        if not (type(z) is np.ndarray and type(t) is np.ndarray and z.ndim and z.shape == t.shape
                and z.dtype == t.dtype):
            return run(z, t, ctx)
        e = np.abs(z)  # exp(−|z|), in place
        np.negative(e, out=e)
        e = ctx["e"] = np.exp(e, out=e)
        out = np.maximum(z, 0.0)  # max(z, 0) − z·t + log(1 + e), in place
        out -= z * t
        out += np.log1p(e)
        return out

    def fast_dz(g: Any, saved: tuple) -> Any:
        z, t, out, ctx = saved
        if not (type(g) is ndarray and type(z) is ndarray and type(t) is ndarray
                and g.shape == z.shape == t.shape and g.dtype == z.dtype == t.dtype):
            return dz(g, saved)
        e = ctx["e"]
        r = np.where(z >= 0.0, 1.0, e)  # g · (σ(z) − t), σ(z) from e = exp(−|z|), in place
        r /= np.add(1.0, e)
        r -= t
        r *= g
        return r

    rule.run, rule.chains = fast, (fast_dz, dt)


def _cross_entropy(rule: ops.Rule) -> None:
    """cross_entropy of (N, C) logits: np.max and np.sum as the ufuncs' own reduce (without the
    functions' wrappers), each sample's label picked by ``arange``, not ``np.indices``, and
    the factor scaled in place: 4-6 µs a call less on W5's logits."""
    run, (d,) = rule.run, rule.chains

    def fast(z: Any, ctx: dict) -> Any:
        labels = ctx["labels"]
        if type(z) is not ndarray or z.ndim != 2 or labels.ndim != 1:
            return run(z, ctx)
        m = np.maximum.reduce(z, axis=-1, keepdims=True)
        log_softmax = z - (m + np.log(np.add.reduce(np.exp(z - m), axis=-1, keepdims=True)))
        ctx["softmax"] = np.exp(log_softmax)
        return -log_softmax[np.arange(len(labels)), labels]

    def fast_d(g: Any, saved: tuple) -> Any:
        ctx = saved[-1]
        p, labels = ctx["softmax"], ctx["labels"]
        if not (type(g) is ndarray and p.ndim == 2 and g.shape == labels.shape
                and g.dtype == p.dtype):
            return d(g, saved)
        p = p.copy()  # softmax − onehot, times g
        p[np.arange(len(labels)), labels] -= 1
        p *= g[:, None]
        return p

    rule.run, rule.chains = fast, (fast_d,)


def _whole(rule: ops.Rule) -> None:
    """mean and sum over every axis of a float32/64 array (``x.mean()``): the forward without
    the table's axis bookkeeping, the cotangent spread back in two array calls."""
    run, (d,) = rule.run, rule.chains
    mean = rule is ops.MEAN

    def fast(x: Any, ctx: dict) -> Any:
        if ctx["axis"] is not None or type(x) is not ndarray or x.dtype.char == "e":
            return run(x, ctx)  # (float16: np.mean adds up in float32)
        ctx["axes"] = None
        s = np.add.reduce(x, axis=None, keepdims=ctx["keepdims"])
        return s / x.size if mean else s

    def fast_d(g: Any, saved: tuple) -> Any:
        x, ctx = saved[0], saved[-1]
        if ctx["axes"] is not None or type(x) is not ndarray or type(g) is not ndarray:
            return d(g, saved)
        if mean:  # (a 0-d g as a NumPy scalar first: its arithmetic is 5x quicker, same bits)
            g = (g[()] if not g.ndim else g) / x.size
        out = np.empty(x.shape, g.dtype)  # (g: an array or a NumPy scalar, never a float)
        out[...] = g
        return out

    rule.run, rule.chains = fast, (fast_d,)


def _max_pool(rule: ops.Rule) -> None:
    """max_pool2d where the windows tile x (stride = kernel, no padding, sizes that divide):
    the ties counted in uint8 (4.4 µs on W6's batch, where 4 float additions took 21), and
    backward writes each offset's share straight into its view of dx (every entry lies in
    one window), not added into zeros: W6's step 5-9 % quicker."""
    run, (d,) = rule.run, rule.chains

    def tiled(x: Any, ctx: dict) -> bool:
        k = ctx["kernel"]
        return (type(x) is ndarray and x.ndim == 4 and x.dtype.char in "efd"
                and ctx["padding"] == (0, 0) and ctx["stride"] == k and k[0] * k[1] < 256
                and x.shape[2] % k[0] == 0 == x.shape[3] % k[1])

    def fast(x: Any, ctx: dict) -> Any:
        if not tiled(x, ctx):
            return run(x, ctx)
        parts = ops._offsets(x, ctx)  # the table's forward, but for the ties' arithmetic
        out = functools.reduce(np.maximum, parts)
        at = ctx["at"] = [part == out for part in parts]
        ties = at[0].astype(np.uint8)
        for a in at[1:]:
            ties += a
        ctx["ties"] = ties.astype(out.dtype)  # small counts: the same numbers as the table's
        return out

    def fast_d(g: Any, saved: tuple) -> Any:
        x, out, ctx = saved
        if not (type(g) is ndarray and g.shape == out.shape and tiled(x, ctx)):
            return d(g, saved)
        share = g / ctx["ties"]
        dx = np.empty(x.shape, share.dtype)
        (kh, kw) = ctx["kernel"]
        for (i, j), a in zip(np.ndindex(kh, kw), ctx["at"]):
            np.multiply(a, share, out=dx[:, :, i::kh, j::kw])
        dx += 0.0  # the table adds each share to 0.0, which makes a −0.0 share 0.0
        return dx

    rule.run, rule.chains = fast, (fast_d,)


_ONES: dict = {}


def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    ones = _ONES.get((n, dtype))
    if ones is None:  # kept for the next call: training repeats its shapes
        if len(_ONES) > 64:
            _ONES.clear()
        ones = _ONES[n, dtype] = np.ones(n, dtype)
    return ones


def unbroadcast(g: Any, like: Any) -> Any:
    """``shapes.unbroadcast``, with a bias's sum by BLAS, 4-5x quicker than NumPy's: a dense
    layer's (N, k) -> (k,), and a conv2d channel bias's (N, C, H, W) -> (C, 1, 1)."""
    if (type(g) is np.ndarray and type(like) is np.ndarray and g.dtype == like.dtype
            and g.dtype.char in "fd"):
        if g.ndim == 2 and like.ndim == 1 and g.shape[1] == like.shape[0]:
            return np.dot(_ones(g.shape[0], g.dtype), g)
        if g.ndim == 4 and g.size and like.shape == (g.shape[1], 1, 1):
            s = np.dot(_ones(g.shape[0], g.dtype), g.reshape(g.shape[0], -1))  # over N, then
            s = s.reshape(g.shape[1], -1)  # over each channel's entries
            return np.dot(s, _ones(s.shape[1], g.dtype)).reshape(like.shape)
    return shapes.unbroadcast(g, like)


_POOL: list = []  # arrays that leaves gave to graphs, each reused once no graph holds it
_POOL_LOCK = threading.Lock()


def copy_leaf(d: np.ndarray) -> np.ndarray:
    """``value.copy_leaf`` without fresh memory for a large array: the copy goes into an array
    of the same shape that an earlier graph held and has let go (W5's training step, which
    updates its weights while the loss is alive, ran 8-20 % slower with a fresh copy each
    step: new pages). An array is free when only the pool refers to it."""
    if d.nbytes < 65536:
        return d.copy()
    with _POOL_LOCK:
        for i in range(len(_POOL)):  # (not enumerate: its tuple would hold one more reference)
            spare = _POOL[i]  # free if referred to by the pool, `spare` and getrefcount only
            if spare.shape == d.shape and spare.dtype == d.dtype and sys.getrefcount(spare) == 3:
                del _POOL[i]
                break
        else:
            spare = None
        _POOL.append(d)  # the graph's now; free again once the graph is gone
        if len(_POOL) > 64:
            del _POOL[0]
    if spare is None:
        return d.copy()
    np.copyto(spare, d)
    return spare


# --- the fast sweep ------------------------------------------------------------------------
# The steps of backward.sweep() in the same order, with each node's cotangent in its _cot slot
# and the edges still to come into it counted in _pending (a dict sweep was 3x slower on W1). A
# scalar node's two inputs are written out (a loop over them made W2's sweep 9% slower), and
# the loops are `while True` with a break (CPython 3.11 specializes a function after 8 calls or
# 8 unconditional backward jumps; with `while stack:` a process's first backward ran 2x slower).

_running = [False]  # whether the thread holding backward._lock is inside a fast sweep


def fast_backward(root: Any, seed: Any) -> None:
    """``backward.backward``, fast: each node's ``.grad`` gets its dL/dnode when the node passes
    it on; if anything fails, every ``.grad`` gets back what it had. A backward started inside
    (by a custom op's backward) takes the reference sweep."""
    with backward._lock:
        if _running[0]:
            return _PLAIN_BACKWARD(root, seed)
        kept: dict = {}  # the .grad of each node that had one, for a failure
        _running[0] = True
        try:
            _reach(root, start := float("-0.0"), kept)  # "no cotangent yet": a new object
            growing.watch(kept)  # (as an error, a warning leaves every .grad as it was)
            root._cot = seed
            _pass(root, start)
        except BaseException:
            for node in backward.toposort(root):
                node._grad, node._cot, node._pending = kept.get(node), None, 0
            raise
        finally:
            _running[0] = False


def _reach(root: Any, start: float, kept: dict) -> None:
    """Count in ``_pending`` the edges into each node that ``root`` depends on, start its cotangent
    at ``start`` (−0.0: −0.0 + g is g, bit for bit), keep its .grad; depth first. A scalar
    node's inputs are written out, its first input tested first (W1's reach took 1.09x the
    previous engine's testing for a tuple first, about 1.0x so)."""
    value, stack = type(root), [root]
    pop, push = stack.pop, stack.append
    if root._grad is not None:
        kept[root] = root._grad
    while True:
        if not stack:
            break
        node = pop()
        p = node._x
        if type(p) is value:  # a scalar node's first input, then its second
            if p._pending:
                p._pending += 1
            else:  # reached for the first time
                p._pending = 1
                p._cot = start
                if p._grad is not None:
                    kept[p] = p._grad
                push(p)
        elif type(p) is tuple:  # a node with its inputs as a tuple
            for p in node._x:  # noqa: B020 -- p is the loop's own from here
                if type(p) is value:
                    if p._pending:
                        p._pending += 1
                    else:
                        p._pending = 1
                        p._cot = start
                        if p._grad is not None:
                            kept[p] = p._grad
                        push(p)
            continue
        p = node._y
        if type(p) is value:
            if p._pending:
                p._pending += 1
            else:
                p._pending = 1
                p._cot = start
                if p._grad is not None:
                    kept[p] = p._grad
                push(p)


def _pass(root: Any, start: float) -> None:
    """Pass each node's cotangent on once it is final (``_pending`` is 0), then add it to .grad."""
    value, ndarray, stack = type(root), np.ndarray, [root]
    pop, push = stack.pop, stack.append
    shared: set[int] = set()  # arrays passed on unchanged (two nodes hold them), leaves' arrays
    while True:
        if not stack:
            break
        node = pop()
        g = node._cot
        dx = node._dout_dx
        if dx is not None:  # a scalar node: multiply by the factor values stored at build
            a = node._x
            if type(a) is value:
                a._cot += g * dx
                n = a._pending - 1
                a._pending = n
                if not n:
                    push(a)
            b = node._y
            if type(b) is value:
                b._cot += g * node._dout_dy
                n = b._pending - 1
                b._pending = n
                if not n:
                    push(b)
            node._grad = g if node._grad is None else node._grad + g
            continue
        node._cot = None  # an array is not kept twice
        if node._op is not None:  # pull(node, i, g) for each input, written out
            chains, saved, i = node._op.chains, node._y, -1
            for p in node._x:
                i += 1
                if type(p) is value:
                    gp, x = chains[i](g, saved), saved[i]
                    if (type(gp) is not ndarray or type(x) is float or gp.shape != x.shape
                            or gp.dtype != x.dtype):
                        gp = unbroadcast(gp, x)
                    if gp is g:  # passed on as it is: this node's .grad and p's share it
                        shared.add(id(g))
                    p._cot = gp if p._cot is start else backward.plus(p._cot, gp)
                    n = p._pending - 1
                    p._pending = n
                    if not n:
                        push(p)
        elif type(g) is not float:  # a leaf owns its .grad: the user may change it in place
            if g.base is not None or id(g) in shared:
                g = g.copy()
            shared.add(id(g))
        node._grad = g if node._grad is None else backward.plus(node._grad, g)


SCALAR = {"relu": _relu, "tanh": _tanh, "sigmoid": _sigmoid, "exp": _exp, "log": _log,
          "neg": _neg, "div": _div, "pow": _pow}
ARRAYS = {"matmul": _matmul, "relu": _relu_arrays, "sigmoid": _sigmoid_arrays, "mean": _whole,
          "sum": _whole, "max_pool2d": _max_pool, "cross_entropy": _cross_entropy,
          "binary_cross_entropy": _bce, "binary_cross_entropy_with_logits": _bce_logits}
OPERATORS = {f"__{'r' * reflected}{rule.name}__": (rule, reflected)
             for rule in (ops.ADD, ops.SUB, ops.MUL, ops.MATMUL) for reflected in (False, True)}
METHODS = ("relu", "tanh", "sigmoid", "exp", "log", "mean", "sum")


def attach() -> None:
    """Give the rules, the operators and the sweeps their hand-tuned forms (once)."""
    rules = ops.RULES
    if backward.unbroadcast is unbroadcast:
        return
    for name, scalar in SCALAR.items():
        rules[name].scalar = scalar
    for name, tune in ARRAYS.items():
        tune(rules[name])
    for name, (rule, reflected) in OPERATORS.items():
        setattr(Value, name, _operator(rule, reflected))
    for name in METHODS:
        setattr(Value, name, _method(rules[name], _PLAIN[name]))
    backward.unbroadcast, backward.backward = unbroadcast, fast_backward
    value.copy_leaf, losses.build = copy_leaf, _loss


def detach() -> None:
    """Back to the plain forms (the tests compare the two)."""
    for rule in ops.RULES.values():
        rule.reset()
    for name in (*OPERATORS, *METHODS):
        setattr(Value, name, _PLAIN[name])
    backward.unbroadcast, backward.backward = shapes.unbroadcast, _PLAIN_BACKWARD
    value.copy_leaf, losses.build = _PLAIN_COPY, apply


_PLAIN = {name: getattr(Value, name) for name in (*OPERATORS, *METHODS)}
_PLAIN_BACKWARD = backward.backward
_PLAIN_COPY = value.copy_leaf
attach()
