"""``ag.check``: is a learner's hand-written backward right, and if not, what went wrong?

The learner's functions are found by name (the public conventions of the Deep Learning
Specialization and of CS231n) and called unchanged, with their own signatures and caches,
on small random data whose pre-activations hold planted exact zeros, so that a choice of
relu'(0) shows. The engine computes the truth for the same inputs. Each known kind of
mistake is then computed *from the truth* (the sign flipped, the transpose, a constant
factor, the other subgradient, the derivative taken at the wrong variable, ...) and the
learner's result is compared with each: the one it matches is the diagnosis.

Vocabulary of ``Result.diagnosis`` (issue 14):

=================  ===========================================================================
``ok``             right
``kink-only``      right except exactly on a kink, where it uses another valid subgradient
``no-chain-rule``  does not scale with the upstream gradient (values set, not multiplied)
``wrong-variable`` the local derivative evaluated at the wrong variable (A for Z, Z for A)
``scale``          a constant factor off; ``.factor`` is theirs ÷ the true one
``sign``           negated
``transpose``      the transpose of the true gradient
``shape``          a shape that is neither the input's nor its transpose
``mutates-input``  changes its upstream gradient or its cache in place
``wrong-value``    none of the above
=================  ===========================================================================
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
import re
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .losses import cross_entropy
from .policy import relu_subgradient
from .value import Value

DIAGNOSES = ("ok", "kink-only", "no-chain-rule", "wrong-variable", "scale", "sign",
             "transpose", "shape", "mutates-input", "wrong-value")
RIGHT = ("ok", "kink-only")


class CheckError(Exception):
    """The source cannot be loaded, or holds no function that check recognises."""


@dataclass(frozen=True)
class Course:
    """A course's conventions: its name and the metric its notebooks print."""

    key: str
    title: str
    metric: str


DLS = Course("dls", "Deep Learning Specialization", "difference")
CS231N = Course("cs231n", "CS231n", "rel_error")


def difference(theirs: np.ndarray, truth: np.ndarray) -> float:
    """The DLS notebooks' ``||a − b|| / (||a|| + ||b||)`` (0 when both are 0)."""
    den = np.linalg.norm(theirs) + np.linalg.norm(truth)
    return 0.0 if den == 0 else float(np.linalg.norm(theirs - truth) / den)


def rel_error(theirs: np.ndarray, truth: np.ndarray) -> float:
    """CS231n's ``max |x − y| / max(1e-8, |x| + |y|)``."""
    return float(np.max(np.abs(theirs - truth) / np.maximum(1e-8, np.abs(theirs) + np.abs(truth)),
                        initial=0.0))


@dataclass
class Result:
    """The verdict on one function.

    ``diagnosis`` is one of :data:`DIAGNOSES`; ``output`` names the first wrong output in
    backward order (the one the diagnosis is about; None when the function raised);
    ``factor`` is theirs ÷ true for ``scale``; ``message`` is the teacher's sentence;
    ``also_wrong`` lists the other wrong outputs with their diagnoses.
    """

    name: str
    ok: bool
    diagnosis: str
    output: str | None
    factor: float | None
    message: str
    course: Course = DLS
    where: str = ""
    metric: float | None = None
    also_wrong: list[tuple[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        verdict = {"ok": "right", "kink-only": "right (kink-only)"}.get(
            self.diagnosis, f"WRONG ({self.diagnosis}" + (f", in {self.output})" if self.output
                                                           else ")"))
        lines = [f"{self.name}{f' [{self.where}]' if self.where else ''}: {verdict}"]
        if self.metric is not None:
            what = f"{self.course.metric}({self.output})" if self.output else self.course.metric
            bar = ("  (the course's check passes below 2e-7)" if self.course is DLS else "")
            if self.diagnosis == "kink-only":
                bar = ", all of it on the planted kinks"
            lines.append(f"  {what} = {self.metric:.1e}{bar}")
        lines += wrap(self.message)
        return "\n".join(lines)


@dataclass
class Report:
    """What ``ag.check`` returns: one :class:`Result` per recognised function."""

    source: str
    results: list[Result]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def __str__(self) -> str:
        courses = sorted({r.course.title for r in self.results})
        head = f"Checking {self.source} ({' and '.join(courses)} conventions)"
        wrong = [r.name for r in self.results if not r.ok]
        tail = f"{len(self.results)} function{'s' * (len(self.results) != 1)} checked: "
        if not wrong:
            tail += "all right."
        elif len(wrong) == 1:
            tail += f"{len(self.results) - 1} right, 1 wrong: {wrong[0]}."
        else:
            tail += (f"{len(self.results) - len(wrong)} right, {len(wrong)} wrong. Start with "
                     f"{wrong[0]}: the functions are listed in the order they build on each "
                     "other, and a later one may only inherit an earlier one's mistake.")
        return "\n\n".join([head, *map(str, self.results), "\n".join(wrap(tail, indent=""))])


def wrap(text: str, width: int = 88, indent: str = "  ") -> list[str]:
    """``text`` in lines of at most ``width`` (where it can), never breaking inside `code`."""
    lines, line = [], ""
    for word in re.findall(r"[^\s`]*`[^`]*`\S*|\S+", text):
        if line and len(indent) + len(line) + 1 + len(word) > width:
            lines.append(indent + line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + [indent + line] if line else lines


# --- one case: the arguments, the truth, the known mistakes -----------------------------------

@dataclass
class Variant:
    """What one known mistake produces, computed from the truth: outputs it changes."""

    diagnosis: str
    outputs: dict[str, np.ndarray]
    message: str


@dataclass
class Case:
    """One call of a learner's function and what the engine says it must return."""

    args: tuple
    argnames: tuple[str, ...]
    truth: dict[str, np.ndarray]  # output name -> the engine's result, in backward order
    read: Callable[[Any], dict[str, Any]]
    formulas: dict[str, str]
    upstream: int | None = None  # the argument that is the upstream gradient
    kinks: dict[float, dict[str, np.ndarray]] = field(default_factory=dict)  # s -> truth at s
    kink_words: str = ""  # e.g. "Z is exactly 0 ... relu'(0) = {s:g}"
    variants: list[Variant] = field(default_factory=list)
    where: str = ""
    batch: int = 1  # m (DLS) or N (CS231n): the sample count a 1/m belongs to


def positional(*names: str) -> Callable[[Any], dict[str, Any]]:
    """Read a return value of ``len(names)`` items (one name: the value itself)."""
    def read(ret: Any) -> dict[str, Any]:
        if len(names) == 1:
            return {names[0]: ret}
        if not isinstance(ret, tuple | list) or len(ret) != len(names):
            raise Unreadable(f"it returned {_kind(ret)}; the convention is a tuple "
                             f"({', '.join(names)})")
        return dict(zip(names, ret))
    return read


class Unreadable(Exception):
    """The return value does not have the convention's structure."""


def _kind(x: Any) -> str:
    if isinstance(x, tuple | list):
        return f"a {type(x).__name__} of {len(x)}"
    return "None" if x is None else f"a {type(x).__name__}"


def close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=1e-10))


def as_array(x: Any) -> np.ndarray | None:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return a


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(b, tuple | list):
        return (type(a) is type(b) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b)))
    if isinstance(b, dict):
        return isinstance(a, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in b)
    return a == b


def _change(name: str, after: Any, before: Any, ret: Any, out: str) -> str:
    """What changed in the argument ``name``, and how to avoid it."""
    if isinstance(before, tuple | list) and type(after) is type(before):
        if len(after) != len(before):
            return (f"{name} lost {len(before) - len(after)} of its {len(before)} entries "
                    f"(`{name}.pop()` removes them; read `{name}[l]` instead)")
        inner = next(i for i, (x, y) in enumerate(zip(after, before)) if not _same(x, y))
        return _change(f"{name}[{inner}]", after[inner], before[inner], ret, out)
    if isinstance(before, np.ndarray) and isinstance(after, np.ndarray):
        if after.shape != before.shape:
            return (f"{name}'s shape became {after.shape} (setting .shape reshapes the "
                    "caller's array; use `y = x.reshape(...)`)")
        if any(r is after for r in (ret if isinstance(ret, tuple | list) else (ret,))):
            return (f"the array you return is {name} itself (`{out} = {name}` gives it a second "
                    f"name, so writing into one writes into the other): start from a copy, "
                    f"`np.array({name}, copy=True)`")
        return (f"{name}'s values changed (an update in place such as `{name} -= ...` or "
                f"`{name}[...] = ...`; write `{name} = {name} - ...`, or work on a copy, "
                f"`np.array({name}, copy=True)`)")
    return f"{name} changed"


def call(fn: Callable, case: Case, scale: float | None = None) -> tuple[Any, list[str], Any]:
    """Call the learner's ``fn`` on copies: (return value, what it changed in place, error)."""
    args = list(copy.deepcopy(case.args))
    if scale is not None:
        args[case.upstream] = args[case.upstream] * scale
    with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
        try:
            ret = fn(*args)
        except Exception as e:  # the learner's code may raise anything
            return None, [], e
    out = next(iter(case.truth))
    changed = [] if scale is not None else [
        _change(n, a, b, ret, out) for n, a, b in zip(case.argnames, args, case.args)
        if not _same(a, b)]
    return ret, changed, None


# --- one output: which known mistake does it match? -------------------------------------------

@dataclass
class Verdict:
    output: str
    diagnosis: str
    message: str
    factor: float | None = None
    metric: float | None = None


def _metric(course: Course, theirs: np.ndarray, truth: np.ndarray) -> float | None:
    if theirs.shape != truth.shape:
        return None
    return (difference if course is DLS else rel_error)(theirs, truth)


def diagnose(out: str, got: Any, probe: Any, case: Case, course: Course) -> Verdict:
    """Name the mistake in the learner's ``got`` for the output ``out``."""
    truth, formula = case.truth[out], case.formulas[out]
    a = None if got is None else as_array(got)  # np.asarray(None, float) would be nan
    if a is None or a.dtype == object:
        return Verdict(out, "wrong-value", f"{out} is {_kind(got)}, not an array of numbers. "
                       f"The formula: {formula}.")
    if a.shape != truth.shape:
        return _shape_verdict(out, a, truth, formula)
    v = Verdict(out, "ok", "", metric=_metric(course, a, truth))
    if close(a, truth):
        return v
    v.diagnosis, v.message, v.factor = _mistake(out, a, as_array(probe), case, course)
    return v


def _shape_verdict(out: str, a: np.ndarray, truth: np.ndarray, formula: str) -> Verdict:
    if truth.ndim == 2 and a.shape == truth.T.shape and close(a, truth.T):
        return Verdict(out, "transpose", f"{out} is the transpose of the true gradient (shape "
                       f"{a.shape}, where {truth.shape} belongs): a gradient has the shape of its "
                       f"variable. Swap the two factors of the product and transpose each: "
                       f"{formula}.")
    said = f"{out} has shape {a.shape}; it must have the shape of its variable, {truth.shape}."
    if a.size == truth.size and close(a.reshape(truth.shape), truth):
        hint = ("keep the summed axis: `np.sum(..., axis=..., keepdims=True)`"
                if a.size == max(truth.shape, default=1) else
                f"reshape it, `.reshape{truth.shape}`")
        return Verdict(out, "shape", f"{said} The numbers are right, only the shape is not: "
                       f"{hint}.")
    return Verdict(out, "shape", f"{said} Write the shape under every factor of the formula "
                   f"and check that the product comes out that shape: {formula}.")


def _mistake(out: str, a: np.ndarray, probe: np.ndarray | None, case: Case,
             course: Course) -> tuple[str, str, float | None]:
    truth, formula = case.truth[out], case.formulas[out]
    if case.upstream is not None and probe is not None and not close(probe, 2.5 * a):
        return "no-chain-rule", _no_chain_rule(out, a, probe, case), None
    for variant in case.variants:
        if out in variant.outputs and close(a, variant.outputs[out]):
            return variant.diagnosis, variant.message, None
    if close(a, -truth):
        return "sign", (f"{out} is the true gradient negated: look for a subtraction written "
                        f"the other way round, or one minus sign too many. {formula}."), None
    if truth.ndim == 2 and truth.shape[0] == truth.shape[1] and close(a, truth.T):
        return "transpose", (f"{out} is the transpose of the true gradient: swap the two "
                             f"factors of the product and transpose each: {formula}."), None
    factor = _factor(a, truth, case.batch)
    if factor is not None:
        return "scale", _scale_words(out, factor, case, course), factor
    return "wrong-value", (f"{out} matches none of the usual mistakes; "
                           f"{_first_difference(a, truth)}. Compare your line with the "
                           f"formula: {formula}."), None


def _no_chain_rule(out: str, a: np.ndarray, probe: np.ndarray, case: Case) -> str:
    up = case.argnames[case.upstream]
    same = np.isclose(probe, a, rtol=1e-9, atol=0) & (a != 0)
    if same.all() or (same | (a == 0)).all():
        return (f"{out} does not depend on {up} at all: it is the local derivative alone. The "
                f"chain rule multiplies what arrives ({up}) by it: {formula_of(out, case)}.")
    return (f"{out} does not scale with {up} (it should: twice {up}, twice {out}): in {same.sum()} "
            f"of its {a.size} entries it stays the same whatever {up} is, so those values are "
            f"set, not multiplied. The chain rule: {formula_of(out, case)}.")


def formula_of(out: str, case: Case) -> str:
    return case.formulas[out]


def _factor(a: np.ndarray, truth: np.ndarray, batch: int) -> float | None:
    big = np.abs(truth) > 1e-12 * max(1.0, float(np.max(np.abs(truth), initial=0.0)))
    if not big.any() or not np.allclose(a[~big], 0.0, atol=1e-10):
        return None
    ratios = a[big] / truth[big]
    f = float(np.median(ratios))
    if f == 0 or abs(f - 1) < 1e-9 or not np.allclose(ratios, f, rtol=1e-6):
        return None
    if big.sum() == 1 and not np.isclose(abs(f), (batch, 1 / batch, 2, 0.5)).any():
        return None  # one number is a multiple of any other: only a telling factor counts
    return f


def _scale_words(out: str, f: float, case: Case, course: Course) -> str:
    m, letter = case.batch, "m" if course is DLS else "N"
    said = f"{out} is {_ratio(f)} the true one"
    if np.isclose(f, m):
        why = f"the 1/{letter} (the average over the {m} samples) is missing"
    elif np.isclose(f, 1 / m):
        why = f"1/{letter} is applied twice, or where it does not belong"
    elif np.isclose(abs(f), 2) or np.isclose(abs(f), 0.5):
        why = "a factor 2 too many or too few (the ½ of a square, or a sum counted twice)"
    else:
        why = "a constant factor is off"
    neg = " and has the wrong sign" if f < 0 else ""
    return f"{said}{neg}: {why}. {case.formulas[out]}."


def _ratio(f: float) -> str:
    return f"{f:g} times" if abs(f) >= 1 else f"1/{1 / f:g} of"


def _first_difference(a: np.ndarray, truth: np.ndarray) -> str:
    bad = np.argwhere(~np.isclose(a, truth, rtol=1e-6, atol=1e-10))
    idx = tuple(int(i) for i in bad[0]) if a.ndim else ()
    at = f" at {idx if len(idx) != 1 else idx[0]}" if idx else ""
    return f"{len(bad)} of {a.size} entries differ (first{at}: yours {a[idx]:.4g}, " \
           f"the engine's {truth[idx]:.4g})"


# --- one function: call it, judge every output, name the first mistake ------------------------

SHAPE_ERRORS = ("shape", "broadcast", "align", "mismatch", "dimension")


def judge(name: str, fn: Callable, case: Case, course: Course) -> Result:
    """The verdict on one call of the learner's ``fn``."""
    result = Result(name, False, "wrong-value", None, None, "", course, case.where)
    ret, changed, error = call(fn, case)
    if error is not None:
        return _raised(result, error, case)
    try:
        got = case.read(ret)
        probe = case.read(call(fn, case, 2.5)[0]) if case.upstream is not None else {}
    except Unreadable as e:
        result.message = f"{e}."
        return result
    missing = [out for out in case.truth if out not in got]
    if missing:
        result.message = f"it returned no {', '.join(missing)}."
        return result
    verdicts = [diagnose(out, got[out], probe.get(out), case, course) for out in case.truth]
    wrong = [v for v in verdicts if v.diagnosis != "ok"]
    if wrong and (s := _kink_choice(got, case)) is not None:
        result.diagnosis, result.message = "kink-only", case.kink_words.format(s=s)
        result.output, result.metric = wrong[0].output, wrong[0].metric
    elif wrong:
        first = wrong[0]
        result.diagnosis, result.output, result.factor = first.diagnosis, first.output, first.factor
        result.metric, result.message = first.metric, first.message
        result.also_wrong = [(v.output, v.diagnosis) for v in wrong[1:]]
        if result.also_wrong:
            result.message += _also_wrong(result.also_wrong, first.diagnosis)
        if changed:
            result.message += f" It also changes its arguments in place: {'; '.join(changed)}."
        return result
    else:
        result.diagnosis, result.output = "ok", None
        result.metric = max((v.metric for v in verdicts if v.metric is not None), default=None)
        result.message = (f"Right: {_names(list(case.truth))} "
                          f"match{'es' * (len(case.truth) == 1)} the engine's gradient.")
    result.ok = not changed
    if changed:
        result.diagnosis = "mutates-input"
        result.message = ("The values are right, but it changes in place an argument the "
                          f"caller still needs: {'; '.join(changed)}.")
    return result


def _also_wrong(others: list[tuple[str, str]], first: str) -> str:
    if all(d == first for _, d in others):
        return f" Also wrong, the same way: {_names([o for o, _ in others])}."
    return " Also wrong: " + ", ".join(f"{o} ({d})" for o, d in others) + "."


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _kink_choice(got: dict[str, Any], case: Case) -> float | None:
    """The other subgradient whose truth the learner's outputs all match, if any."""
    for s, truth in case.kinks.items():
        arrays = {out: as_array(got[out]) for out in truth}
        if all(a is not None and a.dtype != object and close(a, truth[out])
               for out, a in arrays.items()):
            return s
    return None


def _raised(result: Result, error: Exception, case: Case) -> Result:
    text = " ".join(str(error).split())[:200]
    shapes = ", ".join(_shape_words(n, a) for n, a in zip(case.argnames, case.args))
    said = f"It raised {type(error).__name__}: {text}."
    if isinstance(error, ValueError) and any(w in text.lower() for w in SHAPE_ERRORS):
        result.diagnosis = "shape"
        result.message = (f"{said} NumPy could not combine two shapes. The arguments were "
                          f"{shapes}. Write the shape under every factor of each formula, and "
                          "check that each product comes out the shape of its variable: "
                          f"{'; '.join(case.formulas.values())}.")
    else:
        result.message = f"{said} The arguments were {shapes}."
    return result


def _shape_words(name: str, x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"{name} {x.shape}"
    if isinstance(x, tuple | list):
        return f"{name} ({', '.join(_shape_words('', y).strip() for y in x)})"
    return f"{name} {x!r}"


# --- the test data: small, exact (multiples of 1/4), with planted zeros ------------------------

def quarters(rng: np.random.Generator, shape: tuple[int, ...], top: int = 8,
             nonzero: bool = False) -> np.ndarray:
    """Random multiples of 1/4 in [−top/4, top/4]: every product and sum below stays exact."""
    x = rng.integers(-top, top + 1, size=shape) / 4
    if nonzero:
        x[x == 0] = 0.25 * rng.choice([-1, 1], size=int((x == 0).sum()))
    return x


def plant_zeros(x: np.ndarray, count: int = 3) -> np.ndarray:
    """``x`` with exact zeros at ``count`` fixed, spread-out positions."""
    x = x.copy()
    x.flat[np.linspace(1, x.size - 2, count).astype(int)] = 0.0
    return x


def through(f: Callable[[Value], Value], x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The engine's backward of ``f`` at ``x`` with upstream gradient ``g``: d(out)/dx · g."""
    v = Value(x.copy())
    f(v).backward(g)
    return np.asarray(v.grad)


# --- DLS course 1 week 4: the activations -----------------------------------------------------

def _words(course: Course) -> tuple[str, str, str]:
    return ("dA", "Z", "dZ") if course is DLS else ("dout", "x", "dx")


def relu_kink_words(x: str) -> str:
    return (f"Right, except where {x} is exactly 0 (the test data plants such zeros): there you "
            f"use relu'(0) = {{s:g}} (as `{x} >= 0` does), where PyTorch and the course use "
            f"relu'(0) = 0 (`{x} > 0`). Both are valid subgradients of ReLU at its kink, so this "
            f"counts as right; with real data {x} is almost never exactly 0 and training does "
            "not change.")


def relu_cases(course: Course) -> list[Case]:
    rng = np.random.default_rng(140)
    up, x, out = _words(course)
    shape = (3, 5) if course is DLS else (4, 3)
    Z, dA = plant_zeros(quarters(rng, shape)), quarters(rng, shape, nonzero=True)
    activation, test = (("the output A = relu(Z)", "A") if course is DLS else
                        ("relu's output", "out"))
    blind = Variant("wrong-variable", {out: dA.copy()},
                    f"{out} equals {up} everywhere, as if there were no ReLU: the derivative "
                    f"was taken at {activation}, which is never negative, so a test like "
                    f"`{test} >= 0` is true for every entry. ReLU's derivative is a function of "
                    f"its input: {out} = {up} · 1[{x} > 0].")
    return [Case(
        (dA, Z), (up, "cache"), {out: through(Value.relu, Z, dA)}, positional(out),
        {out: f"{out} = {up} · 1[{x} > 0] (`{out} = np.array({up}, copy=True); "
              f"{out}[{x} <= 0] = 0`)"},
        upstream=0, variants=[blind], batch=shape[0],
        kinks={1.0: {out: through(lambda v: v.relu(subgradient=1.0), Z, dA)}},
        kink_words=relu_kink_words(x))]


def sigmoid_cases(course: Course) -> list[Case]:
    rng = np.random.default_rng(141)
    Z, dA = quarters(rng, (3, 5)), quarters(rng, (3, 5), nonzero=True)
    at_z = Variant("wrong-variable", {"dZ": dA * Z * (1 - Z)},
                   "Z · (1 − Z) is sigmoid's derivative written with Z where it needs the "
                   "output s = sigmoid(Z): σ'(Z) = s · (1 − s). The cache holds Z, not A: "
                   "compute `s = 1 / (1 + np.exp(-Z))` first, then dZ = dA · s · (1 − s).")
    return [Case((dA, Z), ("dA", "cache"), {"dZ": through(Value.sigmoid, Z, dA)},
                 positional("dZ"), {"dZ": "dZ = dA · s · (1 − s) with `s = 1 / (1 + np.exp(-Z))`"},
                 upstream=0, variants=[at_z], batch=5)]


def leaky_relu_cases(course: Course) -> list[Case]:
    rng = np.random.default_rng(142)
    Z, dA = plant_zeros(quarters(rng, (3, 5))), quarters(rng, (3, 5), nonzero=True)
    return [Case(
        (dA, Z), ("dA", "cache"), {"dZ": through(Value.leaky_relu, Z, dA)}, positional("dZ"),
        {"dZ": "dZ = dA · (1 if Z > 0 else 0.01): `dZ = np.array(dA, copy=True); "
               "dZ[Z <= 0] *= 0.01` (multiply, not set)"},
        upstream=0, batch=5,
        kinks={1.0: {"dZ": through(lambda v: v.leaky_relu(0.01, subgradient=1.0), Z, dA)}},
        kink_words="Right, except where Z is exactly 0 (the test data plants such zeros): there "
                   "you use leaky_relu'(0) = {s:g} (as a test `Z < 0` does), where PyTorch uses "
                   "the slope, 0.01 (`Z <= 0`). Both lie in [0.01, 1], the subgradients at the "
                   "kink, so this counts as right.")]


# --- DLS course 1 week 4: the linear part and the whole model ---------------------------------

LINEAR_FORMULAS = {
    "dA_prev": "dA_prev = Wᵀ · dZ (`np.dot(W.T, dZ)`; no 1/m here: dA_prev is dL/dA_prev, "
               "per sample)",
    "dW": "dW = (1/m) · dZ · A_prevᵀ (`np.dot(dZ, A_prev.T) / m`)",
    "db": "db = (1/m) · Σ dZ over the samples (`np.sum(dZ, axis=1, keepdims=True) / m`)",
}


def plant_layer(rng: np.random.Generator, A_prev: np.ndarray, n: int,
                at: tuple[tuple[int, int], ...], top: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """W, b of a layer on ``A_prev`` whose Z = W·A_prev + b is exactly 0 at the ``at`` (i, j)."""
    W, b = quarters(rng, (n, A_prev.shape[0]), top), quarters(rng, (n, 1), top)
    for i, j in at:
        b[i, 0] = -(W[i] @ A_prev[:, j])
    return W, b


def linear_truth(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, g: np.ndarray,
                 activation: str | None = None, s: float = 0.0) -> dict[str, np.ndarray]:
    """The engine: Z = W·A_prev + b, A = activation(Z), backward with dL/dA = g; dW, db of J."""
    A, Wv, bv = Value(A_prev), Value(W), Value(b)
    with relu_subgradient(s):
        Z = Wv @ A + bv
        out = Z if activation is None else getattr(Z, activation)()
    out.backward(g)
    m = A_prev.shape[1]
    return {"dA_prev": np.asarray(A.grad), "dW": np.asarray(Wv.grad) / m,
            "db": np.asarray(bv.grad) / m}


def linear_cases(course: Course) -> list[Case]:
    rng = np.random.default_rng(143)
    A_prev = quarters(rng, (4, 5))
    W, b = plant_layer(rng, A_prev, 3, ())
    dZ = quarters(rng, (3, 5), nonzero=True)
    return [Case((dZ, (A_prev, W, b)), ("dZ", "cache"), linear_truth(A_prev, W, b, dZ),
                 positional("dA_prev", "dW", "db"), LINEAR_FORMULAS, upstream=0, batch=5)]


def linear_activation_cases(course: Course) -> list[Case]:
    rng = np.random.default_rng(144)
    A_prev = quarters(rng, (4, 5))
    W, b = plant_layer(rng, A_prev, 3, ((0, 1), (1, 3), (2, 0)))
    Z, dA = W @ A_prev + b, quarters(rng, (3, 5), nonzero=True)
    args, names = (lambda act: (dA, ((A_prev, W, b), Z), act)), ("dA", "cache", "activation")
    read = positional("dA_prev", "dW", "db")
    relu_f = dict(LINEAR_FORMULAS)
    relu_f["dA_prev"] += ", with dZ = dA · 1[Z > 0] (relu_backward(dA, activation_cache))"
    sig_f = dict(LINEAR_FORMULAS)
    sig_f["dA_prev"] += ", with dZ = dA · s · (1 − s), s = sigmoid(Z) (sigmoid_backward)"
    blind = Variant("wrong-variable", linear_truth(A_prev, W, b, dA),
                    "The ReLU step let dA through unchanged, as if there were no ReLU: its "
                    "derivative was taken at the output A, which is never negative, or not at "
                    "all. dZ = relu_backward(dA, activation_cache) = dA · 1[Z > 0], then the "
                    "linear step on dZ.")
    at_z = Variant("wrong-variable", linear_truth(A_prev, W, b, dA * Z * (1 - Z)),
                   "The sigmoid step used Z · (1 − Z), the derivative written with Z where it "
                   "needs s = sigmoid(Z): dZ = dA · s · (1 − s).")
    relu = Case(args("relu"), names, linear_truth(A_prev, W, b, dA, "relu"), read, relu_f,
                upstream=0, variants=[blind], where="activation='relu'", batch=5,
                kinks={1.0: linear_truth(A_prev, W, b, dA, "relu", s=1.0)},
                kink_words=relu_kink_words("Z"))
    sigmoid = Case(args("sigmoid"), names, linear_truth(A_prev, W, b, dA, "sigmoid"), read,
                   sig_f, upstream=0, variants=[at_z], where="activation='sigmoid'", batch=5)
    return [relu, sigmoid]


LAYERS = (4, 3, 2, 1)  # L_model_backward's network: two ReLU layers, a sigmoid output


def model_data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, list]:
    """X, Y and the parameters [(W1, b1), ...] with planted zeros in Z1 and Z2."""
    X = quarters(rng, (LAYERS[0], 5))
    Y = np.array([[1.0, 0.0, 0.0, 1.0, 1.0]])
    params, A = [], X
    for n, at in zip(LAYERS[1:], (((0, 1), (2, 4)), ((1, 2),), ())):
        W, b = plant_layer(rng, A, n, at, top=4 if at else 1)  # the output: AL not near 0 or 1
        params.append((W, b))
        Z = W @ A + b
        A = np.maximum(Z, 0)
    return X, Y, params


def model_truth(X: np.ndarray, Y: np.ndarray, params: list, s: float = 0.0,
                dAL: np.ndarray | None = None) -> dict:
    """The engine on the whole network and the cost J = (1/m) Σ cross-entropy: the grads.

    With ``dAL``, what the grads would be if dL/dAL were that (a known mistake's result).
    """
    m, L = X.shape[1], len(params)
    A = Value(X)
    activations, leaves = [A], []
    with relu_subgradient(s):
        for layer, (W, b) in enumerate(params, 1):
            Wv, bv = Value(W), Value(b)
            leaves.append((Wv, bv))
            Z = Wv @ A + bv
            A = Z.relu() if layer < L else Z.sigmoid()
            activations.append(A)
    if dAL is None:
        J = (-(Y * A.log() + (1 - Y) * (1 - A).log())).sum() / m
        J.backward()
    else:
        A.backward(dAL / m)
    truth = {}
    for layer in range(L, 0, -1):  # backward order: nearest the loss first
        truth[f"dA{layer - 1}"] = m * np.asarray(activations[layer - 1].grad)  # dL/dA, per sample
        truth[f"dW{layer}"] = np.asarray(leaves[layer - 1][0].grad)
        truth[f"db{layer}"] = np.asarray(leaves[layer - 1][1].grad)
    return truth


def model_caches(X: np.ndarray, params: list) -> tuple[np.ndarray, list]:
    """AL and the notebook's caches [((A_prev, W, b), Z), ...] of the forward pass."""
    caches, A = [], X
    for layer, (W, b) in enumerate(params, 1):
        Z = W @ A + b
        caches.append(((A, W, b), Z))
        A = np.maximum(Z, 0) if layer < len(params) else 1 / (1 + np.exp(-Z))
    return A, caches


def read_grads(L: int) -> Callable[[Any], dict[str, Any]]:
    """The grads dict in either of the notebook's key schemes: dA{l-1} or the older dA{l}."""
    def read(ret: Any) -> dict[str, Any]:
        if not isinstance(ret, dict):
            raise Unreadable(f"it returned {_kind(ret)}; the convention is the dict grads")
        if "dA0" in ret:
            return dict(ret)
        if f"dA{L}" in ret:  # the older notebook: grads["dA" + str(l)] holds dA of layer l-1
            shifted = {f"dA{layer - 1}": ret.get(f"dA{layer}") for layer in range(1, L + 1)}
            return {**{k: v for k, v in ret.items() if not k.startswith("dA")}, **shifted}
        raise Unreadable(f"its grads has the keys {', '.join(sorted(map(str, ret)))}; the "
                         f"convention is dA0 … dA{L - 1} (or the older notebook's dA1 … dA{L}), "
                         f"dW1 … dW{L} and db1 … db{L}")
    return read


def model_formulas(L: int) -> dict[str, str]:
    f = {f"dA{L - 1}": f"dA{L - 1} = W{L}ᵀ · dZ{L}, with dZ{L} = dAL · σ'(Z{L}) and dAL = "
                       "−(Y/AL − (1 − Y)/(1 − AL)), the derivative of the loss with respect to "
                       "AL (not the derivative of the activation)"}
    for layer in range(L, 0, -1):
        if layer < L:
            f[f"dA{layer - 1}"] = (f"dA{layer - 1} = W{layer}ᵀ · dZ{layer}, with dZ{layer} = "
                                   f"dA{layer} · 1[Z{layer} > 0]")
        f[f"dW{layer}"] = f"dW{layer} = (1/m) · dZ{layer} · A{layer - 1}ᵀ"
        f[f"db{layer}"] = f"db{layer} = (1/m) · Σ dZ{layer} over the samples (keepdims=True)"
    return f


def model_cases(course: Course) -> list[Case]:
    X, Y, params = model_data(np.random.default_rng(145))
    AL, caches = model_caches(X, params)
    L = len(params)
    seed001 = Variant("wrong-value", model_truth(X, Y, params, dAL=AL * (1 - AL)),
                      "Your dAL is AL · (1 − AL), the derivative of the sigmoid activation; dAL "
                      "is the derivative of the loss with respect to AL: dAL = −(Y/AL − (1 − Y)/"
                      "(1 − AL)). The activation's derivative enters one step later, in "
                      "sigmoid_backward.")
    return [Case((AL, Y, caches), ("AL", "Y", "caches"), model_truth(X, Y, params),
                 read_grads(L), model_formulas(L), batch=X.shape[1], variants=[seed001],
                 kinks={1.0: model_truth(X, Y, params, s=1.0)},
                 kink_words=relu_kink_words("Z"))]


# --- CS231n: layers.py and layer_utils.py -----------------------------------------------------

AFFINE_FORMULAS = {
    "dx": "dx = dout · wᵀ, reshaped to x's shape (`dout.dot(w.T).reshape(x.shape)`)",
    "dw": "dw = x_rowsᵀ · dout with `x_rows = x.reshape(N, -1)`, the samples as rows",
    "db": "db = Σ dout over the samples (`np.sum(dout, axis=0)`)",
}


def affine_truth(x: np.ndarray, w: np.ndarray, b: np.ndarray, dout: np.ndarray,
                 s: float | None = None) -> dict[str, np.ndarray]:
    """The engine: out = x.reshape(N, D) · w + b (then relu, with relu'(0) = s), backward dout."""
    xv, wv, bv = Value(x), Value(w), Value(b)
    out = xv.reshape(x.shape[0], w.shape[0]) @ wv + bv
    if s is not None:
        out = out.relu(subgradient=s)
    out.backward(dout)
    return {"dx": np.asarray(xv.grad), "dw": np.asarray(wv.grad), "db": np.asarray(bv.grad)}


def affine_data(rng: np.random.Generator, plant: bool) -> tuple[np.ndarray, ...]:
    x = quarters(rng, (4, 2, 3))  # (N, d1, d2): the assignment's x has more than two axes
    w, b = quarters(rng, (6, 5), top=4), quarters(rng, (5,), top=4)
    rows = x.reshape(4, 6)
    for i, j in ((0, 1), (2, 3), (3, 0)) if plant else ():
        b[j] = -(rows[i] @ w[:, j])
    return x, w, b, quarters(rng, (4, 5), nonzero=True)


def affine_cases(course: Course) -> list[Case]:
    x, w, b, dout = affine_data(np.random.default_rng(146), plant=False)
    return [Case((dout, (x, w, b)), ("dout", "cache"), affine_truth(x, w, b, dout),
                 positional("dx", "dw", "db"), AFFINE_FORMULAS, upstream=0, batch=4)]


def affine_relu_cases(course: Course) -> list[Case]:
    x, w, b, dout = affine_data(np.random.default_rng(147), plant=True)
    a = x.reshape(4, 6) @ w + b
    formulas = dict(AFFINE_FORMULAS)
    formulas["dx"] += ", after da = relu_backward(dout, relu_cache) = dout · 1[a > 0]"
    blind = Variant("wrong-variable", affine_truth(x, w, b, dout),
                    "The ReLU step let dout through unchanged, as if there were no ReLU (its "
                    "derivative taken at its output, which is never negative, or not at all): "
                    "da = relu_backward(dout, relu_cache), then affine_backward(da, fc_cache).")
    return [Case((dout, ((x, w, b), a)), ("dout", "cache"), affine_truth(x, w, b, dout, 0.0),
                 positional("dx", "dw", "db"), formulas, upstream=0, variants=[blind], batch=4,
                 kinks={1.0: affine_truth(x, w, b, dout, 1.0)},
                 kink_words=relu_kink_words("a"))]


def softmax_cases(course: Course) -> list[Case]:
    rng = np.random.default_rng(148)
    x, y = quarters(rng, (5, 4)), np.array([0, 3, 1, 1, 2])
    X = Value(x)
    loss = cross_entropy(X, y)
    loss.backward()
    formulas = {"loss": "loss = −(1/N) Σ_i log p[i, y_i] with p = softmax(x), row by row",
                "dx": "dx = (p − onehot(y)) / N: `dx = p.copy(); dx[np.arange(N), y] -= 1; "
                      "dx /= N`"}
    return [Case((x, y), ("x", "y"), {"loss": np.asarray(loss.data), "dx": np.asarray(X.grad)},
                 positional("loss", "dx"), formulas, batch=5)]


def hinge_truth(x: np.ndarray, y: np.ndarray, s: float) -> dict[str, np.ndarray]:
    """The engine: loss = (1/N) Σ_i Σ_{j≠y_i} max(0, x_ij − x_iy + 1), with max'(0) = s."""
    N, C = x.shape
    X = Value(x)
    correct = X[np.arange(N), y].reshape(N, 1)
    others = 1.0 - np.eye(C)[y]
    loss = ((X - correct + 1.0).relu(subgradient=s) * others).sum() / N
    loss.backward()
    return {"loss": np.asarray(loss.data), "dx": np.asarray(X.grad)}


def svm_cases(course: Course) -> list[Case]:
    rng = np.random.default_rng(149)
    x, y = quarters(rng, (5, 4)), np.array([2, 0, 3, 1, 1])
    for i in (0, 2, 3):  # planted: margins exactly 0
        x[i, (y[i] + 1) % 4] = x[i, y[i]] - 1
    formulas = {"loss": "loss = (1/N) Σ_i Σ_{j≠y_i} max(0, x[i, j] − x[i, y_i] + 1)",
                "dx": "dx[i, j] = 1[margin_ij > 0] for j ≠ y_i and dx[i, y_i] = −(the number of "
                      "positive margins in row i), all divided by N"}
    return [Case((x, y), ("x", "y"), hinge_truth(x, y, 0.0), positional("loss", "dx"), formulas,
                 batch=5, kinks={1.0: hinge_truth(x, y, 1.0)},
                 kink_words="Right, except where a margin is exactly 0 (x[i, j] − x[i, y_i] + 1 = "
                            "0, planted in the test data): there you count the margin as active "
                            "(subgradient {s:g}, as `margins >= 0` on the unclipped margins "
                            "does), where the course's solution and PyTorch's hinge loss use 0 "
                            "(`margins > 0`). Both are valid subgradients of max(0, ·) at 0, so "
                            "this counts as right.")]


# --- recognising the functions, loading the source --------------------------------------------

CHECKS: tuple[tuple[str, Course | None, Callable[[Course], list[Case]]], ...] = (
    # in the order a learner should fix them: the building blocks before what calls them
    ("sigmoid_backward", DLS, sigmoid_cases),
    ("relu_backward", None, relu_cases),  # both courses: the file tells which
    ("leaky_relu_backward", DLS, leaky_relu_cases),
    ("linear_backward", DLS, linear_cases),
    ("linear_activation_backward", DLS, linear_activation_cases),
    ("L_model_backward", DLS, model_cases),
    ("affine_backward", CS231N, affine_cases),
    ("affine_relu_backward", CS231N, affine_relu_cases),
    ("softmax_loss", CS231N, softmax_cases),
    ("svm_loss", CS231N, svm_cases),
)
CS231N_NAMES = {"affine_forward", "affine_backward", "affine_relu_forward", "affine_relu_backward",
                "relu_forward", "softmax_loss", "svm_loss", "conv_forward_naive",
                "conv_backward_naive", "max_pool_forward_naive", "batchnorm_forward"}


def relu_course(namespace: dict[str, Any], fn: Callable) -> Course:
    """relu_backward is in both courses: CS231n's is ``(dout, cache)`` or sits among CS231n's."""
    try:
        first = next(iter(inspect.signature(fn).parameters), "")
    except (TypeError, ValueError):
        first = ""
    if first in ("dout", "dA"):
        return CS231N if first == "dout" else DLS
    return CS231N if CS231N_NAMES & namespace.keys() else DLS


def load(source: Any) -> tuple[dict[str, Any], str]:
    """The namespace of ``source`` (a path, a module or a dict) and how to name it."""
    if isinstance(source, dict):
        return source, str(source.get("__file__") or source.get("__name__") or "globals()")
    if isinstance(source, types.ModuleType):
        return vars(source), source.__name__
    path = Path(source)
    if path.suffix != ".py" or not path.is_file():
        raise CheckError(f"{path}: no such Python file")
    code = path.read_text(encoding="utf-8", errors="replace")
    namespace: dict[str, Any] = {"__name__": "__autograd_lite_check__", "__file__": str(path)}
    try:
        compiled = compile(code, str(path), "exec")
        sys.path.insert(0, str(path.resolve().parent))  # its own helper modules, as python FILE
        try:
            with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
                exec(compiled, namespace)  # the learner's own file, as `python FILE` runs it
        finally:
            sys.path.remove(str(path.resolve().parent))
    except SyntaxError as e:
        raise CheckError(f"{path} cannot be loaded: SyntaxError at line {e.lineno}: "
                         f"{e.msg}") from None
    except (Exception, SystemExit) as e:
        detail = " ".join(str(e).split())
        raise CheckError(f"{path} cannot be loaded: it raised {type(e).__name__}"
                         f"{': ' + detail if detail else ''}") from None
    return namespace, str(path)


def check(source: Any) -> Report:
    """Check a learner's hand-written backward functions against the engine.

    ``source`` is a path to a ``.py`` file, a module, or a dict such as ``globals()``. The
    functions are recognised by name (the conventions of the Deep Learning Specialization,
    course 1 week 4, and of CS231n) and called unchanged on small random data with exact
    zeros planted in the pre-activations. Raises :class:`CheckError` when the file cannot be
    loaded or holds no recognised function.

    >>> import numpy as np, autograd_lite as ag
    >>> def relu_backward(dA, cache):
    ...     dZ = np.array(dA, copy=True)
    ...     dZ[cache <= 0] = 0
    ...     return dZ
    >>> report = ag.check({"relu_backward": relu_backward})
    >>> report.ok, report.results[0].diagnosis
    (True, 'ok')
    """
    namespace, label = load(source)
    results = []
    for name, course, build in CHECKS:
        fn = namespace.get(name)
        if callable(fn):
            course = course or relu_course(namespace, fn)
            results.append(_check_function(name, fn, build(course), course))
    if not results:
        raise CheckError(f"{label}: no function that check recognises (it knows "
                         f"{', '.join(name for name, _, _ in CHECKS)})")
    return Report(label, results)


def _check_function(name: str, fn: Callable, cases: list[Case], course: Course) -> Result:
    results = [judge(name, fn, case, course) for case in cases]
    chosen = next((r for r in results if not r.ok), None) or next(
        (r for r in results if r.diagnosis == "kink-only"), results[0])
    if chosen.ok:  # right in every case: say which were tried
        chosen.where = ", ".join(r.where for r in results if r.where)
    return chosen
