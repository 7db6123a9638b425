"""Make every picture of the documentation in docs/img: run every demo, draw the concept
graphs, and run the two commands the CLI page and the README show (``autograd-lite demo``
and ``autograd-lite graph``).

Run ``make pictures`` (or ``python docs/make_pictures.py`` from the repository root, with
the package installed or ``PYTHONPATH=.``) after changing a demo or the pictures; plots need
matplotlib (the ``plot`` extra). The tests fail when a graph picture is stale
(tests/test_docs.py, test_examples.py, test_cli.py): they compare each SVG's texts with their
font and size (what the DOT says), not its bytes, whose coordinates vary with the Graphviz
build.
"""

from __future__ import annotations

import contextlib
import io
import runpy
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

import autograd_lite as ag

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"
DEMOS = ["quickstart", "seed000_relu_derivative_from_z", "seed001_dAL_is_the_loss_derivative",
         "seed002_relu_not_differentiable_at_zero", "seed003_leaky_relu_backward",
         "seed004_why_activation_derivatives", "second_order"]


def concept_pictures(img: Path = IMG) -> list[Path]:
    """The graphs drawn on the concept pages, written into ``img``; returns their paths."""
    x = ag.Value(3.0, "x")
    y = x * x
    y.label = "y"
    z = y + x
    z.label = "z"
    z.backward()
    paths = [ag.render(ag.draw(z, wrt=x), img / "concept_paths.svg")]

    w, b = ag.Value([[0.5, -1.0], [1.5, 0.25]], "W"), ag.Value([0.0, -0.5], "b")
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 1.0]])
    Z = X @ w + b
    Z.label = "Z"
    A = Z.relu()
    A.label = "A"
    J = A.mean()
    J.label = "J"
    J.backward()
    paths.append(ag.render(ag.draw(J, wrt=w, constants={"X": X}), img / "concept_tensor.svg"))
    paths.append(ag.render(network_picture(), img / "concept_neurons.svg"))
    return paths


def network_picture() -> ag.viz.ChainRuleGraph:
    """micrograd's demo network drawn one box per neuron (docs/concepts/networks.md): a
    2-16-16-1 ReLU MLP of scalar Values on 100 two-moons points, its max-margin loss."""
    rng = np.random.default_rng(0)
    layers = [[([ag.Value(w) for w in rng.uniform(-1, 1, n_in)], ag.Value(0.0))
               for _ in range(n_out)] for n_in, n_out in ((2, 16), (16, 16), (16, 1))]

    def model(x: list) -> ag.Value:
        for k, layer in enumerate(layers):
            sums = [sum((wi * xi for wi, xi in zip(w, x)), b) for w, b in layer]
            x = [s.relu() for s in sums] if k < len(layers) - 1 else sums
        return x[0]

    X, y = ag.datasets.moons(100, noise=0.1, seed=0)
    losses = [(1 + -(2.0 * yi - 1.0) * model(xi)).relu() for xi, yi in zip(X.tolist(), y)]
    params = [p for layer in layers for w, b in layer for p in (*w, b)]
    L = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in params)
    L.backward()
    w = layers[0][3][0][0]
    w.label = "w"
    return ag.draw(L, wrt=w, view="neurons")


# the CLI page's example (docs/cli.md shows this command and its output above the picture)
GRAPH_COMMAND = ["graph", "relu(w*x + b)", "--at", "w=2", "x=3", "b=-1", "--wrt", "w"]


def cli_pictures(img: Path = IMG) -> list[Path]:
    """demo.svg and graph.svg, as ``autograd-lite demo`` and the CLI page's ``graph`` command
    write them; returns their paths."""
    from autograd_lite.cli import DEMO_FILE
    from autograd_lite.cli import main as cli

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        assert cli(["demo", "--out", tmp]) == 0
        shutil.copyfile(Path(tmp) / DEMO_FILE, img / "demo.svg")
        assert cli([*GRAPH_COMMAND, "-o", str(img / "graph.svg")]) == 0
    return [img / "demo.svg", img / "graph.svg"]


def main() -> int:
    IMG.mkdir(parents=True, exist_ok=True)
    for name in DEMOS:
        path = ROOT / "examples" / f"{name}.py"
        sys.argv = [str(path), "--out", str(IMG)]
        try:
            runpy.run_path(str(path), run_name="__main__")
        except SystemExit as e:  # a demo that ends with sys.exit(main()): go on to the next
            if e.code not in (None, 0):
                raise
    concept_pictures()
    cli_pictures()
    print(f"pictures written to {IMG}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
