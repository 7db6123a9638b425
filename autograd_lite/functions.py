"""The ops as functions of Values, arrays and numbers: ``ag.softmax(x)``, ``ag.maximum(x, y)``,
``ag.where(cond, x, y)``, ``ag.stack(values)``, ... Each builds one node of its rule (ops.py)
with ``apply``; an input that is not a Value is a constant. (``ag.relu`` and the other
methods of Value that are also functions live in value.py.)
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
