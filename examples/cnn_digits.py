"""A small CNN built from ag.nn learns scikit-learn's 8×8 digits.

``Sequential(Conv2d(1, 8, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(128, 10))``,
trained with ``ag.cross_entropy`` and Adam on mini-batches of 64 for a few epochs, then
evaluated (``net.eval()``) on a held-out quarter of the images (a fixed, stratified split).
Needs scikit-learn for the data (``pip install "autograd-lite[study]"``).

Run it with no arguments; ``--epochs`` and ``--seed`` change the run.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np

import autograd_lite as ag
from autograd_lite import nn


def digits(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 1,797 digits as (N, 1, 8, 8) images scaled to [0, 1], split 75/25 by class."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    X = (data.images / 16.0)[:, None, :, :]  # NCHW: one channel
    return train_test_split(X, data.target, test_size=0.25, random_state=seed,
                            stratify=data.target)


def build(seed: int = 0) -> nn.Sequential:
    """The network: 8 filters of 3×3 (padding 1 keeps 8×8), ReLU, 2×2 max-pool to 4×4,
    flattened to 8·4·4 = 128 features, a linear layer to the 10 classes' logits."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, seed=rng), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(128, 10, seed=rng))


def accuracy(net: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    with ag.no_grad():
        return float(np.mean(net(X).data.argmax(axis=1) == y))


def train(epochs: int = 5, seed: int = 0, batch: int = 64, lr: float = 0.01,
          verbose: bool = True) -> dict:
    """Train the network; returns its test accuracy, the last epoch's mean loss, the time."""
    X_train, X_test, y_train, y_test = digits(seed)
    net = build(seed)
    opt = nn.Adam(net.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        net.train()
        order = rng.permutation(len(X_train))
        losses = []
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            loss = ag.cross_entropy(net(X_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        net.eval()
        acc = accuracy(net, X_test, y_test)
        if verbose:
            print(f"epoch {epoch}: mean loss {np.mean(losses):.4f}, test accuracy {acc:.3f}")
    seconds = time.perf_counter() - start
    return {"test_accuracy": acc, "loss": float(np.mean(losses)), "seconds": seconds,
            "train": len(X_train), "test": len(X_test), "net": net}


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="passes over the training set")
    parser.add_argument("--seed", type=int, default=0, help="the split, the weights, the order")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    result = train(args.epochs, args.seed)
    print(result["net"])
    print(f"{result['train']} training and {result['test']} test images; "
          f"test accuracy {result['test_accuracy']:.3f} after {args.epochs} epochs "
          f"({result['seconds']:.1f} s)")
    return result


if __name__ == "__main__":
    main()
