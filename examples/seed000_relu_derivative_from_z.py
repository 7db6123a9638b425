"""ReLU's derivative must be taken from Z, not from A.

The question: "ReLU'(z) written with ``A1 >= 0`` trains badly, with ``A1 > 0`` well — why?"
Because A1 = relu(Z1) is never negative, ``A1 >= 0`` is true everywhere: the backward
pass multiplies by 1 for every Z, as if there were no ReLU at all. Written from Z1,
``Z1 > 0`` and ``Z1 >= 0`` (relu'(0) = 0 or 1) differ only where Z1 is exactly 0, which
almost never happens, so they train the same.

A two-layer ReLU network, ``MLP([2, 16, 1])`` with a sigmoid output and cross-entropy, is
trained on the planar "flower" data three ways: relu'(0) = 0, relu'(0) = 1, and the bug,
written as a custom op whose derivative is read from the output A. A fourth run uses the
question's ``A1 > 0``, which works because A > 0 exactly where Z > 0. Then gradcheck is
asked about the bug.

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

STEPS, LR, HIDDEN, SEED = 2000, 0.5, 16, 0

# The bug, as a custom op: the forward is ReLU, the local derivative is read off the output.
relu_from_A = ag.custom_op(  # noqa: N816 -- the name says what it does
    "relu_from_A", lambda z: np.maximum(z, 0),
    derivative=lambda z, a: 1.0 * (a >= 0),  # dZ1 = dA1 * (A1 >= 0): 1 everywhere
    symbol="1[A≥0]")
# The question's working version, also read off A: A > 0 exactly where Z > 0, so it is
# relu'(0) = 0 in disguise.
relu_from_A_strict = ag.custom_op(  # noqa: N816
    "relu_from_A_strict", lambda z: np.maximum(z, 0),
    derivative=lambda z, a: 1.0 * (a > 0),  # dZ1 = dA1 * (A1 > 0)
    symbol="1[A>0]")


def train(activation: object, relu_subgradient: float | None = None) -> tuple[ag.nn.MLP, list]:
    """Train MLP([2, 16, 1]) on the flower; return the network and its cost per step."""
    X, y = ag.datasets.flower()
    net = ag.nn.MLP([2, HIDDEN, 1], activation, seed=SEED, relu_subgradient=relu_subgradient)
    opt = ag.nn.SGD(net, lr=LR)
    costs, zeros = [], 0
    for _ in range(STEPS):
        opt.zero_grad()
        J = ag.binary_cross_entropy_with_logits(net(X), y.reshape(-1, 1))
        zeros += sum(k.count for k in ag.kinks(J))
        J.backward()
        opt.step()
        costs.append(J.item())
    net.zeros_hit = zeros
    return net, costs


def main(argv: Sequence[str] | None = None) -> dict:
    out = _common.output_dir(argv, __doc__.splitlines()[0], __file__)
    written: list[Path] = []
    X, y = ag.datasets.flower()
    runs = {
        "relu'(0) = 0  (Z > 0)": train("relu", 0.0),
        "relu'(0) = 1  (Z >= 0)": train("relu", 1.0),
        "bug: 1[A >= 0]": train(relu_from_A),
    }
    question = train(relu_from_A_strict)
    print(f"MLP([2, {HIDDEN}, 1]) on the flower data (400 points), {STEPS} SGD steps, lr {LR}:")
    results = {}
    for name, (net, costs) in [*runs.items(), ("question's 1[A > 0]", question)]:
        acc = _common.accuracy(net(X).data, y)
        results[name] = {"accuracy": acc, "cost": costs[-1]}
        print(f"  {name:<24} accuracy {acc:.3f}   final cost {costs[-1]:.4f}")
    (n0, _), (n1, _), (bug, _) = runs.values()

    def same_weights(a: ag.nn.MLP, b: ag.nn.MLP) -> bool:
        return all(np.array_equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters()))

    same, same_a = same_weights(n0, n1), same_weights(n0, question[0])
    print(f"  pre-activations exactly 0 during training: {n0.zeros_hit}, so relu'(0) was never "
          f"used\n  and the two correct runs end with "
          f"{'bitwise identical' if same else 'different'} weights.")
    print(f"  1[A > 0] is 1[Z > 0] in disguise (A = relu(Z) > 0 exactly where Z > 0): "
          f"{'bitwise identical' if same_a else 'different'}\n  weights to relu'(0) = 0. "
          f"Only A >= 0 is wrong: it is true for every Z.")
    results["same_weights_A_gt_0"] = same_a

    # gradcheck compares the op's derivative with finite differences of its forward.
    Z1 = n0.layers[0](X[:2])  # real pre-activations: some negative, some positive
    print("\ngradcheck of the hidden activation on the pre-activations Z1 of two samples:")
    print(f"  built-in relu: {ag.gradcheck(lambda v: v[0].relu().sum(), [ag.Value(Z1.data)])}")
    try:
        ag.gradcheck(lambda v: relu_from_A(v[0]).sum(), [ag.Value(Z1.data)])
        message = None
    except ag.GradcheckError as e:
        message = str(e)
        print(f"  relu_from_A:   GradcheckError: {message}")
        print(f"  (Z1{list(e.element)} = {Z1.data[e.element]:.3f} < 0: relu is flat there, "
              "but the A-derivative says 1)")
    results["gradcheck_bug"] = message

    # One sample with a negative pre-activation: the factor on the edge Z -> A.
    print("\nOne weight, one sample, Z = w·x = -1, L = (A - 1)²:")
    w, x = ag.Value(-0.5, "w"), ag.Value(2.0, "x")
    for name, act in (("relu", ag.relu), ("bug", relu_from_A)):
        z = w * x
        z.label = "Z"
        a = act(z)
        a.label = "A"
        L = (a - 1.0) ** 2
        L.label = "L"
        L.backward()
        print(f"  A = {a.op}(Z):{' ' * (12 - len(a.op))}dL/dw = {w.grad + 0.0:g}")
        _common.save_graph(L, out / f"seed000_graph_{name}.svg", written, wrt=w)
        w.zero_grad()

    plot(out, runs, X, y, written)
    return {"runs": results, "same_weights": same, "same_weights_A_gt_0": same_a,
            "zeros_hit": n0.zeros_hit, "files": written}


def plot(out: Path, runs: dict, X: np.ndarray, y: np.ndarray, written: list[Path]) -> None:
    plt = _common.pyplot()
    if plt is None:
        _common.skipped("seed000_decision_boundaries.png")
        return
    fig, axes = plt.subplots(2, 2, figsize=(9, 8))  # 2 x 2: readable at a page's width
    axes = axes.ravel()
    for ax, (name, (net, costs)) in zip(axes, runs.items()):
        acc = _common.accuracy(net(X).data, y)
        if name.endswith("(Z > 0)"):  # the question's working version trains the same
            name = name[:-1] + ", same as A > 0)"
        _common.decision_boundary(ax, lambda g, net=net: net(g).data, X, y,
                                  f"{name}\naccuracy {acc:.3f}")
        style = "--" if "= 1" in name else "-"  # the two correct runs overlap exactly
        axes[3].plot(costs, style, lw=1, label=name)
    axes[3].set_xlabel("step")
    axes[3].set_ylabel("cost J (cross-entropy)")
    axes[3].set_title("training", fontsize=10)
    axes[3].legend(fontsize=9)
    _common.class_legend(fig)
    _common.save_figure(fig, out / "seed000_decision_boundaries.png", written)


if __name__ == "__main__":
    main()
