"""Formulas for the command line, parsed safely: Python's ``ast`` and a whitelist, never ``eval``.

A formula may use numbers, names (bound to numbers by the caller), ``+ - * / **``, unary
minus and plus, parentheses, and calls of the functions in :data:`FUNCTIONS` with
positional arguments. Everything else -- attributes, subscripts, keywords, lambdas,
comprehensions, comparisons, strings, other operators -- is refused with an
:class:`ExprError` before anything is computed. Names are looked up only in the bindings
given and functions only in :data:`FUNCTIONS`; no Python namespace is ever consulted.

Evaluation builds the graph of ``Value`` s: each name a leaf labelled with the name, each
number a constant, each operator and function a recorded op.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .value import Value, abs, exp, leaky_relu, log, relu, sigmoid, tanh

MAX_CHARS = 1000   # the longest formula accepted
MAX_NODES = 400    # syntax-tree nodes
MAX_DEPTH = 50     # nesting of calls and parentheses (a long sum a + b + c + ... is flat)


class ExprError(ValueError):
    """A formula that cannot be used; the message is one line saying what and what is allowed."""


@dataclass(frozen=True)
class Function:
    """A function a formula may call: ``name(x)`` or, with a number ``extra``, ``name(x, a)``."""

    name: str
    build: Callable[..., Value]
    doc: str
    extra: str = ""  # the name of an optional second argument (a number), if any

    @property
    def usage(self) -> str:
        return f"{self.name}(x, {self.extra})" if self.extra else f"{self.name}(x)"


FUNCTIONS: dict[str, Function] = {f.name: f for f in (
    Function("relu", relu, "max(x, 0); relu'(0) is the subgradient (--subgradient, default 0)"),
    Function("leaky_relu", leaky_relu, "x if x > 0 else slope·x (slope defaults to 0.01)",
             "slope"),
    Function("abs", abs, "|x|; abs'(0) = 0"),
    Function("tanh", tanh, "hyperbolic tangent"),
    Function("sigmoid", sigmoid, "1 / (1 + exp(−x))"),
    Function("exp", exp, "e to the x"),
    Function("log", log, "natural logarithm, x > 0"),
)}

ALLOWED = ("numbers, names given values, + - * / **, unary minus, parentheses and the "
           "functions " + ", ".join(FUNCTIONS))

_BINOPS: dict[type, str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/",
                            ast.Pow: "**"}
_REFUSED: dict[type, str] = {
    ast.Attribute: "attributes (a.b)", ast.Subscript: "indexing (a[i])",
    ast.Lambda: "lambdas", ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions", ast.GeneratorExp: "comprehensions",
    ast.Compare: "comparisons", ast.BoolOp: "and/or", ast.IfExp: "if/else",
    ast.List: "lists", ast.Tuple: "tuples", ast.Set: "sets", ast.Dict: "dicts",
    ast.JoinedStr: "strings", ast.FormattedValue: "strings", ast.Starred: "* unpacking",
    ast.NamedExpr: ":=", ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield",
    ast.Slice: "slices",
}
_OPNAMES: dict[type, str] = {ast.MatMult: "@", ast.Mod: "%", ast.FloorDiv: "//",
                             ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|",
                             ast.BitAnd: "&", ast.BitXor: "^", ast.Invert: "~", ast.Not: "not"}


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


def _refuse(node: ast.AST) -> ExprError:
    if isinstance(node, ast.Constant):
        what = f"the constant {node.value!r}" if len(repr(node.value)) < 30 else "that constant"
    else:
        what = _REFUSED.get(type(node), f"{type(node).__name__} expressions")
    return ExprError(f"{what} cannot be used in a formula; allowed: {ALLOWED}")


@dataclass(frozen=True)
class Formula:
    """A checked formula: ``names`` in order of first use; :meth:`evaluate` builds the graph."""

    text: str
    tree: ast.Expression
    names: tuple[str, ...]

    def evaluate(self, values: Mapping[str, float]) -> tuple[Value, dict[str, Value]]:
        """Build the graph at ``values``; return the result and the leaf of each name.

        Raises :class:`ExprError` for an unbound name, a division by zero, an overflow, or
        a result outside a function's domain (any inf or nan on the way).
        """
        missing = [n for n in self.names if n not in values]
        if missing:
            raise ExprError(f"no value for {', '.join(missing)}: give "
                            + " ".join(f"--at {n}=<number>" for n in missing))
        leaves = {n: Value(float(values[n]), n) for n in self.names}
        results: list[Any] = []
        stack: list[tuple[ast.AST, bool]] = [(self.tree.body, False)]
        while stack:  # post-order, iterative
            node, ready = stack.pop()
            if isinstance(node, ast.Constant):
                results.append(float(node.value))
            elif isinstance(node, ast.Name):
                results.append(leaves[node.id])
            elif not ready:
                stack.append((node, True))
                kids = ([node.left, node.right] if isinstance(node, ast.BinOp) else
                        [node.operand] if isinstance(node, ast.UnaryOp) else list(node.args))
                stack.extend((k, False) for k in reversed(kids))
            else:
                n = (2 if isinstance(node, ast.BinOp) else 1 if isinstance(node, ast.UnaryOp)
                     else len(node.args))
                args = results[len(results) - n:]
                del results[len(results) - n:]
                results.append(_apply(node, args))
        out = results.pop()
        if not isinstance(out, Value):
            raise ExprError("the formula uses no names, so there is nothing to differentiate")
        return out, leaves


def _apply(node: ast.AST, args: list[Any]) -> Any:
    try:
        if isinstance(node, ast.BinOp):
            a, b = args
            op = type(node.op)
            if op is ast.Pow and isinstance(b, Value):
                raise ExprError(f"in {_short(node)!r}: the exponent of ** must be a number "
                                "(x ** 2); for a name in the exponent write exp(y * log(x))")
            if not isinstance(a, Value) and not isinstance(b, Value):
                out = _numbers(op, a, b)
            else:
                out = (a + b if op is ast.Add else a - b if op is ast.Sub else
                       a * b if op is ast.Mult else a / b if op is ast.Div else a ** b)
        elif isinstance(node, ast.UnaryOp):
            out = -args[0] if isinstance(node.op, ast.USub) else args[0]
        else:
            f = FUNCTIONS[node.func.id]
            if len(args) == 2 and isinstance(args[1], Value):
                raise ExprError(f"in {_short(node)!r}: the {f.extra} of {f.name} must be a "
                                "number, not an expression with names")
            out = f.build(*args)
    except ZeroDivisionError:
        raise ExprError(f"division by zero in {_short(node)!r}") from None
    except OverflowError:
        raise ExprError(f"overflow in {_short(node)!r}: the number is too large") from None
    except ExprError:
        raise
    except (ValueError, TypeError) as e:
        raise ExprError(f"in {_short(node)!r}: {e}") from None
    _check_finite(node, args, out)
    return out


def _numbers(op: type, a: float, b: float) -> float:
    """Arithmetic on two numbers (no names involved), with Python's errors."""
    if op is ast.Add:
        return a + b
    if op is ast.Sub:
        return a - b
    if op is ast.Mult:
        return a * b
    if op is ast.Div:
        return a / b
    out = a ** b
    if isinstance(out, complex):
        raise ValueError(f"{a:g} ** {b:g} is not a real number")
    return out


def _check_finite(node: ast.AST, args: list[Any], out: Any) -> None:
    x = out.data if isinstance(out, Value) else out
    if math.isfinite(x):
        return
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        b = args[1].data if isinstance(args[1], Value) else args[1]
        if b == 0:
            raise ExprError(f"division by zero in {_short(node)!r}")
    if math.isnan(x):
        raise ExprError(f"{_short(node)!r} is not a number (nan) here: an input lies outside "
                        "the function's domain")
    raise ExprError(f"{_short(node)!r} is {x} here: an overflow, or a function at the edge "
                    "of its domain")


def _keyword_hint(text: str) -> str:
    """Why a formula such as ``lambda * 2`` does not parse: a Python keyword used as a name."""
    words = [w for w in dict.fromkeys(re.findall(r"[^\W\d]\w*", text))
             if keyword.iskeyword(w) and w not in ("True", "False", "None")]
    if not words:
        return ""
    what = "is a Python keyword" if len(words) == 1 else "are Python keywords"
    return f" ({', '.join(words)} {what} and cannot be a name; use e.g. {words[0]}_)"


def parse(text: str) -> Formula:
    """Check ``text`` against the whitelist and return a :class:`Formula`.

    Examples
    --------
    >>> from autograd_lite.expr import parse
    >>> f = parse("relu(w*x + b)")
    >>> f.names
    ('w', 'x', 'b')
    >>> L, leaves = f.evaluate({"w": 2, "x": 3, "b": -1})
    >>> L.data
    5.0
    >>> parse("__import__('os').system('ls')")
    Traceback (most recent call last):
    ...
    autograd_lite.expr.ExprError: attributes (a.b) cannot be used in a formula; ...
    """
    tree = _read(text)
    count = 0
    found: list[tuple[int, int, str]] = []
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExprError(f"the formula is too large: more than {MAX_NODES} parts")
        if depth > MAX_DEPTH:
            raise ExprError(f"the formula is nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, ast.Name):
            found.append((node.lineno, node.col_offset, node.id))
        # the left operand of a binary operator continues a chain such as a + b + c
        stack.extend((k, depth if isinstance(node, ast.BinOp) and k is node.left else depth + 1)
                     for k in _check(node))
    return Formula(text.strip(), tree, tuple(dict.fromkeys(n for *_, n in sorted(found))))


def _read(text: str) -> ast.Expression:
    """The syntax tree of ``text``, or an :class:`ExprError` saying why there is none."""
    if not isinstance(text, str):
        raise ExprError(f"a formula is text, got {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise ExprError(f"the formula is {len(text)} characters long; at most {MAX_CHARS} "
                        "are accepted")
    if not text.strip():
        raise ExprError("the formula is empty; write e.g. 'relu(w*x + b)'")
    try:
        with warnings.catch_warnings():  # e.g. "invalid decimal literal": not our message
            warnings.simplefilter("ignore")
            return ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        where = f" at column {e.offset}" if e.offset else ""
        raise ExprError(f"syntax error in the formula{where}: {e.msg}{_keyword_hint(text)}"
                        ) from None
    except (ValueError, MemoryError, RecursionError) as e:
        raise ExprError(f"the formula cannot be read: {type(e).__name__}: {e}"[:200]) from None


def _check(node: ast.AST) -> list[ast.AST]:
    """Refuse ``node`` unless the whitelist allows it; return the nodes inside it to check."""
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise _refuse(node)
        try:
            ok = math.isfinite(float(v))
        except OverflowError:
            ok = False
        if not ok:
            raise ExprError(f"the number {_short(node)} is too large (the largest is about "
                            "1.8e308)")
        return []
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise ExprError(f"{node.id} is a function: call it, e.g. {FUNCTIONS[node.id].usage}")
        return []
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        allowed = (type(node.op) in _BINOPS if isinstance(node, ast.BinOp)
                   else isinstance(node.op, ast.USub | ast.UAdd))
        if not allowed:
            sym = _OPNAMES.get(type(node.op), type(node.op).__name__)
            raise ExprError(f"the operator {sym} cannot be used in a formula; allowed: "
                            f"{ALLOWED}")
        return [node.left, node.right] if isinstance(node, ast.BinOp) else [node.operand]
    if isinstance(node, ast.Call):
        return _check_call(node)
    raise _refuse(node)


def _check_call(node: ast.Call) -> list[ast.AST]:
    if not isinstance(node.func, ast.Name):
        raise _refuse(node.func)
    if node.func.id not in FUNCTIONS:
        raise ExprError(f"unknown function {node.func.id!r}; the functions are: "
                        + ", ".join(f.usage for f in FUNCTIONS.values()))
    f = FUNCTIONS[node.func.id]
    if node.keywords:
        raise ExprError(f"{f.name}() takes no keyword arguments: write {f.usage}")
    if not 1 <= len(node.args) <= (2 if f.extra else 1):
        takes = "1 or 2 arguments" if f.extra else "1 argument"
        raise ExprError(f"{f.name}() takes {takes}, got {len(node.args)}: write {f.usage}")
    return list(node.args)
