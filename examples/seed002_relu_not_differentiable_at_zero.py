"""ReLU is not differentiable at 0: how are weights updated there?

The answer: the framework *chooses* a value for relu'(0), the subgradient, from ReLU's
Clarke subdifferential [0, 1] at 0. PyTorch, TensorFlow/Keras and JAX choose 0.

1. The Keras example from the question: inputs x = [-1, 0, 1, 2] through ReLU, target 1,
   mean squared error. dJ/dx = 2(relu(x) − 1)/4 · relu'(x), so only x = 0 depends on the
   choice: −0.5·relu'(0).
2. Do exact zeros happen in practice? A census: a ReLU network trained on the flower
   data in float16, float32 and float64, counting (with ``ag.kinks``) every pre-activation
   that was exactly 0, and training once with relu'(0) = 0 and once with 1.

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

SUBGRADIENTS = (0.0, 0.5, 1.0)
DTYPES = (np.float16, np.float32, np.float64)
STEPS = 500
TARGET = np.ones(4)  # the question's target, 1 for every input


def keras_example(s: float) -> tuple[ag.Value, ag.Value]:
    """The question's example with relu'(0) = s: returns (x, J) after backward."""
    x = ag.Value(np.array([-1.0, 0.0, 1.0, 2.0]), "x")
    with ag.relu_subgradient(s):
        a = x.relu()
    a.label = "A"
    J = ag.mse_loss(a, TARGET)
    J.label = "J"
    J.backward()
    return x, J


def census(dtype: type, s: float, steps: int = STEPS) -> dict:
    """Train MLP([2, 16, 1]) on the flower in ``dtype`` with relu'(0) = s; count exact zeros."""
    X, y = ag.datasets.flower()
    X, Y = X.astype(dtype), y.reshape(-1, 1).astype(dtype)
    net = ag.nn.MLP([2, 16, 1], seed=0, dtype=dtype, relu_subgradient=s)
    opt = ag.nn.SGD(net, lr=0.5)
    zeros = steps_hit = 0
    for _ in range(steps):
        opt.zero_grad()
        J = ag.binary_cross_entropy_with_logits(net(X), Y)
        hit = sum(k.count for k in ag.kinks(J))  # hidden pre-activations exactly 0
        zeros += hit
        steps_hit += hit > 0
        J.backward()
        opt.step()
    return {"zeros": zeros, "evaluated": steps * len(X) * 16, "steps_hit": steps_hit,
            "accuracy": _common.accuracy(net(X).data, y),
            "params": [p.data.copy() for p in net.parameters()]}


def plot(out: Path, grads: dict, counts: dict, written: list[Path]) -> None:
    plt = _common.pyplot()
    if plt is None:
        _common.skipped("seed002_relu_subgradient.png")
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot([-2, 0], [0, 0], color="k", lw=2)
    left.plot([0, 2], [1, 1], color="k", lw=2, label="relu'(x)")
    left.plot([0, 0], [0, 1], color="0.6", lw=6, alpha=0.5, label="subdifferential [0, 1] at 0")
    for s, colour in zip(SUBGRADIENTS, ("#c0392b", "#8e44ad", "#1f4fbf")):
        left.plot([0], [s], "o", color=colour, ms=8,
                  label=f"relu'(0) = {s:g}: dJ/dx = {_common.fmt(grads[s])}")
    left.set_xlabel("x")
    left.set_title("relu'(0) is a choice", fontsize=10)
    left.legend(fontsize=7, loc="upper left")
    left.set_ylim(-0.2, 2.1)
    names = [np.dtype(d).name for d in DTYPES]
    bars = right.bar(names, [counts[n] for n in names], color="#1f4fbf")
    right.bar_label(bars, labels=[f"{counts[n]}" for n in names])
    right.set_ylabel("pre-activations exactly 0")
    right.set_ylim(0, 1.15 * max(1, *counts.values()))
    right.set_title(f"exact zeros while training ({STEPS} steps, 400 × 16 per step)",
                    fontsize=10)
    _common.save_figure(fig, out / "seed002_relu_subgradient.png", written)


def main(argv: Sequence[str] | None = None) -> dict:
    out = _common.output_dir(argv, __doc__.splitlines()[0], __file__)
    written: list[Path] = []

    print("1. The Keras example: x = [-1, 0, 1, 2], A = relu(x), J = mean((A − 1)²)")
    grads = {}
    for s in SUBGRADIENTS:
        x, J = keras_example(s)
        grads[s] = x.grad + 0.0  # + 0.0 turns −0.0 (0 times a negative number) into 0.0
        print(f"   relu'(0) = {s:<3g}: dJ/dx = {_common.fmt(grads[s])}")
    print(f"   ag.kinks(J) for the last one: {ag.kinks(J)[0]}")
    print("   Only x = 0 depends on the choice: dJ/dx = 2(relu(0) − 1)/4 · relu'(0) = −0.5·s.")
    print("   Keras printed [0, 0, 0, 0.5]: TensorFlow, like PyTorch and JAX, uses relu'(0) = 0.")
    for s in (0.0, 1.0):
        x, J = keras_example(s)
        _common.save_graph(J, out / f"seed002_graph_s{s:g}.svg", written, wrt=x,
                           constants={"Y": TARGET})

    print(f"\n2. Exact zeros while training MLP([2, 16, 1]) on the flower ({STEPS} SGD steps)")
    table = {}
    for dtype in DTYPES:
        name = np.dtype(dtype).name
        r0, r1 = census(dtype, 0.0), census(dtype, 1.0)
        same = all(np.array_equal(p, q) for p, q in zip(r0["params"], r1["params"]))
        table[name] = {"zeros": r0["zeros"], "evaluated": r0["evaluated"],
                       "steps_hit": r0["steps_hit"], "accuracy_s0": r0["accuracy"],
                       "accuracy_s1": r1["accuracy"], "same_weights": same}
        print(f"   {name}: {r0['zeros']:>4} of {r0['evaluated']:,} pre-activations exactly 0, "
              f"in {r0['steps_hit']:>3} of {STEPS} steps")
        print(f"            relu'(0) = 0 vs 1: {'identical' if same else 'different'} weights, "
              f"accuracy {r0['accuracy']:.3f} vs {r1['accuracy']:.3f}")
    print("   In float64 and float32 a sum of products is practically never exactly 0, so the\n"
          "   choice is never used; in float16 (11 significant bits) it is, and it changes the\n"
          "   weights (here without changing the accuracy).")
    plot(out, grads, {n: t["zeros"] for n, t in table.items()}, written)
    return {"gradients": grads, "census": table, "files": written}


if __name__ == "__main__":
    main()
