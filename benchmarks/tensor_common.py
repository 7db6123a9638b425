"""What the tensor workloads (W4, W5, W6) share: PyTorch loading, timing loops, cross-checks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import THREADS
from .harness import CrossCheckError, check_all_close, timed


def load_torch():  # noqa: ANN201
    """PyTorch pinned to the benchmark's thread count, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(THREADS)
    try:
        torch.set_num_interop_threads(THREADS)
    except RuntimeError:  # already set (it can be set once per process)
        pass
    return torch


def per_step(step: Callable[[], object], steps: int) -> Callable[[], float]:
    """A timed call for :func:`harness.interleave`: seconds per step over ``steps`` steps."""
    def call() -> float:
        return timed(lambda: [step() for _ in range(steps)]) / steps
    return call


def check_engines(what: str, results: dict[str, tuple[float, list[np.ndarray]]],
                  rtol: float, atol: float) -> str:
    """Every engine's loss and gradients against the first one's (the hand-written one)."""
    names = list(results)
    ref_loss, ref_grads = results[names[0]]
    for name in names[1:]:
        loss, grads = results[name]
        check_all_close(f"{what}: {name} loss", [ref_loss], [loss], rtol, atol)
        if len(grads) != len(ref_grads):
            raise CrossCheckError(f"{what}: {name} has {len(grads)} gradients")
        for i, (a, b) in enumerate(zip(ref_grads, grads)):
            if a.shape != b.shape or a.dtype != b.dtype:
                raise CrossCheckError(f"{what}: {name} gradient {i} is {b.dtype}{b.shape}, "
                                      f"want {a.dtype}{a.shape}")
            if not np.allclose(b, a, rtol=rtol, atol=atol):
                worst = float(np.max(np.abs(b - a)))
                raise CrossCheckError(f"{what}: {name} gradient {i} differs by up to {worst:g}")
    n = sum(g.size for g in ref_grads)
    return (f"{what} cross-check: {', '.join(names)} agree on the loss ({ref_loss:.6g}) and "
            f"all {len(ref_grads)} gradients ({n:,} numbers, rtol {rtol:g}) from the same "
            "initial weights")
