"""Small datasets generated in code: no downloads, seeded, reproducible.

Every function returns ``(X, y)`` with one sample per row of ``X``.
"""

from __future__ import annotations

import numbers

import numpy as np


def _count(n: object, what: str) -> int:
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{what} must be a positive integer, got {n!r}")
    return int(n)


def _noise(noise: object) -> float:
    ok = isinstance(noise, numbers.Real) and not isinstance(noise, bool)
    if not ok or not (0 <= float(noise) < np.inf):  # type: ignore[arg-type]
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    return float(noise)  # type: ignore[arg-type]


def flower(n_per_class: int = 200, noise: float = 0.2,
           seed: int | None = 1) -> tuple[np.ndarray, np.ndarray]:
    """The two-class planar "flower": petals r = 4·sin(4t) + noise, one colour per half-turn.

    Returns ``X`` of shape ``(2·n_per_class, 2)`` and integer labels ``y`` in {0, 1}. Two
    classes interleave in petals, so no straight line separates them: a linear model gets
    about half right, a small ReLU network most.

    >>> X, y = flower()
    >>> X.shape, y.shape, int(y.sum())
    ((400, 2), (400,), 200)
    """
    n = _count(n_per_class, "n_per_class")
    s = _noise(noise)
    rng = np.random.default_rng(seed)
    X = np.zeros((2 * n, 2))
    y = np.repeat(np.arange(2), n)
    for j in range(2):
        t = np.linspace(j * 3.12, (j + 1) * 3.12, n) + rng.normal(0, s, n)  # angle
        r = 4 * np.sin(4 * t) + rng.normal(0, s, n)  # radius
        X[j * n:(j + 1) * n] = np.c_[r * np.sin(t), r * np.cos(t)]
    return X, y


def moons(n: int = 100, noise: float = 0.1, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half-circles (as scikit-learn's ``make_moons``); labels in {0, 1}.

    >>> X, y = moons(10)
    >>> X.shape, sorted(set(y.tolist()))
    ((10, 2), [0, 1])
    """
    total = _count(n, "n")
    s = _noise(noise)
    rng = np.random.default_rng(seed)
    n_out = total // 2 + total % 2
    n_in = total // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.concatenate([np.c_[np.cos(t_out), np.sin(t_out)],
                        np.c_[1 - np.cos(t_in), 0.5 - np.sin(t_in)]])
    y = np.concatenate([np.zeros(n_out, dtype=np.int64), np.ones(n_in, dtype=np.int64)])
    X += rng.normal(0, s, X.shape)
    order = rng.permutation(total)
    return X[order], y[order]


def quadratic(n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """The regression of seed question 001: X = 0, 1, ..., n−1 and Y = 3X² + 3X, as columns.

    >>> X, Y = quadratic()
    >>> X.shape, Y[:4, 0].tolist()
    ((20, 1), [0.0, 6.0, 18.0, 36.0])
    """
    X = np.arange(_count(n, "n"), dtype=np.float64).reshape(-1, 1)
    return X, 3 * X**2 + 3 * X
