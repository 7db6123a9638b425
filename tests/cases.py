"""One test case per rule of the table: how to build the op, and where its inputs may lie.

Domains keep finite differences away from kinks and poles; kinks are tested exactly
elsewhere (test_kinks.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import autograd_lite as ag

# name -> (low, high) of |x|, and whether the sign is random
DOMAINS = {
    "any": (-2.0, 2.0),
    "away0": (0.2, 2.0),      # random sign, |x| >= 0.2: off the kink at 0
    "positive": (0.2, 2.0),
    "prob": (0.05, 0.95),
    "unit": (0.0, 1.0),
    "distinct": (-2.0, 2.0),  # no two of a case's <= 24 entries within 0.15 (max, min: no ties)
}


@dataclass
class Case:
    build: Callable[[list], ag.Value]
    domains: tuple[str, ...]
    elementwise: bool = True
    shapes: list[tuple[tuple[int, ...], ...]] = field(default_factory=list)  # non-elementwise
    broadcast: bool = True  # losses insist on equal shapes


def draw(domain: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    lo, hi = DOMAINS[domain]
    x = rng.uniform(lo, hi, shape)
    if domain == "distinct":  # evenly spread, shuffled, each moved by at most 0.01
        x = rng.permutation(np.linspace(lo, hi, x.size)).reshape(shape) + rng.uniform(
            -0.01, 0.01, shape)
    if domain == "away0":
        x *= rng.choice([-1.0, 1.0], shape)
    return x


CASES: dict[str, list[Case]] = {
    "add": [Case(lambda v: v[0] + v[1], ("any", "any"))],
    "sub": [Case(lambda v: v[0] - v[1], ("any", "any"))],
    "neg": [Case(lambda v: -v[0], ("any",))],
    "mul": [Case(lambda v: v[0] * v[1], ("any", "any"))],
    "div": [Case(lambda v: v[0] / v[1], ("any", "away0"))],
    "pow": [Case(lambda v, p=p: v[0] ** p, (d,)) for p, d in
            [(2, "any"), (3, "any"), (1, "any"), (0, "any"), (0.5, "positive"),
             (-1, "away0"), (-2.5, "positive")]],
    "relu": [Case(lambda v: v[0].relu(), ("away0",)),  # relu'(0) from the context: 0
             *(Case(lambda v, s=s: v[0].relu(subgradient=s), ("away0",)) for s in (0, 0.5, 1))],
    "leaky_relu": [Case(lambda v: v[0].leaky_relu(0.1), ("away0",)),
                   Case(lambda v: v[0].leaky_relu(0.2, subgradient=0.7), ("away0",))],
    "abs": [Case(lambda v: v[0].abs(), ("away0",))],
    "tanh": [Case(lambda v: v[0].tanh(), ("any",))],
    "sigmoid": [Case(lambda v: v[0].sigmoid(), ("any",))],
    "exp": [Case(lambda v: v[0].exp(), ("any",))],
    "log": [Case(lambda v: v[0].log(), ("positive",))],
    "binary_cross_entropy": [Case(lambda v: ag.binary_cross_entropy(v[0], v[1], "none"),
                                  ("prob", "unit"), broadcast=False)],
    "binary_cross_entropy_with_logits": [
        Case(lambda v: ag.binary_cross_entropy_with_logits(v[0], v[1], "none"), ("any", "unit"),
             broadcast=False)],
    "matmul": [Case(lambda v: v[0] @ v[1], ("any", "any"), elementwise=False, shapes=[
        ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((2, 2, 3), (3, 4)),
        ((3,), (2, 3, 4)), ((2, 1, 2, 3), (3, 3, 2)), ((2, 3), (2, 3, 1))])],
    "sum": [Case(lambda v, a=a, k=k: v[0].sum(axis=a, keepdims=k), ("any",), False,
                 [((2, 3, 4),), ((),)] if a is None else [((2, 3, 4),)])
            for a in (None, 0, -1, (0, 2)) for k in (False, True)],
    "mean": [Case(lambda v, a=a, k=k: v[0].mean(axis=a, keepdims=k), ("any",), False,
                  [((2, 3, 4),), ((),)] if a is None else [((2, 3, 4),)])
             for a in (None, 1, (0, 1)) for k in (False, True)],
    "reshape": [Case(lambda v: v[0].reshape(3, 2), ("any",), False, [((2, 3),), ((6,),)]),
                Case(lambda v: v[0].reshape(-1, 1), ("any",), False, [((2, 3),), ((),)])],
    "transpose": [Case(lambda v: v[0].T, ("any",), False, [((2, 3),), ((4,),), ((),)]),
                  Case(lambda v: v[0].transpose(1, 0, 2), ("any",), False, [((2, 3, 4),)]),
                  Case(lambda v: v[0].transpose(2, 0, 1), ("any",), False, [((2, 3, 4),)])],
    "getitem": [Case(lambda v, i=i: v[0][i], ("any",), False, [((3, 4),)]) for i in
                (1, (slice(None), slice(1, None)), (None, Ellipsis, 0), [0, 2, 0],
                 np.array([1, 1, 0]), ([0, 1], [1, 3]), np.array([True, False, True]),
                 (slice(None, None, -1), -1))],
    "scatter": [Case(lambda v, i=i: ag.ops.SCATTER(v[0], index=i, like=np.zeros((3, 4))),
                     ("any",), False, [(s,)]) for i, s in
                ((1, (4,)), ((slice(None), slice(1, None)), (3, 3)), ([0, 2, 0], (3, 4)))],
    "step": [Case(lambda v: ag.ops.STEP(v[0], value=np.full(3, 0.5, v[0].dtype), of="relu",
                                                at=0), ("any",),
                  False, [((3,),)])],
    "concatenate": [Case(lambda v: ag.concatenate(v), ("any", "any"), False, [((2, 3), (4, 3))]),
                    Case(lambda v: ag.concatenate(v, axis=-1), ("any",) * 3, False,
                         [((2, 3), (2, 1), (2, 2)), ((3,), (1,), (2,))]),
                    Case(lambda v: ag.concatenate([v[0]]), ("any",), False, [((2,),)])],
    "stack": [Case(lambda v: ag.stack(v), ("any", "any"), False, [((), ()), ((2, 3), (2, 3))]),
              Case(lambda v: ag.stack(v, axis=-1), ("any",) * 3, False,
                   [((2,), (2,), (2,)), ((), (), ())]),
              Case(lambda v: ag.stack([v[0], v[1], 2.0], axis=0), ("any", "any"), False,
                   [((), ())])],
    "softmax": [Case(lambda v, a=a: ag.softmax(v[0], axis=a), ("any",), False, [((2, 3, 4),)])
                for a in (-1, 0, (0, 2), None)],
    "log_softmax": [Case(lambda v, a=a: ag.log_softmax(v[0], axis=a), ("any",), False,
                         [((2, 3, 4),), ((),)] if a == -1 else [((2, 3, 4),)])
                    for a in (-1, 1, None)],
    "logsumexp": [Case(lambda v, a=a, k=k: ag.logsumexp(v[0], axis=a, keepdims=k), ("any",),
                       False, [((2, 3, 4),), ((),)] if a is None else [((2, 3, 4),)])
                  for a in (None, -1, (0, 2)) for k in (False, True)],
    "max": [Case(lambda v, a=a, k=k: v[0].max(axis=a, keepdims=k), ("distinct",), False,
                 [((2, 3, 4),), ((),)] if a is None else [((2, 3, 4),)])
            for a in (None, 1, (0, 2)) for k in (False, True)],
    "min": [Case(lambda v, a=a, k=k: v[0].min(axis=a, keepdims=k), ("distinct",), False,
                 [((2, 3, 4),), ((),)] if a is None else [((2, 3, 4),)])
            for a in (None, 0, (1, 2)) for k in (False, True)],
    "maximum": [Case(lambda v: ag.maximum(v[0], v[1]), ("any", "any"))],
    "minimum": [Case(lambda v: ag.minimum(v[0], v[1]), ("any", "any"))],
    "where": [Case(lambda v: ag.where(v[0] > 0, v[0], v[1]), ("away0", "any")),
              Case(lambda v: ag.where(v[1] <= 0.5, v[0], v[1]), ("any", "any"))],
    "clip": [Case(lambda v: v[0].clip(-1, 1), ("any",)), Case(lambda v: ag.clip(v[0], 0.5, None),
                                                              ("any",))],
    "sqrt": [Case(lambda v: v[0].sqrt(), ("positive",))],
    "cross_entropy": [Case(lambda v: ag.cross_entropy(v[0], np.array([2, 0, 1]), "none"),
                           ("any",), False, [((3, 4),)]),
                      Case(lambda v: ag.cross_entropy(v[0], 3, "none"), ("any",), False,
                           [((5,),)])],
    "conv2d": [Case(lambda v: ag.conv2d(v[0], v[1]), ("any", "any"), False,
                    [((2, 3, 5, 4), (2, 3, 3, 2)), ((1, 1, 3, 3), (1, 1, 3, 3))]),
               Case(lambda v: ag.conv2d(v[0], v[1], stride=2, padding=1), ("any", "any"), False,
                    [((2, 2, 5, 6), (3, 2, 3, 3))]),
               Case(lambda v: ag.conv2d(v[0], v[1], v[2], stride=(1, 2), padding=(2, 0)),
                    ("any",) * 3, False, [((1, 2, 4, 5), (2, 2, 2, 3), (2,))])],
    "max_pool2d": [Case(lambda v: ag.max_pool2d(v[0], 2), ("any",), False, [((2, 3, 4, 5),)]),
                   Case(lambda v: ag.max_pool2d(v[0], (3, 2), stride=1), ("any",), False,
                        [((1, 2, 5, 4),)])],
    "avg_pool2d": [Case(lambda v: ag.avg_pool2d(v[0], 2), ("any",), False, [((2, 3, 4, 5),)]),
                   Case(lambda v: ag.avg_pool2d(v[0], (2, 3), stride=(1, 2)), ("any",), False,
                        [((1, 2, 4, 7),)])],
}
