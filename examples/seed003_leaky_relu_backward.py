"""Leaky ReLU's backward must multiply by the upstream gradient.

The question's ``leaky_relu_backward`` copies dA into dZ and then *sets* ``dZ[Z <= 0] = 0.01``.
The chain rule says dL/dZ = dL/dA · dA/dZ with dA/dZ = 1 if Z > 0 else 0.01, so the
right line is ``dZ[Z <= 0] *= 0.01`` (``dZ = dA · 0.01`` there). The wrong one throws dL/dA
away wherever Z ≤ 0: the factor dL/dA is missing.

Both are written as custom ops next to the built-in ``leaky_relu``; gradcheck judges them,
the graph pictures show the factor on the edge Z → A, and a network is trained with each.

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

SLOPE, STEPS, LR = 0.01, 1500, 0.5


def _forward(z: np.ndarray) -> np.ndarray:
    return np.where(z > 0, z, SLOPE * z)


def leaky_relu_backward_question(dA: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """The question's backward, line for line."""
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] = .01  # sets dZ: dL/dA is thrown away where Z <= 0
    return dZ


def leaky_relu_backward(dA: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """The chain rule: dL/dZ = dL/dA · dA/dZ, with dA/dZ = 1 if Z > 0 else 0.01."""
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] *= .01
    return dZ


# As custom ops. The right one is an elementwise local derivative dA/dZ, which backward
# multiplies dL/dA by. The question's cannot be written as a factor at all: where Z <= 0 its
# result does not depend on dL/dA, so it is given as a vector-Jacobian product (dA in, dZ out).
leaky_right = ag.custom_op("leaky_right", _forward,
                           derivative=lambda z, a: np.where(z > 0, 1.0, SLOPE),
                           symbol="1 if Z>0 else 0.01")
leaky_wrong = ag.custom_op("leaky_wrong", _forward,
                           vjp=lambda dA, z, a: leaky_relu_backward_question(dA, z),
                           symbol="dZ := 0.01 where Z≤0 (dA dropped)")


def check(op: object, loss: str, Z: np.ndarray, Y: np.ndarray) -> str | None:
    """gradcheck ``op`` under a loss; None if it passes, else the error message."""
    def fn(v: list[ag.Value]) -> ag.Value:
        A = op(v[0])
        return A.sum() if loss == "sum" else ag.mse_loss(A, Y)
    try:
        ag.gradcheck(fn, [ag.Value(Z)])
    except ag.GradcheckError as e:
        return str(e)
    return None


def train(op: object) -> tuple[float, float]:
    """Accuracy and loss J after STEPS full-batch SGD steps."""
    X, y = ag.datasets.flower()
    net = ag.nn.MLP([2, 16, 1], op, seed=0)
    opt = ag.nn.SGD(net, lr=LR)
    for _ in range(STEPS):
        opt.zero_grad()
        J = ag.binary_cross_entropy_with_logits(net(X), y.reshape(-1, 1))
        J.backward()
        opt.step()
    return _common.accuracy(net(X).data, y), J.item()


def main(argv: Sequence[str] | None = None) -> dict:
    out = _common.output_dir(argv, __doc__.splitlines()[0], __file__)
    written: list[Path] = []
    Z0 = np.array([-2.0, -0.5, 0.5, 2.0])
    Y = np.array([1.0, -1.0, 1.0, 1.0])
    print("1. One backward, Z = [-2, -0.5, 0.5, 2], target Y = [1, -1, 1, 1], J = mean((A − Y)²)")
    dA = 2 * (_forward(Z0) - Y) / len(Y)  # dJ/dA of this cost
    print(f"   dA = dJ/dA from the loss            = {_common.fmt(dA)}")
    wrong = leaky_relu_backward_question(dA, Z0)
    print(f"   question's leaky_relu_backward(dA)  = {_common.fmt(wrong)}")
    print(f"   fixed leaky_relu_backward(dA)       = {_common.fmt(leaky_relu_backward(dA, Z0))}")
    grads, graphs = {}, {}
    for name, op in (("built-in leaky_relu", lambda z: z.leaky_relu(SLOPE)),
                     ("right", leaky_right), ("wrong", leaky_wrong)):
        Z = ag.Value(Z0, "Z")
        A = op(Z)
        A.label = "A"
        J = ag.mse_loss(A, Y)
        J.label = "J"
        J.backward()
        grads[name] = Z.grad.copy()
        print(f"   engine, {A.op:<28}= {_common.fmt(Z.grad)}")
        graphs[name] = (J, Z)
    print("   Where Z > 0 all agree (dZ = dA). Where Z ≤ 0 the right one is 0.01 · dA; the wrong")
    print("   one is 0.01 whatever dA is: at Z = -2 it even has the wrong sign.")
    for name in ("right", "wrong"):
        J, Z = graphs[name]
        _common.save_graph(J, out / f"seed003_graph_{name}.svg", written, wrt=Z,
                           constants={"Y": Y})

    print("\n2. gradcheck (backward against finite differences of the forward)")
    verdicts = {}
    for loss in ("sum", "mse"):
        for name, op in (("leaky_right", leaky_right), ("leaky_wrong", leaky_wrong)):
            msg = check(op, loss, Z0, Y)
            verdicts[(name, loss)] = msg is None
            what = "J = sum(A)       " if loss == "sum" else "J = mean((A−Y)²) "
            print(f"   {what} {name}: {'passes' if msg is None else 'GradcheckError: ' + msg}")
    print("   With J = sum(A), dL/dA = 1 everywhere, so 'set to 0.01' and 'multiply by 0.01' agree")
    print("   by coincidence; any loss whose dL/dA is not 1 exposes the missing factor.")

    print(f"\n3. MLP([2, 16, 1]) with each activation on the flower data, {STEPS} SGD steps")
    runs = {"right": train(leaky_right), "wrong": train(leaky_wrong)}
    acc = {name: a for name, (a, _) in runs.items()}
    loss = {name: J for name, (_, J) in runs.items()}
    print(f"   accuracy: right {acc['right']:.3f}, wrong {acc['wrong']:.3f}")
    wrong = "above 100: the wrong gradient drives the weights away" if loss["wrong"] > 100 else (
        f"{loss['wrong']:.3f}")
    print(f"   loss J:   right {loss['right']:.3f}, wrong {wrong}")
    plot(out, Z0, Y, grads, written)
    return {"grads": grads, "gradcheck": verdicts, "accuracy": acc, "loss": loss, "files": written}


def plot(out: Path, Z0: np.ndarray, Y: np.ndarray, grads: dict, written: list[Path]) -> None:
    plt = _common.pyplot()
    if plt is None:
        _common.skipped("seed003_leaky_relu_backward.png")
        return
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1, 1]})
    width = 0.27
    dA = 2 * (_forward(Z0) - Y) / len(Y)  # dL/dA, what arrives from the loss
    labels = {"built-in leaky_relu": "built-in leaky_relu", "right": "right: dA · dA/dZ",
              "wrong": "wrong: 0.01, dA dropped"}
    for ax, part, title in ((axes[0], Z0 <= 0, "Z ≤ 0: dA/dZ = 0.01 (note the scale)"),
                            (axes[1], Z0 > 0, "Z > 0: dA/dZ = 1, all three agree")):
        idx = np.flatnonzero(part)
        for k, (name, g) in enumerate(grads.items()):
            ax.bar(np.arange(len(idx)) + (k - 1) * width, g[idx], width, label=labels[name])
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(range(len(idx)), [f"Z = {Z0[i]:g}\ndL/dA = {dA[i]:.4g}" for i in idx])
        ax.set_title(title, fontsize=10)
    axes[0].set_ylabel("dL/dZ")
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle("dL/dZ = dL/dA · dA/dZ: the wrong backward drops dL/dA where Z ≤ 0", fontsize=11)
    _common.save_figure(fig, out / "seed003_leaky_relu_backward.png", written)


if __name__ == "__main__":
    main()
