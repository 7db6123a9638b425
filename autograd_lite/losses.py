"""Losses: each a rule from the table (or a composition of rules) plus a reduction.

``reduction="none"`` gives the per-sample loss L; ``"mean"`` the cost J = (1/m) Σ L;
``"sum"`` the sum.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .shapes import as_data, shape_of
from .value import Value, apply

_REDUCTIONS = ("mean", "sum", "none")
build = apply  # how the two-input losses build their node: kernels.py attaches a quicker form


def _shape(x: Any, what: str) -> tuple[int, ...]:
    return x.shape if isinstance(x, Value) else shape_of(as_data(x, what))


def _check(reduction: str, pred: Any, target: Any, name: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    ps, ts = _shape(pred, "pred"), _shape(target, "target")
    if ts and ps != ts:
        raise ValueError(f"{name}: target shape {ts} differs from prediction shape {ps}; "
                         "reshape one of them (broadcasting here would silently mix samples)")


def _reduce(loss: Value, reduction: str) -> Value:
    return loss if reduction == "none" else loss.mean() if reduction == "mean" else loss.sum()


def mse_loss(pred: Any, target: Any, reduction: str = "mean") -> Value:
    """Mean squared error ``mean((pred − target)²)``, built from sub, pow and mean.

    >>> import autograd_lite as ag
    >>> ag.mse_loss(ag.Value([1.0, 2.0]), [0.0, 0.0]).item()
    2.5
    """
    _check(reduction, pred, target, "mse_loss")
    return _reduce(apply(ops.SUB, pred, target) ** 2, reduction)


def binary_cross_entropy(prob: Any, target: Any, reduction: str = "mean") -> Value:
    """``−(t·log p + (1 − t)·log(1 − p))``; logs clipped at −100 so p = 0 or 1 stays finite."""
    _check(reduction, prob, target, "binary_cross_entropy")
    return _reduce(build(ops.BINARY_CROSS_ENTROPY, prob, target), reduction)


def binary_cross_entropy_with_logits(logits: Any, target: Any, reduction: str = "mean") -> Value:
    """Binary cross-entropy of ``sigmoid(logits)``, computed stably from the logits."""
    _check(reduction, logits, target, "binary_cross_entropy_with_logits")
    return _reduce(build(ops.BCE_WITH_LOGITS, logits, target), reduction)


def cross_entropy(logits: Any, labels: Any, reduction: str = "mean") -> Value:
    """Softmax cross-entropy of ``logits`` (shape ``(N, C)`` or ``(C,)``) with integer labels.

    >>> import autograd_lite as ag
    >>> round(ag.cross_entropy(ag.Value([[1000.0, -1000.0]]), [1]).item(), 6)
    2000.0
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    shape = _shape(logits, "logits")
    if not shape:
        raise ValueError("cross_entropy needs logits with a class axis, shape (N, C) or (C,)")
    y = np.asarray(labels)
    if y.dtype.kind not in "iu":
        raise TypeError(f"labels must be integer class indices, got dtype {y.dtype}")
    if y.shape != shape[:-1]:
        raise ValueError(f"labels must have shape {shape[:-1]} for logits of shape {shape}, "
                         f"got {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= shape[-1]):
        raise ValueError(f"labels must lie in [0, {shape[-1] - 1}] for {shape[-1]} classes")
    return _reduce(apply(ops.CROSS_ENTROPY, logits, labels=y.astype(np.intp)), reduction)
