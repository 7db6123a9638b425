"""The ``autograd-lite`` command line."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from . import Value, kinks, mse_loss


def _demo(args: argparse.Namespace) -> int:
    """A two-layer ReLU network on three points, one backward, the chain rule for one weight."""
    rng = np.random.default_rng(0)
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.5, -1.5]])
    y = np.array([[1.0], [0.0], [1.0]])
    W1 = Value(rng.normal(0, 1, (2, 3)), "W1")
    b1 = Value(np.zeros(3), "b1")
    W2 = Value(rng.normal(0, 1, (3, 1)), "W2")
    Z1 = X @ W1 + b1
    Z1.label = "Z1"
    A1 = Z1.relu()
    A1.label = "A1"
    J = mse_loss(A1 @ W2, y)
    J.label = "J"
    J.backward()
    print(f"J = {J.item():.6f}")
    print("dJ/dW2 =", np.array2string(W2.grad.ravel(), precision=4))
    print("dJ/dW1 =", np.array2string(W1.grad, precision=4).replace("\n", "\n         "))
    hit = kinks(J)
    print("kinks hit:", ", ".join(str(k) for k in hit) if hit else "none")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autograd-lite", description="A small autodiff engine that shows the chain rule.")
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="a small two-layer ReLU network, one backward")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except (ValueError, TypeError, OSError) as e:
        print(f"autograd-lite: error: {e}", file=sys.stderr)
        return 2
