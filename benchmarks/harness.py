"""Timing and reporting shared by the workloads.

Engines are timed interleaved (round 1: A B C, round 2: C B A, ...), so that a slow spell
of a shared machine hits every engine alike; each figure is the median over rounds, and a
ratio is taken between medians of the same run. Before every timed call the cyclic garbage
collector is run (untimed), so that no engine pays for another's garbage; during the call
the collector is either left on (Python's default) or switched off.

Times are the CPU time of the benchmark process (``time.process_time``) unless
``--clock wall`` asks for wall-clock time: every engine here computes on one thread, and
on a shared machine CPU time is the figure that other processes disturb least.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata

import benchmarks as _pkg


@dataclass
class Config:
    quick: bool = False
    rounds: int = 5
    clock: str = "cpu"
    baseline: str | None = None  # --baseline: how the report names the previous engine
    baseline_dir: str | None = None  # where its package was extracted (see baseline.py)
    current: str | None = None  # what the current engine was when the run started


_clock = time.process_time


def set_clock(name: str) -> None:
    """``cpu``: CPU time of this process; ``wall``: wall-clock time."""
    global _clock
    _clock = {"cpu": time.process_time, "wall": time.perf_counter}[name]


def now() -> float:
    return _clock()


@dataclass
class Target:
    workload: str
    what: str
    measured: str
    limit: str
    met: bool


@dataclass
class Section:
    """One table of the report."""

    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Comparison:
    """One figure of the current engine against the previous engine's (``--baseline``).

    ``current`` and ``previous`` hold the figure per round, rounds paired as measured;
    ``unit`` is "time" or "bytes"; figures both at most ``tiny`` are not put in ratio."""

    workload: str
    what: str
    current: list[float]
    previous: list[float]
    unit: str = "time"
    tiny: float = 0.0


@dataclass
class Result:
    """What a workload hands back: its tables, its targets, and the cross-checks it passed."""

    name: str
    sections: list[Section] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)  # for users, in plain words, first on the page


class CrossCheckError(AssertionError):
    """Two engines computed different losses or gradients from the same weights."""


def close(a: float, b: float, rtol: float, atol: float = 0.0) -> bool:
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def check_all_close(what: str, ref: list, other: list, rtol: float, atol: float = 0.0) -> None:
    """Raise CrossCheckError unless two flat lists of numbers agree elementwise."""
    if len(ref) != len(other):
        raise CrossCheckError(f"{what}: {len(ref)} numbers against {len(other)}")
    for i, (a, b) in enumerate(zip(ref, other)):
        if not close(float(a), float(b), rtol, atol):
            raise CrossCheckError(f"{what}: element {i} differs: {a!r} against {b!r}")


def timed(fn: Callable[[], object], gc_on: bool = True) -> float:
    """Seconds one call of ``fn`` takes, after an untimed collection; gc on or off during it."""
    gc.collect()
    was = gc.isenabled()
    if not gc_on:
        gc.disable()
    try:
        t0 = _clock()
        fn()
        return _clock() - t0
    finally:
        if was:
            gc.enable()


def interleave(fns: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Call each engine's ``fn`` once per round, engines interleaved; returns each one's list.

    Each ``fn`` measures itself and returns the figure for that call (e.g. seconds per step).
    The order alternates between rounds so that no engine always runs right after another.
    """
    names = list(fns)
    out: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for n in (names if r % 2 == 0 else names[::-1]):
            out[n].append(fns[n]())
    return out


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def ratio_range(num: list[float], den: list[float]) -> tuple[float, float]:
    """Smallest and largest per-round ratio (rounds pair up: same round, same machine state)."""
    rs = [a / b for a, b in zip(num, den)]
    return min(rs), max(rs)


def fmt_ratio(num: list[float], den: list[float]) -> str:
    r = median(num) / median(den)
    if len(num) < 2:
        return f"{r:.3g}×"
    lo, hi = ratio_range(num, den)
    return f"{r:.3g}× ({lo:.3g}–{hi:.3g})"


def fmt_time(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.3g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.3g} µs"
    return f"{seconds * 1e9:.3g} ns"


def fmt_bytes(n: float) -> str:
    if abs(n) >= 2**20:
        return f"{n / 2**20:.3g} MiB"
    if abs(n) >= 2**10:
        return f"{n / 2**10:.3g} KiB"
    return f"{n:.0f} B"


def version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info() -> str:
    """The BLAS NumPy uses and its thread count, as threadpoolctl sees it when installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        pools = [f"{p.get('internal_api')} {p.get('version') or ''} ({p.get('num_threads')} "
                 f"thread{'s' if p.get('num_threads') != 1 else ''})".replace("  ", " ")
                 for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            return ", ".join(pools)
    import numpy as np
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # noqa: BLE001 -- older NumPy: the report just says less
        return "unknown"


def machine() -> list[tuple[str, str]]:
    """What the report says about where it ran."""
    import numpy as np
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    rows = [
        ("date", time.strftime("%Y-%m-%d %H:%M %Z")),
        ("machine", f"{cpu_model()}, {usable} usable core(s) of {os.cpu_count()}, "
                    f"{platform.system()} {platform.release()}"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("NumPy", f"{np.__version__}; BLAS: {blas_info()}"),
        ("threads", f"{_pkg.THREADS} (OMP/OPENBLAS/MKL/... _NUM_THREADS set before NumPy was "
                    "imported; torch.set_num_threads)" if _pkg.pinned else
                    f"{_pkg.THREADS} requested, but NumPy was imported before the variables "
                    "were set: its BLAS pool may not be pinned"),
    ]
    for dist in ("micrograd", "torch"):
        rows.append((dist, version(dist) or "not installed (its rows are skipped)"))
    gc_thresholds = ", ".join(str(t) for t in gc.get_threshold())
    rows.append(("garbage collector", f"thresholds ({gc_thresholds})"))
    clock = "CPU time of the process (time.process_time)" if _clock is time.process_time \
        else "wall-clock time (time.perf_counter)"
    rows.append(("clock", clock))
    rows.append(("command", " ".join(["python -m benchmarks", *sys.argv[1:]])))
    return rows


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)
