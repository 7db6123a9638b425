"""What the engine stores, and un-broadcasting.

A *scalar* is a Python ``float``; a *tensor* is a NumPy ``ndarray`` of float16, float32 or
float64. Everything the engine stores goes through :func:`as_data`; every gradient is summed
back to its input's shape by :func:`unbroadcast`, the one place that does it.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from numpy.ma import MaskedArray

FLOAT_DTYPES = (np.float16, np.float32, np.float64)


def as_data(x: object, what: str = "data") -> Any:
    """``x`` as engine data: a Python float or a float ndarray, else an error naming ``what``.

    Python and NumPy numbers become floats, except NumPy float16/float32 scalars, which become
    0-d arrays (their dtype is kept). Arrays and nested lists keep float16/32/64; integers
    become float64. Bools, ``np.matrix`` and masked arrays are refused: their arithmetic (or
    their mask) means something else than a plain array's.
    """
    if type(x) is float or type(x) is np.ndarray and x.dtype.char in "efd":
        return x  # the common cases first
    if type(x) is int and -2**63 < x < 2**63:
        return float(x)
    if isinstance(x, numbers.Real) and not isinstance(x, bool | np.generic):
        try:
            return float(x)
        except OverflowError:  # an int beyond float64's range
            raise ValueError(f"{what} is too large for a float64 (an integer of "
                             f"{len(str(x))} digits)") from None
    if isinstance(x, list | tuple):
        try:
            x = np.asarray(x)
        except ValueError as e:  # ragged lists
            raise TypeError(f"{what} must be a rectangular nested list of numbers: {e}") from None
    plain = isinstance(x, np.ndarray | np.generic) and not isinstance(x, np.matrix | MaskedArray)
    if not plain or x.dtype.kind not in "iu" and x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{what} must be a number, a plain NumPy array or a nested list of "
                        f"float16/32/64 or integer numbers, got "
                        f"{f'dtype {x.dtype}' if plain else type(x).__name__}")
    if isinstance(x, np.generic) and (x.dtype.kind in "iu" or x.dtype == np.float64):
        return float(x)
    return np.asarray(x, np.float64 if x.dtype.kind in "iu" else None)  # a plain ndarray


def shape_of(x: Any) -> tuple[int, ...]: return () if type(x) is float else x.shape


def unbroadcast(g: Any, like: Any) -> Any:
    """The cotangent ``g`` summed back to the shape of ``like``, in its dtype and kind.

    Broadcasting repeated ``like`` along some axes in the forward pass, so the chain rule adds
    up ``g`` over those axes; a factor that was a smaller constant is spread out.
    """
    if type(like) is float:
        return g if type(g) is float else float(np.sum(g))
    g = np.asarray(g)
    lead = g.ndim - like.ndim  # the axes that broadcasting put in front
    if g.shape != like.shape and lead >= 0:
        g = np.add.reduce(g, axis=(*range(lead), *(i + lead for i, n in enumerate(like.shape)
                                                    if n == 1)), keepdims=True)
        g = g.reshape(g.shape[lead:])
    if g.shape != like.shape:
        g = np.broadcast_to(g, like.shape)
    return g if g.dtype == like.dtype else g.astype(like.dtype)
