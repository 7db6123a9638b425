"""W2: a long chain x → x·1.0001 + 0.0001, N times, then backward.

Each chain step records two ops (a mul and an add). Times cover building the chain, the
backward pass and dropping the last reference to the graph (for autograd_lite that frees
it; micrograd's graph is cyclic garbage, collected untimed before the next call), with
Python's garbage collector on (the default) and off. Memory is measured with
``tracemalloc``; the figures per op are the ones held to the target (per chain step is
twice that). With ``--baseline REV`` the previous engine runs the same chains (``ag_chain``
and ``build_ag`` given its ``Value``) in the same interleaved rounds.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from functools import partial

from autograd_lite import Value

from . import baseline
from .harness import (
    Config,
    CrossCheckError,
    Result,
    Section,
    Target,
    close,
    fmt_ratio,
    fmt_time,
    interleave,
    median,
    now,
)

A, B = 1.0001, 0.0001


def ag_chain(n: int, value: type = Value) -> float:
    """autograd_lite's chain; ``value`` the package's Value (the previous engine's, or not)."""
    x = value(1.0)
    y = x
    for _ in range(n):
        y = y * A + B
    y.backward()
    del y
    return x.grad


def micrograd_chain(n: int) -> float:
    from micrograd.engine import Value as MicroValue
    x = MicroValue(1.0)
    y = x
    for _ in range(n):
        y = y * A + B
    y.backward()
    del y
    return x.grad


class deep_recursion:  # noqa: N801 -- used as a context manager
    """micrograd's backward recurses once per node: lift the limit while it runs."""

    def __init__(self, n: int) -> None:
        self.limit = 4 * n + 1000

    def __enter__(self) -> None:
        self.old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(self.old, self.limit))

    def __exit__(self, *exc: object) -> None:
        sys.setrecursionlimit(self.old)


def timed_chains(chain, n: int, reps: int, gc_on: bool) -> float:  # noqa: ANN001
    """Seconds per op: ``reps`` chains of ``n`` steps (2n ops each), after a collection."""
    gc.collect()
    was = gc.isenabled()
    if not gc_on:
        gc.disable()
    try:
        with deep_recursion(n):
            t0 = now()
            for _ in range(reps):
                chain(n)
            dt = now() - t0
    finally:
        if was:
            gc.enable()
    return dt / (reps * 2 * n)


def memory(chain_builder, n: int) -> dict[str, float]:  # noqa: ANN001
    """Bytes (tracemalloc) held by the graph once built, at the peak of backward and after it."""
    gc.collect()
    was = gc.isenabled()
    gc.disable()  # micrograd's graph must not be collected half-way
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        x, y = chain_builder(n)
        built = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.reset_peak()
        with deep_recursion(n):
            y.backward()
        current, peak = tracemalloc.get_traced_memory()
        del x, y
    finally:
        tracemalloc.stop()
        if was:
            gc.enable()
        gc.collect()
    return {"built": built, "peak": peak - base, "after": current - base}


def build_ag(n: int, value: type = Value) -> tuple:
    x = value(1.0)
    y = x
    for _ in range(n):
        y = y * A + B
    return x, y


def build_micrograd(n: int) -> tuple:
    from micrograd.engine import Value as MicroValue
    x = MicroValue(1.0)
    y = x
    for _ in range(n):
        y = y * A + B
    return x, y


def micrograd_fails_at_default_limit(n: int = 500) -> str:
    x, y = build_micrograd(n)
    try:
        y.backward()
    except RecursionError:
        return f"RecursionError at N = {n} (default recursion limit {sys.getrecursionlimit()})"
    return f"works at N = {n} with the default recursion limit"


def cross_check(res: Result, values: dict[str, type], has_mg: bool) -> None:
    """The derivative of the chain is A^N, in every engine."""
    n_check = 1000
    want = A ** n_check
    got = {name: ag_chain(n_check, value) for name, value in values.items()}
    if has_mg:
        with deep_recursion(n_check):
            got["micrograd"] = micrograd_chain(n_check)
    for name, g in got.items():
        if not close(g, want, 1e-9):
            raise CrossCheckError(f"W2: {name} gives dy/dx = {g!r}, want {want!r}")
    res.checks.append(f"W2 cross-check: {', '.join(got)} give dy/dx = 1.0001^{n_check} "
                      f"= {want:.9g} for N = {n_check}")
    if baseline.LABEL in got:
        res.checks.append(baseline.agreement(
            "W2 previous engine", (got["autograd_lite"], []), (got[baseline.LABEL], []),
            noun="dy/dx"))


def time_chains(cfg: Config, values: dict[str, type], has_mg: bool,
                sizes: tuple[int, ...]) -> dict[tuple[int, bool], dict[str, list[float]]]:
    """Seconds per op per round, by (N, gc on) and engine."""
    mg_sizes = (1_000,) if cfg.quick else (1_000, 10_000)
    # Every size, collector setting and engine in one interleaved run: the spread over N is
    # a same-run ratio too, not a comparison of moments of a shared machine.
    fns = {}
    for n in sizes:
        reps = max(1, (20_000 if cfg.quick else 200_000) // n)
        for gc_on in (True, False):
            for name, value in values.items():
                fns[n, gc_on, name] = partial(timed_chains, partial(ag_chain, value=value),
                                              n, reps, gc_on)
            if has_mg and n in mg_sizes:
                fns[n, gc_on, "micrograd"] = partial(timed_chains, micrograd_chain, n, reps,
                                                     gc_on)
    times = interleave(fns, 1 if cfg.quick else cfg.rounds)
    per_op: dict[tuple[int, bool], dict[str, list[float]]] = {}
    for (n, gc_on, name), t in times.items():
        per_op.setdefault((n, gc_on), {})[name] = t
    return per_op


def time_section(per_op: dict, sizes: tuple[int, ...], has_mg: bool) -> Section:
    sec = Section("W2 — chain x → x·1.0001 + 0.0001, N steps (2N ops), build + backward",
                  ["N", "engine", "per op, gc on", "× micrograd", "per op, gc off",
                   "× micrograd", "total, gc on"])
    for n in sizes:
        for name in per_op[n, True]:
            row = [f"{n:,}", name]
            for gc_on in (True, False):
                by_engine = per_op[n, gc_on]
                t = by_engine[name]
                row += [fmt_time(median(t)), fmt_ratio(t, by_engine["micrograd"])
                        if "micrograd" in by_engine else "—"]
            row.append(fmt_time(2 * n * median(per_op[n, True][name])))
            sec.rows.append(row)
    if has_mg:
        sec.notes.append("micrograd: " + micrograd_fails_at_default_limit()
                         + "; its rows here ran with the limit raised to 4N + 1000.")
    return sec


def memory_section(values: dict[str, type], has_mg: bool,
                   n_mem: int) -> tuple[Section, dict[str, tuple[int, dict[str, float]]]]:
    mem = {name: (n_mem, memory(partial(build_ag, value=value), n_mem))
           for name, value in values.items()}
    if has_mg:
        mem["micrograd"] = (min(n_mem, 10_000), memory(build_micrograd, min(n_mem, 10_000)))
    msec = Section("W2 — memory of the chain (tracemalloc), bytes per op (per chain step)",
                   ["engine", "N", "graph built", "peak during backward", "after backward"])
    for name, (n, m) in mem.items():
        msec.rows.append([name, f"{n:,}"] + [f"{m[k] / (2 * n):.0f} ({m[k] / n:.0f})"
                                            for k in ("built", "peak", "after")])
    msec.notes.append("'after backward': the graph still referenced, every node holding its "
                      "gradient; 'peak': the graph plus backward's working memory.")
    return msec, mem


def compare_previous(res: Result, per_op: dict, mem: dict, sizes: tuple[int, ...]) -> None:
    """With --baseline: every time per op and memory figure, current against previous."""
    for n in sizes:
        for gc_on in (True, False):
            baseline.compare_times(res, f"time per op, N = {n:,}, gc {'on' if gc_on else 'off'}",
                                   per_op[n, gc_on])
    if baseline.LABEL in mem:
        (n, cur), (_, prev) = mem["autograd_lite"], mem[baseline.LABEL]
        for key, what in (("built", "graph built"), ("peak", "peak during backward"),
                          ("after", "after backward")):
            baseline.compare(res, f"memory per op, {what}, N = {n:,}", [cur[key] / (2 * n)],
                             [prev[key] / (2 * n)], unit="bytes")


def run(cfg: Config) -> Result:
    res = Result("W2")
    try:
        import micrograd  # noqa: F401
        has_mg = True
    except ImportError:
        has_mg = False
        res.skipped.append("W2: micrograd is not installed; its rows are skipped")
    values = {"autograd_lite": Value}
    prev = baseline.previous(cfg)
    if prev is not None:
        values[baseline.LABEL] = prev.Value
    cross_check(res, values, has_mg)

    sizes = (1_000, 10_000) if cfg.quick else (1_000, 10_000, 100_000, 1_000_000)
    per_op = time_chains(cfg, values, has_mg, sizes)
    sec = time_section(per_op, sizes, has_mg)
    spread = {}
    for gc_on in (True, False):
        ag_times = [median(per_op[n, gc_on]["autograd_lite"]) for n in sizes]
        spread[gc_on] = max(ag_times) / min(ag_times)
    sec.notes.append("autograd_lite time per op, slowest N over fastest N: "
                     f"{spread[True]:.3g}× with the garbage collector on, "
                     f"{spread[False]:.3g}× with it off.")
    res.sections.append(sec)

    n_mem = 10_000 if cfg.quick else 1_000_000
    msec, mem = memory_section(values, has_mg, n_mem)
    res.sections.append(msec)
    compare_previous(res, per_op, mem, sizes)

    for gc_on in (True, False):
        res.targets.append(Target(
            "W2", f"N = {max(sizes):,} chain works; time per op, slowest N over fastest "
                  f"({min(sizes):,} to {max(sizes):,}), gc {'on' if gc_on else 'off'}",
            f"{spread[gc_on]:.3g}×", "≤ 1.5×", spread[gc_on] <= 1.5))
    after = mem["autograd_lite"][1]["after"] / (2 * n_mem)
    peak = mem["autograd_lite"][1]["peak"] / (2 * n_mem)
    res.targets.append(Target("W2", "bytes per op, graph with gradients after backward",
                              f"{after:.0f} B", "≤ 300 B", after <= 300))
    res.targets.append(Target("W2", "bytes per op, peak during backward",
                              f"{peak:.0f} B", "≤ 300 B", peak <= 300))
    per = median(per_op[max(sizes), True]["autograd_lite"])
    res.summary.append(
        f"**Deep graphs**: a chain of {2 * max(sizes):,} scalar ops builds and backpropagates "
        f"(no recursion limit to raise) at {fmt_time(per)} per op, in {after:.0f} bytes per op "
        "with every gradient kept.")
    return res
