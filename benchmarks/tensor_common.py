"""What the tensor workloads (W4, W5, W6) share: PyTorch loading, timing loops, cross-checks."""

from __future__ import annotations

import statistics
from collections.abc import Callable

import numpy as np

try:
    import resource
except ImportError:  # not on Windows
    resource = None

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


def _minor_faults() -> int | None:
    return None if resource is None else resource.getrusage(resource.RUSAGE_SELF).ru_minflt


class PerStep:
    """A timed call for :func:`harness.interleave`: seconds per step over ``steps`` steps.
    It also counts the minor page faults of those steps (``faults``, per step, each call)."""

    def __init__(self, step: Callable[[], object], steps: int) -> None:
        self.step, self.steps, self.faults = step, steps, []

    def __call__(self) -> float:
        before = _minor_faults()
        t = timed(lambda: [self.step() for _ in range(self.steps)]) / self.steps
        if before is not None:
            self.faults.append((_minor_faults() - before) / self.steps)
        return t


def faults_note(steppers: dict[str, PerStep], what: str = "") -> str | None:
    """Each engine's page faults per step, the median over its rounds (for a section's notes)."""
    if any(not s.faults for s in steppers.values()):
        return None  # (no getrusage: not a Unix)
    counts = ", ".join(f"{name} {statistics.median(s.faults):.3g}"
                       for name, s in steppers.items())
    return f"Minor page faults per step{what} (median of the rounds): {counts}."


FAULTS_WHY = ("A step with page faults is taking back memory that the C allocator gave to the "
              "system at the end of the step before (glibc trims its heap when enough is free "
              "at its top), and runs slower for it. The engines share this process: what the "
              "allocator keeps moves with every engine's largest arrays.")


def fault_notes(notes: list[str | None]) -> list[str]:
    """The page-fault notes of a section, with what they mean, once."""
    kept = [n for n in notes if n is not None]
    return [*kept, FAULTS_WHY] if kept else []


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
