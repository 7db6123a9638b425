"""W6: a small CNN on the 8×8 digits: conv 1→8 3×3 pad 1, ReLU, max-pool 2, linear 128→10,
softmax cross-entropy, batch 64, SGD; float64 and float32.

One step = forward, backward and an SGD update of the four parameters. The batch is the first
64 images of scikit-learn's digits (pixels scaled to [0, 1]; random 8×8 images when
scikit-learn is not installed, which the report says). The convolution's biases start at 0,
so that a window of background pixels gives exactly 0 before the ReLU, whose derivative there
is 0 in every engine: max-pool ties among such zeros (which PyTorch routes to one entry and
the others share) then change no gradient, and the engines can be cross-checked.

* hand-written NumPy: the im2col step as a course writes it -- the windows of the padded
  batch by ``sliding_window_view``, the convolution as one batched matrix product, max-pool by
  reshaping into 2×2 blocks (its backward shares a tie's gradient, as CS231n's does), the
  closed-form softmax cross-entropy backward;
* the same, max-pool by the four offsets of a window (strided views and ``np.maximum``, as
  autograd_lite pools): NumPy's reductions over the small axes of the blocks are several times
  slower, and this row shows what the engine costs beyond the pooling method;
* ``autograd_lite``: ``ag.conv2d``, ``relu``, ``ag.max_pool2d``, ``@``, ``ag.cross_entropy``;
  the batch is a plain array (a constant: no dL/dX);
* PyTorch CPU: the same with ``torch.nn.functional``;
* with ``--baseline REV``: no previous engine (it has no conv2d); the report says so.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import autograd_lite as ag
from autograd_lite import Value

from . import baseline
from .harness import Config, Result, Section, Target, fmt_ratio, fmt_time, interleave, median
from .tensor_common import PerStep, check_engines, fault_notes, faults_note, load_torch

BATCH, CHANNELS, CLASSES = 64, 8, 10
LR = 0.1
LIMIT = 1.3  # issue 12: autograd_lite's step at most 1.3× the hand-written NumPy step
OFFSETS = "hand-written NumPy, max-pool by offsets"


def digits() -> tuple[np.ndarray, np.ndarray, str]:
    """The first BATCH digits as (N, 1, 8, 8) in [0, 1], their labels, and where they came from."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        rng = np.random.default_rng(0)
        return (rng.random((BATCH, 1, 8, 8)), rng.integers(0, CLASSES, BATCH),
                "random 8×8 images (scikit-learn is not installed)")
    d = load_digits()
    return (d.images[:BATCH, None] / 16.0, d.target[:BATCH].astype(np.intp),
            "the first 64 of scikit-learn's digits")


def problem(dtype) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], str]:  # noqa: ANN001
    X, labels, source = digits()
    rng = np.random.default_rng(0)
    params = [rng.normal(0, np.sqrt(2 / 9), (CHANNELS, 1, 3, 3)), np.zeros(CHANNELS),
              rng.normal(0, np.sqrt(1 / 128), (CHANNELS * 16, CLASSES)), np.zeros(CLASSES)]
    return X.astype(dtype), labels, [p.astype(dtype) for p in params], source


class NumPy:
    def __init__(self, params: list[np.ndarray]) -> None:
        self.params = [p.copy() for p in params]

    def loss_and_grads(self, X: np.ndarray, labels: np.ndarray) -> tuple[float, list]:
        W1, b1, W2, b2 = self.params
        n = X.shape[0]
        # conv 3×3, pad 1: im2col as (n, 1·3·3, 8·8), then one batched product
        Xp = np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1)))
        cols = sliding_window_view(Xp, (3, 3), axis=(2, 3)).transpose(0, 1, 4, 5, 2, 3)
        cols = cols.reshape(n, 9, 64)
        Z1 = (W1.reshape(CHANNELS, 9) @ cols).reshape(n, CHANNELS, 8, 8) + b1[:, None, None]
        A1 = np.maximum(Z1, 0)
        P, back = self.max_pool(A1)
        F = P.reshape(n, CHANNELS * 16)
        Z2 = F @ W2 + b2
        shifted = Z2 - Z2.max(axis=1, keepdims=True)
        E = np.exp(shifted)
        S = E.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        loss = np.mean(np.log(S[:, 0]) - shifted[rows, labels])
        dZ2 = E / S
        dZ2[rows, labels] -= 1
        dZ2 /= n
        dW2 = F.T @ dZ2
        db2 = dZ2.sum(axis=0)
        dZ1 = back((dZ2 @ W2.T).reshape(P.shape)) * (Z1 > 0)
        dW1 = (dZ1.reshape(n, CHANNELS, 64) @ cols.transpose(0, 2, 1)).sum(axis=0)
        db1 = dZ1.sum(axis=(0, 2, 3))
        return float(loss), [dW1.reshape(W1.shape), db1, dW2, db2]

    @staticmethod
    def max_pool(A: np.ndarray) -> tuple[np.ndarray, Callable]:
        """2×2 max-pool, stride 2, as CS231n's reshape method: each window a (2, 2) block; and
        its backward, which shares a tie's gradient equally."""
        n, c, h, w = A.shape
        blocks = A.reshape(n, c, h // 2, 2, w // 2, 2)
        P = blocks.max(axis=(3, 5))

        def back(dP: np.ndarray) -> np.ndarray:
            at = blocks == P[:, :, :, None, :, None]
            ties = at.sum(axis=(3, 5), keepdims=True, dtype=dP.dtype)
            return (at * (dP[:, :, :, None, :, None] / ties)).reshape(A.shape)
        return P, back

    def step(self, X: np.ndarray, labels: np.ndarray) -> None:
        _, grads = self.loss_and_grads(X, labels)
        for p, g in zip(self.params, grads):
            p -= LR * g


class NumPyByOffsets(NumPy):
    """The same step, its max-pool by the four offsets of a 2×2 window (four strided views and
    np.maximum, as autograd_lite pools): NumPy's reductions over the small axes of the
    reshape method above are several times slower."""

    @staticmethod
    def max_pool(A: np.ndarray) -> tuple[np.ndarray, Callable]:
        parts = [A[:, :, i::2, j::2] for i in (0, 1) for j in (0, 1)]
        P = np.maximum(np.maximum(parts[0], parts[1]), np.maximum(parts[2], parts[3]))

        def back(dP: np.ndarray) -> np.ndarray:
            at = [part == P for part in parts]
            share = dP / sum(at, np.zeros_like(dP))  # 1, or the number tied
            dA = np.empty_like(A)
            for (i, j), a in zip(((0, 0), (0, 1), (1, 0), (1, 1)), at):
                dA[:, :, i::2, j::2] = a * share
            return dA
        return P, back


class AutogradLite:
    """``lib``: the package (the current one; the previous engine has no conv2d)."""

    def __init__(self, params: list[np.ndarray], lib: ModuleType = ag) -> None:
        self.lib = lib
        self.params = [lib.Value(p) for p in params]

    def loss(self, X: np.ndarray, labels: np.ndarray) -> Value:
        W1, b1, W2, b2 = self.params
        A1 = self.lib.conv2d(X, W1, b1, padding=1).relu()
        P = self.lib.max_pool2d(A1, 2)
        return self.lib.cross_entropy(P.reshape(len(X), -1) @ W2 + b2, labels)

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
        W1, b1, W2, b2 = self.params
        A1 = self.torch.relu(self.F.conv2d(X, W1, b1, padding=1))
        P = self.F.max_pool2d(A1, 2)
        return self.F.cross_entropy(P.reshape(len(X), -1) @ W2 + b2, labels)

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
    res = Result("W6")
    torch = load_torch()
    if torch is None:
        res.skipped.append("W6: PyTorch is not installed; its rows are skipped")
    if baseline.previous(cfg) is not None:
        res.skipped.append("W6: the previous engine has no conv2d; it is not timed here")
    sec = Section("W6 — CNN on 8×8 digits: conv 1→8 3×3 pad 1, ReLU, max-pool 2, linear "
                  "128→10, cross-entropy, batch 64, SGD",
                  ["dtype", "engine", "time per step", "× hand-written NumPy", "× PyTorch"])
    steps = 1 if cfg.quick else 20  # short rounds, many of them (as W5)
    rounds = 1 if cfg.quick else max(2 * cfg.rounds, 18)
    faults: list[str | None] = []  # each dtype's page faults
    for dtype, rtol in ((np.float64, 1e-9), (np.float32, 2e-4)):
        X, labels, params, source = problem(dtype)
        engines = {"hand-written NumPy": (NumPy(params), (X, labels)),
                   OFFSETS: (NumPyByOffsets(params), (X, labels)),
                   "autograd_lite": (AutogradLite(params), (X, labels))}
        if torch is not None:
            engines["PyTorch"] = (Torch(torch, params),
                                  (torch.from_numpy(X), torch.from_numpy(labels)))
        name = np.dtype(dtype).name
        found = {n: e.loss_and_grads(*d) for n, (e, d) in engines.items()}
        res.checks.append(check_engines(f"W6 {name}", found, rtol=rtol, atol=rtol * 1e-3))
        steppers = {n: PerStep(lambda e=e, d=d: e.step(*d), steps) for n, (e, d) in
                    engines.items()}
        times = interleave(steppers, rounds)
        faults.append(faults_note(steppers, f", {name}"))
        base = times["hand-written NumPy"]
        for n, t in times.items():
            sec.rows.append([name, n, fmt_time(median(t)), fmt_ratio(t, base),
                             fmt_ratio(t, times["PyTorch"]) if "PyTorch" in times else "—"])
        a = median(times["autograd_lite"])
        res.summary.append(
            f"**A small CNN** (the digits, {name}): a step takes {fmt_time(a)}, "
            f"{a / median(base):.2g}× a hand-written NumPy CNN (im2col), "
            f"{a / median(times[OFFSETS]):.2g}× a faster one"
            + (f", {a / median(times['PyTorch']):.2g}× PyTorch" if "PyTorch" in times else "")
            + ".")
        for ref, what in ((base, "hand-written NumPy"), (times[OFFSETS], OFFSETS)):
            r = median(times["autograd_lite"]) / median(ref)
            res.targets.append(Target("W6", f"time per step vs {what}, {name}", f"{r:.3g}×",
                                      f"≤ {LIMIT:g}×", r <= LIMIT))
    sec.notes.append(f"The batch: {source}. {rounds} round(s) of {steps} steps per engine and "
                     "dtype, garbage collector on.")
    sec.notes += fault_notes(faults)
    res.sections.append(sec)
    return res
