"""Data coercion, un-broadcasting, and short summaries of arrays.

A *scalar* is a Python ``float``; a *tensor* is a NumPy ``ndarray`` of float16, float32
or float64. Everything the engine stores goes through :func:`as_data`.
"""

from __future__ import annotations

import numbers
import re
from typing import Any

import numpy as np

FLOAT_DTYPES = (np.float16, np.float32, np.float64)
Data = Any  # float | np.ndarray


def as_data(x: object, what: str = "data") -> Data:
    """Coerce ``x`` to engine data: a Python float or a float ndarray.

    Python and NumPy integers/floats become Python floats, except NumPy float16/float32
    scalars, which become 0-d arrays so that their dtype is kept. Arrays and nested lists
    keep float16/32/64; integer arrays become float64. Anything else is a TypeError.
    """
    if type(x) is float:
        return x
    if type(x) is np.ndarray and x.dtype.char in "efd":  # float16/32/64: the common case
        return x
    if isinstance(x, bool | np.bool_):
        raise TypeError(f"{what} must be a real number or array of them, got a bool ({x!r})")
    if isinstance(x, np.ndarray | np.generic):
        return _as_array(x, what)
    if isinstance(x, numbers.Real):
        return float(x)
    if isinstance(x, list | tuple):
        try:
            arr = np.asarray(x)
        except ValueError as e:  # ragged lists
            raise TypeError(f"{what} must be a rectangular nested list of numbers: {e}") from None
        return _as_array(arr, what)
    raise TypeError(
        f"{what} must be a number, a NumPy array or a nested list of numbers, "
        f"got {type(x).__name__}"
    )


def _as_array(x: np.ndarray | np.generic, what: str) -> Data:
    kind = x.dtype.kind
    if kind == "f" and x.dtype in FLOAT_DTYPES:
        if isinstance(x, np.generic):
            return float(x) if x.dtype == np.float64 else np.asarray(x)
        return x
    if kind in "iu":
        return float(x) if isinstance(x, np.generic) else x.astype(np.float64)
    raise TypeError(
        f"{what} must hold float16/float32/float64 or integer numbers, got dtype {x.dtype}"
    )


def shape_of(x: Data) -> tuple[int, ...]:
    return () if type(x) is float else x.shape


def fit(g: Data, like: Data) -> Data:
    """Bring a cotangent ``g`` to the shape and dtype of ``like`` (un-broadcasting).

    Broadcasting repeated ``like`` along some axes in the forward pass, so the chain rule
    sums ``g`` over those axes. This is the only place the engine un-broadcasts.
    """
    if type(like) is float:
        return g if type(g) is float else float(np.sum(g))
    if type(g) is not np.ndarray or g.shape != like.shape:
        g = np.asarray(g)
        extra = g.ndim - like.ndim
        if extra == 1 and g.ndim == 2 and g.dtype.char in "fd":  # a bias's (N, k) -> (k,)
            g = np.dot(_ones(g.shape[0], g.dtype), g)  # BLAS: 5x NumPy's sum over axis 0
        elif extra > 0:  # leading axes that broadcasting added
            g = np.add.reduce(g, axis=0 if extra == 1 else tuple(range(extra)))
        if g.ndim == like.ndim and g.shape != like.shape:  # axes of length 1 it stretched
            axes = tuple(i for i, n in enumerate(like.shape) if n == 1 and g.shape[i] != 1)
            if axes:
                g = np.add.reduce(g, axis=axes, keepdims=True)
        if g.shape != like.shape:  # a constant factor times a smaller cotangent
            g = np.broadcast_to(g, like.shape)
    if g.dtype != like.dtype:
        g = g.astype(like.dtype)
    return g


_ONES: dict = {}


def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of n ones (kept for the next call: training repeats its shapes)."""
    key = (n, dtype)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) >= 64:
            _ONES.clear()
        ones = _ONES[key] = np.ones(n, dtype)
        ones.flags.writeable = False
    return ones


def summary(x: Data, full: int = 6, precision: int = 4) -> str:
    """A short text for a number or array: small arrays in full, large ones summarised.

    A zero is written without a sign: ``-0.0`` (say ``0 · -2``), and a tiny negative number
    that rounds to zero, read ``0``. Only the text changes, never ``x``.

    >>> summary(-0.0), summary(np.array([-0.0, -1e-20, 0.5]))
    ('0', '[ 0. ,  0. ,  0.5]')
    """
    if type(x) is float or (isinstance(x, np.ndarray) and x.ndim == 0):
        return f"{float(x) + 0.0:.{precision}g}"
    x = np.asarray(x)
    if x.dtype == bool:
        x = x.astype(np.float64)
    if x.dtype.kind == "f":
        x = x + 0.0  # a new array without -0.0 (the caller's is untouched)
    if x.size <= full:
        text = np.array2string(x, precision=precision, separator=", ", suppress_small=True,
                               max_line_width=60)
        return _NEGATIVE_ZERO.sub(" ", text)
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return f"{x.shape} all non-finite"
    lo, hi, mean = (float(t) + 0.0 for t in (finite.min(), finite.max(), finite.mean()))
    return f"mean {mean:.{precision}g}, range [{lo:.{precision}g}, {hi:.{precision}g}]"


# the sign of a number NumPy rounded to zero ("-0.", "-0.000"), kept as a space for alignment
_NEGATIVE_ZERO = re.compile(r"(?<![\w.])-(?=0\.0*(?![\d.]))")
