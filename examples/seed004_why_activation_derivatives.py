"""Why backpropagation needs the derivative of every activation.

The question: "why do we care about the activation's derivative when we differentiate the
loss?" Because dJ/dW is a product of one factor per function on the way from W to J
(the chain rule), and every activation on that way is one of those functions:

    dL/dW1 = dL/dA2 · dA2/dZ2 · dZ2/dA1 · dA1/dZ1 · dZ1/dW1

1. The factor dA/dZ each activation contributes, read from the table of rules.
2. A tiny network, one hidden unit: changing the *hidden* activation changes only the
   factor dA1/dZ1; the loss and dL/dA2 stay the same.
3. Changing the *output* activation changes which loss fits: sigmoid + cross-entropy
   gives dL/dZ2 = A − Y (the sigmoid's factor cancels); sigmoid + squared error keeps the
   factor A(1 − A), which nearly vanishes when the network is confidently wrong.
4. Training on the flower data with each hidden activation, and with each output head.

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

HIDDEN = ("relu", "leaky_relu", "tanh", "sigmoid")
STEPS = 1000
X_SAMPLE, Y_SAMPLE = 1.5, 1.0  # the one sample of part 2 (named x and y in its picture)


def activate(z: ag.Value, name: str) -> ag.Value:
    return getattr(z, name)()


def factors_of_activations() -> dict:
    """Part 1: dA/dZ = g'(Z) for each activation at a few points."""
    Z0 = np.array([-2.0, -0.5, 0.5, 2.0])
    print(f"1. The factor dA/dZ each activation contributes, at Z = {_common.fmt(Z0)}")
    table = {}
    for name in HIDDEN:
        Z = ag.Value(Z0, "Z")
        A = activate(Z, name)
        A.label = "A"
        S = A.sum()
        S.backward()  # dS/dZ = dA/dZ elementwise
        symbol = ag.explain(S, Z).paths[0][-1].symbol
        table[name] = Z.grad.copy()
        print(f"   {name:<11} dA/dZ = {symbol:<22} = {_common.fmt(Z.grad, 3)}")
    return table


def tiny_network(hidden: str, x: float = X_SAMPLE, y: float = Y_SAMPLE,
                 ) -> tuple[ag.Value, ag.Value]:
    """Part 2: Z1 = W1·x, A1 = g(Z1), Z2 = W2·A1, A2 = σ(Z2), L = bce(A2, y); no biases."""
    W1, W2 = ag.Value(-0.4, "W1"), ag.Value(-1.2, "W2")
    Z1 = W1 * x
    Z1.label = "Z1"
    A1 = activate(Z1, hidden)
    A1.label = "A1"
    Z2 = W2 * A1
    Z2.label = "Z2"
    A2 = Z2.sigmoid()
    A2.label = "A2"
    L = ag.binary_cross_entropy(A2, y, reduction="none")  # one sample: the loss L itself
    L.label = "L"
    L.backward()
    return L, W1


def chain_per_hidden_activation(out: Path, written: list[Path]) -> dict:
    print("\n2. One sample x = 1.5, y = 1, W1 = -0.4, W2 = -1.2:")
    print("   Z1 = W1·x, A1 = g(Z1), Z2 = W2·A1, A2 = σ(Z2), L = −(y log A2 + (1 − y) log(1 − A2))")
    result = {}
    for hidden in HIDDEN:
        L, W1 = tiny_network(hidden)
        path = ag.explain(L, W1).paths[0]
        if hidden == HIDDEN[0]:
            print(f"   {'':<11} {' · '.join(f.partial for f in path)} = dL/dW1")
        values = " · ".join(f"{f.value:<7.4g}" for f in path)
        print(f"   {hidden:<11} {values} = {W1.grad + 0.0:.4g}")
        result[hidden] = {f.partial: f.value for f in path}
        result[hidden]["dL/dW1"] = W1.grad
    print("   The hidden activation enters dL/dW1 through its own factor ∂A1/∂Z1 (0 for ReLU:")
    print("   Z1 < 0 switches the unit off). The loss and the output layer keep their formulas;")
    print("   their values move only because A1 = g(Z1) feeds forward differently.")
    L, W1 = tiny_network("tanh")
    _common.save_graph(L, out / "seed004_chain.svg", written, wrt=W1,
                       constants={"x": X_SAMPLE, "y": Y_SAMPLE})
    return result


def output_heads() -> dict:
    """Part 3: dL/dZ2 for three output layers and losses, at a right and a wrong Z2."""
    print("\n3. The output layer: dL/dZ2 = dL/dA2 · dA2/dZ2 for a sample with y = 1")
    heads = {
        "sigmoid + cross-entropy": lambda z: ag.binary_cross_entropy(z.sigmoid(), 1.0, "none"),
        "sigmoid + squared error": lambda z: (z.sigmoid() - 1.0) ** 2,
        "linear  + squared error": lambda z: (z - 1.0) ** 2,
    }
    result = {}
    for z0 in (-6.0, 2.0):
        print(f"   Z2 = {z0:g} ({'confidently wrong' if z0 < 0 else 'the right class'}):")
        for name, head in heads.items():
            z = ag.Value(z0, "Z2")
            L = head(z)
            L.backward()
            e = ag.explain(L, z)
            factors = [f"{f.value:.4g}" for f in e.paths[0] if f.symbol != "1"]
            product = " · ".join(factors) + " = " if len(factors) > 1 else ""
            print(f"     {name}: dL/dZ2 = {product}{z.grad:.4g}")
            result[(name, z0)] = z.grad
    print("   Sigmoid + cross-entropy: dL/dA2 = (A2 − y)/(A2(1 − A2)) and dA2/dZ2 = A2(1 − A2)")
    print("   cancel to A2 − y, so a confident mistake gets a gradient near −1; sigmoid +")
    print("   squared error keeps A2(1 − A2) ≈ 0.0025 and hardly learns from it.")
    return result


def train(hidden: str, head: str) -> float:
    X, y = ag.datasets.flower()
    Y = y.reshape(-1, 1)
    net = ag.nn.MLP([2, 16, 1], hidden, seed=0)
    opt = ag.nn.SGD(net, lr=0.5 if head != "linear + MSE" else 0.05)
    for _ in range(STEPS):
        opt.zero_grad()
        Z = net(X)
        if head == "sigmoid + BCE":
            J = ag.binary_cross_entropy_with_logits(Z, Y)
        elif head == "sigmoid + MSE":
            J = ag.mse_loss(Z.sigmoid(), Y)
        else:
            J = ag.mse_loss(Z, Y)
        J.backward()
        opt.step()
    threshold = 0.5 if head == "linear + MSE" else 0.0  # sigmoid(Z) > 0.5 means Z > 0
    return _common.accuracy(net(X).data - threshold, y)


def main(argv: Sequence[str] | None = None) -> dict:
    out = _common.output_dir(argv, __doc__.splitlines()[0], __file__)
    written: list[Path] = []
    derivs = factors_of_activations()
    chains = chain_per_hidden_activation(out, written)
    heads = output_heads()
    print(f"\n4. MLP([2, 16, 1]) on the flower data, {STEPS} SGD steps")
    acc = {}
    for hidden in HIDDEN:
        acc[(hidden, "sigmoid + BCE")] = train(hidden, "sigmoid + BCE")
    for head in ("sigmoid + MSE", "linear + MSE"):
        acc[("relu", head)] = train("relu", head)
    for (hidden, head), a in acc.items():
        print(f"   hidden {hidden:<11} output {head:<14} accuracy {a:.3f}")
    plot(out, written)
    return {"derivatives": derivs, "chains": chains, "heads": heads, "accuracy": acc,
            "files": written}


def plot(out: Path, written: list[Path]) -> None:
    plt = _common.pyplot()
    if plt is None:
        _common.skipped("seed004_activation_factors.png")
        return
    z = np.linspace(-4, 4, 401)
    fig, axes = plt.subplots(2, 3, figsize=(9.5, 6.4))  # 2 x 3: readable at a page's width
    axes = axes.ravel()
    axes[5].axis("off")
    for ax, name in zip(axes, HIDDEN):
        Z = ag.Value(z)
        A = activate(Z, name)
        A.sum().backward()
        ax.plot(z, A.data, color="k", label="A = g(Z)")
        ax.plot(z, Z.grad, color="#c0392b", label="dA/dZ = g'(Z)")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("Z")
        ax.set_ylim(-1.2, 2.0)
        ax.axhline(0, color="0.8", lw=0.8)
        ax.legend(fontsize=8, loc="upper left")
    ax = axes[4]
    for name, f in (("sigmoid + cross-entropy", lambda Z: ag.binary_cross_entropy(
                        Z.sigmoid(), np.ones_like(z), "sum")),
                    ("sigmoid + squared error", lambda Z: ((Z.sigmoid() - 1.0) ** 2).sum()),
                    ("linear + squared error / 4", lambda Z: ((Z - 1.0) ** 2).sum() / 4)):
        Z = ag.Value(z)
        f(Z).backward()
        ax.plot(z, Z.grad, label=name)
    ax.set_title("dL/dZ2 at the output, y = 1", fontsize=10)
    ax.set_xlabel("Z2")
    ax.legend(fontsize=8)
    fig.tight_layout()
    _common.save_figure(fig, out / "seed004_activation_factors.png", written)


if __name__ == "__main__":
    main()
