"""The growing-graph mistake, caught early: a warning that names the fix.

The update a course writes by hand, ``W = W - lr * W.grad``, is a recorded op outside
``ag.no_grad()``: each new W is a node whose graph keeps every earlier step, so step k
sweeps all k steps (100 steps took 0.25 s, 2,000 steps 151 s). Its signature: backward after
backward, from a new root each time, the sweep reaches nodes that an earlier backward already
went through -- they have a ``.grad`` -- and there are more of them every time, op results
among them.

Legitimate reuse does not look like that: a second backward on the same graph, a Jacobian row
by row or per-sample losses from one forward reach as many swept nodes each time as the time
before (not more); two losses from one trunk make one step up, then the next training step
starts again from the parameters; a fresh graph each step, however long, reaches only leaves
(parameters) that earlier backward calls swept. So the rule is: ``STREAK`` backward calls in
a row, each reaching more already-swept nodes than the one before, and at least one of them an
op's result. It also catches a hidden state carried across steps without ``.detach()``
(truncated backpropagation through time that forgot to truncate): the same mistake.

Cost: the fast sweep (kernels.fast_backward) keeps the ``.grad`` of every node it reaches that
has one, to give them back if it fails; the size of that dict is all this needs -- one
``len()`` per backward, nothing in the sweep's loops, no slot on Value. Only the fast sweep
calls :func:`watch`: it is what ``Value.backward`` runs. The reference sweep (backward.py)
runs when kernels.py is detached (tests comparing the two) or for a backward started inside
a custom op's backward; the warning is about a user's training loop, neither of those.
"""

from __future__ import annotations

import warnings

STREAK = 3  # backward calls in a row, each reaching more already-swept nodes than the last


class GrowingGraphWarning(UserWarning):
    """Each backward reaches more of the graph that earlier backward calls went through: a
    graph that grows with every step, usually a hand-written update ``W = W - lr * W.grad``
    recorded as an op. The fix: ``with ag.no_grad(): W = W - lr * W.grad``, or
    ``W.data -= lr * W.grad``, or an optimizer's ``opt.step()``. A hidden state carried
    from step to step without ``.detach()`` grows a graph the same way.

    Backward warns once per growing chain, after ``STREAK`` (3) backward calls in a row
    each reached more nodes that an earlier backward went through than the one before.
    Reusing a graph does not warn: a second backward on it, a Jacobian row by row,
    per-sample losses from one forward, two losses from one trunk, a new graph each step.

    Examples
    --------
    >>> import warnings, autograd_lite as ag
    >>> W = ag.Value(1.0, "W")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     for step in range(5):
    ...         L = (W * 3.0 - 1.0) ** 2
    ...         L.backward()
    ...         W = W - 0.01 * W.grad       # the mistake: a new node on top of the old W
    >>> [w.category.__name__ for w in caught]
    ['GrowingGraphWarning']
    """


_last, _streak, _warned = 0, 0, False  # changed under backward._lock (kernels.fast_backward)


def watch(kept: dict) -> None:
    """Called by the fast sweep once it has reached every node: ``kept`` holds those that had a
    ``.grad`` already. Warns once per growing chain of backward calls."""
    global _last, _streak, _warned
    n = len(kept)
    if n <= _last:  # not growing: a chain that grew (if any) has ended
        _streak, _warned = 0, False
    else:
        _streak += 1
    _last = n
    if _streak >= STREAK and not _warned and any(v.rule is not None for v in kept):
        _warned = True
        warnings.warn(
            f"the graph grows with every backward: this one reached {n} nodes that earlier "
            f"backward calls already went through, and each of the last {_streak} reached "
            "more of them than the one before, so each step costs more than the last. An "
            "update written as an op, `W = W - lr * W.grad`, makes the new W a node that "
            "keeps every earlier step. Keep the update out of the graph: "
            "`with ag.no_grad(): W = W - lr * W.grad`, or change the data in place: "
            "`W.data -= lr * W.grad`, or use an optimizer's `opt.step()` (ag.nn.SGD). A "
            "hidden state carried from step to step needs `h = h.detach()`.",
            GrowingGraphWarning, stacklevel=4)
