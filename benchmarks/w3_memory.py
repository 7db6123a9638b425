"""W3: memory kept per training step with the cyclic garbage collector disabled.

W1's step (build, backward, SGD update) run several times under ``gc.disable()``; after
each step ``tracemalloc`` reports what is still allocated. A graph without reference
cycles is freed by reference counting as soon as the step lets go of its loss; a graph
made of cycles (micrograd's closures capture their own output) stays until a collection.
"""

from __future__ import annotations

import gc
import tracemalloc

from . import baseline
from .harness import Config, Result, Section, Target, fmt_bytes
from .w1_scalar_mlp import HandWritten, cross_check, dataset, graph_engines, initial_weights


def kept_per_step(step, k: int) -> dict[str, float]:  # noqa: ANN001
    """Run ``step`` k times with gc disabled; growth of traced memory per step, and more."""
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    tracemalloc.start()
    try:
        step()  # the first step allocates what every later step reuses (gradients, caches)
        after = [tracemalloc.get_traced_memory()[0]]
        tracemalloc.reset_peak()
        for _ in range(k):
            step()
            after.append(tracemalloc.get_traced_memory()[0])
        peak = tracemalloc.get_traced_memory()[1] - after[0]
    finally:
        tracemalloc.stop()
        collected = gc.collect()
        if was:
            gc.enable()
    return {"per_step": (after[-1] - after[0]) / k, "peak": peak, "collected": collected}


def run(cfg: Config) -> Result:
    res = Result("W3")
    X, y = dataset(20 if cfg.quick else 100)
    weights = initial_weights()
    engines = graph_engines(weights, cfg, res, "W3")
    engines["hand-written Python"] = HandWritten(weights)
    res.checks += cross_check(engines, X, y, what="W3")
    k = 2 if cfg.quick else 4
    sec = Section(f"W3 — memory kept per W1 step with gc.disable() ({k} steps, tracemalloc)",
                  ["engine", "kept per step", "peak above the start",
                   "objects a gc.collect() then frees"])
    found = {}
    for name, eng in engines.items():
        m = kept_per_step(lambda e=eng: e.step(X, y), k)
        found[name] = m
        sec.rows.append([name, fmt_bytes(m["per_step"]), fmt_bytes(m["peak"]),
                         f"{m['collected']:,}"])
    res.sections.append(sec)
    if baseline.LABEL in found:
        cur, prev = found["autograd_lite"], found[baseline.LABEL]
        # "No growth" (< 1 KiB a step) is not a figure to take a ratio of.
        baseline.compare(res, "memory kept per step, gc disabled", [cur["per_step"]],
                         [prev["per_step"]], unit="bytes", tiny=1024)
        baseline.compare(res, "peak memory above the start, gc disabled", [cur["peak"]],
                         [prev["peak"]], unit="bytes")
    ag = found["autograd_lite"]
    # "No growth": less than one node's worth of memory per step, nothing left for the collector.
    res.targets.append(Target("W3", "memory kept per step with gc disabled; cyclic garbage "
                              "left", f"{fmt_bytes(ag['per_step'])}; {ag['collected']} objects",
                              "no growth (< 1 KiB/step); 0 objects",
                              ag["per_step"] < 1024 and ag["collected"] == 0))
    res.summary.append(
        "**Long training loops**: a step's graph is freed when its loss goes, even with the "
        f"garbage collector off ({fmt_bytes(ag['per_step'])} kept per step"
        + (f"; micrograd keeps {fmt_bytes(found['micrograd']['per_step'])}" if "micrograd" in found
           else "") + ").")
    return res
