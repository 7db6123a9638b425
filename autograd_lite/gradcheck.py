"""Finite-difference checks of backward, and the error that names what disagreed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .backward import sweep
from .explain import kinks
from .policy import check_real
from .value import Value


class GradcheckError(AssertionError):
    """Backward and central finite differences disagree for one element of one input.

    Attributes: ``input`` (index), ``label``, ``element`` (index tuple), ``analytic``,
    ``numeric``, and ``on_kink`` (the element sits exactly on a kink, where finite
    differences see the average of the one-sided slopes, not the chosen subgradient).
    """

    def __init__(self, message: str, *, input: int, label: str, element: tuple,
                 analytic: float, numeric: float, on_kink: bool) -> None:
        super().__init__(message)
        self.input, self.label, self.element = input, label, element
        self.analytic, self.numeric, self.on_kink = analytic, numeric, on_kink


def gradcheck(fn: Callable[[list[Value]], Value], inputs: Sequence[Any], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Compare backward with central finite differences, for every element of every input.

    ``fn`` maps a list of Values to a Value. A leaf Value among ``inputs`` is passed to ``fn``
    itself, its data replaced by a float64 copy and perturbed there, so a closure over a
    module's own parameters is checked for real; afterwards each gets back its very array
    (also when ``fn`` fails). A number, an array or an op's result is passed as a new
    float64 leaf. No ``.grad`` changes. A non-scalar output is checked through a fixed random
    projection ``sum(out * r)``. Returns True or raises :class:`GradcheckError`. An input the
    output does not depend on (its graph never reaches it, and changing it changes nothing:
    ``fn`` reads other Values, e.g. copies) raises ``ValueError``: never a vacuous True.

    >>> import autograd_lite as ag
    >>> ag.gradcheck(lambda v: (v[0] * v[1]).tanh(), [ag.Value(0.3), ag.Value(-1.2)])
    True
    >>> net = ag.nn.MLP([2, 3, 1], activation="tanh", seed=0)
    >>> X, Y = np.array([[0.5, -1.0], [1.5, 2.0]]), np.array([[1.0], [0.0]])
    >>> ag.gradcheck(lambda ps: ag.mse_loss(net(X), Y), net.parameters())  # the net's own
    True
    """
    atol = check_real(atol, "gradcheck's atol", 0.0)
    rtol = check_real(rtol, "gradcheck's rtol", 0.0)
    if check_real(eps, "gradcheck's eps") <= 0:
        raise ValueError("gradcheck's eps (the step of the finite differences) must be a "
                         f"positive number, got {eps!r}")
    vs = [v if isinstance(v, Value) and v.rule is None else
          Value(np.array(v.data if isinstance(v, Value) else v, dtype=np.float64),
                v.label if isinstance(v, Value) else "") for v in inputs]
    # each leaf gets back its very array and copy-on-write flag (value.py: a graph built
    # before may hold that array, and the flag makes the next in-place update copy it first)
    kept = [(v, v._data, v._y) for v in vs]
    try:
        return _check(fn, vs, float(eps), atol, rtol)
    finally:
        for v, data, saved in reversed(kept):
            v._data, v._y = data, saved


def _check(fn: Callable[[list[Value]], Value], vs: list[Value], eps: float, atol: float,
           rtol: float) -> bool:
    scalar = [type(v.data) is float for v in vs]
    labels = [v.label for v in vs]
    base = [np.array(v.data, dtype=np.float64) for v in vs]  # never changed in place
    for v, d, s in zip(vs, base, scalar):
        v.data = float(d) if s else d

    def evaluate(i: int = 0, idx: tuple = (), step: float = 0.0) -> Value:
        if step:
            d = base[i].copy()
            d[idx] += step
            vs[i].data = float(d) if scalar[i] else d
        try:
            out = fn(vs)
        finally:
            if step:
                vs[i].data = float(base[i]) if scalar[i] else base[i]
        if not isinstance(out, Value):
            raise TypeError(f"fn must return a Value, got {type(out).__name__}")
        return out

    out = evaluate()
    if out.size == 1:
        r, seed = 1.0, 1.0 if type(out.data) is float else np.ones(out.shape, out.dtype)
    else:
        r = np.random.default_rng(0).standard_normal(out.shape)
        seed = r.astype(out.dtype)
    found = dict(sweep(out, seed))  # dL/dnode for every node out depends on; no .grad changes
    reached = [v in found for v in vs]
    analytic = [np.asarray(found[v], dtype=np.float64) if r_ else np.zeros(d.shape)
                for v, d, r_ in zip(vs, base, reached)]
    base_kinks = kinks(out)
    k0 = sum(k.count for k in base_kinks)
    del out, found

    def objective(i: int, idx: tuple, step: float) -> tuple[float, int]:
        o = evaluate(i, idx, step)
        return float(np.sum(np.asarray(o.data, dtype=np.float64) * r)), sum(
            k.count for k in kinks(o))

    for i in sorted(range(len(vs)), key=lambda i: reached[i]):  # the unreached ones first
        for idx in np.ndindex(base[i].shape):
            (fp, kp), (fm, km) = objective(i, idx, eps), objective(i, idx, -eps)
            numeric = (fp - fm) / (2 * eps)
            a = float(analytic[i][idx])
            if abs(a - numeric) <= atol + rtol * abs(numeric):
                continue
            on_kink = k0 > 0 and (kp != k0 or km != k0)
            name = f"input {i}" + (f" ({labels[i]!r})" if labels[i] else "")
            msg = (f"{name}, element {idx}: analytic {a:.6g}, numeric {numeric:.6g} "
                   f"(|difference| {abs(a - numeric):.3g} > atol + rtol·|numeric| = "
                   f"{atol + rtol * abs(numeric):.3g})")
            if not reached[i]:
                msg += (". The output's graph does not reach this input: fn used its data "
                        "outside the recorded ops (e.g. Value(v.data) or v.data in a formula)")
            elif on_kink:
                where = "; ".join(str(k) for k in base_kinks)
                msg += (f". This element sits exactly on a kink ({where}): finite differences "
                        "see (left + right)/2 there, not the chosen subgradient")
            raise GradcheckError(msg, input=i, label=labels[i], element=idx, analytic=a,
                                 numeric=numeric, on_kink=on_kink)
        if not reached[i]:
            name = f"input {i}" + (f" ({labels[i]!r})" if labels[i] else "")
            raise ValueError(
                f"fn's output does not depend on {name}: its graph never reaches that Value "
                "and changing its data changes nothing, so there is nothing to check. fn gets "
                "the Values passed (leaves themselves, perturbed in place): pass the Values fn "
                "reads (e.g. net.parameters(), not copies of them), or leave this one out")
    return True
