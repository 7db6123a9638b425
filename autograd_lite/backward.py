"""Backpropagation: the topological order, the sweep, the one chain-rule step.

``sweep`` is backward as a textbook writes it: walk the nodes so that each comes after every
node that uses it, and pass its cotangent dL/dnode to its inputs, one chain-rule step
(``pull``) per edge, adding up what arrives at each input; ``explain`` reads it too.
``backward`` adds what it finds to ``.grad``. The fast sweep (kernels.py, the one place for
hand-tuned code) takes the same steps in the same order on the nodes themselves;
tests/test_sweep.py holds the two to each other, bit for bit.

A node's inputs are the Values among its ``parents`` (the others are constants); nodes are
told apart from constants by the class of the root, so this module imports no node class.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from .shapes import unbroadcast  # kernels.py attaches a form that sums a bias by BLAS


def toposort(root: Any) -> list:
    """Every Value ``root`` depends on, each before its inputs (root first); iterative.

    Kahn's order, as both sweeps go: a node comes once every node that uses it has come.
    Read backwards it is the order of the formula: the first input's part first.
    """
    value, uses, nodes = type(root), {root: 0}, [root]
    for node in nodes:  # grows as it goes: every node is visited once
        for p in node.parents:
            if type(p) is value:
                uses[p] = uses.get(p, 0) + 1
                if uses[p] == 1:
                    nodes.append(p)
    order, ready = [], [root]
    while ready:
        order.append(ready.pop())
        for p in order[-1].parents:
            if type(p) is value:
                uses[p] -= 1
                if not uses[p]:
                    ready.append(p)
    return order


def pull(node: Any, i: int, g: Any) -> Any:
    """One chain-rule step: g · ∂node/∂(input i), summed back to that input's shape."""
    if node._dout_dx is not None:  # a scalar node: its factor values were stored when it was built
        return g * (node._dout_dx if i == 0 else node._dout_dy)
    saved = node._y  # what the rule reads: (*inputs' data, out[, ctx]), as the forward saw
    return unbroadcast(node._op.chains[i](g, saved), saved[i])


def sweep(root: Any, seed: Any) -> Iterator[tuple[Any, Any]]:
    """Yield ``(node, dL/dnode)`` for every Value ``root`` depends on, each once it is final,
    with ``dL/droot = seed``: all of backward, on a dict of cotangents; no ``.grad`` changes."""
    value, cot = type(root), {root: seed}
    for node in toposort(root):
        g = cot.pop(node)
        yield node, g
        for i, p in enumerate(node.parents):
            if type(p) is value:
                gp = pull(node, i, g)
                cot[p] = gp if p not in cot else plus(cot[p], gp)


def plus(a: Any, b: Any) -> Any:
    s = a + b
    return s if type(s) is float or type(s) is np.ndarray else np.asarray(s)  # 0-d: an array


_lock = threading.RLock()  # .grad changes one backward at a time (and the fast sweep's slots)


def backward(root: Any, seed: Any) -> None:
    """Add dL/dnode to the ``.grad`` of every node ``root`` depends on (``dL/droot = seed``):
    the reference sweep, then, once it is through, every addition (if it fails, no ``.grad``
    has changed). ``kernels.py`` attaches the fast sweep, which takes the same steps."""
    found = list(sweep(root, seed))
    with _lock:
        for node, g in found:
            g = g if type(g) is float else np.array(g)  # an array of its own
            node._grad = g if node._grad is None else plus(node._grad, g)
