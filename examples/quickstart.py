"""Quickstart: a graph, its backward pass, the chain rule written out, a network trained.

1. L = relu(w·x + b): backward, then ``ag.explain`` writes dL/dw as a product of factors
   and ``ag.draw`` labels every edge with its factor.
2. ``ag.nn.MLP([2, 16, 1])`` learns the two-class "flower" data with plain SGD.

Run it with no arguments; pictures go next to this file, or into ``--out DIR``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

import autograd_lite as ag  # noqa: E402


def main(argv: Sequence[str] | None = None) -> dict:
    out = _common.output_dir(argv, __doc__.splitlines()[0], __file__)
    written: list[Path] = []

    # 1. Scalars: every op is recorded; backward applies the chain rule from L back.
    w, x, b = ag.Value(2.0, "w"), ag.Value(3.0, "x"), ag.Value(-1.0, "b")
    wx = w * x
    wx.label = "wx"
    z = wx + b
    z.label = "z"
    L = z.relu()
    L.label = "L"
    L.backward()
    print(f"L = relu(w·x + b) = {L.data:g};  dL/dw = {w.grad:g}, dL/dx = {x.grad:g}, "
          f"dL/db = {b.grad:g}")
    print(ag.explain(L, w))
    _common.save_graph(L, out / "quickstart_graph.svg", written, wrt=w)

    # 2. A network: Z1 = X @ W1 + b1, A1 = relu(Z1), Z2 = A1 @ W2 + b2, sigmoid + cross-entropy.
    X, y = ag.datasets.flower()
    net = ag.nn.MLP([2, 16, 1], seed=0)
    opt = ag.nn.SGD(net.parameters(), lr=0.5)
    # An update written by hand goes inside no_grad, `with ag.no_grad(): W = W - lr * W.grad`:
    # outside it each new W is a node that keeps every earlier step, and backward warns
    # (ag.GrowingGraphWarning) after a few steps.
    for step in range(1001):
        opt.zero_grad()
        J = ag.binary_cross_entropy_with_logits(net(X), y.reshape(-1, 1))
        J.backward()
        opt.step()  # W.data -= lr * W.grad, in place (see the note above the loop)
        if step % 250 == 0:
            print(f"step {step:>4}: cost J = {J.item():.4f}")
    acc = _common.accuracy(net(X).data, y)
    print(f"{net} on the flower data: accuracy {acc:.3f}")

    plt = _common.pyplot()
    if plt is None:
        _common.skipped("quickstart_flower.png")
    else:
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        _common.decision_boundary(ax, lambda g: net(g).data, X, y,
                                  f"MLP([2, 16, 1]), accuracy {acc:.3f}")
        _common.class_legend(fig, ncol=2)
        _common.save_figure(fig, out / "quickstart_flower.png", written)
    return {"L": L.data, "grads": (w.grad, x.grad, b.grad), "accuracy": acc,
            "final_cost": float(J.item()), "files": written,
            "parameters": sum(int(np.size(p.data)) for p in net.parameters())}


if __name__ == "__main__":
    main()
