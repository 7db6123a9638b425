"""Write the notebooks of this folder from the cells below (``python notebooks/make_notebooks.py``).

The notebooks are kept without outputs; ``make test`` runs each one (tests/test_notebooks.py).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

QUICKSTART = [
    ("md", """# autograd_lite in ten minutes

A `Value` is a node of a graph; every operation on it records an op, and `backward()` fills
in `.grad` of every node by the chain rule. `ag.draw` shows the graph with each edge
carrying its chain-rule factor ∂out/∂in, and `ag.explain` writes the chain rule out."""),
    ("code", """import numpy as np
import autograd_lite as ag
from autograd_lite import Value"""),
    ("md", "## One neuron, by hand: L = relu(w·x + b)"),
    ("code", """w, x, b = Value(2.0, "w"), Value(3.0, "x"), Value(-1.0, "b")
L = (w * x + b).relu()
L.label = "L"
L.backward()
print(L.data, w.grad, x.grad, b.grad)
assert (L.data, w.grad, x.grad, b.grad) == (5.0, 3.0, 2.0, 1.0)"""),
    ("md", """## The picture

The red path runs from `w` to `L`; each edge carries its factor (`1[v4>0]`, `1`, `x`) and its
value here. The caption multiplies them: dL/dw = 1 · 1 · 3 = 3, the `w.grad` above."""),
    ("code", "ag.draw(L, wrt=w)"),
    ("md", "## The chain rule, written out"),
    ("code", """why = ag.explain(L, w)
print(why)
assert why.total == w.grad"""),
    ("md", """## Tensors and a small network

`ag.nn.MLP` takes a batch with one sample per row. Here a 2-8-1 network learns the planar
"flower" data with binary cross-entropy and plain gradient descent."""),
    ("code", """X, y = ag.datasets.flower(n_per_class=100, seed=0)
Y = y.reshape(-1, 1)  # one column: the network gives one output per sample
net = ag.nn.MLP([2, 8, 1], seed=0)
opt = ag.nn.SGD(net.parameters(), lr=1.0)
for step in range(300):
    J = ag.binary_cross_entropy_with_logits(net(X), Y)
    opt.zero_grad()
    J.backward()
    opt.step()
    if step % 100 == 0:
        print(f"step {step:3d}  cost {J.item():.4f}")
accuracy = float(np.mean((net(X).data > 0) == (Y > 0.5)))
print(f"training accuracy {accuracy:.2f}")
assert J.item() < 0.69"""),
    ("md", """## Checking gradients

`ag.gradcheck` compares backward with central finite differences for every entry."""),
    ("code", """W = Value(np.random.default_rng(0).normal(size=(2, 3)), "W")
assert ag.gradcheck(lambda v: (np.ones((4, 2)) @ v[0]).tanh().sum(), [W])
print("gradcheck passed")"""),
]

PICTURES = [
    ("md", """# The chain rule in pictures

Every edge input → op of `ag.draw`'s picture carries the factor ∂out/∂in: its symbol from the
table of rules, with the real names filled in, and its value at this point. With `wrt=`, the
paths from that input to the root are red and the caption sums their products:
`dL/dw = Σ over paths Π factors`."""),
    ("code", """import numpy as np
import autograd_lite as ag
from autograd_lite import Value"""),
    ("md", """## Before and after backward

Drawn before `backward()`, the boxes say `grad —` (not computed yet) and the caption says so;
the caption's chain rule is already known, since it is read from the factors."""),
    ("code", """x = Value(3.0, "x")
y = x * x
y.label = "y"
z = y + x
z.label = "z"
before = ag.draw(z, wrt=x)
assert "grad —" in before.source
before"""),
    ("code", """z.backward()
after = ag.draw(z, wrt=x)
assert "grad —" not in after.source and x.grad == 7.0
after"""),
    ("md", """Two paths lead from `x` to `z` (through `y = x · x`, whose two edges are both `x`, and
directly): dz/dx = 1 · 3 + 1 · 3 + 1 = 7."""),
    ("code", "print(ag.explain(z, x))"),
    ("md", """## ReLU at zero: a kink

When a ReLU input is exactly 0, its derivative is a choice (the subgradient, 0 by default).
The node turns orange and the edge says which value was used."""),
    ("code", """w, x, b = Value(2.0, "w"), Value(3.0, "x"), Value(-6.0, "b")
Z = w * x + b
Z.label = "Z"
L = Z.relu(subgradient=0.5)
L.label = "L"
L.backward()
print(ag.kinks(L))
ag.draw(L, wrt=w)"""),
    ("md", """## Tensors

For tensors a node shows its shape and a summary, and an edge such as `Xᵀ @ (·)` is a
vector-Jacobian product: applied to the gradient coming down, not multiplied."""),
    ("code", """W = Value([[0.5, -1.0], [1.5, 0.25]], "W")
bias = Value([0.0, -0.5], "b")
X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 1.0]])
A = (X @ W + bias).relu()
A.label = "A"
J = A.mean()
J.label = "J"
J.backward()
ag.draw(J, wrt=W, constants={"X": X})"""),
    ("md", "Write a picture to a file with `ag.render(graph, \"out.svg\")` (svg, png, pdf, dot)."),
    ("code", """path = ag.render(ag.draw(J, wrt=W, constants={"X": X}), "tensor.svg")
print(path, path.stat().st_size > 0)"""),
]


def build(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_markdown_cell(t) if k == "md" else new_code_cell(t)
                             for k, t in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


NOTEBOOKS = {"quickstart.ipynb": QUICKSTART, "chain_rule_pictures.ipynb": PICTURES}


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        nbformat.write(build(cells), HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
