"""NumPy functions on Values: ``np.sum(v)``, ``np.exp(v)``, ``np.dot(W, A)`` ... record the ops
their ``ag`` counterparts record; any other NumPy function on a Value is refused with a
``TypeError`` that names what to use.

Attached onto ``Value`` when the package is imported (as kernels.py attaches its forms):
``__array_ufunc__`` for the ufuncs (``np.exp``, ``np.maximum``, and ``ndarray + Value``, which
NumPy sends to ``np.add``), ``__array_function__`` for the rest (``np.sum``, ``np.dot``, ...),
and ``__array__``, which refuses ``np.asarray(v)`` and ``np.array([v, ...])`` (NumPy would
otherwise make an object array of Values, and the error would come one op later).

>>> import numpy as np, autograd_lite as ag
>>> A = ag.Value(np.array([[1.0, -2.0], [0.5, 3.0]]))
>>> L = np.sum(np.tanh(np.dot(np.eye(2), A)))
>>> L.op, type(L).__name__
('sum', 'Value')
>>> np.sin(A)
Traceback (most recent call last):
...
TypeError: np.sin is not an op on Values: write it as an ag.custom_op, or apply it to v.data ...
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import functions as fn
from . import ops
from .value import Value, apply

# --- ufuncs: np.exp(v), np.maximum(v, 0), and ndarray + Value (NumPy calls np.add) ----------

_UFUNCS = {np.add: ops.ADD, np.subtract: ops.SUB, np.multiply: ops.MUL, np.true_divide: ops.DIV,
           np.matmul: ops.MATMUL, np.negative: ops.NEG, np.exp: ops.EXP, np.log: ops.LOG,
           np.tanh: ops.TANH, np.sqrt: ops.SQRT, np.absolute: ops.ABS, np.maximum: ops.MAXIMUM,
           np.minimum: ops.MINIMUM}
_REFLECTED = {np.add: "__radd__", np.subtract: "__rsub__", np.multiply: "__rmul__",
              np.true_divide: "__rtruediv__", np.matmul: "__rmatmul__"}  # ndarray + Value
_COMPARE = {np.less, np.less_equal, np.greater, np.greater_equal}  # a boolean array, as v < w

_HINTS = {  # what to use instead, for the NumPy functions a course reaches for
    "power": "x ** p with a number p (for c ** x write (x * log(c)).exp())",
    "equal": "v.data == w.data (compare the data)", "not_equal": "v.data != w.data",
    "var": "v.var()", "std": "v.std()", "squeeze": "v.squeeze()", "ravel": "v.flatten()",
    "amax": "v.max()", "amin": "v.min()", "maximum.reduce": "v.max()", "add.reduce": "v.sum()",
    "exp2": "(v * log(2)).exp()", "log1p": "(1 + v).log()", "expm1": "v.exp() - 1",
    "square": "v ** 2", "reciprocal": "1 / v", "sign": "v.data > 0 (a constant mask)",
    "outer": "x.reshape(-1, 1) * y.reshape(1, -1)", "inner": "x @ y", "tensordot": "@ and reshape",
    "einsum": "@, * and .sum(axis)", "mean": "v.mean(axis)", "zeros_like": "np.zeros(v.shape)",
    "ones_like": "np.ones(v.shape)", "empty_like": "np.empty(v.shape)",
}


def _refuse(name: str) -> TypeError:
    hint = _HINTS.get(name, "write it as an ag.custom_op, or apply it to v.data (a constant, "
                            "no gradient)")
    return TypeError(f"np.{name} is not an op on Values: {'use ' * (name in _HINTS)}{hint}")


def _no_options(name: str, kwargs: dict, allowed: tuple[str, ...] = ()) -> None:
    """out=, dtype=, where=, casting= ... change what a call means: refused (None passes)."""
    bad = sorted(k for k, v in kwargs.items() if k not in allowed and v is not None
                 and not (k == "where" and v is True))
    if bad:
        raise TypeError(f"np.{name} on Values takes no {', '.join(b + '=' for b in bad)}: the "
                        "result is a new Value of the inputs' dtype (for another dtype, convert "
                        "the data first: Value(v.data.astype(...)))")


def _ufunc(self: Value, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
    reflected = _REFLECTED.get(ufunc)  # ndarray @ Value: Value's own operator, __rmatmul__
    if reflected and not kwargs and method == "__call__" and type(inputs[0]) is not Value:
        return getattr(inputs[1], reflected)(inputs[0])
    rule = _UFUNCS.get(ufunc)
    if rule is not None and not kwargs and method == "__call__":  # np.exp(v), np.add(v, 1)
        return apply(rule, *inputs)
    name = ufunc.__name__
    if method != "__call__":
        raise _refuse(f"{name}.{method}")
    _no_options(name, kwargs)
    if ufunc in _UFUNCS:
        return apply(_UFUNCS[ufunc], *inputs)
    if ufunc in _COMPARE:
        return ufunc(*(x._data if type(x) is Value else x for x in inputs))
    if ufunc is np.positive:
        return inputs[0]
    if ufunc is np.power and type(inputs[0]) is Value and type(inputs[1]) is not Value:
        return inputs[0] ** inputs[1]
    raise _refuse(name)


# --- the other functions: np.sum(v), np.dot(W, A), np.concatenate([v, w]) ... -----------------


def _dot(a: Any, b: Any) -> Value:
    if np.ndim(_data(a)) == 0 or np.ndim(_data(b)) == 0:
        return apply(ops.MUL, a, b)
    if np.ndim(_data(a)) > 2 or np.ndim(_data(b)) > 2:
        raise TypeError("np.dot on Values of more than 2 dimensions: use x @ y (np.matmul, "
                        "which batches over the leading axes; np.dot's N-D rule is not an op)")
    return apply(ops.MATMUL, a, b)


def _data(x: Any) -> Any:
    return x._data if type(x) is Value else x


def _clip(a: Any, a_min: Any = None, a_max: Any = None, **kwargs: Any) -> Value:
    lo, hi = kwargs.pop("min", a_min), kwargs.pop("max", a_max)
    _no_options("clip", kwargs)
    return apply(ops.CLIP, a, lo=lo, hi=hi)


def _reduce(rule: ops.Rule) -> Any:
    def call(a: Any, axis: Any = None, *more: Any, keepdims: bool = False, **kwargs: Any) -> Value:
        _no_options(rule.name, dict(zip(("dtype", "out"), more)) | kwargs)
        return apply(rule, a, axis=axis, keepdims=keepdims)

    return call


def _reshape(a: Any, shape: Any = None, order: str = "C", **kwargs: Any) -> Value:
    shape = kwargs.pop("newshape", shape)
    _no_options("reshape", kwargs | {"order": None if order == "C" else order})
    return apply(ops.RESHAPE, a, shape=(shape,) if isinstance(shape, int) else tuple(shape))


def _swapaxes(a: Any, i: int, j: int) -> Value:
    axes = list(range(np.ndim(_data(a))))
    axes[i], axes[j] = axes[j], axes[i]
    return apply(ops.TRANSPOSE, a, axes=tuple(axes))


def _broadcast_to(a: Any, shape: Any, subok: bool = False) -> Value:
    return a + np.zeros(shape, np.result_type(_data(a)))  # its gradient sums back to a's shape


def _take(a: Any, i: int, axis: int | None = None) -> Value:
    if axis is None or not isinstance(i, int | np.integer):
        raise TypeError("np.take on a Value takes one int index and an axis: use v[index]")
    return a[(slice(None),) * (axis % np.ndim(_data(a))) + (int(i),)]


_FUNCTIONS = {
    np.sum: _reduce(ops.SUM), np.mean: _reduce(ops.MEAN), np.max: _reduce(ops.MAX),
    np.min: _reduce(ops.MIN), np.dot: _dot, np.clip: _clip,
    np.where: lambda cond, x, y: fn.where(cond, x, y),
    np.concatenate: lambda arrays, axis=0, **kw: _no_options("concatenate", kw) or
    fn.concatenate(arrays, axis),
    np.stack: lambda arrays, axis=0, **kw: _no_options("stack", kw) or fn.stack(arrays, axis),
    np.reshape: _reshape, np.transpose: lambda a, axes=None: apply(ops.TRANSPOSE, a, axes=axes),
    # what the table's derivatives use, so that they run on Values (ag.grad's second order)
    np.swapaxes: _swapaxes, np.expand_dims: lambda a, axis: fn.expand_dims(a, axis),
    np.broadcast_to: _broadcast_to, np.take: _take,
    np.shape: lambda a: np.shape(_data(a)), np.ndim: lambda a: np.ndim(_data(a)),
}
if hasattr(np, "amax"):
    _FUNCTIONS |= {np.amax: _FUNCTIONS[np.max], np.amin: _FUNCTIONS[np.min]}


def _function(self: Value, func: Any, types: tuple, args: tuple, kwargs: dict) -> Any:
    if func in _FUNCTIONS:
        return _FUNCTIONS[func](*args, **kwargs)
    raise _refuse(func.__name__)


def _array(self: Value, dtype: Any = None, copy: Any = None) -> np.ndarray:
    raise TypeError("NumPy cannot hold a Value in an array: for a tensor of Values use "
                    "ag.stack(values) (np.array([Value, ...]) would be an object array), and for "
                    "a Value's numbers v.data (a constant, no gradient)")


Value.__array_ufunc__ = _ufunc  # type: ignore[assignment]
Value.__array_function__ = _function  # type: ignore[attr-defined]
Value.__array__ = _array  # type: ignore[attr-defined]
