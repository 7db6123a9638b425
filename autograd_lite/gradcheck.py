"""Finite-difference checks of backward, and the error that names what disagreed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

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

    ``fn`` maps a list of Values to a Value; it is called on float64 copies of ``inputs``
    (numbers or arrays are accepted too). A non-scalar output is checked through a fixed
    random projection ``sum(out * r)``. Returns True or raises :class:`GradcheckError`.

    >>> import autograd_lite as ag
    >>> ag.gradcheck(lambda v: (v[0] * v[1]).tanh(), [ag.Value(0.3), ag.Value(-1.2)])
    True
    """
    atol = check_real(atol, "gradcheck's atol", 0.0)
    rtol = check_real(rtol, "gradcheck's rtol", 0.0)
    if check_real(eps, "gradcheck's eps") <= 0:
        raise ValueError("gradcheck's eps (the step of the finite differences) must be a "
                         f"positive number, got {eps!r}")
    eps = float(eps)
    base = [np.array(v.data if isinstance(v, Value) else v, dtype=np.float64) for v in inputs]
    labels = [v.label if isinstance(v, Value) else "" for v in inputs]
    scalar = [isinstance(v, Value) and type(v.data) is float or isinstance(v, int | float)
              for v in inputs]

    def evaluate(datas: list[np.ndarray]) -> tuple[list[Value], Value]:
        vs = [Value(float(d) if s else d, lab) for d, s, lab in zip(datas, scalar, labels)]
        out = fn(vs)
        if not isinstance(out, Value):
            raise TypeError(f"fn must return a Value, got {type(out).__name__}")
        return vs, out

    vs, out = evaluate(base)
    r = 1.0 if out.size == 1 else np.random.default_rng(0).standard_normal(out.shape)
    out.backward(None if out.size == 1 else r)
    analytic = [np.asarray(v.grad, dtype=np.float64) for v in vs]
    base_kinks = kinks(out)
    k0 = sum(k.count for k in base_kinks)

    def objective(datas: list[np.ndarray]) -> tuple[float, int]:
        _, o = evaluate(datas)
        return float(np.sum(np.asarray(o.data, dtype=np.float64) * r)), sum(
            k.count for k in kinks(o))

    for i, x in enumerate(base):
        for idx in np.ndindex(x.shape):
            plus = [d.copy() for d in base]
            minus = [d.copy() for d in base]
            plus[i][idx] += eps
            minus[i][idx] -= eps
            (fp, kp), (fm, km) = objective(plus), objective(minus)
            numeric = (fp - fm) / (2 * eps)
            a = float(analytic[i][idx])
            if abs(a - numeric) <= atol + rtol * abs(numeric):
                continue
            on_kink = k0 > 0 and (kp != k0 or km != k0)
            name = f"input {i}" + (f" ({labels[i]!r})" if labels[i] else "")
            msg = (f"{name}, element {idx}: analytic {a:.6g}, numeric {numeric:.6g} "
                   f"(|difference| {abs(a - numeric):.3g} > atol + rtol·|numeric| = "
                   f"{atol + rtol * abs(numeric):.3g})")
            if on_kink:
                where = "; ".join(str(k) for k in base_kinks)
                msg += (f". This element sits exactly on a kink ({where}): finite differences "
                        "see (left + right)/2 there, not the chosen subgradient")
            raise GradcheckError(msg, input=i, label=labels[i], element=idx, analytic=a,
                                 numeric=numeric, on_kink=on_kink)
    return True
