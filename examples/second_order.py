"""Gradients of gradients: ag.grad(..., create_graph=True).

1. Newton's method on y = x⁴ − 2x² from x = 2 (DeZero, step 33): x ← x − y'/y'', with y' a
   graph that ag.grad differentiates again; it converges to the minimum at x = 1.
2. A Hessian-vector product of a small tensor MLP with cross-entropy, H·v = d(∇L·v)/dθ,
   checked against finite differences of the gradient along v.
3. The graph of tanh''(x): a derivative is itself a computation graph, drawn as any other.
4. Second order at a ReLU kink: relu'' is 0 where it exists and undefined at 0; the
   gradient graph's step node counts the inputs that sat exactly at 0 (ag.kinks).

Run it with no arguments; the picture goes next to this file, or into ``--out DIR``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

import autograd_lite as ag  # noqa: E402


def newton(x0: float = 2.0, steps: int = 10) -> float:
    print(f"1. Newton's method on y = x⁴ − 2x² from x = {x0:g}")
    x = ag.Value(x0, "x")
    for i in range(steps):
        y = x ** 4 - 2 * x ** 2
        dy = ag.grad(y, x, create_graph=True)  # 4x³ − 4x, a graph
        d2y = ag.grad(dy, x)                    # 12x² − 4
        print(f"   step {i}: x = {x.data:.10f}  y' = {dy.data:.3e}  y'' = {d2y.data:.6g}")
        x = ag.Value(x.data - dy.data / d2y.data, "x")
    print(f"   x = {x.data:.12f} after {steps} steps (the minimum is at x = 1)")
    return x.data


def mlp_loss(params: list, X: np.ndarray, labels: np.ndarray) -> ag.Value:
    W1, b1, W2, b2 = params
    return ag.cross_entropy((X @ W1 + b1).tanh() @ W2 + b2, labels)


def hvp_check(seed: int = 0) -> float:
    print("2. Hessian-vector product of a 4-6-3 tanh MLP with cross-entropy (8 samples)")
    rng = np.random.default_rng(seed)
    X, labels = rng.normal(size=(8, 4)), rng.integers(0, 3, 8)
    data = [rng.normal(size=s) * 0.7 for s in [(4, 6), (6,), (6, 3), (3,)]]
    v = [rng.normal(size=d.shape) for d in data]
    params = [ag.Value(d) for d in data]
    g = ag.grad(mlp_loss(params, X, labels), params, create_graph=True)
    gv = sum(((gi * vi).sum() for gi, vi in zip(g, v)), ag.Value(0.0))  # ∇L · v, a graph
    hv = ag.grad(gv, params)                                              # H v

    def gradient_at(t: float) -> list:
        ps = [ag.Value(d + t * vi) for d, vi in zip(data, v)]
        return [gi.data for gi in ag.grad(mlp_loss(ps, X, labels), ps)]

    eps = 1e-6
    fd = [(a - b) / (2 * eps) for a, b in zip(gradient_at(eps), gradient_at(-eps))]
    worst = max(float(np.max(np.abs(a.data - b))) for a, b in zip(hv, fd))
    scale = max(float(np.max(np.abs(b))) for b in fd)
    print(f"   H·v for W1 (first row): {_common.fmt(hv[0].data[0])}")
    print(f"   finite differences:     {_common.fmt(fd[0][0])}")
    print(f"   largest difference {worst:.2e} (entries up to {scale:.3g})")
    print(f"   .grad untouched: {all(p._grad is None for p in params)}")
    return worst


def tanh_second(out: Path, written: list, x0: float = 0.5) -> float:
    print(f"3. The graph of tanh''(x) at x = {x0:g}")
    x = ag.Value(x0, "x")
    y = x.tanh()
    y.label = "y"
    d1 = ag.grad(y, x, create_graph=True)
    d1.label = "tanh'"
    d2 = ag.grad(d1, x, create_graph=True)
    d2.label = "tanh''"
    t = np.tanh(x0)
    print(f"   tanh''({x0:g}) = {d2.data:.10f};  −2·tanh·(1 − tanh²) = {-2 * t * (1 - t * t):.10f}")
    print(f"   the graph of tanh'' has {len(ag.explain(d2, x).paths)} paths from x")
    _common.save_graph(d2, out / "second_order_tanh2.svg", written, wrt=x)
    return d2.data


def relu_kink() -> list:
    print("4. Second order at a ReLU kink: y = Σ relu(x)·x at x = [−1, 0, 2]")
    x = ag.Value(np.array([-1.0, 0.0, 2.0]), "x")
    y = (x.relu() * x).sum()
    g = ag.grad(y, x, create_graph=True)            # relu'(x)·x + relu(x)
    h = ag.grad(g.sum(), x)                         # Σ_j ∂²y/∂x∂x_j = 2·relu'(x)
    print(f"   y'  = {_common.fmt(g.data)}   (relu'(0) = 0 chosen)")
    print(f"   y'' = {_common.fmt(h.data)}   (relu'' taken as 0; undefined at x = 0)")
    found = ag.kinks(g.sum())
    for k in found:
        print(f"   kink: {k}")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    out = _common.output_dir(argv, __doc__.splitlines()[0], __file__)
    written: list = []
    newton()
    hvp_check()
    tanh_second(out, written)
    relu_kink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
