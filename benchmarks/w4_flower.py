"""W4: the planar "flower", a 2-8-1 network, one full-batch step.

400 points, a hidden ReLU layer of 8, a sigmoid output and binary cross-entropy; one
step = forward, backward and an SGD update of the four parameters, float64. About ten
ops per step on small arrays, so what an engine spends per op in Python shows.

* hand-written NumPy: forward, the closed-form backward (``dZ2 = A2 − Y``), update;
* ``autograd_lite``: ``Value`` parameters, the data batch as a plain array (a constant),
  ``ag.binary_cross_entropy(Z2.sigmoid(), Y)``;
* PyTorch CPU: the same with ``torch.sigmoid`` and ``F.binary_cross_entropy``;
* both libraries again with the loss written on the logits, the fused and numerically
  stable spelling each recommends (``binary_cross_entropy_with_logits(Z2, Y)``);
* with ``--baseline REV``: the autograd_lite engine, both losses, on REV's package.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

import autograd_lite as ag
from autograd_lite import Value

from . import baseline
from .harness import Config, Result, Section, Target, fmt_ratio, fmt_time, interleave, median
from .tensor_common import PerStep, check_engines, fault_notes, faults_note, load_torch

HIDDEN = 8
LR = 0.5
PREV, PREV_LOGITS = baseline.LABEL, "autograd_lite (previous engine, logits)"


def problem(dtype=np.float64) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:  # noqa: ANN001
    X, y = ag.datasets.flower()
    rng = np.random.default_rng(0)
    params = [rng.normal(0, 1, (2, HIDDEN)), np.zeros(HIDDEN),
              rng.normal(0, 1 / np.sqrt(HIDDEN), (HIDDEN, 1)), np.zeros(1)]
    return (X.astype(dtype), y.reshape(-1, 1).astype(dtype),
            [p.astype(dtype) for p in params])


class NumPy:
    def __init__(self, params: list[np.ndarray]) -> None:
        self.params = [p.copy() for p in params]

    def loss_and_grads(self, X: np.ndarray, Y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        W1, b1, W2, b2 = self.params
        m = X.shape[0]
        Z1 = X @ W1 + b1
        A1 = np.maximum(Z1, 0)
        Z2 = A1 @ W2 + b2
        A2 = 1 / (1 + np.exp(-Z2))
        loss = -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))
        dZ2 = (A2 - Y) / m
        dW2 = A1.T @ dZ2
        db2 = dZ2.sum(axis=0)
        dZ1 = (dZ2 @ W2.T) * (Z1 > 0)
        dW1 = X.T @ dZ1
        db1 = dZ1.sum(axis=0)
        return float(loss), [dW1, db1, dW2, db2]

    def step(self, X: np.ndarray, Y: np.ndarray) -> None:
        _, grads = self.loss_and_grads(X, Y)
        for p, g in zip(self.params, grads):
            p -= LR * g


class AutogradLite:
    """``lib``: the package, the current one or the previous engine's (--baseline)."""

    def __init__(self, params: list[np.ndarray], logits: bool = False,
                 lib: ModuleType = ag) -> None:
        self.params = [lib.Value(p) for p in params]
        self.logits = logits
        self.bce = lib.binary_cross_entropy
        self.bce_with_logits = lib.binary_cross_entropy_with_logits

    def loss(self, X: np.ndarray, Y: np.ndarray) -> Value:
        W1, b1, W2, b2 = self.params
        A1 = (X @ W1 + b1).relu()
        Z2 = A1 @ W2 + b2
        if self.logits:
            return self.bce_with_logits(Z2, Y)
        return self.bce(Z2.sigmoid(), Y)

    def loss_and_grads(self, X: np.ndarray, Y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        loss = self.loss(X, Y)
        for p in self.params:
            p.zero_grad()
        loss.backward()
        return loss.item(), [p.grad for p in self.params]

    def step(self, X: np.ndarray, Y: np.ndarray) -> None:
        loss = self.loss(X, Y)
        for p in self.params:
            p.zero_grad()
        loss.backward()
        for p in self.params:
            p.data -= LR * p.grad


class Torch:
    def __init__(self, torch, params: list[np.ndarray], logits: bool = False) -> None:  # noqa: ANN001
        self.torch = torch
        self.F = torch.nn.functional
        self.params = [torch.tensor(p, requires_grad=True) for p in params]
        self.logits = logits

    def loss(self, X, Y):  # noqa: ANN001, ANN201
        W1, b1, W2, b2 = self.params
        A1 = self.torch.relu(X @ W1 + b1)
        Z2 = A1 @ W2 + b2
        if self.logits:
            return self.F.binary_cross_entropy_with_logits(Z2, Y)
        return self.F.binary_cross_entropy(self.torch.sigmoid(Z2), Y)

    def loss_and_grads(self, X, Y) -> tuple[float, list[np.ndarray]]:  # noqa: ANN001
        loss = self.loss(X, Y)
        loss.backward()
        grads = [p.grad.numpy().copy() for p in self.params]
        for p in self.params:
            p.grad = None
        return loss.item(), grads

    def step(self, X, Y) -> None:  # noqa: ANN001
        loss = self.loss(X, Y)
        loss.backward()
        with self.torch.no_grad():
            for p in self.params:
                p -= LR * p.grad
                p.grad = None


def run(cfg: Config) -> Result:
    res = Result("W4")
    X, Y, params = problem()
    torch = load_torch()
    engines = {"hand-written NumPy": (NumPy(params), (X, Y)),
               "autograd_lite": (AutogradLite(params), (X, Y))}
    prev = baseline.previous(cfg)
    if prev is not None:
        engines[PREV] = (AutogradLite(params, lib=prev), (X, Y))
    engines["autograd_lite (logits)"] = (AutogradLite(params, logits=True), (X, Y))
    if prev is not None:
        engines[PREV_LOGITS] = (AutogradLite(params, logits=True, lib=prev), (X, Y))
    if torch is not None:
        data = (torch.from_numpy(X), torch.from_numpy(Y))
        engines["PyTorch"] = (Torch(torch, params), data)
        engines["PyTorch (logits)"] = (Torch(torch, params, logits=True), data)
    else:
        res.skipped.append("W4: PyTorch is not installed; its row is skipped")
    found = {name: e.loss_and_grads(*data) for name, (e, data) in engines.items()}
    res.checks.append(check_engines("W4", found, rtol=1e-9, atol=1e-12))
    for how, cur, old in (("", "autograd_lite", PREV),
                          (" (logits)", "autograd_lite (logits)", PREV_LOGITS)):
        if old in found:
            res.checks.append(baseline.agreement(f"W4 previous engine{how}", found[cur],
                                                 found[old]))

    # Many short rounds: a step takes ~0.1 ms, so 36 rounds of 100 steps cost ~2 s, and the
    # engines compared in a round run within milliseconds of each other.
    steps = 20 if cfg.quick else 100
    rounds = 1 if cfg.quick else max(4 * cfg.rounds, 36)
    steppers = {name: PerStep(lambda e=e, d=data: e.step(*d), steps)
                for name, (e, data) in engines.items()}
    times = interleave(steppers, rounds)
    base = times["hand-written NumPy"]
    sec = Section("W4 — flower 2-8-1 (400 points, ReLU, sigmoid + BCE), one full-batch step",
                  ["engine", "time per step", "× hand-written NumPy", "× PyTorch (same loss)"])
    for name, t in times.items():
        torch_name = "PyTorch (logits)" if "logits" in name else "PyTorch"
        sec.rows.append([name, fmt_time(median(t)), fmt_ratio(t, base),
                         fmt_ratio(t, times[torch_name]) if torch_name in times else "—"])
    sec.notes.append(f"{rounds} round(s) of {steps} steps per engine, float64, "
                     "garbage collector on. 'logits': the loss written as "
                     "binary_cross_entropy_with_logits(Z2, Y) in both libraries.")
    sec.notes += fault_notes([faults_note(steppers)])
    res.sections.append(sec)
    baseline.compare_times(res, "time per step (sigmoid + BCE)", times)
    baseline.compare_times(res, "time per step (logits)", times, "autograd_lite (logits)",
                           PREV_LOGITS)
    for name, torch_name in (("autograd_lite", "PyTorch"),
                             ("autograd_lite (logits)", "PyTorch (logits)")):
        how = " (with logits)" if torch_name.endswith("(logits)") else ""
        a = times[name]
        r = median(a) / median(base)
        res.targets.append(Target("W4", f"time per step vs hand-written NumPy{how}", f"{r:.3g}×",
                                  "≤ 1.5×", r <= 1.5))
        if torch_name in times:
            r = median(a) / median(times[torch_name])
            res.targets.append(Target("W4", f"time per step vs PyTorch{how}", f"{r:.3g}×",
                                      "≤ 0.5×", r <= 0.5))
    a, n = median(times["autograd_lite"]), median(base)
    res.summary.append(
        f"**A small tensor network** (2-8-1 on 400 points, the course's planar data): a step "
        f"takes {fmt_time(a)}, {a / n:.2g}× the same step written by hand in NumPy"
        + (f", {a / median(times['PyTorch']):.2g}× PyTorch's" if "PyTorch" in times else "")
        + " (at this size, each op's fixed cost is most of the time).")
    return res
