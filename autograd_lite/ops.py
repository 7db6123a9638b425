"""The table of derivative rules: every op, declared once.

Vocabulary
----------
Each :class:`Rule` has a ``forward`` and, for each input, one :class:`Factor`: the
chain-rule factor ∂out/∂input. A factor is one of

* ``const``  -- a constant local derivative (``add``: 1, ``sub``: 1 and −1);
* ``input``  -- the local derivative is the value of another input, by position
  (``mul``: ∂(x·y)/∂x is y, ``input=1``); elementwise, like ``local``;
* ``local``  -- an elementwise local derivative, a function ``(*xs, out[, ctx])`` whose
  result backward **multiplies** the upstream gradient ``g`` by;
* ``vjp``    -- a vector-Jacobian product ``(g, *xs, out[, ctx])`` for ops that are not
  elementwise (matmul, reductions, shape ops, indexing), with ``shown`` giving the value a
  picture displays for the factor.

``symbol`` is the factor written for people, with ``{x}``, ``{y}`` (the inputs, in order)
and ``{out}`` filled in with the names of the nodes, e.g. ``1[{x}>0]`` or ``1 − tanh²({x})``.

A rule with parameters has ``prepare(**params) -> ctx``: it validates them and resolves
any policy (the ReLU subgradient) *when the op is built*; the ctx dict is stored on the
node and passed last to every function of the rule. A forward may also save in ctx what
its factors need from the forward pass (``cross_entropy``: the softmax). A rule with
``kink`` counts, at build time, how many inputs sit exactly on a point of
non-differentiability (−0.0 included); the engine stores that count as ``ctx["kinks"]``.

``scalar`` (optional) is the same op for Python floats in one call, the scalar fast path:
``(*xs[, ctx]) -> (out, factor values)``, equal to ``forward`` and every factor's value at
that point (a table-driven test holds the two forms to each other). The engine stores the
factor values on the node when it is built, so backward only multiplies.

Inputs are Python floats (scalars) or float ndarrays (tensors); every function here
accepts both. Backward, ``draw``, ``explain``, ``gradcheck`` and ``kinks`` all read this
table; nothing else in the package knows what ``mul`` means.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from .policy import check_finite, check_real, relu_subgradient_or
from .shapes import shape_of


def _passed_on(g: Any, args: tuple) -> Any:
    return g  # a factor of 1


class Factor:
    """One input's chain-rule factor ∂out/∂input: a symbol and how to compute it."""

    __slots__ = ("symbol", "const", "input", "local", "vjp", "shown", "chain")

    def __init__(self, symbol: str | Callable[..., str], *, const: float | None = None,
                 input: int | None = None, local: Callable | None = None,  # noqa: A002
                 vjp: Callable | None = None, shown: Callable | None = None) -> None:
        kinds = (const is not None) + (input is not None) + (local is not None) + (vjp is not None)
        if kinds != 1:
            raise ValueError("a factor needs exactly one of const, input, local or vjp")
        self.symbol, self.const, self.input = symbol, const, input
        self.local, self.vjp, self.shown = local, vjp, shown
        # chain(g, args): g · ∂out/∂input, the upstream gradient times this factor (before
        # un-broadcasting), ``args`` as the rule's functions take them. One function per kind.
        self.chain: Callable[[Any, tuple], Any]
        if const is not None:
            self.chain = _passed_on if const == 1.0 else lambda g, args: g * const
        elif input is not None:
            self.chain = lambda g, args: g * args[input]
        elif local is not None:
            self.chain = lambda g, args: g * local(*args)
        else:
            self.chain = lambda g, args: vjp(g, *args)

    def scalar_fn(self, exact: bool) -> Callable[..., float]:
        """A function ``(*xs, out[, ctx]) -> float``: the factor's value for float inputs.

        Built-in locals already return floats for floats (``exact``); a VJP is linear in g,
        so its factor is ``vjp(1.0, ...)``.
        """
        c, i, local, vjp = self.const, self.input, self.local, self.vjp
        if c is not None:
            return lambda *args: c
        if i is not None:
            return lambda *args: args[i]
        if local is not None:
            return local if exact else lambda *args: float(local(*args))
        return lambda *args: float(vjp(1.0, *args))

    def value(self, args: tuple) -> Any:
        """The factor's value at this point: what a picture shows on the edge."""
        if self.const is not None:
            return self.const
        if self.input is not None:
            return args[self.input]
        if self.local is not None:
            return self.local(*args)
        return self.shown(*args) if self.shown is not None else None

    def text(self, names: dict[str, str], ctx: dict | None) -> str:
        """The symbol with the real names (and parameters) filled in."""
        if callable(self.symbol):
            return self.symbol(names, ctx)
        return self.symbol.format(**names, **(ctx or {}))


class Rule:
    """An op: its forward and one chain-rule factor per input (see the module docstring)."""

    __slots__ = ("name", "formula", "forward", "factors", "prepare", "kink", "custom", "doc",
                 "consts", "picks", "scalar_fns", "scalar", "chains")

    def __init__(self, name: str, formula: str, forward: Callable, factors: tuple[Factor, ...],
                 prepare: Callable[..., dict] | None = None, kink: Callable | None = None,
                 custom: bool = False, doc: str = "", scalar: Callable | None = None) -> None:
        self.name, self.formula, self.forward, self.factors = name, formula, forward, factors
        self.prepare, self.kink, self.custom, self.doc = prepare, kink, custom, doc
        # The scalar fast path: a node whose inputs and output are floats stores its factor
        # values when it is built (backward then only multiplies). All-constant factors (add,
        # sub, neg) share one tuple; ``scalar`` gives output and factor values in one call.
        consts = tuple(f.const for f in factors)
        self.consts = consts if None not in consts else None
        picks = tuple(f.input for f in factors)  # factors that are other inputs' values
        self.picks = picks if None not in picks else None
        self.scalar_fns = tuple(f.scalar_fn(exact=not custom) for f in factors)
        self.scalar = scalar
        self.chains = tuple(f.chain for f in factors)  # what backward calls, per input

    def scalar_factors(self, args: tuple, live: tuple[bool, ...]) -> tuple:
        """The factor values of a scalar node: ``args`` are its inputs, output [and ctx];
        ``live[i]`` says whether input i is a Value (a constant's factor is not computed)."""
        if self.consts is not None:
            return self.consts
        return tuple([f(*args) if on else 0.0 for f, on in zip(self.scalar_fns, live)])

    @property
    def arity(self) -> int:
        return len(self.factors)

    @property
    def elementwise(self) -> bool:
        return all(f.vjp is None for f in self.factors)

    def __repr__(self) -> str:
        return f"<rule {self.name}>"


RULES: dict[str, Rule] = {}


def register(rule: Rule, replace: bool = False) -> Rule:
    """Enter a rule into the table (custom ops may replace earlier custom ops of their name)."""
    old = RULES.get(rule.name)
    if old is not None and not (replace and old.custom):
        raise ValueError(f"an op named {rule.name!r} already exists; choose another name")
    RULES[rule.name] = rule
    return rule


# --- scalar arithmetic with IEEE results (Python raises where NumPy gives inf/nan) ----------

def _ieee(f: Callable, *args: float) -> float:
    with np.errstate(all="ignore"):
        return float(f(*(np.float64(a) for a in args)))


def _div(x: Any, y: Any) -> Any:
    if type(x) is float and type(y) is float:
        try:
            return x / y
        except ZeroDivisionError:
            return _ieee(np.divide, x, y)
    return x / y


def _pow(x: Any, p: float) -> Any:
    if type(x) is float:
        try:
            r = x**p
        except (OverflowError, ZeroDivisionError):
            return _ieee(np.power, x, p)
        return r if type(r) is float else math.nan  # a complex root of a negative number
    return x**p


def _exp(x: Any) -> Any:
    if type(x) is float:
        try:
            return math.exp(x)
        except OverflowError:
            return math.inf
    return np.exp(x)


def _log(x: Any) -> Any:
    if type(x) is float:
        if x > 0.0:
            return math.log(x)
        return -math.inf if x == 0.0 else math.nan
    return np.log(x)


def _tanh(x: Any) -> Any:
    return math.tanh(x) if type(x) is float else np.tanh(x)


_EXP_SAFE = {"d": -708.0, "f": -88.0, "e": -11.0}  # exp(−x) is finite for x above these


def _sigmoid(x: Any) -> Any:
    if type(x) is float:
        if x >= 0.0:
            return 1.0 / (1.0 + math.exp(-x))
        e = _exp(x)
        return e / (1.0 + e)
    if not x.ndim:  # NumPy gives 0-d results as scalars
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    if not np.count_nonzero(x < _EXP_SAFE[x.dtype.char]):  # no exp(−x) overflows:
        e = np.negative(x)  # 1/(1 + exp(−x)) throughout, 4 calls instead of 6
        np.exp(e, out=e)
        e += 1
        return np.reciprocal(e, out=e)
    e = np.abs(x)
    np.negative(e, out=e)
    np.exp(e, out=e)  # exp(−|x|) never overflows
    d = e + 1
    np.copyto(e, 1, where=x >= 0)  # 1/(1 + e) for x >= 0, e/(1 + e) below, as for floats
    return np.divide(e, d, out=e)


def _zeros(x: Any, ctx: dict | None = None) -> int:
    """How many entries of x are exactly 0 (−0.0 included): the kink count."""
    if type(x) is float:
        return int(x == 0.0)
    if x.size <= 2048:  # counting a float array's nonzeros is quicker for small arrays,
        return x.size - int(np.count_nonzero(x))  # counting a mask's for large ones
    return int(np.count_nonzero(x == 0))


# Factor values the scalar fast path shares between nodes instead of allocating them.
_ONE, _ZERO, _MINUS_ONE = (1.0,), (0.0,), (-1.0,)


def _fmt(v: float) -> str:
    return f"{v:g}".replace("-", "−")


# --- elementwise arithmetic ---------------------------------------------------------------

ADD = register(Rule("add", "{x} + {y}", operator.add,
                    (Factor("1", const=1.0), Factor("1", const=1.0))))
SUB = register(Rule("sub", "{x} − {y}", operator.sub,
                    (Factor("1", const=1.0), Factor("−1", const=-1.0))))
NEG = register(Rule("neg", "−{x}", operator.neg, (Factor("−1", const=-1.0),)))
MUL = register(Rule("mul", "{x} · {y}", operator.mul,
                    (Factor("{y}", input=1), Factor("{x}", input=0))))
DIV = register(Rule("div", "{x} / {y}", _div, (
    Factor("1/{y}", local=lambda x, y, out: _div(1.0, y)),
    Factor("−{x}/{y}²", local=lambda x, y, out: -_div(x, y * y))),
    scalar=lambda x, y: (_div(x, y), (_div(1.0, y), -_div(x, y * y)))))

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _pow_symbol(names: dict[str, str], ctx: dict) -> str:
    p = ctx["p"]
    if p == 0:
        return "0"
    if p == 1:
        return "1"
    q = p - 1
    power = ("" if q == 1 else str(int(q)).translate(_SUPERSCRIPT) if q == int(q) and abs(q) < 10
             else f"^{_fmt(q)}")
    return f"{_fmt(p)}·{names['x']}{power}"


def _pow_local(x: Any, out: Any, ctx: dict) -> Any:
    p = ctx["p"]
    if p == 0:  # x**0 is the constant 1 (even at x = 0)
        return 0.0 * x
    return p * _pow(x, p - 1) if p != 2 else 2 * x


def _pow_scalar(x: float, ctx: dict) -> tuple:
    out = _pow(x, ctx["p"])
    return out, (_pow_local(x, out, ctx),)


POW = register(Rule(
    "pow", "{x}^{p}", lambda x, ctx: _pow(x, ctx["p"]),
    (Factor(_pow_symbol, local=_pow_local),),
    prepare=lambda p: {"p": check_finite(p, "the exponent of ** (a number)")},
    doc="x ** p for a number p; the derivative p·x^(p−1) is 0 for p = 0.", scalar=_pow_scalar))


# --- matmul --------------------------------------------------------------------------------

def _matmul(x: Any, y: Any) -> Any:
    if type(x) is float or type(y) is float or x.ndim == 0 or y.ndim == 0:
        raise ValueError(
            f"@ needs tensors with at least 1 dimension, got shapes {shape_of(x)} and "
            f"{shape_of(y)}; use * to multiply by a scalar"
        )
    if x.ndim == 2 and y.ndim == 2:
        return np.dot(x, y)  # the same product; BLAS even where @ is not (a k of 1: x @ wᵀ)
    return x @ y


def _swap(a: np.ndarray) -> np.ndarray:
    return a.T if a.ndim == 2 else np.swapaxes(a, -1, -2)


def _matmul_vjp_x(g: Any, x: Any, y: Any, out: Any) -> Any:
    if y.ndim == 1:  # out = x @ y has x's shape without its last axis
        return np.expand_dims(g, -1) * y if x.ndim > 1 else g * y
    if x.ndim == 1:  # x acts as a row (1, k)
        return (np.expand_dims(g, -2) @ _swap(y))[..., 0, :]
    return np.dot(g, y.T) if y.ndim == 2 == g.ndim else g @ _swap(y)


def _matmul_vjp_y(g: Any, x: Any, y: Any, out: Any) -> Any:
    if x.ndim == 1:  # x acts as a row (1, k): dy = xᵀ g for each batch entry
        return x[:, None] * np.expand_dims(g, -2) if y.ndim > 1 else g * x
    if y.ndim == 1:  # y acts as a column (k, 1)
        return (_swap(x) @ np.expand_dims(g, -1))[..., 0]
    return np.dot(x.T, g) if x.ndim == 2 == g.ndim else _swap(x) @ g


MATMUL = register(Rule("matmul", "{x} @ {y}", _matmul, (
    Factor("(·) @ {y}ᵀ", vjp=_matmul_vjp_x, shown=lambda x, y, out: y),
    Factor("{x}ᵀ @ (·)", vjp=_matmul_vjp_y, shown=lambda x, y, out: x)),
    doc="Matrix product (NumPy semantics, 1-D and batched operands included)."))


# --- activations ----------------------------------------------------------------------------
# relu'(0), leaky_relu'(0) and abs'(0) are choices (subgradients), resolved by prepare() when
# the op is built and stored in ctx. Each local derivative *multiplies* g (never replaces it).

def _relu(x: Any, ctx: dict) -> Any:
    if type(x) is float:
        return 0.0 if x <= 0.0 else x  # NaN passes through
    return np.maximum(x, 0)


def _relu_local(x: Any, out: Any, ctx: dict) -> Any:
    s = ctx["subgradient"]
    if type(x) is float:
        return 1.0 if x > 0.0 else (s if x == 0.0 else 0.0)
    if not (s and ctx["kinks"]):
        return x > 0  # a mask; g * mask keeps g's dtype
    return np.where(x > 0, x.dtype.type(1), np.where(x == 0, x.dtype.type(s), x.dtype.type(0)))


def _relu_prepare(subgradient: float | None = None) -> dict:
    return {"subgradient": relu_subgradient_or(subgradient)}


def _relu_scalar(x: float, ctx: dict) -> tuple:
    if x > 0.0:
        return x, _ONE
    if x == 0.0:
        return 0.0, (ctx["subgradient"],)
    return (0.0 if x < 0.0 else x), _ZERO  # NaN passes through, with factor 0


RELU = register(Rule(
    "relu", "relu({x})", _relu, (Factor("1[{x}>0]", local=_relu_local),),
    prepare=_relu_prepare,
    kink=_zeros,
    doc="max(x, 0). relu'(x) = 1 for x > 0, 0 for x < 0, and the recorded subgradient s "
        "(default 0, as PyTorch, TensorFlow and JAX) at x == 0.", scalar=_relu_scalar))


def _leaky_prepare(slope: float = 0.01, subgradient: float | None = None) -> dict:
    a = check_finite(slope, "the leaky_relu slope")
    s = a if subgradient is None else check_real(
        subgradient, f"the leaky_relu subgradient for slope {a:g}", min(a, 1.0), max(a, 1.0))
    return {"slope": a, "subgradient": s}


def _leaky(x: Any, ctx: dict) -> Any:
    a = ctx["slope"]
    if type(x) is float:
        return x if x > 0.0 else a * x
    return np.where(x > 0, x, a * x)


def _leaky_local(x: Any, out: Any, ctx: dict) -> Any:
    a, s = ctx["slope"], ctx["subgradient"]
    if type(x) is float:
        return 1.0 if x > 0.0 else (s if x == 0.0 else a)
    d = np.where(x > 0, x.dtype.type(1), x.dtype.type(a))
    return np.where(x == 0, x.dtype.type(s), d) if ctx["kinks"] and s != a else d


def _leaky_scalar(x: float, ctx: dict) -> tuple:
    if x > 0.0:
        return x, _ONE
    a = ctx["slope"]
    return a * x, ((ctx["subgradient"] if x == 0.0 else a),)


LEAKY_RELU = register(Rule(
    "leaky_relu", "leaky_relu({x})", _leaky,
    (Factor(lambda n, ctx: f"1 if {n['x']}>0 else {_fmt(ctx['slope'])}", local=_leaky_local),),
    prepare=_leaky_prepare, kink=_zeros,
    doc="x for x > 0, slope·x otherwise; the derivative at 0 is the recorded subgradient "
        "(default: the slope, as PyTorch), which must lie between the slope and 1.",
    scalar=_leaky_scalar))


def _abs_local(x: Any, out: Any, ctx: dict) -> Any:
    s = ctx["subgradient"]
    if type(x) is float:
        return 1.0 if x > 0.0 else -1.0 if x < 0.0 else (s if x == 0.0 else x)
    d = np.sign(x)
    return np.where(x == 0, x.dtype.type(s), d) if ctx["kinks"] and s else d


def _abs_scalar(x: float, ctx: dict) -> tuple:
    if x > 0.0:
        return x, _ONE
    if x < 0.0:
        return -x, _MINUS_ONE
    return abs(x), ((ctx["subgradient"] if x == 0.0 else x),)  # 0, or NaN


ABS = register(Rule(
    "abs", "|{x}|", lambda x, ctx: abs(x), (Factor("sign({x})", local=_abs_local),),
    prepare=lambda subgradient=None: {"subgradient": 0.0 if subgradient is None else check_real(
        subgradient, "the abs subgradient (abs'(0))", -1.0, 1.0)},
    kink=_zeros,
    doc="|x|; abs'(0) is the recorded subgradient in [−1, 1] (default 0, as PyTorch).",
    scalar=_abs_scalar))


def _tanh_scalar(x: float) -> tuple:
    t = math.tanh(x)
    return t, (1 - t * t,)


def _sigmoid_scalar(x: float) -> tuple:
    s = _sigmoid(x)
    return s, (s * (1 - s),)


def _exp_scalar(x: float) -> tuple:
    e = _exp(x)
    return e, (e,)


def _sigmoid_local(x: Any, out: Any) -> Any:
    if type(out) is not np.ndarray:
        return out * (1 - out)
    d = 1 - out
    d *= out  # in place: one array fewer to allocate (for large ones, page faults fewer)
    return d


TANH = register(Rule("tanh", "tanh({x})", _tanh,
                     (Factor("1 − tanh²({x})", local=lambda x, out: 1 - out * out),),
                     scalar=_tanh_scalar))
SIGMOID = register(Rule("sigmoid", "σ({x})", _sigmoid,
                        (Factor("σ({x})·(1 − σ({x}))", local=_sigmoid_local),),
                        scalar=_sigmoid_scalar))
EXP = register(Rule("exp", "exp({x})", _exp, (Factor("exp({x})", local=lambda x, out: out),),
                    scalar=_exp_scalar))
LOG = register(Rule("log", "log({x})", _log,
                    (Factor("1/{x}", local=lambda x, out: _div(1.0, x)),),
                    scalar=lambda x: (_log(x), (_div(1.0, x),))))


# --- reductions and shape ops ----------------------------------------------------------------

def _axis_prepare(axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> dict:
    if axis is not None:
        axes = axis if isinstance(axis, tuple) else (axis,)
        if not all(isinstance(a, int | np.integer) and not isinstance(a, bool) for a in axes):
            raise TypeError(f"axis must be None, an int or a tuple of ints, got {axis!r}")
    return {"axis": axis, "keepdims": bool(keepdims)}


def _reduce(f: Callable) -> Callable:
    def forward(x: Any, ctx: dict) -> Any:
        if type(x) is float and ctx["axis"] in (None, ()):
            return x
        return f(x if type(x) is np.ndarray else np.asarray(x), axis=ctx["axis"],
                 keepdims=ctx["keepdims"])
    return forward


def _sum(x: np.ndarray, axis: Any, keepdims: bool) -> Any:
    return np.add.reduce(x, axis=axis, keepdims=keepdims)  # np.sum, without its wrappers


def _mean(x: np.ndarray, axis: Any, keepdims: bool) -> Any:
    """np.mean (float16 summed in float32, as NumPy does), without its wrappers."""
    half = x.dtype.char == "e"
    s = np.add.reduce(x, axis=axis, keepdims=keepdims, dtype=np.float32 if half else None)
    n = x.size if axis is None else math.prod(
        x.shape[a] for a in (axis if isinstance(axis, tuple) else (axis,)))
    s = s / n
    return s.astype(np.float16) if half else s


def _spread(g: Any, x: Any, ctx: dict) -> Any:
    """Send a reduced cotangent back over the reduced axes (the VJP of sum)."""
    if type(x) is float:
        return g
    g = np.asarray(g)
    axis = ctx["axis"]
    if axis is not None and not ctx["keepdims"]:
        kept = list(x.shape)
        for a in axis if isinstance(axis, tuple) else (axis,):
            kept[a] = 1
        g = g.reshape(kept)
    out = np.empty(x.shape, g.dtype)  # a fresh array (a broadcast view costs more to make)
    if g.ndim:
        np.copyto(out, g)
    else:  # the whole array reduced (fill is one call; copyto goes through NumPy's dispatch)
        out.fill(g)
    return out


def _count(x: Any, out: Any) -> int:
    if type(x) is float or type(out) is not np.ndarray:
        return max(1, np.size(x) // max(1, np.size(out)))
    return max(1, x.size // max(1, out.size))


SUM = register(Rule(
    "sum", "Σ {x}", _reduce(_sum),
    (Factor("1", vjp=lambda g, x, out, ctx: _spread(g, x, ctx), shown=lambda x, out, ctx: 1.0),),
    prepare=_axis_prepare))
MEAN = register(Rule(
    "mean", "mean({x})", _reduce(_mean),
    (Factor("1/n", vjp=lambda g, x, out, ctx: _spread(g / _count(x, out), x, ctx),
            shown=lambda x, out, ctx: 1.0 / _count(x, out)),),
    prepare=_axis_prepare))


def _reshape_prepare(shape: tuple[int, ...]) -> dict:
    if not all(isinstance(n, int | np.integer) and not isinstance(n, bool) for n in shape):
        raise TypeError(f"reshape takes ints, got {shape!r}")
    return {"shape": tuple(int(n) for n in shape)}


RESHAPE = register(Rule(
    "reshape", "reshape({x})", lambda x, ctx: np.reshape(x, ctx["shape"]),
    (Factor("reshape⁻¹", vjp=lambda g, x, out, ctx: np.reshape(g, shape_of(x)),
            shown=lambda x, out, ctx: 1.0),),
    prepare=_reshape_prepare))


def _transpose_prepare(axes: tuple[int, ...] | None = None) -> dict:
    if axes is not None and not all(isinstance(a, int | np.integer) for a in axes):
        raise TypeError(f"transpose takes ints, got {axes!r}")
    return {"axes": None if axes is None else tuple(int(a) for a in axes)}


def _transpose_vjp(g: Any, x: Any, out: Any, ctx: dict) -> Any:
    if type(x) is float:
        return g
    axes = ctx["axes"]
    return np.transpose(g, None if axes is None else tuple(np.argsort(axes)))


TRANSPOSE = register(Rule(
    "transpose", "{x}ᵀ",
    lambda x, ctx: x if type(x) is float else np.transpose(x, ctx["axes"]),
    (Factor("transpose⁻¹", vjp=_transpose_vjp, shown=lambda x, out, ctx: 1.0),),
    prepare=_transpose_prepare))


def _is_basic(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, int | np.integer | slice)
               for p in parts)


def _index_prepare(index: Any) -> dict:
    parts = index if isinstance(index, tuple) else (index,)
    fixed = []
    for p in parts:
        if isinstance(p, list):
            p = np.asarray(p)
        if isinstance(p, np.ndarray) and p.dtype.kind not in "iub":
            raise TypeError(f"index arrays must hold integers or booleans, got dtype {p.dtype}")
        if not (p is None or p is Ellipsis or isinstance(p, int | np.integer | slice | np.ndarray)):
            raise TypeError(
                "an index must be an int, slice, None, ..., or an integer/boolean array, "
                f"got {type(p).__name__}"
            )
        fixed.append(p)
    index = tuple(fixed) if isinstance(index, tuple) else fixed[0]
    return {"index": index, "basic": _is_basic(index)}


def _getitem(x: Any, ctx: dict) -> Any:
    if type(x) is float:
        raise TypeError("a scalar Value cannot be indexed")
    return x[ctx["index"]]


def _getitem_vjp(g: Any, x: Any, out: Any, ctx: dict) -> Any:
    z = np.zeros(x.shape, dtype=np.result_type(g, x))
    if ctx["basic"]:
        z[ctx["index"]] = g
    else:
        np.add.at(z, ctx["index"], g)  # repeated indices add up
    return z


GETITEM = register(Rule(
    "getitem", "{x}[…]", _getitem,
    (Factor("scatter", vjp=_getitem_vjp, shown=lambda x, out, ctx: 1.0),),
    prepare=_index_prepare, doc="Basic and integer/boolean-array indexing."))


# --- losses (per element or per sample; losses.py adds the reduction) -------------------------

def _clipped_log(p: Any) -> Any:
    """log(p) clipped below at −100, as PyTorch's binary cross-entropy does."""
    if type(p) is float:
        return max(_log(p), -100.0)
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(p), -100)


def _check_unit(x: Any, what: str) -> None:
    """Raise unless every entry of ``x`` lies in [0, 1] (NaN does not)."""
    if type(x) is float:
        ok = 0.0 <= x <= 1.0
    elif not x.size:
        return
    else:
        ok = np.minimum.reduce(x, axis=None) >= 0 and np.maximum.reduce(x, axis=None) <= 1
    if not ok:
        raise ValueError(f"binary_cross_entropy: every {what} must lie in [0, 1]")


def _bce(p: Any, t: Any, ctx: dict) -> Any:
    """−(t·log p + (1 − t)·log(1 − p)) per element, p and t in [0, 1].

    For arrays of one shape it saves d = p(1 − p) for the factor, and checks the inputs
    through it (elementwise tests cost less than min/max reductions): p is in [0, 1]
    exactly when d ≥ 0, t when t(t − 1) ≤ 0 (NaN fails both); when every d > 1e-12, no log
    is clipped and the factor's floor max(d, 1e-12) does nothing, so both are skipped.
    """
    if not (type(p) is np.ndarray and type(t) is np.ndarray and p.ndim and p.shape == t.shape
            and p.dtype == t.dtype):  # else the formula as written (0-d results are scalars)
        _check_unit(p, "prob")
        _check_unit(t, "target")
        return -(t * _clipped_log(p) + (1 - t) * _clipped_log(1 - p))
    q = 1 - p
    d = ctx["d"] = p * q
    n = d.size
    tm = t - 1
    ctx["floor"] = np.count_nonzero(d > 1e-12) != n  # 1e-12 is 0 in float16
    if ctx["floor"] and np.count_nonzero(d >= 0) != n:
        raise ValueError("binary_cross_entropy: every prob must lie in [0, 1]")
    if np.count_nonzero(t * tm <= 0) != n:
        raise ValueError("binary_cross_entropy: every target must lie in [0, 1]")
    if not ctx["floor"]:
        lp, lq = np.log(p), np.log(q)
    else:
        with np.errstate(divide="ignore"):  # log 0 = −inf, then clipped
            lp, lq = np.log(p), np.log(q)
        np.maximum(lp, -100, out=lp)
        np.maximum(lq, -100, out=lq)
    lp *= t
    lq *= tm
    lq -= lp  # (t − 1)·log(1 − p) − t·log p, the same bits as −(t·log p + (1 − t)·log(1 − p))
    return lq


def _bce_local_p(p: Any, t: Any, out: Any, ctx: dict) -> Any:
    """(p − t) / max(p(1 − p), 1e-12), PyTorch's formula."""
    d = ctx.get("d")
    if d is None:  # floats, or inputs of different shapes
        d = p * (1 - p)
        return (p - t) / (max(d, 1e-12) if type(d) is float else np.maximum(d, 1e-12))
    r = p - t
    r /= np.maximum(d, 1e-12) if ctx["floor"] else d
    return r


BINARY_CROSS_ENTROPY = register(Rule(
    "binary_cross_entropy", "bce({x}, {y})", _bce, (
        Factor("({x} − {y}) / ({x}(1 − {x}))", local=_bce_local_p),
        Factor("log(1 − {x}) − log {x}",
               local=lambda p, t, out, ctx: _clipped_log(1 - p) - _clipped_log(p))),
    prepare=dict,
    doc="−(t·log p + (1 − t)·log(1 − p)) per element, logs clipped at −100; p and t in [0, 1]."))


def _bce_logits(z: Any, t: Any, ctx: dict) -> Any:
    if type(z) is float:
        e = ctx["e"] = math.exp(-abs(z))  # exp(−|z|) never overflows
        return max(z, 0.0) - z * t + math.log1p(e)
    e = ctx["e"] = np.exp(-np.abs(z))  # saved for the factor σ(z) − t
    if not (type(t) is np.ndarray and z.ndim and z.shape == t.shape and z.dtype == t.dtype):
        return np.maximum(z, 0) - z * t + np.log1p(e)  # broadcasting; 0-d results are scalars
    out = np.maximum(z, 0)  # the same, in place
    out -= z * t
    out += np.log1p(e)
    return out


def _bce_logits_dz(z: Any, t: Any, out: Any, ctx: dict) -> Any:
    """σ(z) − t, with σ(z) from the forward's e = exp(−|z|): 1/(1 + e) or, for z < 0, e/(1 + e)."""
    e = ctx["e"]
    if type(z) is float:
        return (1.0 if z >= 0.0 else e) / (1.0 + e) - t
    return np.where(z >= 0, 1.0, e) / (1 + e) - t


BCE_WITH_LOGITS = register(Rule(
    "binary_cross_entropy_with_logits", "bce_logits({x}, {y})", _bce_logits, (
        Factor("σ({x}) − {y}", local=_bce_logits_dz),
        Factor("−{x}", local=lambda z, t, out, ctx: -z)),
    prepare=dict,
    doc="max(z, 0) − z·t + log(1 + exp(−|z|)) per element: stable for any z."))


def _ce_prepare(labels: np.ndarray) -> dict:
    return {"labels": labels}


def _log_softmax(z: np.ndarray) -> np.ndarray:
    m = np.maximum.reduce(z, axis=-1, keepdims=True)  # np.max and np.sum, without wrappers
    return z - (m + np.log(np.add.reduce(np.exp(z - m), axis=-1, keepdims=True)))


def _picked(labels: np.ndarray) -> tuple:
    """The index of each sample's label in (..., C) scores: score[_picked(labels)]."""
    if labels.ndim == 1:
        return np.arange(labels.shape[0]), labels
    return (*np.indices(labels.shape, sparse=True), labels)


def _ce(z: Any, ctx: dict) -> Any:
    ls = _log_softmax(z)
    ctx["softmax"] = np.exp(ls)  # saved for the factor: softmax(z) at this point
    return -ls[_picked(ctx["labels"])]


def _ce_vjp(g: Any, z: Any, out: Any, ctx: dict) -> Any:
    p = ctx["softmax"].copy()
    p[_picked(ctx["labels"])] -= 1
    p *= np.asarray(g)[..., None]
    return p


CROSS_ENTROPY = register(Rule(
    "cross_entropy", "ce({x})", _ce,
    (Factor("softmax({x}) − onehot", vjp=_ce_vjp,
            shown=lambda z, out, ctx: _ce_vjp(np.ones(np.shape(out)), z, out, ctx)),),
    prepare=_ce_prepare,
    doc="−log softmax(z)[label] per sample, via log-sum-exp (finite at logits of ±1000)."))
