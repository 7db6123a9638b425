"""Does relu'(0) matter? A small reproduction of Bertoin et al. (NeurIPS 2021) with this engine.

Bertoin, Bolte, Gerchinovitz and Pauwels, "Numerical influence of ReLU'(0) on
backpropagation" (NeurIPS 2021), found that relu'(0) = 0 and relu'(0) = 1 give different
gradients far more often than "a set of measure zero" suggests, because floating-point
pre-activations are exactly 0 now and then, and that the difference grows as precision
shrinks. This module measures the same things at small scale, with ``Value`` s only:

a. how often a pre-activation is exactly 0, per layer and precision;
b. how often a minibatch's gradients differ bitwise between the two choices at the same
   parameters, along training and over fresh initialisations;
c. whether training ends elsewhere: test accuracy and loss for both choices over several
   seeds, and the L1 distance between the two weight trajectories;
d. the same in float16 with a backward that *replaces* the upstream gradient by the chosen
   value at exact zeros (as the paper's code does) instead of multiplying by it.

Run it as ``autograd-lite study relu0 [--quick]`` or ``python -m autograd_lite.studies.relu0``.
The command line calls :func:`add_arguments` and :func:`run`; :func:`main` does both.
"""

from __future__ import annotations

import argparse
import csv
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .. import Value, cross_entropy, custom_op, kinks, relu_subgradient, subgradient_sensitivity

PRECISIONS = ("float16", "float32", "float64")
CHOICES = (0.0, 1.0)  # the two values of relu'(0) compared
N_TRAIN, N_TEST = 1437, 360

# What the paper reports (MNIST, fully connected 3 x 256, one pass over the data at the
# initial parameters; deel-ai/relu-prime, notebooks/MNIST_volume_estimation.ipynb prints
# "Ratio of theta in S" 1.0, 0.445 and 0.0 for 16, 32 and 64 bits over 100 draws; the paper
# gives ~100 %, ~46 % and 0 % over 1000), and its per-pre-activation rates of exact zeros.
PAPER = {
    "float16": {"p_epoch": "~100 %", "zero_rate": "~1e-7"},
    "float32": {"p_epoch": "~46 %", "zero_rate": "~1e-8"},
    "float64": {"p_epoch": "0 %", "zero_rate": "0"},
}


# The largest value of each integer knob (the smallest is 1). Far above the presets, below
# what cannot run: hidden 4096 holds 16.8 M weights per H x H layer, times the variants.
LIMITS = {"hidden": 4096, "epochs": 1000, "seeds": 100, "inits": 10_000, "workers": 64,
          "batch": N_TRAIN}


@dataclass(frozen=True)
class Settings:
    """The knobs of the study. ``FULL`` and ``QUICK`` are the two presets."""

    hidden: int = 128  # MLP 64-H-H-10
    epochs: int = 20
    seeds: int = 5  # training runs per precision (same seeds for every precision)
    inits: int = 100  # fresh initialisations for the one-epoch probability
    lr: float = 0.05
    batch: int = 32
    workers: int = 2  # processes; each pins BLAS to one thread

    def check(self) -> Settings:
        """Return ``self`` if every knob lies in :data:`LIMITS`, else raise ``ValueError``."""
        for name, top in LIMITS.items():
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= top:
                raise ValueError(f"{name} must be an integer from 1 to {top}, got {v!r}")
        if not (isinstance(self.lr, float) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        return self


FULL = Settings()
# A smoke test of the pipeline (seconds; the test suite runs it): 3 epochs give each learning
# curve three points, far too few seeds and epochs for its numbers to mean anything.
QUICK = Settings(hidden=64, epochs=3, seeds=2, inits=6)
SMOKE = ("SMOKE RUN (--quick): it only checks that the study runs end to end, in seconds; "
         "with {st.epochs} epoch(s), {st.seeds} seeds and {st.inits} initialisations its "
         "numbers mean nothing. For the study itself run `autograd-lite study relu0` "
         "(a few minutes on two cores).")


def smoke_note(st: Settings) -> str:
    """The warning that heads every output of a ``--quick`` run."""
    return SMOKE.format(st=st)


# --- data ---------------------------------------------------------------------------------

def load_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """The 8 x 8 digits scaled by 1/16, split 1437/360 by a fixed permutation.

    Returns ``X_train, y_train, X_test, y_test, source``. The digits ship inside
    scikit-learn (the ``study`` extra); without it a generated stand-in of the same shape
    is used (ten noisy 8 x 8 prototypes quantised to sixteenths), and ``source`` says so.

    >>> X, y, Xt, yt, source = load_data()
    >>> X.shape, Xt.shape, float(X.max()) <= 1.0, sorted(set(y.tolist())) == list(range(10))
    ((1437, 64), (360, 64), True, True)
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        X, y = _generated_digits()
        source = "generated stand-in for the digits (scikit-learn is not installed)"
    else:
        X, y = load_digits(return_X_y=True)
        source = "scikit-learn digits (8 x 8, 1797 images)"
    X = np.asarray(X, dtype=np.float64) / 16.0  # sixteenths: exact in float16 too
    y = np.asarray(y, dtype=np.int64)
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:N_TRAIN], order[N_TRAIN:N_TRAIN + N_TEST]
    return X[train], y[train], X[test], y[test], source


def _generated_digits(n: int = N_TRAIN + N_TEST) -> tuple[np.ndarray, np.ndarray]:
    """Ten blurred random 8 x 8 prototypes plus noise, as integers 0..16 (like the digits)."""
    rng = np.random.default_rng(1797)
    protos = (rng.random((10, 8, 8)) < 0.3) * 16.0
    protos = (protos + np.roll(protos, 1, 1) + np.roll(protos, 1, 2)) / 2
    y = np.arange(n) % 10
    X = protos[y].reshape(n, 64) + rng.normal(0, 4, (n, 64))
    return np.clip(np.rint(X), 0, 16), y


# --- the model, written with Values ------------------------------------------------------

def init_params(seed: int, hidden: int, dtype: Any) -> list[np.ndarray]:
    """PyTorch's default init for Linear: W and b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    Drawn in float64 from ``seed`` and rounded to ``dtype``, so every precision starts
    from the same weights (up to rounding). Order: W1, b1, W2, b2, W3, b3.
    """
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in ((64, hidden), (hidden, hidden), (hidden, 10)):
        bound = 1.0 / math.sqrt(n_in)
        params.append(rng.uniform(-bound, bound, (n_in, n_out)).astype(dtype))
        params.append(rng.uniform(-bound, bound, n_out).astype(dtype))
    return params


def logits(params: Sequence[Value], X: np.ndarray,
           act: Callable[[Value], Value] = Value.relu) -> Value:
    """The MLP: ``act(X @ W1 + b1)``, ``act(· @ W2 + b2)``, ``· @ W3 + b3``.

    Each ``@`` is rounded to the parameters' dtype before the bias is added (NumPy's
    float16 matmul accumulates in float32 and rounds once). The activations are labelled
    ``A1`` and ``A2``, so kinks can be told apart by layer.
    """
    W1, b1, W2, b2, W3, b3 = params
    a1 = act(X @ W1 + b1)
    a1.label = "A1"
    a2 = act(a1 @ W2 + b2)
    a2.label = "A2"
    return a2 @ W3 + b3


_REPLACE: dict[float, Callable[[Value], Value]] = {}


def replace_relu(s: float) -> Callable[[Value], Value]:
    """ReLU whose backward *replaces* the upstream gradient by ``s`` at exact zeros.

    This is the backward of the paper's ``ReLUAlphaFunction`` (``grad_input[input == 0] =
    alpha``), written as a custom op. It is not the chain rule: the engine's own ReLU
    multiplies, ``g * s``. For ``s = 0`` the two agree; for ``s = 1`` the replacing one
    injects a gradient of 1 at each exact zero whatever the upstream gradient is.

    >>> import numpy as np
    >>> z = Value(np.array([-1.0, 0.0, 2.0]))
    >>> (replace_relu(1.0)(z) * 0.01).sum().backward()
    >>> z.grad
    array([0.  , 1.  , 0.01])
    """
    if s not in _REPLACE:
        def vjp(g: Any, z: Any, out: Any) -> Any:
            at_zero = np.where(z == 0, np.asarray(s, g.dtype), np.zeros((), g.dtype))
            return np.where(z > 0, g, at_zero)

        _REPLACE[s] = custom_op(f"relu_replace_{str(s).replace('.', '_')}",
                                lambda z: np.maximum(z, 0), vjp=vjp,
                                symbol=f"g·1[{{x}}>0], := {s:g} at 0")
    return _REPLACE[s]


def _sgd(params: list[np.ndarray], grads: Iterable[Any], lr: float) -> list[np.ndarray]:
    """p <- p - lr * g, in the parameters' own dtype."""
    return [p - p.dtype.type(lr) * g for p, g in zip(params, grads)]


def _grads(params: list[np.ndarray], X: np.ndarray, y: np.ndarray,
           act: Callable[[Value], Value]) -> list[Any]:
    vs = [Value(p) for p in params]
    cross_entropy(logits(vs, X, act), y).backward()
    return [v.grad for v in vs]


def _l1(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return float(sum(np.abs(p.astype(np.float64) - q.astype(np.float64)).sum()
                     for p, q in zip(a, b)))


def _evaluate(params: list[np.ndarray], X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    out = logits([Value(p) for p in params], X)
    acc = float(np.mean(np.argmax(out.data, axis=1) == y))
    return acc, float(cross_entropy(out, y).item())


def _batches(seed: int, epoch: int, n: int, size: int) -> list[np.ndarray]:
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return [order[i:i + size] for i in range(0, n, size)]


# --- the measurements (each runs in a worker process) -------------------------------------

def _zeros_by_layer(ks: Iterable[Any]) -> tuple[int, int]:
    by_layer = {k.node.label: k.count for k in ks}
    return by_layer.get("A1", 0), by_layer.get("A2", 0)


def _loss_fn(X: np.ndarray, y: np.ndarray) -> Callable[[list[Value]], Value]:
    return lambda v: cross_entropy(logits(v, X), y)


def train_pair(precision: str, seed: int, st: Settings) -> dict:
    """Train from one initialisation with relu'(0) = 0 and = 1, side by side.

    Variants (same initial weights, same minibatch order): ``mul0`` and ``mul1`` use the
    engine's ReLU (backward multiplies by relu'(0)); in float16 ``rep1`` uses the replacing
    backward of :func:`replace_relu` with relu'(0) = 1, and for seed 0 ``rep0`` checks that
    replacing with 0 is bitwise the same as multiplying by 0. At every step of ``mul0`` the
    gradients under both choices are compared bitwise with
    :func:`~autograd_lite.subgradient_sensitivity` at the same parameters, and the exact
    zeros are counted per layer.
    """
    dt = np.dtype(precision).type
    Xtr, ytr, Xte, yte, _ = _data()
    Xtr, Xte = Xtr.astype(dt), Xte.astype(dt)
    start = init_params(seed, st.hidden, dt)
    names = ["mul0", "mul1"]
    if precision == "float16":
        names += ["rep1", "rep0"] if seed == 0 else ["rep1"]
    acts = {"rep0": replace_relu(0.0), "rep1": replace_relu(1.0)}
    params = {k: [p.copy() for p in start] for k in names}
    differs, zeros1, zeros2, sizes = [], [], [], []
    dist: dict[str, list[float]] = {"mul": [], "rep": []}
    rep0_is_mul0 = True  # replacing with 0 gives bitwise the multiplying trajectory?
    curve: dict[str, list[tuple[float, float]]] = {k: [] for k in names}
    for epoch in range(st.epochs):
        for idx in _batches(seed, epoch, len(Xtr), st.batch):
            X, y = Xtr[idx], ytr[idx]
            report = subgradient_sensitivity(_loss_fn(X, y), [Value(p) for p in params["mul0"]],
                                             subgradients=CHOICES)
            differs.append(report.differs)
            z1, z2 = _zeros_by_layer(report.kinks)
            zeros1.append(z1)
            zeros2.append(z2)
            sizes.append(len(idx) * st.hidden)
            new = {"mul0": _sgd(params["mul0"], report.grads[0], st.lr)}
            for k in names[1:]:
                if k == "mul1":
                    with relu_subgradient(1.0):
                        g = _grads(params[k], X, y, Value.relu)
                else:
                    g = _grads(params[k], X, y, acts[k])
                new[k] = _sgd(params[k], g, st.lr)
            params = new
            dist["mul"].append(_l1(params["mul0"], params["mul1"]))
            if "rep1" in params:
                dist["rep"].append(_l1(params["mul0"], params["rep1"]))
            if "rep0" in params:
                rep0_is_mul0 &= all(a.tobytes() == b.tobytes()
                                    for a, b in zip(params["rep0"], params["mul0"]))
        for k in names:
            curve[k].append(_evaluate(params[k], Xte, yte))
    return {
        "kind": "train", "precision": precision, "seed": seed, "variants": names,
        "differs": np.array(differs), "zeros1": np.array(zeros1), "zeros2": np.array(zeros2),
        "sizes": np.array(sizes), "dist": {k: np.array(v) for k, v in dist.items() if v},
        "curve": {k: np.array(v) for k, v in curve.items()},
        "rep0_is_mul0": rep0_is_mul0 if "rep0" in names else None,
    }


def _fused_zeros(params: list[np.ndarray], X: np.ndarray) -> tuple[int, int]:
    """Exact zeros if each layer were rounded to float16 once, after adding the bias.

    A counterfactual (NumPy, not the engine): ``fl16(X @ W + b)`` with the sum in float32,
    as a GPU's fused float16 GEMM with a float32 accumulator computes a Linear layer.
    """
    W1, b1, W2, b2 = (p.astype(np.float32) for p in params[:4])
    z1 = (X.astype(np.float32) @ W1 + b1).astype(np.float16)
    z2 = (np.maximum(z1, 0).astype(np.float32) @ W2 + b2).astype(np.float16)
    return int(np.count_nonzero(z1 == 0)), int(np.count_nonzero(z2 == 0))


def sweep_inits(precision: str, seeds: Sequence[int], st: Settings) -> dict:
    """Fresh initialisations: one pass over the minibatches at the initial parameters.

    As in the paper's experiment the parameters are not trained. Per initialisation:
    the index of the first minibatch whose gradients differ between relu'(0) = 0 and = 1
    (-1 if none); the exact zeros per layer over the whole epoch (after the first
    difference, from the forward pass alone); in float16 also :func:`_fused_zeros`.
    """
    dt = np.dtype(precision).type
    Xtr, ytr, *_ = _data()
    Xtr = Xtr.astype(dt)
    first, zeros, fused = [], np.zeros(2, np.int64), np.zeros(2, np.int64)
    size = 0
    for seed in seeds:
        start = init_params(seed, st.hidden, dt)
        vs = [Value(p) for p in start]
        found = -1
        for j, idx in enumerate(_batches(seed, 0, len(Xtr), st.batch)):
            X, y = Xtr[idx], ytr[idx]
            if found < 0:
                report = subgradient_sensitivity(_loss_fn(X, y), vs, subgradients=CHOICES)
                found = j if report.differs else -1
                ks = report.kinks
            else:
                ks = kinks(logits(vs, X))
            zeros += _zeros_by_layer(ks)
            size += len(idx) * st.hidden
            if precision == "float16":
                fused += _fused_zeros(start, X)
        first.append(found)
    return {"kind": "init", "precision": precision, "first": np.array(first),
            "zeros": zeros, "fused": fused if precision == "float16" else None, "size": size}


_DATA: tuple | None = None


def _data() -> tuple:
    global _DATA
    if _DATA is None:
        _DATA = load_data()
    return _DATA


_LIMITS: Any = None


def _pin_blas() -> Any:
    """One BLAS thread, so that results do not depend on how work is split (bitwise).

    Returns the limiter (its ``restore_original_limits()`` undoes it), or None without
    threadpoolctl (it ships with scikit-learn).
    """
    global _LIMITS
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    _LIMITS = threadpool_limits(limits=1, user_api="blas")
    return _LIMITS


def _work(task: tuple) -> dict:
    kind, precision, arg, st = task
    if kind == "train":
        return train_pair(precision, arg, st)
    return sweep_inits(precision, arg, st)


# --- running it all ----------------------------------------------------------------------

def _tasks(st: Settings) -> list[tuple]:
    tasks = [("train", p, seed, st) for p in PRECISIONS for seed in range(st.seeds)]
    chunk = max(1, math.ceil(st.inits / 4))
    for p in PRECISIONS:
        for i in range(0, st.inits, chunk):
            tasks.append(("init", p, list(range(1000 + i, 1000 + min(st.inits, i + chunk))), st))
    # float16 first (numpy's float16 matmul runs without BLAS: the slow part)
    return sorted(tasks, key=lambda t: (t[1] != "float16", t[0] != "train"))


def _progress(total: int) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return _PlainProgress(total)
    return tqdm(total=total, desc="relu'(0) study", unit="run", file=sys.stderr)


class _PlainProgress:
    def __init__(self, total: int) -> None:
        self.total, self.n = total, 0

    def update(self, k: int = 1) -> None:
        self.n += k
        print(f"relu'(0) study: {self.n}/{self.total} runs done", file=sys.stderr, flush=True)

    def close(self) -> None:
        pass


def _execute(tasks: list[tuple], workers: int) -> list[dict]:
    bar = _progress(len(tasks))
    results = []
    try:
        if workers == 1:
            limits = _pin_blas()
            if limits is None:
                print("threadpoolctl is not installed: BLAS may use several threads (bitwise "
                      "results can then depend on the thread count)", file=sys.stderr)
            try:
                for t in tasks:
                    results.append(_work(t))
                    bar.update(1)
            finally:
                if limits is not None:
                    limits.restore_original_limits()
        else:
            # Fresh interpreters: BLAS reads these before it starts its threads.
            for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ[var] = "1"
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_pin_blas) as pool:
                futures = [pool.submit(_work, t) for t in tasks]
                try:
                    for fut in as_completed(futures):
                        results.append(fut.result())
                        bar.update(1)
                except BaseException:  # one run failed: start no more of them
                    for fut in futures:
                        fut.cancel()
                    raise
    finally:
        bar.close()
    return results


def summarise(results: list[dict], st: Settings) -> dict:
    """Pool the runs per precision: counts, final accuracies and losses, distances."""
    out: dict[str, Any] = {}
    for p in PRECISIONS:
        runs = sorted((r for r in results if r["kind"] == "train" and r["precision"] == p),
                      key=lambda r: r["seed"])
        sweeps = [r for r in results if r["kind"] == "init" and r["precision"] == p]
        first = np.concatenate([r["first"] for r in sweeps])
        s: dict[str, Any] = {
            "runs": runs, "first": first, "n_inits": len(first),
            "inits_differ": int(np.sum(first >= 0)),
            "zeros_train": [sum(int(r[k].sum()) for r in runs) for k in ("zeros1", "zeros2")],
            "size_train": sum(int(r["sizes"].sum()) for r in runs),
            "zeros_init": [int(sum(r["zeros"][i] for r in sweeps)) for i in (0, 1)],
            "size_init": sum(r["size"] for r in sweeps),
            "steps": sum(len(r["differs"]) for r in runs),
            "steps_differ": sum(int(r["differs"].sum()) for r in runs),
            "steps_zero": sum(int(((r["zeros1"] + r["zeros2"]) > 0).sum()) for r in runs),
            "split": [_first(r["dist"]["mul"] > 0) for r in runs],
            "first_differ": [_first(r["differs"]) for r in runs],
            "dist_mul": np.array([r["dist"]["mul"][-1] for r in runs]),
        }
        if p == "float16":
            s["zeros_fused"] = [int(sum(r["fused"][i] for r in sweeps)) for i in (0, 1)]
        for k in ("mul0", "mul1", "rep1"):
            if k in runs[0]["curve"]:
                final = np.array([r["curve"][k][-1] for r in runs])
                early = np.array([r["curve"][k][_early(st) - 1] for r in runs])
                s[k] = {"acc": final[:, 0], "loss": final[:, 1], "acc_early": early[:, 0],
                        "loss_early": early[:, 1]}
        if "rep1" in runs[0]["curve"]:
            s["dist_rep"] = np.array([r["dist"]["rep"][-1] for r in runs])
            s["split_rep"] = [_first(r["dist"]["rep"] > 0) for r in runs]
            checks = [r["rep0_is_mul0"] for r in runs if r["rep0_is_mul0"] is not None]
            s["rep0_is_mul0"] = bool(checks) and all(checks)
        out[p] = s
    return out


def _early(st: Settings) -> int:
    """The epoch after which the learning curves are compared mid-way: a quarter in."""
    return max(1, round(st.epochs / 4))


def _first(mask: np.ndarray) -> int:
    """Index of the first True (a step number), or -1."""
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else -1


def _pm(a: np.ndarray, pct: bool = True) -> str:
    """Mean ± standard deviation: in percent (accuracies) or plain (losses)."""
    if pct:
        return f"{100 * a.mean():.1f} ± {100 * a.std():.1f}"
    return f"{a.mean():.3f} ± {a.std():.3f}"


def _rate(k: int, n: int) -> str:
    return f"{k / n:.1e} ({k:,} of {n:,})" if k else f"0 (of {n:,})"


def _steps(xs: list[int], per_epoch: int) -> str:
    if all(x < 0 for x in xs):
        return "never"
    return ", ".join("never" if x < 0 else f"{x + 1} (epoch {x // per_epoch + 1})" for x in xs)


def _outcomes(s: dict, backward: str) -> tuple[dict, dict, np.ndarray, list[int]]:
    """relu'(0) = 0 and = 1 results, final distances and split steps for one backward.

    relu'(0) = 0 is the same run for both backwards: replacing the upstream gradient by 0
    is multiplying it by 0 (checked bitwise on seed 0, see ``rep0_is_mul0``).
    """
    if backward == "multiply":
        return s["mul0"], s["mul1"], s["dist_mul"], s["split"]
    return s["mul0"], s["rep1"], s["dist_rep"], s["split_rep"]


def table_rows(summary: dict, st: Settings) -> list[dict]:
    """The results as CSV rows: one per precision and backward (counts and rates)."""
    per_epoch = math.ceil(N_TRAIN / st.batch)
    rows = []
    for p in PRECISIONS:
        s = summary[p]
        for back in ("multiply", "replace"):
            if back == "replace" and "rep1" not in s:
                continue
            r0, r1, dist, split = _outcomes(s, back)
            zt, zi, nt, ni = s["zeros_train"], s["zeros_init"], s["size_train"], s["size_init"]
            rows.append({
                "precision": p, "backward": back, "seeds": len(s["runs"]),
                "zeros_train_layer1": zt[0], "zeros_train_layer2": zt[1],
                "preacts_train_per_layer": nt,
                "zero_rate_train": (zt[0] + zt[1]) / (2 * nt),
                "zeros_init_layer1": zi[0], "zeros_init_layer2": zi[1],
                "preacts_init_per_layer": ni, "zero_rate_init": (zi[0] + zi[1]) / (2 * ni),
                "minibatches": s["steps"], "minibatches_with_zero": s["steps_zero"],
                "minibatches_differ": s["steps_differ"],
                "inits": s["n_inits"], "inits_differ_in_one_epoch": s["inits_differ"],
                "acc0_mean": r0["acc"].mean(), "acc0_std": r0["acc"].std(),
                "acc1_mean": r1["acc"].mean(), "acc1_std": r1["acc"].std(),
                "loss0_mean": r0["loss"].mean(), "loss0_std": r0["loss"].std(),
                "loss1_mean": r1["loss"].mean(), "loss1_std": r1["loss"].std(),
                "early_epoch": _early(st), "acc0_early_mean": r0["acc_early"].mean(),
                "acc1_early_mean": r1["acc_early"].mean(),
                "l1_final_mean": dist.mean(), "seeds_apart": int(np.sum(dist > 0)),
                "split_steps": _steps(split, per_epoch),
            })
    return rows


def markdown(summary: dict, st: Settings, source: str, seconds: float,
             smoke: bool = False) -> str:
    """The results as markdown: settings, three tables, and what held.

    With ``smoke`` (a ``--quick`` run) it opens and ends with :func:`smoke_note`.
    """
    per_epoch = math.ceil(N_TRAIN / st.batch)
    lines = [f"**{smoke_note(st)}**", ""] if smoke else []
    lines += [
        f"Data: {source}; {N_TRAIN} train / {N_TEST} test images. MLP 64-{st.hidden}-"
        f"{st.hidden}-10, plain SGD (lr {st.lr:g}, batch {st.batch}), {st.epochs} epoch(s) = "
        f"{st.epochs * per_epoch} steps per run, {st.seeds} seed(s) per precision; "
        f"{st.inits} fresh initialisations per precision for the one-epoch sweep. "
        f"Wall time {seconds:.0f} s with {st.workers} worker process(es).",
        "",
    ]
    lines += _zeros_table(summary) + _differ_table(summary) + _training_table(summary, st)
    check = summary["float16"].get("rep0_is_mul0")
    lines += [
        "",
        "Mean ± standard deviation over seeds; steps count from 1. *multiply*: the engine's "
        "ReLU, backward multiplies the upstream gradient by relu'(0). *replace*: the backward "
        "of the paper's code, which puts relu'(0) in place of the upstream gradient at exact "
        "zeros; its relu'(0) = 0 run is the multiplying one (replacing by 0 and multiplying by "
        "0 gave bitwise the same trajectory on seed 0: "
        f"{'yes' if check else 'NO' if check is False else 'not checked'}).",
        "",
        verdict(summary, st),
    ]
    if smoke:
        lines += ["", f"**{smoke_note(st)}**"]
    return "\n".join(lines) + "\n"


def _zeros_table(summary: dict) -> list[str]:
    lines = [
        "**How often is a pre-activation exactly 0?** (ReLU inputs, per layer)",
        "",
        "| precision | along training, layer 1 | along training, layer 2 | at initialisation "
        "(one epoch each), layer 1 | at initialisation, layer 2 | paper (MNIST) |",
        "|---|---|---|---|---|---|",
    ]
    for p in PRECISIONS:
        s = summary[p]
        zt, zi, nt, ni = s["zeros_train"], s["zeros_init"], s["size_train"], s["size_init"]
        lines.append(f"| {p} | {_rate(zt[0], nt)} | {_rate(zt[1], nt)} | {_rate(zi[0], ni)} | "
                     f"{_rate(zi[1], ni)} | {PAPER[p]['zero_rate']} |")
    s16 = summary["float16"]
    zf, ni = s16["zeros_fused"], s16["size_init"]
    return lines + [
        f"| float16, bias added *before* rounding (counterfactual, NumPy) | – | – | "
        f"{_rate(zf[0], ni)} | {_rate(zf[1], ni)} | {PAPER['float16']['zero_rate']} |",
        "",
    ]


def _differ_table(summary: dict) -> list[str]:
    lines = [
        "**How often do relu'(0) = 0 and relu'(0) = 1 give different gradients?** "
        "(bitwise, same parameters, same minibatch)",
        "",
        "| precision | minibatches with an exact zero, along training | minibatches whose "
        "gradients differ, along training | initialisations whose first epoch meets a "
        "differing minibatch | paper (MNIST) |",
        "|---|---|---|---|---|",
    ]
    for p in PRECISIONS:
        s = summary[p]
        n = s["steps"]
        lines.append(
            f"| {p} | {s['steps_zero']}/{n} ({100 * s['steps_zero'] / n:.1f} %) | "
            f"{s['steps_differ']}/{n} ({100 * s['steps_differ'] / n:.1f} %) | "
            f"{s['inits_differ']}/{s['n_inits']} ({100 * s['inits_differ'] / s['n_inits']:.0f} %)"
            f" | {PAPER[p]['p_epoch']} |")
    return lines


def _training_table(summary: dict, st: Settings) -> list[str]:
    lines = [
        "",
        "**Does training end elsewhere?** (test set, after the last epoch)",
        "",
        "| precision | backward | accuracy, relu'(0)=0 (%) | accuracy, relu'(0)=1 (%) | "
        "loss, relu'(0)=0 | loss, relu'(0)=1 | accuracy after epoch "
        f"{_early(st)}, 0 / 1 (%) | L1 distance between the final weights | "
        "trajectories part at step |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table_rows(summary, st):
        r0, r1, *_ = _outcomes(summary[r["precision"]], r["backward"])
        lines.append(
            f"| {r['precision']} | {r['backward']} | {_pm(r0['acc'])} | {_pm(r1['acc'])} | "
            f"{_pm(r0['loss'], False)} | {_pm(r1['loss'], False)} | "
            f"{_pm(r0['acc_early'])} / {_pm(r1['acc_early'])} | {r['l1_final_mean']:.3g} "
            f"({r['seeds_apart']}/{r['seeds']} seeds apart) | {r['split_steps']} |")
    return lines


def _bound(k: int, n: int) -> str:
    """A rate, or for no event an upper bound (3/n: 95 % confidence, the rule of three)."""
    return f"{k / n:.1e} ({k:,} in {n:,})" if k else f"0 in {n:,} (below {3 / n:.0e} at 95 %)"


def _gap(s: dict, backward: str, what: str) -> tuple[float, float]:
    """Mean of relu'(0) = 1 minus mean of relu'(0) = 0, and the larger seed spread."""
    r0, r1, *_ = _outcomes(s, backward)
    return r1[what].mean() - r0[what].mean(), max(r0[what].std(), r1[what].std())


def _beyond(s: dict, backward: str, what: str) -> bool:
    """Is the gap larger than twice the spread between seeds (and than 0.5 points)?"""
    d, spread = _gap(s, backward, what)
    return abs(d) > max(2 * spread, 0.005 if what.startswith("acc") else 0.0)


def _signed(s: dict, backward: str, what: str) -> str:
    d, spread = _gap(s, backward, what)
    if what.startswith("acc"):
        return f"{100 * d:+.2f} points (spread {100 * spread:.2f})"
    return f"{d:+.2g} (spread {spread:.2g})"


def verdict(summary: dict, st: Settings) -> str:
    """A paragraph: each figure next to the paper's, and which claims held at this scale."""
    big = [p for p in PRECISIONS if any(_beyond(summary[p], "multiply", w)
                                        for w in ("acc", "loss", "acc_early"))]
    out = _verdict_zeros(summary, st) + _verdict_training(summary, st, big)
    if "rep1" in summary["float16"]:
        out.append(_verdict_replace(summary["float16"], st, big))
    return " ".join(out)


def _verdict_zeros(summary: dict, st: Settings) -> list[str]:
    """Exact zeros and differing gradients, against the paper's figures."""
    s16, s32, s64 = (summary[p] for p in PRECISIONS)
    out = []

    def rate(s: dict) -> tuple[int, int]:
        return sum(s["zeros_train"]) + sum(s["zeros_init"]), 2 * (s["size_train"] + s["size_init"])

    (k16, n16), (k32, n32), (k64, n64) = rate(s16), rate(s32), rate(s64)
    kf, nf = sum(s16["zeros_fused"]), 2 * s16["size_init"]
    out.append(
        f"Exact zeros per pre-activation: {_bound(k64, n64)} in float64, {_bound(k32, n32)} in "
        f"float32, {_bound(k16, n16)} in float16 (paper: 0, ~1e-8, ~1e-7). Our float16 layers "
        f"round X @ W to float16 and then add the bias; rounding once after adding the bias, "
        f"as a fused GPU kernel does, gives {_bound(kf, nf)} at the same initialisations. "
        + ("Fewer bits, more zeros: held." if k16 / n16 > k32 / n32 >= k64 / n64 else
           "Fewer bits, more zeros: did not hold."))
    pe = {p: 100 * summary[p]["inits_differ"] / summary[p]["n_inits"] for p in PRECISIONS}
    out.append(
        f"One epoch at the initial parameters met a minibatch whose gradients differ for "
        f"{pe['float16']:.0f} % of initialisations in float16, {pe['float32']:.0f} % in float32 "
        f"and {pe['float64']:.0f} % in float64 (paper: ~100 %, ~46 %, 0 %); an epoch here is "
        f"{N_TRAIN} images through 2 x {st.hidden} ReLUs, "
        f"{N_TRAIN * 2 * st.hidden:,} pre-activations, against the paper's 60000 MNIST "
        f"images through 2 x 256 ReLUs ({60000 * 2 * 256:,}; its 3 x 256 network has no ReLU "
        f"after the first layer)"
        + (", which is why float32 rarely meets a zero here." if pe["float32"] < 46 else "."))
    return out


def _verdict_training(summary: dict, st: Settings, big: list[str]) -> list[str]:
    """Where the two trajectories part, and whether training ends elsewhere (multiply)."""
    s16, s32, s64 = (summary[p] for p in PRECISIONS)
    out = []
    d16 = 100 * s16["steps_differ"] / s16["steps"]
    out.append(
        f"Along training, {s16['steps_zero']} of {s16['steps']} float16 minibatches had an "
        f"exact zero and {s16['steps_differ']} ({d16:.1f} %) gave different gradients "
        f"(a zero whose upstream gradient is 0, or whose share is lost to rounding, changes "
        f"nothing); float32: {s32['steps_differ']}, float64: {s64['steps_differ']}.")
    apart = {p: int(np.sum(summary[p]["dist_mul"] > 0)) for p in PRECISIONS}
    runs = [(a, b) for p in PRECISIONS for a, b in zip(summary[p]["split"],
                                                       summary[p]["first_differ"])]
    at_first = sum(a == b >= 0 for a, b in runs)
    later = sum(a > b >= 0 for a, b in runs)
    out.append(
        f"The two weight trajectories parted in {apart['float16']}/{st.seeds} float16 runs, "
        f"{apart['float32']}/{st.seeds} float32 and {apart['float64']}/{st.seeds} float64 runs. "
        f"Before the first minibatch whose gradients differ they are bitwise identical (the "
        f"engine is deterministic); {at_first} run(s) parted at that very step"
        + (f" and {later} later (the difference was first lost in rounding the update)"
           if later else "")
        + (", and the rest never met one." if at_first + later < len(runs) else "."))
    out.append(
        "With the chain rule (multiply), relu'(0) = 1 minus relu'(0) = 0 is "
        + ", ".join(f"{_signed(summary[p], 'multiply', 'acc')} of final accuracy and "
                    f"{_signed(summary[p], 'multiply', 'loss')} of final loss in {p}"
                    for p in PRECISIONS)
        + (": nowhere beyond twice the spread between seeds (final or after epoch "
           f"{_early(st)}); at this scale the choice changes the path of training, not where "
           "it ends." if not big else
           f": beyond twice the spread between seeds in {', '.join(big)}."))
    return out


def _verdict_replace(s16: dict, st: Settings, big: list[str]) -> str:
    """The replacing backward of the paper's code (float16) against the multiplying one."""
    dm = s16["dist_rep"].mean() / max(s16["dist_mul"].mean(), 1e-300)
    hurt = [name for w, name in (("acc", "final accuracy"), ("loss", "final loss"),
                                 ("acc_early", f"accuracy after epoch {_early(st)}"))
            if _beyond(s16, "replace", w)]
    return (
        f"With the replacing backward of the paper's code (float16), relu'(0) = 1 minus "
        f"relu'(0) = 0 is {_signed(s16, 'replace', 'acc')} of final accuracy, "
        f"{_signed(s16, 'replace', 'loss')} of final loss and "
        f"{_signed(s16, 'replace', 'acc_early')} of accuracy after epoch {_early(st)}; its "
        f"weights end {dm:.0f} times farther from the relu'(0) = 0 run's than the "
        "multiplying relu'(0) = 1 run's do. "
        + (f"Replacing, not the value of relu'(0), is what costs ({', '.join(hurt)} beyond "
           "twice the spread between seeds): held." if hurt and not big else
           "Replacing did not cost beyond twice the spread between seeds here."
           if not hurt else "Both backwards cost beyond the spread here."))


def write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})


def run_rows(summary: dict) -> list[dict]:
    """One row per training run (precision, seed): the raw figures behind the tables."""
    rows = []
    for p in PRECISIONS:
        for r in summary[p]["runs"]:
            row = {"precision": p, "seed": r["seed"], "steps": len(r["differs"]),
                   "minibatches_with_zero": int(((r["zeros1"] + r["zeros2"]) > 0).sum()),
                   "minibatches_differ": int(r["differs"].sum()),
                   "zeros_layer1": int(r["zeros1"].sum()), "zeros_layer2": int(r["zeros2"].sum()),
                   "preacts_per_layer": int(r["sizes"].sum()),
                   "first_differ_step": _first(r["differs"]) + 1 or "",
                   "split_step": _first(r["dist"]["mul"] > 0) + 1 or "",
                   "l1_final_multiply": float(r["dist"]["mul"][-1]),
                   "l1_final_replace": float(r["dist"]["rep"][-1]) if "rep" in r["dist"] else ""}
            for k in ("mul0", "mul1", "rep1"):
                acc, loss = r["curve"][k][-1] if k in r["curve"] else ("", "")
                row[f"acc_{k}"], row[f"loss_{k}"] = acc, loss
            row["rep0_is_mul0"] = "" if r["rep0_is_mul0"] is None else r["rep0_is_mul0"]
            rows.append(row)
    return rows


SMOKE_TITLE = "SMOKE RUN (--quick), numbers mean nothing; the study: autograd-lite study relu0"


def _title(text: str, smoke: bool) -> str:
    return f"{SMOKE_TITLE}\n{text}" if smoke else text


def plot(summary: dict, st: Settings, folder: Path, smoke: bool = False) -> list[Path]:
    """The L1 distance between the trajectories, the test accuracy, and P(epoch) at init.

    With ``smoke`` (a ``--quick`` run) every title opens with :data:`SMOKE_TITLE`.
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib import ticker
    except ImportError:
        print("matplotlib is not installed: no plots (pip install 'autograd-lite[study]')",
              file=sys.stderr)
        return []
    colours = {"float16": "tab:red", "float32": "tab:blue", "float64": "tab:green"}
    return [_plot_distance(plt, summary, st, folder, colours, smoke),
            _plot_accuracy(plt, ticker, summary, st, folder, smoke),
            _plot_init(plt, summary, st, folder, colours, smoke)]


def _plot_distance(plt: Any, summary: dict, st: Settings, folder: Path,
                   colours: dict[str, str], smoke: bool) -> Path:
    per_epoch = math.ceil(N_TRAIN / st.batch)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for p in PRECISIONS:
        for key, style, name in (("mul", "-", "multiply (chain rule)"),
                                 ("rep", ":", "replace (the paper's code)")):
            curves = [r["dist"][key] for r in summary[p]["runs"] if key in r["dist"]]
            if not curves:
                continue
            x = np.arange(1, len(curves[0]) + 1) / per_epoch
            if not any(c.any() for c in curves):  # nothing to draw on a log axis
                ax.plot([], [], style, color=colours[p],
                        label=f"{p}, {name}: 0 at every step (bitwise identical)")
                continue
            for i, c in enumerate(curves):
                ax.plot(x, np.where(c > 0, c, np.nan), style, color=colours[p], lw=1, alpha=0.8,
                        label=f"{p}, {name}" if i == 0 else None)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("L1 distance between the weights\ntrained with relu'(0)=0 and relu'(0)=1")
    ax.set_title(_title(f"Do the two trajectories part? (one line per seed, {st.seeds} seeds)",
                        smoke), color="tab:red" if smoke else "black")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path = folder / "relu0_distance.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _plot_accuracy(plt: Any, ticker: Any, summary: dict, st: Settings, folder: Path,
                   smoke: bool) -> Path:
    """One row per precision and backward, test accuracy on the left and loss on the right:
    two columns keep the text readable at a page's width (four were 7 px high there)."""
    panels = ([(p, "mul1", "multiply (chain rule)") for p in PRECISIONS]
              + [("float16", "rep1", "replace (paper's code)")])
    fig, axes = plt.subplots(len(panels), 2, figsize=(8, 2.4 * len(panels) + 0.9),
                             sharex=True, sharey="col", squeeze=False)
    epochs = np.arange(1, st.epochs + 1)
    few = st.epochs < 3  # a band needs points to join: a range bar instead, side by side
    for row, (p, one, name) in enumerate(panels):
        for key, label, colour, style, dx in (("mul0", "relu'(0)=0", "black", "-", -0.06),
                                              (one, "relu'(0)=1", "tab:orange", "--", 0.06)):
            for col, (i, f) in enumerate(((0, 100.0), (1, 1.0))):
                y = np.array([r["curve"][key][:, i] for r in summary[p]["runs"]]) * f
                ax, mean = axes[row, col], y.mean(0)
                if few:
                    ax.errorbar(epochs + dx, mean, yerr=[mean - y.min(0), y.max(0) - mean],
                                fmt="o", color=colour, ms=6, capsize=4, label=label)
                    continue
                ax.plot(epochs, mean, style, color=colour, label=label, marker=".", ms=4)
                ax.fill_between(epochs, y.min(0), y.max(0), color=colour, alpha=0.15)
        axes[row, 0].set_title(f"{p}, {name}: test accuracy (%)", fontsize=10, loc="left")
        axes[row, 1].set_title("test loss", fontsize=10, loc="left")
        for ax in axes[row]:
            ax.grid(True, which="both", alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
        ax.set_xlim(0.5, st.epochs + 0.5)  # not a 0.1-wide axis around one epoch
        ax.xaxis.set_major_locator(ticker.MultipleLocator(1) if st.epochs <= 10
                                   else ticker.MaxNLocator(integer=True))
    lo, hi = axes[0, 1].get_ylim()
    if lo > 0 and hi / lo > 3:  # losses over decades: a log axis shows the late gaps
        axes[0, 1].set_yscale("log")  # (the column shares its y axis)
        axes[0, 1].yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        axes[0, 1].yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        axes[0, 1].yaxis.set_minor_formatter(ticker.NullFormatter())
    axes[0, 0].legend(loc="lower right")
    shown = "Mean (dot) and range (bar)" if few else "Mean (line) and range (band)"
    fig.suptitle(_title(f"{shown} of {st.seeds} seeds; same initial weights and minibatches\n"
                        "for relu'(0) = 0 and 1", smoke), color="tab:red" if smoke else "black")
    fig.tight_layout()
    path = folder / "relu0_accuracy.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _plot_init(plt: Any, summary: dict, st: Settings, folder: Path,
               colours: dict[str, str], smoke: bool) -> Path:
    per_epoch = math.ceil(N_TRAIN / st.batch)
    fig, ax = plt.subplots(figsize=(8, 4))
    for p in PRECISIONS:
        first = summary[p]["first"]
        k = np.arange(1, per_epoch + 1)
        frac = [np.mean((first >= 0) & (first < j)) for j in k]
        # float64 (dashed, thin) is drawn under the others: at 0 % it would hide float32's
        # small steps; the counts in the legend say what a step of 1 % can't show
        ax.step(np.minimum(k * st.batch, N_TRAIN), np.array(frac) * 100, where="post",
                color=colours[p], ls="--" if p == "float64" else "-",
                lw=1.2 if p == "float64" else 1.8, zorder=1 if p == "float64" else 2,
                label=f"{p}: {summary[p]['inits_differ']} of {summary[p]['n_inits']} "
                      "within one epoch")
    ax.set_xlabel("training images seen (one epoch = 1437) at the initial parameters")
    ax.set_ylabel("initialisations where some\nminibatch's gradients differ (%)")
    ax.set_title(_title(f"P(relu'(0) matters within the first n images), {st.inits} "
                        "initialisations", smoke), color="tab:red" if smoke else "black")
    ax.set_ylim(-3, 103)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="center right")
    fig.tight_layout()
    path = folder / "relu0_init.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# --- command line -------------------------------------------------------------------------

class StudyError(ValueError):
    """The study cannot run as asked; the message is one line saying what and what is allowed."""


def _count(name: str) -> Callable[[str], int]:
    """The argparse type of ``--NAME``: an integer from 1 to ``LIMITS[name]``."""
    top = LIMITS[name]

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:  # also a number too long to read
            n = 0
        if not 1 <= n <= top:
            shown = text if len(text) <= 30 else text[:27] + "..."
            raise argparse.ArgumentTypeError(f"must be an integer from 1 to {top}, got {shown!r}")
        return n

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the study's options to ``parser`` (for ``autograd-lite study relu0``)."""
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of the pipeline (3 epochs, 2 seeds, hidden 64) "
                             "that takes seconds; its numbers mean nothing")
    parser.add_argument("--out", type=Path, default=Path("relu0_study"),
                        help="folder for relu0_results.md, relu0_results.csv and "
                             "relu0_runs.csv (default: ./relu0_study)")
    parser.add_argument("--figures", type=Path, default=None,
                        help="folder for the relu0_*.png plots (default: the --out folder)")
    for name, what in (("seeds", "training runs per precision"), ("epochs", "epochs"),
                       ("hidden", "width H of the MLP 64-H-H-10"),
                       ("inits", "fresh initialisations for P(epoch)"),
                       ("workers", "worker processes")):
        parser.add_argument(f"--{name}", type=_count(name), default=None,
                            help=f"{what}, 1 to {LIMITS[name]} (default: {getattr(FULL, name)}; "
                                 f"--quick: {getattr(QUICK, name)})")


def settings_from(args: argparse.Namespace) -> Settings:
    """The :class:`Settings` the options ask for (``--quick`` and any knob given), checked."""
    base = QUICK if getattr(args, "quick", False) else FULL
    changes = {k: getattr(args, k) for k in ("seeds", "epochs", "hidden", "inits", "workers")
               if getattr(args, k, None) is not None}
    try:
        return replace(base, **changes).check()
    except ValueError as e:  # "hidden must be ..." is said of the option --hidden
        message = str(e)
        raise StudyError(f"--{message}" if message.split()[0] in changes else message) from None


def _folders(args: argparse.Namespace) -> tuple[Path, Path]:
    """Make the ``--out`` and ``--figures`` folders, before any work."""
    out = Path(args.out)
    figures = Path(args.figures) if args.figures is not None else out
    named = (("--out", out), ("--figures", figures))
    for option, folder in named:
        if folder.exists() and not folder.is_dir():
            raise StudyError(f"{option} {folder}: not a folder")
    for option, folder in named:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StudyError(f"{option} {folder}: cannot make this folder "
                             f"({e.strerror or e})") from None
    return out, figures


def _run_all(st: Settings) -> list[dict]:
    """:func:`_execute` the study, a lack of memory turned into one clear :class:`StudyError`."""
    advice = (f"try a smaller --hidden (now {st.hidden}) or fewer --workers (now {st.workers})")
    try:
        return _execute(_tasks(st), st.workers)
    except MemoryError as e:
        detail = " ".join(str(e).split())
        raise StudyError(f"out of memory{': ' + detail if detail else ''}; {advice}") from None
    except BrokenProcessPool:
        raise StudyError(f"a worker process died (killed for lack of memory?); {advice}") from None


def run(args: argparse.Namespace) -> int:
    """Run the study with the options of :func:`add_arguments`; write and print the results.

    Bad options, folders that cannot be made and a lack of memory raise :class:`StudyError`
    (a ``ValueError``) with a one-line message; the options are checked before any work.
    """
    st = settings_from(args)
    out, figures = _folders(args)
    source = _data()[4]
    print(f"relu'(0) study ({'quick' if args.quick else 'full'}): {source}", flush=True)
    if args.quick:
        print(smoke_note(st), flush=True)
    print("settings: " + ", ".join(f"{k}={v}" for k, v in asdict(st).items()), flush=True)
    t0 = time.perf_counter()
    results = _run_all(st)
    seconds = time.perf_counter() - t0
    summary = summarise(results, st)
    text = markdown(summary, st, source, seconds, smoke=args.quick)
    (out / "relu0_results.md").write_text(text)
    write_csv(out / "relu0_results.csv", table_rows(summary, st))
    write_csv(out / "relu0_runs.csv", run_rows(summary))
    paths = plot(summary, st, figures, smoke=args.quick)
    print()
    print(text)
    for path in [out / "relu0_results.md", out / "relu0_results.csv", out / "relu0_runs.csv",
                 *paths]:
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m autograd_lite.studies.relu0 [--quick] [--out DIR] ...``

    As ``autograd-lite study relu0``: bad input is one line on stderr and exit status 2.
    """
    parser = argparse.ArgumentParser(
        prog="autograd-lite study relu0",
        description="Does relu'(0) matter? Bertoin et al. (NeurIPS 2021) at small scale: "
                    "exact zeros, differing gradients and training in float16/32/64.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (StudyError, OSError) as e:
        print(f"{parser.prog}: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # run as a module: let worker processes import this by its name
    from autograd_lite.studies.relu0 import main as _main

    sys.exit(_main())
