"""The safe formula parser: a whitelist over Python's ast, never eval; fuzzed with hypothesis."""

import ast
import builtins
import inspect
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd_lite.expr as expr
from autograd_lite import Value
from autograd_lite.expr import FUNCTIONS, MAX_CHARS, MAX_DEPTH, MAX_NODES, ExprError, parse


def value_and_grads(text, **values):
    f = parse(text)
    out, leaves = f.evaluate(values)
    out.backward()
    return out.data, {n: leaves[n].grad for n in f.names}


@pytest.mark.parametrize("text,values,result,grads", [
    ("relu(w*x + b)", {"w": 2, "x": 3, "b": -1}, 5.0, {"w": 3.0, "x": 2.0, "b": 1.0}),
    ("x*x + x", {"x": 3}, 12.0, {"x": 7.0}),
    ("-x ** 2 / 4 - +y", {"x": 2, "y": 1}, -2.0, {"x": -1.0, "y": -1.0}),
    ("leaky_relu(x, 0.1) + abs(y)", {"x": -2, "y": -3}, 2.8, {"x": 0.1, "y": -1.0}),
    ("tanh(x) + sigmoid(x) + exp(x) + log(x)", {"x": 1}, None, None),
    ("2 ** 3 * x + (1 + 2) * x", {"x": 1}, 11.0, {"x": 11.0}),
    ("x ** -1", {"x": 2}, 0.5, {"x": -0.25}),
    ("relu(\n x\n)", {"x": 1.5}, 1.5, {"x": 1.0}),
])
def test_parse_evaluates_and_differentiates(text, values, result, grads):
    out, g = value_and_grads(text, **values)
    if result is not None:
        assert math.isclose(out, result) and g == pytest.approx(grads)
    else:
        x = 1.0
        s = 1 / (1 + math.exp(-x))
        assert g["x"] == pytest.approx(1 - math.tanh(x) ** 2 + s * (1 - s) + math.exp(x) + 1 / x)


def test_parse_names_in_reading_order_and_leaves_labelled():
    f = parse("relu(w*x + b) * w")
    assert f.names == ("w", "x", "b")
    out, leaves = f.evaluate({"w": 1.0, "x": 2.0, "b": 3.0})
    assert [leaves[n].label for n in f.names] == ["w", "x", "b"]
    assert all(type(v) is Value for v in leaves.values())


def test_numbers_are_constants_not_leaves():
    out, leaves = parse("x * 3").evaluate({"x": 2.0})
    assert out.parents == (leaves["x"], 3.0)


@pytest.mark.parametrize("text,message", [
    ("", "empty"),
    ("   ", "empty"),
    ("relu(w*x", "syntax error"),
    ("x +* 2", "syntax error"),
    ("x = 1", "syntax error"),
    ("import os", "syntax error"),
    ("x.real", "attributes"),
    ("__import__('os').system('ls')", "attributes"),
    ("().__class__.__bases__[0]", "indexing"),
    ("().__class__.__bases__", "attributes"),
    ("x[0]", "indexing"),
    ("lambda: 1", "lambdas"),
    ("[x for x in y]", "comprehensions"),
    ("x < 1", "comparisons"),
    ("x if y else 1", "if/else"),
    ("x and y", "and/or"),
    ("'a'", "the constant 'a'"),
    ("f'{x}'", "strings"),
    ("True + x", "the constant True"),
    ("None", "the constant None"),
    ("1j * x", "the constant 1j"),
    ("x % 2", "operator %"),
    ("x // 2", "operator //"),
    ("x @ y", "operator @"),
    ("~x", "operator ~"),
    ("not x", "operator not"),
    ("(x, y)", "tuples"),
    ("[x]", "lists"),
    ("{x: 1}", "dicts"),
    ("sqrt(x)", "unknown function 'sqrt'"),
    ("open('f')", "unknown function 'open'"),
    ("eval('1')", "unknown function 'eval'"),
    ("relu", "relu is a function"),
    ("x * exp", "exp is a function"),
    ("relu(x, 1)", "relu() takes 1 argument"),
    ("leaky_relu(x, 0.1, 2)", "takes 1 or 2 arguments"),
    ("leaky_relu(x, slope=0.1)", "no keyword arguments"),
    ("relu(*x)", "unpacking"),
    ("(lambda: 1)()", "lambdas"),
    ("(x := 1)", ":="),
    ("1e999 * x", "too large"),
    ("9" * 400 + " * x", "too large"),
    ("x\x00", "null bytes"),
])
def test_parse_refuses_everything_off_the_whitelist(text, message):
    with pytest.raises(ExprError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("*", r"\*").replace("[", r"\[")):
        parse(text)


def test_parse_limits_size_and_nesting():
    with pytest.raises(ExprError, match=f"at most {MAX_CHARS}"):
        parse("x" + " + x" * MAX_CHARS)
    parse("+".join(["x"] * (MAX_NODES // 2 - 1)))  # a long sum is long, not deep
    with pytest.raises(ExprError, match="too large"):
        parse("+".join(["x"] * (MAX_NODES // 2 + 2)))
    with pytest.raises(ExprError, match=f"more than {MAX_DEPTH} levels"):
        parse("relu(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(ExprError):
        parse("(" * 300 + "x" + ")" * 300)  # Python's own parser stops this one
    parse("relu(" * (MAX_DEPTH - 2) + "x" + ")" * (MAX_DEPTH - 2))


@pytest.mark.parametrize("text,values,message", [
    ("x / 0", {"x": 1}, "division by zero"),
    ("x / (y - y)", {"x": 1, "y": 2}, "division by zero"),
    ("1 / 0 + x", {"x": 1}, "division by zero"),
    ("0 ** -1 + x", {"x": 1}, "division by zero"),
    ("exp(x)", {"x": 1000}, "inf"),
    ("x * 1e308 * 10", {"x": 1}, "inf"),
    ("10.0 ** 400 + x", {"x": 1}, "overflow"),
    ("log(x)", {"x": -1}, "nan"),
    ("log(x)", {"x": 0}, "-inf"),
    ("x ** 0.5", {"x": -4}, "nan"),
    ("(-8) ** (1/3) + x", {"x": 1}, "not a real number"),
    ("x ** y", {"x": 2, "y": 3}, "exponent of \\*\\* must be a number"),
    ("2 ** x", {"x": 2}, "write exp"),
    ("leaky_relu(x, y)", {"x": 1, "y": 0.1}, "slope of leaky_relu must be a number"),
    ("leaky_relu(x, 1e308 * 10)", {"x": 1}, "inf"),
    ("w * x", {"w": 1}, "no value for x"),
    ("3 + 4", {}, "no names"),
])
def test_evaluate_errors_are_expr_errors(text, values, message):
    with pytest.raises(ExprError, match=message):
        parse(text).evaluate(values)


def test_parser_code_never_evaluates_or_looks_up_python_names():
    tree = ast.parse(inspect.getsource(expr))
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    used |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    forbidden = {"eval", "exec", "compile", "getattr", "__import__", "globals", "locals",
                 "vars", "__builtins__", "literal_eval", "import_module"}
    assert not used & forbidden


# --- fuzzing -----------------------------------------------------------------------------------

TOKENS = ["x", "y", "w", "_", "relu", "exp", "log", "tanh", "leaky_relu", "open", "__import__",
          "eval", "canary", "0", "1", "2.5", "1e308", "1e-308", "9" * 30, ".", ",", "(", ")",
          "[", "]", "{", "}", "+", "-", "*", "/", "**", "%", "//", "@", "~", "<", "==", "=",
          ":", ";", "'", '"', "\\", "\n", " ", "lambda", "if", "else", "for", "in", "not",
          "and", "j", "é", "\x00", "#", "!", "$", "^", "|", "&", "`", "..."]
NAMES = ["x", "y", "w", "open", "eval", "__import__", "canary", "relu", "exp", "__class__"]


class Canary:
    calls = 0

    def __call__(self, *args, **kwargs):
        Canary.calls += 1
        return 0.0


@pytest.fixture(autouse=True)
def canary(monkeypatch):
    """A builtin any eval-like lookup of the name ``canary`` would reach."""
    Canary.calls = 0
    monkeypatch.setattr(builtins, "canary", Canary(), raising=False)
    yield
    assert Canary.calls == 0, "the parser reached a Python name outside its whitelist"


def check(text, values):
    """The property: parse and evaluate either work or raise ExprError, nothing else."""
    try:
        f = parse(text)
    except ExprError as e:
        assert "\n" not in str(e)
        return
    assert set(f.names) <= {n.id for n in ast.walk(ast.parse(text.strip(), mode="eval"))
                            if isinstance(n, ast.Name)}
    assert not set(f.names) & set(FUNCTIONS)
    try:
        out, leaves = f.evaluate({n: values[i % len(values)] for i, n in enumerate(f.names)})
    except ExprError as e:
        assert "\n" not in str(e)
        return
    assert type(out) is Value and math.isfinite(out.data)
    assert all(type(v) is Value and v.label == n for n, v in leaves.items())


@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join),
       st.lists(st.sampled_from([0.0, -1.0, 2.5, 1e300, -1e-300]), min_size=1, max_size=3))
def test_fuzz_random_text(text, values):
    check(text, values)


@given(st.text(max_size=60), st.just([1.0]))
def test_fuzz_random_unicode(text, values):
    check(text, values)


def _leaf():
    return st.one_of(
        st.sampled_from(NAMES).map(lambda n: ast.Name(n, ast.Load())),
        st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                  st.sampled_from(["s", b"b", True, None, 1j, ...])).map(ast.Constant),
    )


OPERATORS = [ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Mod, ast.FloorDiv, ast.MatMult,
             ast.BitOr, ast.LShift]


def _grow(children):
    name = st.sampled_from(NAMES + list(FUNCTIONS))
    return st.one_of(
        st.tuples(children, st.sampled_from(OPERATORS), children).map(
            lambda t: ast.BinOp(t[0], t[1](), t[2])),
        st.tuples(st.sampled_from([ast.USub, ast.UAdd, ast.Not, ast.Invert]), children).map(
            lambda t: ast.UnaryOp(t[0](), t[1])),
        st.tuples(name, st.lists(children, max_size=3), st.booleans()).map(
            lambda t: ast.Call(ast.Name(t[0], ast.Load()), t[1],
                               [ast.keyword("slope", ast.Constant(0.1))] if t[2] else [])),
        st.tuples(children, st.sampled_from(["real", "__class__", "system"])).map(
            lambda t: ast.Attribute(t[0], t[1], ast.Load())),
        st.tuples(children, children).map(lambda t: ast.Subscript(t[0], t[1], ast.Load())),
        children.map(lambda c: ast.Lambda(ast.arguments([], [], None, [], [], None, []), c)),
        st.tuples(children, children).map(
            lambda t: ast.Compare(t[0], [ast.Lt()], [t[1]])),
        st.tuples(children, children, children).map(lambda t: ast.IfExp(*t)),
        st.lists(children, max_size=3).map(lambda xs: ast.List(xs, ast.Load())),
        children.map(lambda c: ast.Call(ast.Attribute(c, "system", ast.Load()), [], [])),
    )


TREES = st.recursive(_leaf(), _grow, max_leaves=25)


@given(TREES, st.lists(st.sampled_from([0.0, 1.0, -2.0, 700.0]), min_size=1, max_size=3))
def test_fuzz_random_syntax_trees(tree, values):
    text = ast.unparse(ast.fix_missing_locations(ast.Expression(tree)))
    check(text, values)


@given(TREES.filter(lambda t: isinstance(t, ast.Call | ast.BinOp | ast.UnaryOp)))
def test_fuzz_whitelisted_trees_only_build_values(tree):
    text = ast.unparse(ast.fix_missing_locations(ast.Expression(tree)))
    try:
        f = parse(text)
    except ExprError:
        return
    try:
        out, _ = f.evaluate(dict.fromkeys(f.names, 0.5))
    except ExprError:
        return
    assert type(out) is Value and np.isfinite(out.data)
