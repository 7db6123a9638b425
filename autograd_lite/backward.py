"""Backpropagation: the topological order, the reference sweep, the fast sweep.

``sweep`` is backward as a textbook writes it: walk the nodes so that each comes after every
node that uses it, and pass its cotangent dL/dnode to its inputs, one chain-rule step
(``pull``) per edge, adding up what arrives at each input. ``explain``, a backward started
inside a backward, and the tests use it. ``backward`` takes the same steps in the same order
on the nodes themselves -- the only hand-tuned loop -- and adds each dL/dnode to ``.grad``;
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
    if node._dx is not None:  # a scalar node: its factor values were stored when it was built
        return g * (node._dx if i == 0 else node._dy)
    saved = node._saved  # (*inputs' data, out[, ctx]), as the forward saw them
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


_lock = threading.RLock()  # one fast sweep at a time: it keeps its cotangents on the nodes
_running = [False]  # whether the thread that holds the lock is inside a fast sweep


def backward(root: Any, seed: Any) -> None:
    """Add dL/dnode to the ``.grad`` of every node ``root`` depends on (``dL/droot = seed``);
    if it fails, every ``.grad`` is left as it was. A backward started from inside another
    (by a custom op's backward) takes the reference sweep, and adds all it found at once."""
    with _lock:
        if _running[0]:
            for node, g in list(sweep(root, seed)):
                g = g if type(g) is float else np.array(g)  # an array of its own
                node._grad = g if node._grad is None else plus(node._grad, g)
            return
        kept: dict = {}  # the .grad of each node that had one, for a failure
        _running[0] = True
        try:
            _reach(root, start := float("-0.0"), kept)  # "no cotangent yet": a new object
            root._cot = seed
            _pass(root, start)
        except BaseException:
            for node in toposort(root):
                node._grad, node._cot, node._n = kept.get(node), None, 0
            raise
        finally:
            _running[0] = False


# --- the fast sweep: the steps of sweep() with each node's cotangent in its _cot slot and the
# edges still to come into it counted in _n. Hand-tuned: a scalar node's two inputs are written
# out (a loop over them made W2's sweep 9% slower), and the loops are `while True` with a break
# (CPython 3.11 specializes a function after 8 calls or 8 unconditional backward jumps; with
# `while stack:` a process's first backward calls ran 2x slower).

def _reach(root: Any, start: float, kept: dict) -> None:
    """Count in ``_n`` the edges into each node that ``root`` depends on, start its cotangent
    at ``start`` (−0.0: −0.0 + g is g, bit for bit), keep its .grad; depth first."""
    value, stack = type(root), [root]
    if root._grad is not None:
        kept[root] = root._grad
    while True:
        if not stack:
            break
        node = stack.pop()
        p = node._x
        if type(p) is tuple:  # a node with its inputs as a tuple
            for p in node._x:  # noqa: B020 -- p is the loop's own from here
                if type(p) is value:
                    if p._n:
                        p._n += 1
                    else:
                        p._n, p._cot = 1, start
                        if p._grad is not None:
                            kept[p] = p._grad
                        stack.append(p)
            continue
        if type(p) is value:  # a scalar node's first input, then its second
            if p._n:
                p._n += 1
            else:
                p._n, p._cot = 1, start
                if p._grad is not None:
                    kept[p] = p._grad
                stack.append(p)
        p = node._y
        if type(p) is value:
            if p._n:
                p._n += 1
            else:
                p._n, p._cot = 1, start
                if p._grad is not None:
                    kept[p] = p._grad
                stack.append(p)


def _pass(root: Any, start: float) -> None:
    """Pass each node's cotangent on once it is final (``_n`` is 0), then add it to .grad."""
    value, ndarray, stack = type(root), np.ndarray, [root]
    shared: set[int] = set()  # arrays passed on unchanged (two nodes hold them), leaves' arrays
    while True:
        if not stack:
            break
        node = stack.pop()
        g = node._cot
        dx = node._dx
        if dx is not None:  # a scalar node: multiply by the factor values stored at build
            a = node._x
            if type(a) is value:
                a._cot += g * dx
                n = a._n - 1
                a._n = n
                if not n:
                    stack.append(a)
            b = node._y
            if type(b) is value:
                b._cot += g * node._dy
                n = b._n - 1
                b._n = n
                if not n:
                    stack.append(b)
            node._grad = g if node._grad is None else node._grad + g
            continue
        node._cot = None  # an array is not kept twice
        if node._op is not None:  # pull(node, i, g) for each input, written out
            chains, saved, i = node._op.chains, node._saved, -1
            for p in node._x:
                i += 1
                if type(p) is value:
                    gp, x = chains[i](g, saved), saved[i]
                    if (type(gp) is not ndarray or type(x) is float or gp.shape != x.shape
                            or gp.dtype != x.dtype):
                        gp = unbroadcast(gp, x)
                    if gp is g:  # passed on as it is: this node's .grad and p's share it
                        shared.add(id(g))
                    p._cot = gp if p._cot is start else plus(p._cot, gp)
                    n = p._n - 1
                    p._n = n
                    if not n:
                        stack.append(p)
        elif type(g) is not float:  # a leaf owns its .grad: the user may change it in place
            if g.base is not None or id(g) in shared:
                g = g.copy()
            shared.add(id(g))
        node._grad = g if node._grad is None else plus(node._grad, g)
