"""The subgradient of ReLU at zero: the default, a context manager, validation.

ReLU is not differentiable at 0; its Clarke subdifferential there is [0, 1]. The value
used for relu'(0) is a *choice*. We default to 0, as PyTorch, TensorFlow/Keras and JAX
do (Bertoin et al., "Numerical influence of ReLU'(0) on backpropagation", NeurIPS 2021,
recommend it too). The choice is resolved when a ReLU is built and stored on its node;
backward never reads this module.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import numbers
from collections.abc import Iterator

_RELU_SUBGRADIENT = contextvars.ContextVar("autograd_lite_relu_subgradient", default=0.0)


def check_real(value: object, what: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    """``value`` as a float if it is a finite real number in ``[lo, hi]``, else a ValueError."""
    if type(value) in (float, int) and abs(value) < 2**63 and lo <= value <= hi:  # the usual
        return float(value)  # (NaN fails lo <= value; ±inf fails the abs)
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    v = float(value) if ok and abs(value) < 2**1024 else math.nan  # type: ignore[arg-type]
    if not lo <= v <= hi or math.isinf(v):  # also rejects NaN
        want = f"a real number in [{lo:g}, {hi:g}]" if math.isfinite(lo + hi) else \
            f"a finite real number ≥ {lo:g}" if math.isfinite(lo) else "a finite real number"
        text = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:20]}…"
        raise ValueError(f"{what} must be {want}, got {text}")
    return v


def get_relu_subgradient() -> float:
    """Return the relu'(0) that ReLUs built in the current context use.

    >>> import autograd_lite as ag
    >>> ag.get_relu_subgradient()
    0.0
    """
    return _RELU_SUBGRADIENT.get()


@contextlib.contextmanager
def relu_subgradient(s: float) -> Iterator[float]:
    """Set relu'(0) for every ReLU built inside the block.

    The setting is context-local (a :mod:`contextvars` variable): other threads and
    asyncio tasks keep their own. ``s`` must be a real number in ``[0, 1]``.

    >>> import autograd_lite as ag
    >>> with ag.relu_subgradient(1.0):
    ...     y = ag.Value(0.0).relu()
    >>> y.backward(); y.parents[0].grad
    1.0
    """
    token = _RELU_SUBGRADIENT.set(check_real(s, "relu subgradient (relu'(0))", 0.0, 1.0))
    try:
        yield _RELU_SUBGRADIENT.get()
    finally:
        _RELU_SUBGRADIENT.reset(token)
