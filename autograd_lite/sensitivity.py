"""Does relu'(0) change backward here? Build the same graph under two subgradients, compare.

ReLU is not differentiable at 0, so relu'(0) is a choice (see :mod:`autograd_lite.policy`).
Mathematically the choice only matters on a set of measure zero; in floating point a
pre-activation is *exactly* 0 more often than that suggests (Bertoin, Bolte, Gerchinovitz
and Pauwels, "Numerical influence of ReLU'(0) on backpropagation", NeurIPS 2021).
:func:`subgradient_sensitivity` answers the question for one concrete computation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .explain import Kink, kinks
from .policy import check_real, relu_subgradient
from .value import Value

_BITS = {2: np.uint16, 4: np.uint32, 8: np.uint64}


@dataclass(frozen=True)
class InputDifference:
    """How one input's gradient differs between the two choices of relu'(0).

    ``index`` and ``label`` name the input; ``differing`` is the number of elements whose
    gradients differ bitwise, out of ``size``; ``max_abs`` is the largest absolute
    difference (0.0 when they are equal).
    """

    index: int
    label: str
    shape: tuple[int, ...]
    size: int
    differing: int
    max_abs: float

    def __str__(self) -> str:
        name = f"input {self.index}" + (f" ({self.label!r})" if self.label else "")
        return (f"{name}: {self.differing} of {self.size} gradient element(s) differ "
                f"(max |difference| {self.max_abs:.3g})")


@dataclass(frozen=True)
class SensitivityReport:
    """What :func:`subgradient_sensitivity` found.

    Attributes
    ----------
    subgradients : tuple of float
        The two values of relu'(0) compared, ``(s0, s1)``.
    differs : bool
        True when the gradient of at least one input differs bitwise between the two.
    inputs : tuple of InputDifference
        One entry per input, in order (equal inputs included, with ``differing == 0``).
    kinks : tuple of Kink
        The ReLU nodes (of the graph built under ``s0``) with inputs exactly 0: the only
        places where the choice can enter backward.
    value : float or ndarray
        The output of ``fn`` (the forward pass does not depend on relu'(0)).
    grads : tuple of tuple
        ``grads[k][i]`` is the gradient of input ``i`` under ``subgradients[k]``.
    """

    subgradients: tuple[float, float]
    differs: bool
    inputs: tuple[InputDifference, ...]
    kinks: tuple[Kink, ...]
    value: Any
    grads: tuple[tuple[Any, ...], tuple[Any, ...]]

    @property
    def kink_count(self) -> int:
        """How many ReLU inputs were exactly 0 (summed over the ReLU nodes)."""
        return sum(k.count for k in self.kinks)

    @property
    def differing(self) -> tuple[InputDifference, ...]:
        """The inputs whose gradients differ."""
        return tuple(d for d in self.inputs if d.differing)

    def __bool__(self) -> bool:
        return self.differs

    def __str__(self) -> str:
        s0, s1 = (f"{s:g}" for s in self.subgradients)
        n = self.kink_count
        hit = ("no ReLU input was exactly 0" if n == 0 else
               f"{n} ReLU input{'s' if n != 1 else ''} exactly 0 in {len(self.kinks)} "
               f"node{'s' if len(self.kinks) != 1 else ''}")
        if not self.differs:
            why = ("" if n == 0 else " (there the upstream gradient was 0, or its share was "
                   "lost to rounding)")
            return (f"relu'(0) = {s0} and relu'(0) = {s1} give bitwise identical gradients; "
                    f"{hit}{why}.")
        lines = [f"relu'(0) = {s0} and relu'(0) = {s1} give different gradients; {hit}:"]
        lines += [f"  {k.op}{' ' + repr(k.node.label) if k.node.label else ''}: {k.count}"
                  f"{' of ' + str(k.node.size) if k.node.shape else ''} exactly 0"
                  for k in self.kinks]
        lines += [f"  {d}" for d in self.differing]
        return "\n".join(lines)


def _flat(g: Any) -> tuple[np.ndarray, np.ndarray]:
    """The elements of ``g`` as a flat array, and their bit patterns."""
    a = np.ascontiguousarray(g).reshape(-1)
    return a, a.view(_BITS[a.dtype.itemsize])


def subgradient_sensitivity(fn: Callable[[list[Value]], Value], inputs: Sequence[Value],
                            subgradients: tuple[float, float] = (0.0, 1.0)
                            ) -> SensitivityReport:
    """Build ``fn(inputs)`` under two values of relu'(0) and compare the gradients bitwise.

    ``fn`` is called twice on fresh copies of ``inputs`` (same data, same dtype), once inside
    ``with relu_subgradient(subgradients[0])`` and once inside
    ``with relu_subgradient(subgradients[1])``; each output is back-propagated and the
    gradients of the copies are compared bit for bit (so ``-0.0`` and ``0.0`` count as
    different; NaNs with the same bits as equal). The caller's Values and their ``.grad`` are
    not touched. ReLUs that ``fn`` builds with an explicit ``subgradient=`` keep it in both
    graphs; only ReLUs that follow the context default are compared.

    Parameters
    ----------
    fn : callable
        Maps a list of Values (the copies, in the order of ``inputs``) to a one-element
        Value, e.g. a loss. It must build a new graph on every call.
    inputs : sequence of Value
        The leaves whose gradients are compared; at least one.
    subgradients : pair of float, optional
        The two values of relu'(0), each in ``[0, 1]``; default ``(0.0, 1.0)``.

    Returns
    -------
    SensitivityReport
        ``.differs`` is True when any input's gradient differs; ``.inputs`` says which and
        how many elements; ``.kinks`` lists the ReLU nodes with inputs exactly 0;
        ``str(report)`` says it in words.

    Raises
    ------
    TypeError
        ``fn`` is not callable, ``inputs`` is not a sequence of Values, or ``fn`` does not
        return a Value.
    ValueError
        ``inputs`` is empty, the subgradients are not two numbers in ``[0, 1]``, or the
        output of ``fn`` has more than one element.

    Examples
    --------
    A neuron exactly on its kink: the gradient of ``w`` depends on relu'(0).

    >>> import numpy as np, autograd_lite as ag
    >>> x = np.array([[1.0, 2.0], [3.0, -1.0]])
    >>> w, b = ag.Value([1.0, -0.5], "w"), ag.Value(0.0, "b")
    >>> loss = lambda v: ((x @ v[0] + v[1]).relu() * 2.0).sum()
    >>> report = ag.subgradient_sensitivity(loss, [w, b])
    >>> report.differs, report.kink_count
    (True, 1)
    >>> print(report)
    relu'(0) = 0 and relu'(0) = 1 give different gradients; 1 ReLU input exactly 0 in 1 node:
      relu: 1 of 2 exactly 0
      input 0 ('w'): 2 of 2 gradient element(s) differ (max |difference| 4)
      input 1 ('b'): 1 of 1 gradient element(s) differ (max |difference| 2)
    >>> w.grad  # the caller's Values are untouched
    array([0., 0.])

    Move the bias off the kink and nothing depends on the choice:

    >>> print(ag.subgradient_sensitivity(loss, [w, ag.Value(0.25, "b")]))
    relu'(0) = 0 and relu'(0) = 1 give bitwise identical gradients; no ReLU input was exactly 0.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function of a list of Values, got {type(fn).__name__}")
    if isinstance(inputs, Value) or not isinstance(inputs, Sequence) or isinstance(inputs, str):
        raise TypeError("inputs must be a list or tuple of Values, e.g. [W1, b1]")
    if len(inputs) == 0:
        raise ValueError("inputs is empty: give the Values whose gradients to compare")
    for i, v in enumerate(inputs):
        if not isinstance(v, Value):
            raise TypeError(f"inputs[{i}] must be a Value, got {type(v).__name__} "
                            "(wrap data in ag.Value to compare its gradient)")
    if (isinstance(subgradients, str) or not isinstance(subgradients, Sequence)
            or len(subgradients) != 2):
        raise ValueError(f"subgradients must be a pair of numbers in [0, 1], got {subgradients!r}")
    pair = tuple(check_real(s, "each relu subgradient (relu'(0))", 0.0, 1.0) for s in subgradients)

    grads, outputs, found = [], [], ()
    for k, s in enumerate(pair):
        copies = [Value(v.data if type(v.data) is float else v.data.copy(), v.label)
                  for v in inputs]
        with relu_subgradient(s):
            out = fn(copies)
        if not isinstance(out, Value):
            raise TypeError(f"fn must return a Value, got {type(out).__name__}")
        if out.size != 1:
            raise ValueError(f"fn must return a one-element Value (e.g. a loss), got shape "
                             f"{out.shape}; reduce it first, e.g. with .sum() or .mean()")
        out.backward()
        grads.append(tuple(c.grad for c in copies))
        outputs.append(out.data)
        if k == 0:
            found = tuple(kk for kk in kinks(out) if kk.op == "relu")

    diffs = []
    for i, (v, g0, g1) in enumerate(zip(inputs, *grads)):
        if type(g0) is float:
            n = int(np.float64(g0).view(np.uint64) != np.float64(g1).view(np.uint64))
            gap = abs(g0 - g1) if n else 0.0
        else:
            (a0, b0), (a1, b1) = _flat(g0), _flat(g1)
            mask = b0 != b1
            n = int(np.count_nonzero(mask))
            gap = float(np.max(np.abs(a0[mask].astype(np.float64) - a1[mask]))) if n else 0.0
        diffs.append(InputDifference(i, v.label, v.shape, v.size, n, gap))
    return SensitivityReport(pair, any(d.differing for d in diffs), tuple(diffs), found,
                             outputs[0], (grads[0], grads[1]))
