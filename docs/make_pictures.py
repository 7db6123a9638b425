"""Make the pictures of the documentation in docs/img: run every demo, draw the concept graphs.

Run ``python docs/make_pictures.py`` from the repository root after changing a demo or
the pictures. Plots need matplotlib (the ``plot`` extra).
"""

from __future__ import annotations

import runpy
import sys
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
    return paths


def main() -> int:
    IMG.mkdir(parents=True, exist_ok=True)
    for name in DEMOS:
        path = ROOT / "examples" / f"{name}.py"
        sys.argv = [str(path), "--out", str(IMG)]
        runpy.run_path(str(path), run_name="__main__")
    concept_pictures()
    print(f"pictures written to {IMG}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
