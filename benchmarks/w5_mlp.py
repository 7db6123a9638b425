"""W5: an MNIST-sized MLP 784-256-256-10, batch 128, ReLU, softmax cross-entropy, SGD.

One step = forward, backward and an SGD update of the six parameters, in float64 and in
float32. The batch is synthetic (pixels uniform in [0, 1], random labels): the work does
not depend on the values. Matrix products dominate, so this measures what an engine adds
around the BLAS calls that every engine makes.

* hand-written NumPy: forward, the closed-form backward (``softmax − onehot``), update;
* ``autograd_lite``: ``Value`` parameters, the batch as a plain array (a constant: no
  ``dL/dX``), ``ag.cross_entropy(logits, labels)``;
* PyTorch CPU: the same with ``F.cross_entropy``;
* with ``--baseline REV``: the autograd_lite engine on REV's package.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

import autograd_lite as ag
from autograd_lite import Value

from . import baseline
from .harness import Config, Result, Section, Target, fmt_ratio, fmt_time, interleave, median
from .tensor_common import PerStep, check_engines, fault_notes, faults_note, load_torch

SIZES = (784, 256, 256, 10)
BATCH = 128
LR = 0.01


def problem(dtype) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:  # noqa: ANN001
    rng = np.random.default_rng(0)
    X = rng.random((BATCH, SIZES[0]))
    labels = rng.integers(0, SIZES[-1], BATCH)
    params = []
    for n_in, n_out in zip(SIZES, SIZES[1:]):
        params += [rng.normal(0, np.sqrt(2 / n_in), (n_in, n_out)), np.zeros(n_out)]
    return X.astype(dtype), labels, [p.astype(dtype) for p in params]


class NumPy:
    def __init__(self, params: list[np.ndarray]) -> None:
        self.params = [p.copy() for p in params]

    def loss_and_grads(self, X: np.ndarray, labels: np.ndarray) -> tuple[float, list]:
        W1, b1, W2, b2, W3, b3 = self.params
        m = X.shape[0]
        Z1 = X @ W1 + b1
        A1 = np.maximum(Z1, 0)
        Z2 = A1 @ W2 + b2
        A2 = np.maximum(Z2, 0)
        Z3 = A2 @ W3 + b3
        shifted = Z3 - Z3.max(axis=1, keepdims=True)
        E = np.exp(shifted)
        S = E.sum(axis=1, keepdims=True)
        rows = np.arange(m)
        loss = np.mean(np.log(S[:, 0]) - shifted[rows, labels])
        dZ3 = E / S
        dZ3[rows, labels] -= 1
        dZ3 /= m
        dW3 = A2.T @ dZ3
        db3 = dZ3.sum(axis=0)
        dZ2 = (dZ3 @ W3.T) * (Z2 > 0)
        dW2 = A1.T @ dZ2
        db2 = dZ2.sum(axis=0)
        dZ1 = (dZ2 @ W2.T) * (Z1 > 0)
        dW1 = X.T @ dZ1
        db1 = dZ1.sum(axis=0)
        return float(loss), [dW1, db1, dW2, db2, dW3, db3]

    def step(self, X: np.ndarray, labels: np.ndarray) -> None:
        _, grads = self.loss_and_grads(X, labels)
        for p, g in zip(self.params, grads):
            p -= LR * g


class AutogradLite:
    """``lib``: the package, the current one or the previous engine's (--baseline)."""

    def __init__(self, params: list[np.ndarray], lib: ModuleType = ag) -> None:
        self.params = [lib.Value(p) for p in params]
        self.cross_entropy = lib.cross_entropy

    def loss(self, X: np.ndarray, labels: np.ndarray) -> Value:
        W1, b1, W2, b2, W3, b3 = self.params
        A1 = (X @ W1 + b1).relu()
        A2 = (A1 @ W2 + b2).relu()
        return self.cross_entropy(A2 @ W3 + b3, labels)

    def loss_and_grads(self, X: np.ndarray, labels: np.ndarray) -> tuple[float, list]:
        loss = self.loss(X, labels)
        for p in self.params:
            p.zero_grad()
        loss.backward()
        return loss.item(), [p.grad for p in self.params]

    def step(self, X: np.ndarray, labels: np.ndarray) -> None:
        loss = self.loss(X, labels)
        for p in self.params:
            p.zero_grad()
        loss.backward()
        for p in self.params:
            p.data -= LR * p.grad


class Torch:
    def __init__(self, torch, params: list[np.ndarray]) -> None:  # noqa: ANN001
        self.torch = torch
        self.F = torch.nn.functional
        self.params = [torch.tensor(p, requires_grad=True) for p in params]

    def loss(self, X, labels):  # noqa: ANN001, ANN201
        W1, b1, W2, b2, W3, b3 = self.params
        A1 = self.torch.relu(X @ W1 + b1)
        A2 = self.torch.relu(A1 @ W2 + b2)
        return self.F.cross_entropy(A2 @ W3 + b3, labels)

    def loss_and_grads(self, X, labels) -> tuple[float, list]:  # noqa: ANN001
        loss = self.loss(X, labels)
        loss.backward()
        grads = [p.grad.numpy().copy() for p in self.params]
        for p in self.params:
            p.grad = None
        return loss.item(), grads

    def step(self, X, labels) -> None:  # noqa: ANN001
        loss = self.loss(X, labels)
        loss.backward()
        with self.torch.no_grad():
            for p in self.params:
                p -= LR * p.grad
                p.grad = None


def run(cfg: Config) -> Result:
    res = Result("W5")
    torch = load_torch()
    if torch is None:
        res.skipped.append("W5: PyTorch is not installed; its rows are skipped")
    sec = Section("W5 — MLP 784-256-256-10, batch 128, ReLU, softmax cross-entropy, SGD",
                  ["dtype", "engine", "time per step", "× hand-written NumPy", "× PyTorch"])
    steps = 1 if cfg.quick else 10  # short rounds, many of them: a drift of the machine's
    rounds = 1 if cfg.quick else max(2 * cfg.rounds, 18)  # speed hits every engine alike
    prev = baseline.previous(cfg)
    faults: list[str | None] = []  # each dtype's page faults
    for dtype, rtol in ((np.float64, 1e-9), (np.float32, 2e-4)):
        X, labels, params = problem(dtype)
        engines = {"hand-written NumPy": (NumPy(params), (X, labels)),
                   "autograd_lite": (AutogradLite(params), (X, labels))}
        if prev is not None:
            engines[baseline.LABEL] = (AutogradLite(params, lib=prev), (X, labels))
        if torch is not None:
            engines["PyTorch"] = (Torch(torch, params),
                                  (torch.from_numpy(X), torch.from_numpy(labels)))
        name = np.dtype(dtype).name
        found = {n: e.loss_and_grads(*d) for n, (e, d) in engines.items()}
        res.checks.append(check_engines(f"W5 {name}", found, rtol=rtol, atol=rtol * 1e-3))
        if baseline.LABEL in found:
            res.checks.append(baseline.agreement(f"W5 {name} previous engine",
                                                 found["autograd_lite"], found[baseline.LABEL]))
        steppers = {n: PerStep(lambda e=e, d=d: e.step(*d), steps) for n, (e, d) in
                    engines.items()}
        times = interleave(steppers, rounds)
        faults.append(faults_note(steppers, f", {name}"))
        base = times["hand-written NumPy"]
        for n, t in times.items():
            sec.rows.append([name, n, fmt_time(median(t)), fmt_ratio(t, base),
                             fmt_ratio(t, times["PyTorch"]) if "PyTorch" in times else "—"])
        baseline.compare_times(res, f"time per step, {name}", times)
        a = times["autograd_lite"]
        r = median(a) / median(base)
        res.summary.append(
            f"**An MNIST-sized MLP** (784-256-256-10, batch 128, {name}): a step takes "
            f"{fmt_time(median(a))}, {r:.2g}× hand-written NumPy"
            + (f", {median(a) / median(times['PyTorch']):.2g}× PyTorch" if "PyTorch" in times
               else "") + ".")
        res.targets.append(Target("W5", f"time per step vs hand-written NumPy, {name}",
                                  f"{r:.3g}×", "≤ 1.1×", r <= 1.1))
        if "PyTorch" in times:
            r = median(a) / median(times["PyTorch"])
            res.targets.append(Target("W5", f"time per step vs PyTorch, {name}", f"{r:.3g}×",
                                      "≤ 0.9×", r <= 0.9))
    sec.notes.append(f"{rounds} round(s) of {steps} steps per engine and dtype, garbage "
                     "collector on.")
    sec.notes += fault_notes(faults)
    res.sections.append(sec)
    return res
