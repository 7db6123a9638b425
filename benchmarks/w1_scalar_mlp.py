"""W1: micrograd's own demo step, on scalars.

An MLP 2-16-16-1 (ReLU) on 100 two-moons points, max-margin loss ``relu(1 − y·score)``
averaged over the batch, plus 1e-4 · Σ p² over the parameters; one full-batch step
(build the graph, backward, SGD update). About 65,000 recorded ops per step.

Three engines, from the same initial weights:

* ``autograd_lite``: plain ``Value`` s and operators, written as a user would (the data
  points are plain floats, i.e. constants);
* ``micrograd`` (from PyPI, ``micrograd.nn.MLP``), the loss as in its demo notebook;
* hand-written backprop in pure Python (lists and loops, no graph);
* with ``--baseline REV``: "autograd_lite (previous engine)", the same code as
  autograd_lite's on REV's package (see ``benchmarks/baseline.py``).

Per-op figures divide the step time by the number of ops autograd_lite records.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from types import ModuleType

import numpy as np

import autograd_lite as ag
from autograd_lite import Value

from . import baseline
from .harness import (
    Config,
    CrossCheckError,
    Result,
    Section,
    Target,
    check_all_close,
    close,
    fmt_ratio,
    fmt_time,
    interleave,
    median,
    now,
    version,
)

SIZES = (2, 16, 16, 1)
ALPHA = 1e-4
LR = 0.05


def dataset(n: int = 100) -> tuple[list[list[float]], list[float]]:
    X, y = ag.datasets.moons(n, noise=0.1, seed=0)
    return X.tolist(), [2.0 * float(v) - 1.0 for v in y]  # labels −1, +1 as in the demo


def initial_weights(seed: int = 0) -> list[tuple[list[list[float]], list[float]]]:
    """Per layer (rows of weights, biases), uniform in [−1, 1] as micrograd draws them."""
    rng = np.random.default_rng(seed)
    return [(rng.uniform(-1, 1, (n_out, n_in)).tolist(), [0.0] * n_out)
            for n_in, n_out in zip(SIZES, SIZES[1:])]


# --- autograd_lite, written as a user would -------------------------------------------------
# ``value`` is the package's Value class: the current one, or the previous engine's.

class Neuron:
    def __init__(self, w: list[float], b: float, nonlin: bool, value: type = Value) -> None:
        self.w = [value(wi) for wi in w]
        self.b = value(b)
        self.nonlin = nonlin

    def __call__(self, x: list) -> Value:
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]


class MLP:
    def __init__(self, weights: list, value: type = Value) -> None:
        last = len(weights) - 1
        self.layers = [[Neuron(w, b, nonlin=i != last, value=value) for w, b in zip(W, B)]
                       for i, (W, B) in enumerate(weights)]

    def __call__(self, x: list) -> Value | list[Value]:
        for layer in self.layers:
            x = [n(x) for n in layer]
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for n in layer for p in n.parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()


def demo_loss(model: Callable, params: list, X: list, y: list, wrap: Callable | None) -> object:
    """The loss of micrograd's demo notebook (works for either engine's values)."""
    inputs = [list(map(wrap, row)) for row in X] if wrap is not None else X
    scores = list(map(model, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in params)
    return data_loss + reg_loss


class GraphEngine:
    """A model of one graph engine (autograd_lite or micrograd) and its training step."""

    def __init__(self, model: object, wrap: Callable | None) -> None:
        self.model, self.wrap = model, wrap
        self.params = model.parameters()

    def loss(self, X: list, y: list) -> object:
        return demo_loss(self.model, self.params, X, y, self.wrap)

    def step(self, X: list, y: list, lr: float = LR) -> float:
        loss = self.loss(X, y)
        self.model.zero_grad()
        loss.backward()
        for p in self.params:
            p.data -= lr * p.grad
        return loss.data

    def grads(self, X: list, y: list) -> tuple[float, list[float]]:
        loss = self.loss(X, y)
        self.model.zero_grad()
        loss.backward()
        return float(loss.data), [float(p.grad) for p in self.params]


def autograd_lite_engine(weights: list, lib: ModuleType = ag) -> GraphEngine:
    """autograd_lite's engine; ``lib`` the package (the previous engine's with --baseline)."""
    return GraphEngine(MLP(weights, value=lib.Value), wrap=None)


def graph_engines(weights: list, cfg: Config, res: Result, what: str) -> dict:
    """autograd_lite (and its previous engine with --baseline), then micrograd if installed."""
    engines: dict = {"autograd_lite": autograd_lite_engine(weights)}
    prev = baseline.previous(cfg)
    if prev is not None:
        engines[baseline.LABEL] = autograd_lite_engine(weights, prev)
    mg = micrograd_engine(weights)
    if mg is not None:
        engines["micrograd"] = mg
    else:
        res.skipped.append(f"{what}: micrograd is not installed (pip install micrograd==0.1.0); "
                           "its rows are skipped")
    return engines


def micrograd_engine(weights: list) -> GraphEngine | None:
    try:
        from micrograd.engine import Value as MicroValue
        from micrograd.nn import MLP as MicroMLP
    except ImportError:
        return None
    model = MicroMLP(SIZES[0], list(SIZES[1:]))
    for p, v in zip(model.parameters(), flat(weights)):
        p.data = v
    return GraphEngine(model, wrap=MicroValue)


def flat(weights: list) -> list[float]:
    """Parameters in micrograd's order: per layer, per neuron, its weights then its bias."""
    return [v for W, B in weights for row, b in zip(W, B) for v in (*row, b)]


# --- hand-written backprop, pure Python --------------------------------------------------------

class HandWritten:
    """Forward and backward written out by hand; the same loss and gradients, no graph."""

    def __init__(self, weights: list) -> None:
        self.W = [[list(row) for row in W] for W, _ in weights]
        self.B = [list(B) for _, B in weights]

    def loss_and_grads(self, X: list, y: list) -> tuple[float, list, list]:
        W, B = self.W, self.B
        last = len(W) - 1
        gW = [[[0.0] * len(row) for row in Wl] for Wl in W]
        gB = [[0.0] * len(Bl) for Bl in B]
        inv = 1.0 / len(X)
        data_loss = 0.0
        for x, yi in zip(X, y):
            hs, zs, h = [x], [], x
            for i in range(last + 1):  # forward, keeping every layer's input and pre-activation
                z = []
                for row, b in zip(W[i], B[i]):
                    s = b
                    for w, hk in zip(row, h):
                        s += w * hk
                    z.append(s)
                zs.append(z)
                h = z if i == last else [s if s > 0.0 else 0.0 for s in z]
                hs.append(h)
            margin = 1.0 + -yi * h[0]
            data_loss += margin if margin > 0.0 else 0.0
            d = [-yi * inv if margin > 0.0 else 0.0]  # d loss / d score
            for i in range(last, -1, -1):  # backward
                if i != last:
                    d = [dj if zj > 0.0 else 0.0 for dj, zj in zip(d, zs[i])]
                hin, gWi, gBi = hs[i], gW[i], gB[i]
                dh = [0.0] * len(hin)
                for j, (row, dj) in enumerate(zip(W[i], d)):
                    if dj == 0.0:
                        continue
                    gBi[j] += dj
                    grow = gWi[j]
                    for k in range(len(hin)):
                        grow[k] += dj * hin[k]
                        dh[k] += dj * row[k]
                d = dh
        reg = 0.0
        for Wl, Bl, gWl, gBl in zip(W, B, gW, gB):
            for row, b, grow, j in zip(Wl, Bl, gWl, range(len(Bl))):
                for k, w in enumerate(row):
                    reg += w * w
                    grow[k] += ALPHA * 2.0 * w
                reg += b * b
                gBl[j] += ALPHA * 2.0 * b
        return data_loss * inv + ALPHA * reg, gW, gB

    def step(self, X: list, y: list, lr: float = LR) -> float:
        loss, gW, gB = self.loss_and_grads(X, y)
        for Wl, Bl, gWl, gBl in zip(self.W, self.B, gW, gB):
            for row, grow in zip(Wl, gWl):
                for k, g in enumerate(grow):
                    row[k] -= lr * g
            for j, g in enumerate(gBl):
                Bl[j] -= lr * g
        return loss

    def grads(self, X: list, y: list) -> tuple[float, list[float]]:
        loss, gW, gB = self.loss_and_grads(X, y)
        return loss, [v for Wl, Bl in zip(gW, gB) for row, b in zip(Wl, Bl) for v in (*row, b)]


# --- the workload ------------------------------------------------------------------------------

def count_ops(loss: Value) -> int:
    """Ops recorded in an autograd_lite graph (every node but the leaves)."""
    seen, stack, n = {id(loss)}, [loss], 0
    while stack:
        v = stack.pop()
        n += 1
        for p in v.parents:
            if isinstance(p, Value) and id(p) not in seen and p.parents:
                seen.add(id(p))
                stack.append(p)
    return n


def steps_block(step: Callable[[], object], k: int, gc_on: bool) -> float:
    """``k`` consecutive training steps after an untimed collection; seconds per step.

    The first step is left out: the steady state of a training loop is a step that comes
    after another (micrograd's previous graph is then cyclic garbage the collector meets).
    """
    gc.collect()
    was = gc.isenabled()
    if not gc_on:
        gc.disable()
    times = []
    try:
        for _ in range(k):
            t0 = now()
            step()
            times.append(now() - t0)
    finally:
        if was:
            gc.enable()
    return sum(times[1:]) / (k - 1)


def cross_check(engines: dict, X: list, y: list, what: str = "W1") -> list[str]:
    """Every engine's loss and gradients against the hand-written ones; the report's lines."""
    ref_loss, ref_grads = engines["hand-written Python"].grads(X, y)
    found = {}
    for name, eng in engines.items():
        found[name] = loss, grads = eng.grads(X, y)
        if not close(loss, ref_loss, 1e-12):
            raise CrossCheckError(f"{what}: {name} loss {loss!r} against {ref_loss!r}")
        check_all_close(f"{what}: {name} gradients", ref_grads, grads, rtol=1e-9, atol=1e-15)
    lines = [f"{what} cross-check: {', '.join(engines)} agree on the loss ({ref_loss:.6g}) and "
             f"all {len(ref_grads)} gradients from the same initial weights"]
    if baseline.LABEL in found:
        lines.append(baseline.agreement(f"{what} previous engine", found["autograd_lite"],
                                        found[baseline.LABEL]))
    return lines


def run(cfg: Config) -> Result:
    res = Result("W1")
    X, y = dataset(20 if cfg.quick else 100)
    weights = initial_weights()
    engines = graph_engines(weights, cfg, res, "W1")
    engines["hand-written Python"] = HandWritten(weights)
    res.checks += cross_check(engines, X, y)
    has_mg = "micrograd" in engines
    ops = count_ops(engines["autograd_lite"].loss(X, y))

    k = 2 if cfg.quick else 4
    rounds = 1 if cfg.quick else cfg.rounds
    # gc off, a round is ~1 s (micrograd's steps are 10x shorter than with gc on): twice as
    # many rounds for the same cost, as its target is the closer one.
    rounds_of = {True: rounds, False: 1 if cfg.quick else 2 * rounds}
    header = ["engine", "µs/op, gc on (default)", "× micrograd", "µs/op, gc off",
              "× micrograd", "step, gc on", "step, gc off"]
    sec = Section(f"W1 — micrograd's demo step (MLP 2-16-16-1, {len(X)} points, {ops:,} ops)",
                  header)
    sec.notes.append(f"{rounds} round(s) with gc on and {rounds_of[False]} with gc off; each "
                     f"round times {k} consecutive steps per engine "
                     "and keeps the mean of all but the first (the steady state of a training "
                     "loop). Ratios: medians of the same run, per-round range in brackets.")
    per_mode = {}
    for gc_on in (True, False):
        fns = {name: (lambda e=eng, on=gc_on: steps_block(lambda: e.step(X, y), k, on))
               for name, eng in engines.items()}
        per_mode[gc_on] = interleave(fns, rounds_of[gc_on])
    for name in engines:
        row = [name]
        for gc_on in (True, False):
            t = per_mode[gc_on][name]
            row.append(f"{median(t) / ops * 1e6:.3g}")
            row.append(fmt_ratio(t, per_mode[gc_on]["micrograd"]) if has_mg else "—")
        row += [fmt_time(median(per_mode[True][name])), fmt_time(median(per_mode[False][name]))]
        sec.rows.append(row)
    if has_mg:
        sec.notes.append(f"micrograd {version('micrograd')}: its inputs are wrapped in Values as "
                         "in its demo; autograd_lite takes them as plain floats (constants).")
    res.sections.append(sec)
    for gc_on in (True, False):
        baseline.compare_times(res, f"time per step, gc {'on (default)' if gc_on else 'off'}",
                               per_mode[gc_on])
    if has_mg:
        for gc_on, limit in ((True, 0.1), (False, 0.5)):
            a, m = per_mode[gc_on]["autograd_lite"], per_mode[gc_on]["micrograd"]
            r = median(a) / median(m)
            res.targets.append(Target(
                "W1", f"time per step vs micrograd, gc {'on (default)' if gc_on else 'off'}",
                f"{r:.3g}×", f"≤ {limit}×", r <= limit))
        a, m = (median(per_mode[True][n]) for n in ("autograd_lite", "micrograd"))
        res.summary.append(
            f"**Scalar Values, as in micrograd** (its demo network 2-16-16-1 on 100 points): "
            f"a training step takes {fmt_time(a)} here and {fmt_time(m)} in micrograd, "
            f"{m / a:.0f}× faster (Python's garbage collector on, as by default).")
    return res
