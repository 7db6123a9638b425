"""dAL is the derivative of the loss, not of the activation.

The question: "what is dAL for a ReLU output layer with MSE?" In the course's notation
``dAL = ∂L/∂A`` for the output A of the last layer: the derivative of the *loss*. With
the loss ``L = ½(A − Y)²`` per sample, ``dL/dA = A − Y``; the cost ``J = (1/m) Σ L`` gives
``dJ/dA = (A − Y)/m``. ReLU's own derivative is the *next* factor, ``dA/dZ = 1[Z > 0]``:

    dJ/dW = dJ/dL · dL/dA · dA/dZ · dZ/dW

1. dL/dA and dJ/dA read off a graph (the ½ is built explicitly; ``ag.mse_loss`` has none).
2. The chain for one ReLU unit on three samples, factor by factor.
3. The question's regression, X = 0..19 and Y = 3X² + 3X (scaled to [0, 1] to train), with
   a ReLU output layer and with a linear one: where a ReLU output's Z is negative,
   dA/dZ = 0, no gradient comes back, and the output stays stuck at 0.

Run it with no arguments; pictures go next to this file, or into ``--out DIR``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

import autograd_lite as ag  # noqa: E402

HIDDEN, STEPS, LR, SEEDS = 8, 800, 0.05, range(6)


def loss_and_cost() -> dict:
    """Part 1: the per-sample loss L = ½(A − Y)² and the cost J = mean(L)."""
    Y = np.array([0.0, 6.0, 18.0, 36.0])
    A = ag.Value(np.array([1.0, 5.0, 20.0, 30.0]), "A")
    L = 0.5 * (A - Y) ** 2
    L.label = "L"
    J = L.mean()
    J.label = "J"
    L.backward(np.ones(4))  # one backward per sample at once: dL_i/dA_i (L_i needs only A_i)
    dL_dA = A.grad.copy()
    A.zero_grad()
    J.backward()
    dJ_dA = A.grad.copy()
    A.zero_grad()
    ag.mse_loss(A, Y).backward()  # mean((A − Y)²): no ½, so twice as large
    print("1. Y = [0, 6, 18, 36], A = [1, 5, 20, 30], L = ½(A − Y)², J = (1/m) Σ L, m = 4")
    print(f"   dL/dA = {_common.fmt(dL_dA)}        = A − Y")
    print(f"   dJ/dA = {_common.fmt(dJ_dA)}  = (A − Y)/m")
    print(f"   with ag.mse_loss (no ½): dJ/dA = {_common.fmt(A.grad)} = 2(A − Y)/m")
    print("   " + str(ag.explain(J, A, constants={"Y": Y})).replace("\n", "\n   "))
    return {"dL_dA": dL_dA, "dJ_dA": dJ_dA, "mse_dJ_dA": A.grad.copy()}


def chain(out: Path, written: list[Path]) -> dict:
    """Part 2: dJ/dW for one ReLU unit, A = relu(W·x + b), on three samples, as scalars."""
    W, b = ag.Value(4.0, "W"), ag.Value(-5.0, "b")
    xs, ys = (1.0, 2.0, 3.0), (6.0, 18.0, 36.0)  # three points of Y = 3X² + 3X
    m = len(xs)
    losses, rows = [], []
    for i, (x, y) in enumerate(zip(xs, ys)):
        Wx = W * x
        Wx.label = f"Wx{i}"
        Z = Wx + b
        Z.label = f"Z{i}"
        A = Z.relu()
        A.label = f"A{i}"
        err = A - y
        err.label = f"err{i}"
        sq = err**2
        sq.label = f"sq{i}"
        L = 0.5 * sq  # the course's loss: ½(A − Y)²
        L.label = f"L{i}"
        losses.append(L)
        rows.append((1 / m, A.data - y, 1.0 if Z.data > 0 else 0.0, x))
    S01 = losses[0] + losses[1]
    S01.label = "S01"
    S = S01 + losses[2]
    S.label = "S"
    J = S / m
    J.label = "J"
    J.backward()
    print("\n2. One ReLU unit A = relu(W·x + b), W = 4, b = −5, samples x = 1, 2, 3, Y = 3x² + 3x")
    print("   sample   dJ/dL · dL/dA · dA/dZ · dZ/dW = product")
    total = 0.0
    for i, (dJ_dL, dL_dA, dA_dZ, dZ_dW) in enumerate(rows):
        p = dJ_dL * dL_dA * dA_dZ * dZ_dW
        total += p
        print(f"   {i}        {dJ_dL:.4g} · {dL_dA:>5g} · {dA_dZ:>5g} · {dZ_dW:>5g} = "
              f"{p + 0.0:.4g}")
    print(f"   sum over samples = {total:.6g};  backward: W.grad = {W.grad:.6g}")
    e = ag.explain(J, W)  # the same sum, read off the graph: one product per path
    print(f"   ag.explain(J, W): {e.n_paths} paths, products {_common.fmt(e.products)}, "
          f"total {e.total:g}")
    _common.save_graph(J, out / "seed001_chain.svg", written, wrt=W)
    return {"dJ_dW_by_hand": total, "dJ_dW": W.grad}


def fit(relu_output: bool, seed: int) -> tuple[np.ndarray, float]:
    """Part 3: MLP([1, 8, 1]) on the scaled quadratic, with or without a ReLU on the output."""
    X, Y = ag.datasets.quadratic()
    x, y = X / X.max(), Y / Y.max()
    net = ag.nn.MLP([1, HIDDEN, 1], seed=seed)
    opt = ag.nn.Adam(net, lr=LR)
    for _ in range(STEPS):
        opt.zero_grad()
        A = net(x).relu() if relu_output else net(x)
        J = 0.5 * ((A - y) ** 2).mean()
        J.backward()
        opt.step()
    A = net(x).relu() if relu_output else net(x)
    return A.data[:, 0] * Y.max(), J.item()


def main(argv: Sequence[str] | None = None) -> dict:
    out = _common.output_dir(argv, __doc__.splitlines()[0], __file__)
    written: list[Path] = []
    part1 = loss_and_cost()
    part2 = chain(out, written)

    X, Y = ag.datasets.quadratic()
    print(f"\n3. Y = 3X² + 3X on X = 0..19 (both scaled to [0, 1]), MLP([1, {HIDDEN}, 1]), "
          f"{STEPS} Adam steps")
    print("   seed   ReLU output: stuck at 0 (of 19 with Y > 0)   cost       linear output: cost")
    fits, stuck = {}, {}
    for seed in SEEDS:
        (pr, jr), (pl, jl) = fit(True, seed), fit(False, seed)
        fits[seed] = (pr, pl)
        stuck[seed] = int(np.sum((pr == 0) & (Y[:, 0] > 0)))
        note = "(never moved)" if stuck[seed] == 19 else ""
        print(f"   {seed}      {stuck[seed]:>2} {note:<41} {jr:.2e}   {jl:.2e}")
    print("   Where the output Z is negative, A = relu(Z) = 0 and dA/dZ = 0: that sample sends "
          "no\n   gradient back, so nothing pulls it up. With zero biases and X ≥ 0 the "
          "untrained\n   network is c·X, so if c < 0 every output starts (and stays) dead.")
    plot(out, X, Y, fits, stuck, written)
    return {**part1, **part2, "stuck": stuck,
            "max_error_linear": {s: float(np.max(np.abs(f[1] - Y[:, 0]))) for s, f in fits.items()},
            "files": written}


def plot(out: Path, X: np.ndarray, Y: np.ndarray, fits: dict, stuck: dict,
         written: list[Path]) -> None:
    plt = _common.pyplot()
    if plt is None:
        _common.skipped("seed001_relu_vs_linear_output.png")
        return
    dead = [s for s in fits if stuck[s] == 19][:1]
    partly = [s for s in fits if 0 < stuck[s] < 19][:1]
    shown = dead + partly or list(fits)[:1]
    fig, axes = plt.subplots(1, len(shown), figsize=(5.5 * len(shown), 4), squeeze=False)

    def draw(ax: Any, pr: np.ndarray, pl: np.ndarray, bad: np.ndarray) -> None:
        ax.plot(X[:, 0], Y[:, 0], "ko", ms=4, label="Y = 3X² + 3X")
        ax.plot(X[:, 0], pl, "-", color="#1f4fbf", label="linear output")
        ax.plot(X[:, 0], pr, "-", color="#c0392b", label="ReLU output")
        ax.plot(X[bad, 0], pr[bad], "x", color="#c0392b", ms=9, mew=2,
                label=f"ReLU output stuck at 0 ({int(bad.sum())})")

    for ax, seed in zip(axes[0], shown):
        pr, pl = fits[seed]
        bad = (pr == 0) & (Y[:, 0] > 0)
        draw(ax, pr, pl, bad)
        ax.set_xlabel("X")
        ax.set_ylabel("Y, and the two networks' predictions")
        ax.set_xticks(range(0, 20, 2))
        ax.set_title(f"seed {seed}: ReLU output has {int(bad.sum())} of 19 outputs stuck at 0",
                     fontsize=10)
        if not bad.any() or bad.sum() == np.sum(Y[:, 0] > 0):  # none or all stuck
            ax.legend(fontsize=8, loc="upper left")
            continue
        # A few small targets stuck at 0 are hard to see at this scale: zoom in on them.
        ax.legend(fontsize=8, loc="lower right")
        last = int(X[bad, 0].max()) + 2
        zoom = ax.inset_axes([0.1, 0.5, 0.38, 0.42])
        draw(zoom, pr, pl, bad)
        zoom.set_xlim(-0.5, last + 0.5)
        zoom.set_ylim(-0.1 * Y[last, 0], 1.1 * Y[last, 0])
        zoom.set_xticks(range(last + 1))
        zoom.tick_params(labelsize=7)
        zoom.set_title(f"zoom: X = 0..{last}", fontsize=8)
        ax.indicate_inset_zoom(zoom, edgecolor="0.5")
    _common.save_figure(fig, out / "seed001_relu_vs_linear_output.png", written)


if __name__ == "__main__":
    main()
