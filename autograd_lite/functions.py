"""The ops as functions of Values, arrays and numbers: ``ag.softmax(x)``, ``ag.maximum(x, y)``,
``ag.where(cond, x, y)``, ``ag.stack(values)``, ``ag.conv2d(x, w)``, ... Each builds one node
of its rule (ops.py) with ``apply``; an input that is not a Value is a constant. (``ag.relu``
and the other methods of Value that are also functions live in value.py.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import ops
from .value import GRAD_ENABLED, Value, _stand_in, apply


def softmax(x: Any, axis: int | tuple[int, ...] | None = -1) -> Value:
    """exp(x) / Σ exp(x) along ``axis`` (default: the last), computed as exp(x − logsumexp(x)):
    finite at logits of ±1000.

    >>> import numpy as np, autograd_lite as ag
    >>> ag.softmax(ag.Value(np.array([1000.0, 1000.0, -1000.0]))).data
    array([0.5, 0.5, 0. ])
    """
    return apply(ops.SOFTMAX, x, axis=axis)


def log_softmax(x: Any, axis: int | tuple[int, ...] | None = -1) -> Value:
    """x − logsumexp(x) along ``axis`` (default: the last): finite where softmax underflows."""
    return apply(ops.LOG_SOFTMAX, x, axis=axis)


def logsumexp(x: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Value:
    """log Σ exp(x) over ``axis`` (default: all), as max + log Σ exp(x − max); its gradient
    is softmax(x).

    >>> import numpy as np, autograd_lite as ag
    >>> ag.logsumexp(ag.Value(np.array([1000.0, 1000.0]))).item()
    1000.6931471805599
    """
    return apply(ops.LOGSUMEXP, x, axis=axis, keepdims=keepdims)


def maximum(x: Any, y: Any) -> Value:
    """The larger of x and y, elementwise, broadcasting. At a tie (x == y) each gets half of
    the gradient (PyTorch maximum): a kink, counted by ``ag.kinks``. For max(x, 0) use relu.

    >>> import autograd_lite as ag
    >>> x, y = ag.Value(2.0), ag.Value(2.0)
    >>> ag.maximum(x, y).backward(); x.grad, y.grad
    (0.5, 0.5)
    """
    return apply(ops.MAXIMUM, x, y)


def minimum(x: Any, y: Any) -> Value:
    """The smaller of x and y, elementwise; at a tie each gets half of the gradient."""
    return apply(ops.MINIMUM, x, y)


def where(cond: Any, x: Any, y: Any) -> Value:
    """x where ``cond`` is True, else y (broadcasting); ``cond`` is a boolean array, e.g.
    ``v > 0`` (a constant). The gradient goes to x where cond holds, to y elsewhere.

    >>> import numpy as np, autograd_lite as ag
    >>> x = ag.Value(np.array([-1.0, 2.0]))
    >>> ag.where(x > 0, x, 0.1 * x).sum().backward(); x.grad
    array([0.1, 1. ])
    """
    return apply(ops.WHERE, x, y, cond=cond)


def expand_dims(x: Any, axis: int | tuple[int, ...]) -> Value:
    """x with a new axis of size 1 at ``axis`` (NumPy's expand_dims); a reshape."""
    return apply(ops.RESHAPE, x, shape=np.expand_dims(_stand_in(x), axis).shape)


def _values(values: Any, what: str) -> list:
    if isinstance(values, str) or not hasattr(values, "__iter__"):
        raise TypeError(f"{what} takes a list of Values, arrays or numbers, got "
                        f"{type(values).__name__}")
    values = list(values)
    if not values:
        raise ValueError(f"{what} needs at least one value")
    return values


def concatenate(values: Any, axis: int = 0) -> Value:
    """The values (Values or arrays) joined along an axis they have; each input
    gets its block of the gradient back.

    >>> import numpy as np, autograd_lite as ag
    >>> a, b = ag.Value(np.ones(2)), ag.Value(np.zeros(3))
    >>> y = ag.concatenate([a, b, np.full(1, 7.0)]); y.data
    array([1., 1., 0., 0., 0., 7.])
    """
    return apply(ops.CONCATENATE, *_values(values, "concatenate"), axis=axis)


def stack(values: Any, axis: int = 0) -> Value:
    """The values (Values, arrays or numbers of one shape) along a new ``axis``: a stack of
    scalar Values is a tensor.

    >>> import autograd_lite as ag
    >>> a, x = ag.Value(0.5), ag.Value(-2.0)
    >>> h = ag.stack([a, x, 1.0]); h.data
    array([ 0.5, -2. ,  1. ])
    >>> (h * h).sum().backward(); a.grad, x.grad
    (1.0, -4.0)
    """
    return apply(ops.STACK, *_values(values, "stack"), axis=axis)


# --- convolution and pooling: the sizes checked here, so the rules (ops.py) take pairs --------


def _pair(v: Any, what: str, least: int) -> tuple[int, int]:
    """An int or a pair of ints (height, width), each at least ``least``, as a pair."""
    pair = tuple(v) if isinstance(v, tuple | list) else (v, v)
    if len(pair) != 2 or not all(isinstance(n, int | np.integer) and not isinstance(n, bool)
                                 for n in pair):
        raise TypeError(f"{what} must be an int or a pair of ints (height, width), got {v!r}")
    if min(pair) < least:
        raise ValueError(f"{what} must be {'positive' if least else 'at least 0'}, got {v!r}")
    return int(pair[0]), int(pair[1])


def _shape4(x: Any, what: str, layout: str) -> tuple[int, ...]:
    shape = _stand_in(x).shape
    if len(shape) != 4:
        hint = " (one image: add the batch axis, x[None])" if len(shape) == 3 else ""
        raise ValueError(f"{what} must be 4-D {layout}, got shape {shape}{hint}")
    return shape


def _windows_fit(op: str, shape: tuple, kernel: tuple, padding: tuple) -> None:
    size = [n + 2 * p for n, p in zip(shape[2:], padding)]
    if kernel[0] > size[0] or kernel[1] > size[1]:
        padded = " padded" if any(padding) else ""
        raise ValueError(f"{op}: the kernel {kernel[0]}×{kernel[1]} is larger than the{padded} "
                         f"input {size[0]}×{size[1]}: it must fit inside (H + 2·padding, "
                         "W + 2·padding)")


def conv2d(x: Any, w: Any, b: Any = None, stride: int | tuple[int, int] = 1,
           padding: int | tuple[int, int] = 0) -> Value:
    """2-D convolution (cross-correlation, as PyTorch's ``conv2d``) of a batch of images.

    Parameters
    ----------
    x : Value or array, shape (N, C_in, H, W)
        The input, NCHW.
    w : Value or array, shape (C_out, C_in, kh, kw)
        The kernels, OIHW.
    b : Value or array, shape (C_out,), optional
        A bias per output channel, added after the convolution (an ``add`` node).
    stride, padding : int or (int, int)
        The step between windows (≥ 1) and the zeros added on each side (≥ 0).

    Returns
    -------
    Value, shape (N, C_out, (H + 2·ph − kh) // sh + 1, (W + 2·pw − kw) // sw + 1)
        One ``conv2d`` node: forward and both factors are BLAS products of the im2col matrix.

    Examples
    --------
    >>> import numpy as np, autograd_lite as ag
    >>> x = ag.Value(np.arange(16.0).reshape(1, 1, 4, 4))
    >>> w = ag.Value(np.ones((1, 1, 2, 2)))
    >>> y = ag.conv2d(x, w, stride=2); y.data
    array([[[[10., 18.],
             [42., 50.]]]])
    >>> y.sum().backward(); x.grad[0, 0]
    array([[1., 1., 1., 1.],
           [1., 1., 1., 1.],
           [1., 1., 1., 1.],
           [1., 1., 1., 1.]])
    >>> w.grad[0, 0]
    array([[20., 24.],
           [36., 40.]])
    """
    xs = _shape4(x, "conv2d: x", "(N, C_in, H, W)")
    ws = _shape4(w, "conv2d: w", "(C_out, C_in, kh, kw)")
    stride, padding = _pair(stride, "conv2d: stride", 1), _pair(padding, "conv2d: padding", 0)
    if xs[1] != ws[1]:
        raise ValueError(f"conv2d: x has {xs[1]} channel(s) (shape {xs}) but w takes {ws[1]} "
                         f"(shape {ws}): x.shape[1] must equal w.shape[1]")
    _windows_fit("conv2d", xs, ws[2:], padding)
    out = apply(ops.CONV2D, x, w, kernel=ws[2:], stride=stride, padding=padding)
    if b is None:
        return out
    if _stand_in(b).shape != ws[:1]:
        raise ValueError(f"conv2d: b must have shape ({ws[0]},), one number per output channel, "
                         f"got shape {_stand_in(b).shape}")
    return out + (b.reshape(-1, 1, 1) if isinstance(b, Value) else np.reshape(b, (-1, 1, 1)))


def _pooling(op: str, x: Any, kernel_size: Any, stride: Any) -> dict:
    shape = _shape4(x, f"{op}: x", "(N, C, H, W)")
    kernel = _pair(kernel_size, f"{op}: kernel_size", 1)
    stride = kernel if stride is None else _pair(stride, f"{op}: stride", 1)
    _windows_fit(op, shape, kernel, (0, 0))
    return {"kernel": kernel, "stride": stride, "padding": (0, 0)}


def max_pool2d(x: Any, kernel_size: int | tuple[int, int],
               stride: int | tuple[int, int] | None = None) -> Value:
    """The largest entry of each ``kernel_size`` window of a batch of images (PyTorch's
    ``max_pool2d``, without padding).

    Parameters
    ----------
    x : Value or array, shape (N, C, H, W)
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        The step between windows; default ``kernel_size`` (windows side by side).

    Returns
    -------
    Value, shape (N, C, (H − kh) // sh + 1, (W − kw) // sw + 1)

    Notes
    -----
    Where k entries of a window tie for its max, max is not differentiable there: each gets
    g/k (as ``v.max()`` and PyTorch's ``amax``; PyTorch's ``max_pool2d`` gives all of g to one
    of them instead). A tie is a kink: counted on the node and listed by ``ag.kinks``.

    Examples
    --------
    >>> import numpy as np, autograd_lite as ag
    >>> x = ag.Value(np.array([[[[1.0, 3.0, 0.0, 1.0],
    ...                          [3.0, 0.0, 2.0, 0.0]]]]))
    >>> y = ag.max_pool2d(x, 2); y.data
    array([[[[3., 2.]]]])
    >>> y.sum().backward(); x.grad
    array([[[[0. , 0.5, 0. , 0. ],
             [0.5, 0. , 1. , 0. ]]]])
    >>> print(*ag.kinks(y.sum()))
    max_pool2d: 2 of 8 inputs tied for a window's max (∂max/∂x = 1/#ties)
    """
    return apply(ops.MAX_POOL2D, x, **_pooling("max_pool2d", x, kernel_size, stride))


def avg_pool2d(x: Any, kernel_size: int | tuple[int, int],
               stride: int | tuple[int, int] | None = None) -> Value:
    """The mean of each ``kernel_size`` window of a batch of images (PyTorch's
    ``avg_pool2d``, without padding); ``stride`` defaults to ``kernel_size``. Each entry of a
    window gets g/(kh·kw) from it.

    >>> import numpy as np, autograd_lite as ag
    >>> x = ag.Value(np.arange(8.0).reshape(1, 1, 2, 4))
    >>> y = ag.avg_pool2d(x, 2); y.data
    array([[[[2.5, 4.5]]]])
    >>> y.sum().backward(); x.grad
    array([[[[0.25, 0.25, 0.25, 0.25],
             [0.25, 0.25, 0.25, 0.25]]]])
    """
    return apply(ops.AVG_POOL2D, x, **_pooling("avg_pool2d", x, kernel_size, stride))


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Build no graph inside the block: every op's result is a new leaf (PyTorch's no_grad).

    For hand-written updates: ``with ag.no_grad(): W = W - lr * W.grad`` makes W a leaf again,
    so step 2,000 costs what step 10 does. The setting is context-local (a contextvar, as
    ``relu_subgradient``): other threads and asyncio tasks keep theirs.

    >>> import autograd_lite as ag
    >>> w = ag.Value(2.0)
    >>> with ag.no_grad():
    ...     u = w * 3 + 1
    >>> u.data, u.rule is None, ag.is_grad_enabled()
    (7.0, True, True)
    """
    token = GRAD_ENABLED.set(False)
    try:
        yield
    finally:
        GRAD_ENABLED.reset(token)


def is_grad_enabled() -> bool:
    """Whether ops build the graph here (False inside ``ag.no_grad()``)."""
    return GRAD_ENABLED.get()
