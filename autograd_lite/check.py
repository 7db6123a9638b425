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
import io
import os
import re
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .courses import CHECKS, DLS, REQUIRES, Case, Course, Unreadable, kind, relu_course

DIAGNOSES = ("ok", "kink-only", "no-chain-rule", "wrong-variable", "scale", "sign",
             "transpose", "shape", "mutates-input", "wrong-value")
RIGHT = ("ok", "kink-only")


class CheckError(Exception):
    """The source cannot be loaded, or holds no function that check recognises."""


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
    ``also_wrong`` lists the other wrong outputs with their diagnoses; ``where`` says which
    call the verdict is about when there are several (``activation='relu'``); ``metric`` is
    the course's ``difference`` (DLS) or ``rel_error`` (CS231n) of ``output`` against the truth.
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
    skipped: list[str] = field(default_factory=list)  # recognised, but cannot be checked

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
        if self.skipped:
            tail += f" Not checked: {'; '.join(self.skipped)}."
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
        return Verdict(out, "wrong-value", f"{out} is {kind(got)}, not an array of numbers. "
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
                f"chain rule multiplies what arrives ({up}) by it: {case.formulas[out]}.")
    return (f"{out} does not scale with {up} (it should: twice {up}, twice {out}): in {same.sum()} "
            f"of its {a.size} entries it stays the same whatever {up} is, so those values are "
            f"set, not multiplied. The chain rule: {case.formulas[out]}.")


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
    f = abs(f)  # the sign is said apart
    return f"{f:g} times" if f >= 1 else f"1/{1 / f:g} of"


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
    result = Result(name, False, "wrong-value", None, None, case.problem, course, case.where)
    if case.problem:
        return result
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
            result.message += _also_wrong(wrong[1:], first)
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


def _also_wrong(others: list[Verdict], first: Verdict) -> str:
    if first.diagnosis != "wrong-value" and all(
            (v.diagnosis, v.factor) == (first.diagnosis, first.factor) for v in others):
        return f" Also wrong, the same way: {_names([v.output for v in others])}."
    return " Also wrong: " + ", ".join(
        f"{v.output} ({v.diagnosis}{f' ×{v.factor:g}' if v.factor else ''})" for v in others) + "."


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


# --- loading the source, and the verdicts on all its functions --------------------------------

Source = str | os.PathLike | types.ModuleType | dict[str, Any]


@contextlib.contextmanager
def _own_folder_importable(folder: Path) -> Iterator[None]:
    """The file's folder on sys.path (its helper modules, as ``python FILE`` finds them), and
    those helpers forgotten afterwards, so that the next check sees their edits."""
    before = set(sys.modules)
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        for name in set(sys.modules) - before:
            where = getattr(sys.modules[name], "__file__", None) or ""
            if Path(where).resolve().parent == folder:
                del sys.modules[name]


def load(source: Source) -> tuple[dict[str, Any], str]:
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
        with _own_folder_importable(path.resolve().parent):
            with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
                exec(compiled, namespace)  # the learner's own file, as `python FILE` runs it
    except SyntaxError as e:
        raise CheckError(f"{path} cannot be loaded: SyntaxError at line {e.lineno}: "
                         f"{e.msg}") from None
    except (Exception, SystemExit) as e:
        detail = " ".join(str(e).split())
        line = next((f" at line {t.tb_lineno}" for t in _frames(e.__traceback__)
                     if t.tb_frame.f_code.co_filename == str(path)), "")
        raise CheckError(f"{path} cannot be loaded: it raised {type(e).__name__}{line}"
                         f"{': ' + detail if detail else ''} (code under `if __name__ == "
                         "\"__main__\":` is not run by check)") from None
    return namespace, str(path)


def _frames(tb: types.TracebackType | None) -> list[types.TracebackType]:
    frames = []
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    return frames[::-1]  # the innermost first: the line of the learner's file nearest the error


def check(source: Source) -> Report:
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
    results, skipped = [], []
    for name, course, build in CHECKS:
        fn = namespace.get(name)
        if not callable(fn):
            continue
        if name in REQUIRES and not callable(namespace.get(REQUIRES[name])):
            skipped.append(f"{name} (it needs {REQUIRES[name]} in the same file, for its cache)")
            continue
        course = course or relu_course(namespace, fn)
        results.append(_check_function(name, fn, build(course, namespace), course))
    if not results:
        raise CheckError(f"{label}: no function that check recognises (it knows "
                         f"{', '.join(name for name, _, _ in CHECKS)})"
                         + (f"; not checked: {'; '.join(skipped)}" if skipped else ""))
    return Report(label, results, skipped)


def _check_function(name: str, fn: Callable, cases: list[Case], course: Course) -> Result:
    results = [judge(name, fn, case, course) for case in cases]
    chosen = next((r for r in results if not r.ok), None) or next(
        (r for r in results if r.diagnosis == "kink-only"), results[0])
    if chosen.ok:  # right in every case: say which were tried
        chosen.where = ", ".join(r.where for r in results if r.where)
    return chosen
