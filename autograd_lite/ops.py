"""The table of derivative rules: every op, declared once.

Vocabulary (every function of a rule takes its arguments in this order)
----------------------------------------------------------------------
``x, y``  the inputs' data, in order: Python floats (scalars) or float ndarrays (tensors)
``out``   the op's output
``ctx``   the op's parameters, resolved by ``prepare`` when the op is built (the ReLU
          subgradient, an axis), then the kink count and what the forward saved for
          backward; passed last, and only to the functions of an op with parameters
``g``     the upstream gradient dL/dout

A :class:`Rule` is a ``forward(*xs[, ctx])`` and, per input, one :class:`Factor`, the
chain-rule factor ∂out/∂input:

* a number, a constant local derivative (``add``: 1; ``sub``: 1 and −1);
* ``local(*xs, out[, ctx])``, an elementwise local derivative, which backward *multiplies*
  g by;
* ``vjp(g, *xs, out[, ctx])``, a vector-Jacobian product, for ops that are not elementwise
  (matmul, reductions, shape ops, indexing).

Factors give g times the factor in the *output's* shape; the engine sums it back to each
input's shape (``shapes.unbroadcast``). A factor's ``symbol`` is how people read it:
``{x}``, ``{y}``, ``{out}`` and the parameters are filled in with names (``1[{x}>0]``).

Derivatives are written with operators and the functions of the next section, which take
floats and arrays alike. A rule with a ``kink`` counts, when built (after its forward, whose
saved data it may read), the inputs that sit exactly on a point where it is not differentiable
(−0.0 included: ReLU's 0, a tie of max, a bound of clip); there the recorded subgradient is
used, and the count is ``ctx["kinks"]``. ``kink_words`` say how pictures read them: where
the inputs sat and the choice made there (by default "exactly 0" and the recorded
``subgradient``, as for ReLU).

Backward, ``draw``, ``explain``, ``gradcheck`` and ``kinks`` all read this table; nothing
else knows what ``mul`` means. ``kernels.py`` attaches hand-tuned forms of a few rules by
name, each tested against the entry here.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from .policy import check_real, get_relu_subgradient
from .shapes import shape_of

# --- elementwise functions of floats and arrays --------------------------------------------


def _floats(on_floats: Callable, on_arrays: Callable) -> Callable:
    """One function of floats and arrays: ``on_floats`` for floats, with IEEE results where
    Python raises (1/0 is inf, log(−1) nan, exp(1000) inf), ``on_arrays`` for the rest."""
    def f(x: Any, *y: Any) -> Any:
        if type(x) is not float or y and type(y[0]) is not float:
            return on_arrays(x, *y)
        try:
            return on_floats(x, *y)
        except (ArithmeticError, ValueError):
            with np.errstate(all="ignore"):
                return float(on_arrays(np.float64(x), *y))

    return f


div, power = _floats(operator.truediv, operator.truediv), _floats(math.pow, operator.pow)
exp, log, tanh = _floats(math.exp, np.exp), _floats(math.log, np.log), _floats(math.tanh, np.tanh)
sqrt = _floats(math.sqrt, np.sqrt)
EXP_SAFE = {"d": -708.0, "f": -88.0, "e": -11.0}  # exp(−x) is finite for x above these


def sigmoid(x: Any) -> Any:
    """1/(1 + exp(−x)), and exp(x)/(1 + exp(x)) where exp(−x) would overflow."""
    if type(x) is float:
        return 1.0 / (1.0 + math.exp(-x)) if x >= -708.0 else exp(x) / (1.0 + exp(x))
    low = x < EXP_SAFE[x.dtype.char]
    with np.errstate(all="ignore"):
        s = 1 / (1 + np.exp(-x))
        return np.where(low, np.exp(x) / (1 + np.exp(x)), s) if low.any() else s


def maximum(x: Any, c: float) -> Any:
    return (c if x <= c else x) if type(x) is float else np.maximum(x, c)  # NaN passes


def where(cond: Any, x: Any, y: Any) -> Any:
    return (x if cond else y) if type(cond) is bool else np.where(cond, x, y)


def _zeros(x: Any, ctx: dict) -> int:
    """How many entries of x are exactly 0 (−0.0 included): the kink count of relu and abs."""
    if type(x) is float:
        return int(x == 0.0)
    if x.size <= 2048:  # counting nonzero floats is quicker for small arrays, a mask for large
        return x.size - int(np.count_nonzero(x))
    return int(np.count_nonzero(x == 0.0))


def _fmt(v: float) -> str: return f"{v:g}".replace("-", "−")


# --- the table ---------------------------------------------------------------------------


class Factor(NamedTuple):
    """∂out/∂input for one input: its ``symbol``, and one of ``const`` (a number), ``local``
    (an elementwise local derivative) or ``vjp`` (a vector-Jacobian product), for which
    ``shown`` (a number, or a function of the saved data) gives what a picture draws."""

    symbol: str | Callable[..., str]
    const: float | None = None
    local: Callable | None = None
    vjp: Callable | None = None
    shown: float | Callable | None = None

    def value(self, saved: tuple) -> Any:
        """The factor here (``saved``: the inputs' data, out[, ctx]); for a VJP, what it shows."""
        if self.const is not None:
            return self.const
        if self.local is not None:
            return self.local(*saved)
        return self.shown(*saved) if callable(self.shown) else self.shown


class EachInput(tuple):
    """The factors of an op with any number of inputs (concatenate, stack): one factor that
    stands for each input; entry ``i`` is input i's, its VJP called as ``vjp(i, g, *saved)``
    and ``{i}`` in its symbol filled in."""

    def __getitem__(self, i: Any) -> Factor:
        f = tuple.__getitem__(self, 0)
        return f._replace(symbol=f.symbol.replace("{i}", str(i)), vjp=functools.partial(f.vjp, i))


def _passed_on(g: Any, saved: tuple) -> Any: return g  # a factor of 1


def chain(f: Factor) -> Callable[[Any, tuple], Any]:
    """``(g, saved) -> g · factor``: what backward calls for one input."""
    c, local, vjp = f.const, f.local, f.vjp
    if c is not None:
        return _passed_on if c == 1.0 else lambda g, saved: g * c
    return (lambda g, saved: g * local(*saved)) if local else lambda g, saved: vjp(g, *saved)


class Rule:
    """An op: its forward and one chain-rule factor per input (see the module docstring).

    ``run``, ``chains`` and ``scalar`` are what the engine calls: the table's forward and
    factors, unless ``kernels.py`` attached hand-tuned forms. ``scalar``, when set, is
    ``(*xs[, ctx]) -> (out, factor of x, factor of y or None)`` for floats in one call; it
    also records the kinks.
    """

    __slots__ = ("name", "formula", "forward", "factors", "prepare", "kink", "kink_words", "doc",
                 "custom", "variadic", "linear", "run", "chains", "scalar")

    def __init__(self, name: str, formula: str, forward: Callable, factors: tuple[Factor, ...],
                 prepare: Callable[..., dict] | None = None, kink: Callable | None = None,
                 kink_words: tuple[str, str] | None = None, doc: str = "",
                 custom: bool = False, linear: bool = False) -> None:
        self.name, self.formula, self.forward, self.factors = name, formula, forward, factors
        self.prepare, self.kink, self.doc, self.custom = prepare, kink, doc, custom
        self.kink_words = kink_words  # (where the kinks sit, the choice made there): see kink
        self.variadic = isinstance(factors, EachInput)  # any number of inputs
        # linear in each input (x + y, x · y, x @ y): input i's factor does not read input i,
        # so a leaf whose partners are all constants is not kept for backward (see apply)
        self.linear = linear
        self.reset()

    def reset(self) -> None:
        """The table's own forward and factors, without kernels."""
        chains = _EachChain(self.factors) if self.variadic else tuple(map(chain, self.factors))
        self.run, self.chains, self.scalar = self.forward, chains, None

    def __repr__(self) -> str: return f"<rule {self.name}>"

    def __reduce__(self) -> tuple:  # pickled by name: a rule holds functions
        return rule_named, (self.name,)


class _EachChain(tuple):
    """The chains of a variadic rule (a tuple of its one factor): entry i is input i's."""

    def __getitem__(self, i: Any) -> Callable[[Any, tuple], Any]:
        return chain(EachInput.__getitem__(self, i))


RULES: dict[str, Rule] = {}


def rule_named(name: str) -> Rule:
    """The rule called ``name`` (how a pickled graph finds its rules again)."""
    if name not in RULES:
        raise ValueError(f"no rule named {name!r}: a custom op must be registered again "
                         "(custom_op) before a graph that uses it is unpickled")
    return RULES[name]


def op(name: str, formula: str, forward: Callable, *factors: Factor, custom: bool = False,
       **options: Any) -> Rule:
    """Enter a rule into the table (a custom op may replace a custom op of its name)."""
    if name in RULES and not (custom and RULES[name].custom):
        raise ValueError(f"an op named {name!r} already exists; choose another name")
    factors = factors[0] if factors and isinstance(factors[0], EachInput) else factors  # variadic
    RULES[name] = Rule(name, formula, forward, factors, custom=custom, **options)
    return RULES[name]


def d(symbol: str | Callable, local: float | Callable) -> Factor:
    """An elementwise factor: a constant, or a local derivative ``(*xs, out[, ctx])``."""
    return Factor(symbol, local=local) if callable(local) else Factor(symbol, const=local)


def vjp(symbol: str, fn: Callable, shown: float | Callable | None = None) -> Factor:
    """A vector-Jacobian product ``(g, *xs, out[, ctx])``; ``shown``: what a picture draws."""
    return Factor(symbol, vjp=fn, shown=shown)


# what a picture shows for the VJP fn of a one-input op: fn of a g of ones
def _of_ones(fn: Callable) -> Callable: return lambda x, out, ctx: fn(1.0 + 0 * out, x, out, ctx)


def each_input(symbol: str, fn: Callable) -> EachInput:
    """The factor of every input of a variadic op: a VJP ``(i, g, *xs, out, ctx)`` for input i."""
    return EachInput((Factor(symbol, vjp=fn),))


# --- arithmetic ----------------------------------------------------------------------------

ADD = op("add", "{x} + {y}", operator.add, d("1", 1.0), d("1", 1.0), linear=True)
SUB = op("sub", "{x} − {y}", operator.sub, d("1", 1.0), d("−1", -1.0), linear=True)
NEG = op("neg", "−{x}", operator.neg, d("−1", -1.0), linear=True)
MUL = op("mul", "{x} · {y}", operator.mul,
         d("{y}", lambda x, y, out: y), d("{x}", lambda x, y, out: x), linear=True)
DIV = op("div", "{x} / {y}", div,
         d("1/{y}", lambda x, y, out: div(1.0, y)),
         d("−{x}/{y}²", lambda x, y, out: -div(x, y * y)))


def _pow_symbol(names: dict[str, str], ctx: dict) -> str:
    p, q = ctx["p"], ctx["p"] - 1
    if p in (0, 1):
        return str(int(p))
    up = str(int(q)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))  # a superscript
    return f"{_fmt(p)}·{names['x']}" + ("" if q == 1 else up if q == int(q) else f"^{_fmt(q)}")


POW = op("pow", "{x}^{p}", lambda x, ctx: power(x, ctx["p"]),
         d(_pow_symbol, lambda x, out, ctx: 0.0 * x if ctx["p"] == 0 else 2 * x if ctx["p"] == 2
           else ctx["p"] * power(x, ctx["p"] - 1)),  # x**0 is 1, even at x = 0
         prepare=lambda p: {"p": check_real(p, "the exponent of ** (a number)")},
         doc="x ** p for a number p; the derivative p·x^(p−1) is 0 for p = 0.")


def _matmul(x: Any, y: Any) -> Any:
    if type(x) is float or type(y) is float or not x.ndim or not y.ndim:
        raise ValueError(f"@ needs tensors with at least 1 dimension, got shapes {shape_of(x)} "
                         f"and {shape_of(y)}; use * to multiply by a scalar")
    return x @ y


def _matmul_vjp(i: int) -> Callable:
    """g @ yᵀ (for x, i = 0) or xᵀ @ g (for y); a 1-D x acts as a row, a 1-D y as a column."""
    def vjp(g: Any, x: Any, y: Any, out: Any) -> Any:  # (on Values too: ag.grad's 2nd order)
        g, xm, ym = g if hasattr(g, "ndim") else np.asarray(g), x, y
        if y.ndim == 1:
            g, ym = g[..., None], y[:, None]
        if x.ndim == 1:
            g, xm = g[..., None, :], x[None, :]
        if i == 0:
            dx = g @ np.swapaxes(ym, -1, -2)
            return dx[..., 0, :] if x.ndim == 1 else dx
        dy = np.swapaxes(xm, -1, -2) @ g
        return dy[..., 0] if y.ndim == 1 else dy

    return vjp


MATMUL = op("matmul", "{x} @ {y}", _matmul,
            vjp("(·) @ {y}ᵀ", _matmul_vjp(0), shown=lambda x, y, out: y),
            vjp("{x}ᵀ @ (·)", _matmul_vjp(1), shown=lambda x, y, out: x),
            doc="Matrix product (NumPy semantics, 1-D and batched operands included).",
            linear=True)

# --- activations -------------------------------------------------------------------------
# relu'(0), leaky_relu'(0) and abs'(0) are choices (subgradients), resolved by prepare() when
# the op is built and stored in ctx. Each local derivative *multiplies* g (never replaces it).


def _slope(x: Any, below: float, at0: float) -> Any:
    """1 where x > 0, ``at0`` where x == 0, ``below`` elsewhere (NaN too)."""
    if type(x) is float:
        return 1.0 if x > 0.0 else at0 if x == 0.0 else below
    if below == 0.0 == at0:
        return x > 0.0  # a mask: g * mask keeps g's dtype
    one = np.where(x > 0.0, x.dtype.type(1), x.dtype.type(below))
    return np.where(x == 0.0, x.dtype.type(at0), one) if at0 != below else one


def _relu_prepare(subgradient: float | None = None) -> dict:
    if subgradient is None:
        return {"subgradient": get_relu_subgradient()}  # the default, validated when it was set
    return {"subgradient": check_real(subgradient, "relu subgradient (relu'(0))", 0, 1)}


RELU = op("relu", "relu({x})", lambda x, ctx: maximum(x, 0.0),
          d("1[{x}>0]", lambda x, out, ctx: _slope(x, 0.0, ctx["kinks"] and ctx["subgradient"])),
          prepare=_relu_prepare,
          kink=_zeros,
          doc="max(x, 0). relu'(x) = 1 for x > 0, 0 for x < 0, and the recorded subgradient s "
              "(default 0, as PyTorch, TensorFlow and JAX) at x == 0.")


def _leaky_prepare(slope: float = 0.01, subgradient: float | None = None) -> dict:
    a = check_real(slope, "the leaky_relu slope")
    s = a if subgradient is None else check_real(
        subgradient, f"the leaky_relu subgradient for slope {a:g}", min(a, 1.0), max(a, 1.0))
    return {"slope": a, "subgradient": s}


LEAKY_RELU = op(
    "leaky_relu", "leaky_relu({x})", lambda x, ctx: where(x > 0, x, ctx["slope"] * x),
    d(lambda n, ctx: f"1 if {n['x']}>0 else {_fmt(ctx['slope'])}",
      lambda x, out, ctx: _slope(x, ctx["slope"], ctx["subgradient"])),
    prepare=_leaky_prepare, kink=_zeros,
    doc="x for x > 0, slope·x otherwise; the derivative at 0 is the recorded subgradient "
        "(default: the slope, as PyTorch), which must lie between the slope and 1.")


def _sign(x: Any, at0: float) -> Any:
    if type(x) is float:
        return 1.0 if x > 0.0 else -1.0 if x < 0.0 else at0 if x == 0.0 else x  # NaN: NaN
    return np.where(x == 0, x.dtype.type(at0), np.sign(x)) if at0 else np.sign(x)


ABS = op("abs", "|{x}|", lambda x, ctx: abs(x),
         d("sign({x})", lambda x, out, ctx: _sign(x, ctx["subgradient"])),
         prepare=lambda subgradient=0.0: {"subgradient": check_real(
             0.0 if subgradient is None else subgradient, "the abs subgradient (abs'(0))", -1, 1)},
         kink=_zeros,
         doc="|x|; abs'(0) is the recorded subgradient in [−1, 1] (default 0, as PyTorch).")
TANH = op("tanh", "tanh({x})", tanh, d("1 − tanh²({x})", lambda x, out: 1 - out * out))
SIGMOID = op("sigmoid", "σ({x})", sigmoid, d("σ({x})·(1 − σ({x}))", lambda x, out: out * (1 - out)))
EXP = op("exp", "exp({x})", exp, d("exp({x})", lambda x, out: out))
LOG = op("log", "log({x})", log, d("1/{x}", lambda x, out: div(1.0, x)))

# --- reductions and shape ops -------------------------------------------------------------


def _ints(values: Any, what: str) -> tuple[int, ...]:
    values = values if isinstance(values, tuple | list) else (values,)
    if not all(isinstance(n, int | np.integer) and not isinstance(n, bool) for n in values):
        raise TypeError(f"{what} takes ints, got {tuple(values)!r}")
    return tuple(int(n) for n in values)


def _axes(x: Any, ctx: dict) -> tuple[int, ...] | None:
    """ctx's ``axis`` checked against x and saved as ``ctx["axes"]``, sorted and non-negative
    (None: all axes; a 0-d Value takes axis 0 or −1, and reduces nothing)."""
    axes, ndim = ctx["axis"], np.ndim(x)
    if axes is not None:
        n = max(ndim, 1)
        if not all(-n <= a < n for a in axes) or len({a % n for a in axes}) < len(axes):
            raise ValueError(f"axis {ctx['axis']!r} is out of range or repeated for a Value of "
                             f"{ndim} dimension(s): each axis must lie in [{-n}, {n - 1}]")
        axes = tuple(sorted(a % n for a in axes)) if ndim else ()
    ctx["axes"] = axes
    return axes


def _sum(x: Any, ctx: dict) -> Any:
    """Σ over ctx's axes."""
    axes = _axes(x, ctx)
    return x if type(x) is float else np.add.reduce(x, axis=axes, keepdims=ctx["keepdims"])


def _mean(x: Any, ctx: dict) -> Any:
    half = type(x) is not float and x.dtype.char == "e"  # summed in float32, as np.mean does
    s = _sum(x.astype(np.float32) if half else x, ctx) / _count(x, ctx)
    return s.astype(np.float16) if half else s


def _count(x: Any, ctx: dict) -> int:  # how many entries of x each entry of out averages
    if ctx["axes"] is None:
        return 1 if type(x) is float else x.size
    return math.prod(np.shape(x)[a] for a in ctx["axes"])


def _kept(a: Any, ctx: dict) -> Any:
    """A reduced array with the reduced axes back, as size 1: it broadcasts against x."""
    return a if ctx["keepdims"] or not ctx["axes"] else np.expand_dims(a, ctx["axes"])


def _spread(g: Any, x: Any, ctx: dict) -> Any:
    """A reduced cotangent sent back over the reduced axes: the VJP of sum."""
    if type(x) is float:
        return g
    if not isinstance(g, np.ndarray | np.generic | float):  # a Value (ag.grad's second order)
        return np.broadcast_to(_kept(g, ctx), np.shape(x))
    out = np.empty(x.shape, np.result_type(g))
    out[...] = _kept(g, ctx)
    return out


_AXES = {"prepare": lambda axis=None, keepdims=False: {
    "axis": None if axis is None else _ints(axis, "axis"), "keepdims": bool(keepdims)}}
SUM = op("sum", "Σ {x}", _sum, vjp("1", lambda g, x, out, ctx: _spread(g, x, ctx), 1.0), **_AXES)
MEAN = op("mean", "mean({x})", _mean,
          vjp("1/n", lambda g, x, out, ctx: _spread(g / _count(x, ctx), x, ctx),
              lambda x, out, ctx: 1.0 / _count(x, ctx)), **_AXES)
RESHAPE = op("reshape", "reshape({x})", lambda x, ctx: np.reshape(x, ctx["shape"]),
             vjp("reshape⁻¹", lambda g, x, out, ctx: np.reshape(g, shape_of(x)), 1.0),
             prepare=lambda shape: {"shape": _ints(shape, "reshape")})


def _transpose_vjp(g: Any, x: Any, out: Any, ctx: dict) -> Any:
    if type(x) is float or ctx["axes"] is None:
        return np.transpose(g)
    return np.transpose(g, np.argsort([a % x.ndim for a in ctx["axes"]]))  # the inverse


TRANSPOSE = op("transpose", "{x}ᵀ",
               lambda x, ctx: x if type(x) is float else np.transpose(x, ctx["axes"]),
               vjp("transpose⁻¹", _transpose_vjp, 1.0),
               prepare=lambda axes=None: {"axes": axes and _ints(axes, "transpose")})


def _index_prepare(index: Any) -> dict:
    parts = [np.asarray(p, None if p else np.intp) if isinstance(p, list) else p
             for p in (index if isinstance(index, tuple) else (index,))]  # [] indexes nothing
    for p in parts:
        if not (p is None or p is Ellipsis or isinstance(p, int | np.integer | slice) or
                isinstance(p, np.ndarray) and p.dtype.kind in "iub"):
            raise TypeError("an index must be an int, slice, None, ..., or an integer or boolean "
                            f"array, got {getattr(p, 'dtype', type(p).__name__)}")
    return {"index": tuple(parts) if isinstance(index, tuple) else parts[0],
            "basic": not any(isinstance(p, np.ndarray) for p in parts)}


def _getitem(x: Any, ctx: dict) -> Any:
    if type(x) is float:
        raise TypeError("a scalar Value cannot be indexed")
    return x[ctx["index"]]


def _scatter(g: Any, x: Any, out: Any, ctx: dict) -> Any:
    z = np.zeros(x.shape, dtype=np.result_type(g, x))
    if ctx["basic"]:
        z[ctx["index"]] = g
    else:
        np.add.at(z, ctx["index"], g)  # repeated indices add up
    return z


GETITEM = op("getitem", "{x}[…]", _getitem, vjp("scatter", _scatter, 1.0),
             prepare=_index_prepare, doc="Basic and integer/boolean-array indexing.")
SCATTER = op("scatter", "scatter({x})",
             lambda g, ctx: _scatter(g, np.empty(ctx["shape"], g.dtype), None, ctx),
             vjp("(·)[…]", lambda g, x, out, ctx: _getitem(g, ctx), 1.0),
             prepare=lambda index, like: {**_index_prepare(index), "shape": np.shape(like)},
             doc="g placed at an index of zeros shaped like ``like``: getitem's VJP as an op, "
                 "so that ag.grad(create_graph=True) can differentiate it.")

# --- concatenate and stack: any number of inputs, each gets its block of g back --------------


def _axis_in(axis: int, ndim: int, what: str) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"{what}: axis {axis} is out of range for {ndim} dimension(s): it must "
                         f"lie in [{-ndim}, {ndim - 1}]")
    return axis % ndim


def _concatenate(*xs: Any) -> Any:
    *xs, ctx = xs
    if any(type(x) is float or not x.ndim for x in xs):
        raise ValueError("concatenate joins tensors along an axis they have; a number or a "
                         "scalar Value has none: use ag.stack")
    axis = ctx["at"] = _axis_in(ctx["axis"], xs[0].ndim, "concatenate")
    ctx["ends"] = np.cumsum([x.shape[axis] for x in xs])  # where each input's block ends
    return np.concatenate(xs, axis=axis, dtype=np.result_type(*xs))  # numbers: weak, as in x * 2


def _block(i: int, g: Any, *saved: Any) -> Any:
    ends, axis = saved[-1]["ends"], saved[-1]["at"]
    return g[(slice(None),) * axis + (slice(ends[i - 1] if i else 0, ends[i]),)]


def _stack(*xs: Any) -> Any:
    *xs, ctx = xs
    ctx["at"] = _axis_in(ctx["axis"], np.ndim(xs[0]) + 1, "stack")
    return np.stack(xs, axis=ctx["at"], dtype=np.result_type(*xs))


_ONE_AXIS = {"prepare": lambda axis=0: {"axis": _ints((axis,), "axis")[0]}}
CONCATENATE = op("concatenate", "concatenate({inputs})", _concatenate,
                 each_input("(·)[block {i}]", _block), **_ONE_AXIS,
                 doc="the inputs joined along an axis they have; input i gets its block of g.")
STACK = op("stack", "stack({inputs})", _stack,
           each_input("(·)[{i}]", lambda i, g, *saved: np.take(g, i, axis=saved[-1]["at"])),
           **_ONE_AXIS, doc="the inputs (equal shapes, scalars too) along a new axis; input i "
                            "gets entry i of g along it.")

# --- softmax, log_softmax, logsumexp: shifted by the max, so finite at logits of ±1000 ------


def _max_kept(x: Any, ctx: dict) -> Any:
    """max(x) over ctx's axes, kept (size 1); 0 where it is ±inf: exp(x − it) cannot overflow."""
    m = np.max(x, axis=_axes(x, ctx), keepdims=True)
    return np.where(np.isfinite(m), m, 0)


def _log_sum_exp(z: Any, ctx: dict) -> Any:  # of z = x − max: no term above exp(0) = 1
    with np.errstate(divide="ignore"):  # a slice of −infs: log 0 = −inf
        return np.log(np.sum(np.exp(z), axis=ctx["axes"], keepdims=True))


def _softmax(x: Any, ctx: dict) -> Any:
    e = np.exp(x - _max_kept(x, ctx))
    return e / np.sum(e, axis=ctx["axes"], keepdims=True)


def _log_softmax(x: Any, ctx: dict) -> Any:
    z = x - _max_kept(x, ctx)
    return z - _log_sum_exp(z, ctx)


def _logsumexp(x: Any, ctx: dict) -> Any:
    m = _max_kept(x, ctx)
    s = m + _log_sum_exp(x - m, ctx)
    return s if ctx["keepdims"] else np.squeeze(s, ctx["axes"])


def _softmax_vjp(g: Any, x: Any, out: Any, ctx: dict) -> Any:
    return out * (g - np.sum(g * out, axis=ctx["axes"], keepdims=True))


def _log_softmax_vjp(g: Any, x: Any, out: Any, ctx: dict) -> Any:
    return g - np.exp(out) * np.sum(g, axis=ctx["axes"], keepdims=True)


def _logsumexp_vjp(g: Any, x: Any, out: Any, ctx: dict) -> Any:
    return _spread(g, x, ctx) * np.exp(x - _kept(out, ctx))  # g · softmax(x)


_AXIS = {"prepare": lambda axis=-1: {"axis": None if axis is None else _ints(axis, "axis")}}
SOFTMAX = op("softmax", "softmax({x})", _softmax,
             vjp("{out}·((·) − Σ (·)·{out})", _softmax_vjp), **_AXIS,
             doc="exp(x − max) / Σ exp(x − max) along axis (default −1, the last): each slice "
                 "sums to 1.")
LOG_SOFTMAX = op("log_softmax", "log_softmax({x})", _log_softmax,
                 vjp("(·) − softmax({x})·Σ (·)", _log_softmax_vjp), **_AXIS,
                 doc="x − logsumexp(x) along axis (default −1): finite where softmax is 0.")
LOGSUMEXP = op(
    "logsumexp", "logsumexp({x})", _logsumexp,
    vjp("softmax({x})", _logsumexp_vjp, _of_ones(_logsumexp_vjp)),
    **_AXES, doc="log Σ exp(x) over axis (default: all), as max + log Σ exp(x − max).")

# --- max and min: ties share the gradient equally --------------------------------------------
# Where k entries tie for the max of a slice (or x == y in maximum), max is not differentiable:
# a kink. Each tied entry gets g/k (maximum: g/2 each): PyTorch's amax/maximum, JAX and
# TensorFlow choose so. (ReLU is not maximum(x, 0): that would give relu'(0) = ½.)


def _tied(reduce: Callable) -> Callable:
    """The kink count of max (min): the entries that tie with another for their slice's max."""
    def count(x: Any, ctx: dict) -> int:
        if type(x) is float:
            return 0
        axes = _axes(x, ctx)
        n = np.sum(x == reduce(x, axis=axes, keepdims=True), axis=axes)
        return int(np.sum(n, where=n > 1))

    return count


def _extreme(reduce: Callable) -> Callable:  # max or min over ctx's axes (a float: itself)
    return lambda x, ctx: reduce(x, axis=_axes(x, ctx), keepdims=ctx["keepdims"])


def _share(g: Any, x: Any, out: Any, ctx: dict) -> Any:
    """g shared equally by the entries of x that equal their slice's max (min), ``out``."""
    if type(x) is float:
        return g
    at = x == _kept(out, ctx)
    return at * (_spread(g, x, ctx) / np.sum(at, axis=ctx["axes"], keepdims=True).astype(x.dtype))


MAX = op("max", "max({x})", _extreme(np.max),
         vjp("1[{x} = max] / #ties", _share, _of_ones(_share)), kink=_tied(np.max),
         kink_words=("tied for the max", "∂max/∂x = 1/#ties"), **_AXES,
         doc="the largest entry over axis (default: all); k tied entries get g/k each.")
MIN = op("min", "min({x})", _extreme(np.min),
         vjp("1[{x} = min] / #ties", _share, _of_ones(_share)), kink=_tied(np.min),
         kink_words=("tied for the min", "∂min/∂x = 1/#ties"), **_AXES,
         doc="the smallest entry over axis (default: all); k tied entries get g/k each.")


def _wins(a: Any, b: Any) -> Any:
    """∂max(a, b)/∂a: 1 where a > b, ½ at a tie, 0 where a < b (1 beside a NaN, as PyTorch)."""
    t = np.result_type(a, b).type
    return np.where(a == b, t(0.5), np.where(a < b, t(0.0), t(1.0)))


def _equal(x: Any, y: Any, ctx: dict) -> int:
    return int(np.count_nonzero(x == y))  # the kink count of maximum and minimum: the ties


MAXIMUM = op("maximum", "max({x}, {y})", lambda x, y, ctx: np.maximum(x, y),
             d("1[{x}>{y}] + ½·1[{x}={y}]", lambda x, y, out, ctx: _wins(x, y)),
             d("1[{y}>{x}] + ½·1[{x}={y}]", lambda x, y, out, ctx: _wins(y, x)),
             prepare=dict, kink=_equal, kink_words=("tied (x = y)", "∂max/∂x = ∂max/∂y = ½"),
             doc="the larger of x and y, elementwise (NaN passes); at a tie each gets g/2.")
MINIMUM = op("minimum", "min({x}, {y})", lambda x, y, ctx: np.minimum(x, y),
             d("1[{x}<{y}] + ½·1[{x}={y}]", lambda x, y, out, ctx: _wins(y, x)),
             d("1[{y}<{x}] + ½·1[{x}={y}]", lambda x, y, out, ctx: _wins(x, y)),
             prepare=dict, kink=_equal, kink_words=("tied (x = y)", "∂min/∂x = ∂min/∂y = ½"),
             doc="the smaller of x and y, elementwise (NaN passes); at a tie each gets g/2.")

# --- where, clip, sqrt ----------------------------------------------------------------------


def _where_prepare(cond: Any) -> dict:
    c = np.asarray(None if hasattr(cond, "_op") else cond)  # a Value: refused, named below
    if c.dtype != bool:
        got = type(cond).__name__ if c.dtype == object else f"dtype {c.dtype}"
        raise TypeError(f"where(cond, x, y): cond must be a boolean array (a comparison such as "
                        f"x > 0 gives one), got {got}")
    return {"cond": c}


WHERE = op("where", "where(cond, {x}, {y})", lambda x, y, ctx: np.where(ctx["cond"], x, y),
           d("1[cond]", lambda x, y, out, ctx: ctx["cond"]),
           d("1[not cond]", lambda x, y, out, ctx: ~ctx["cond"]), prepare=_where_prepare,
           doc="x where cond is True, else y (cond: a boolean array, a constant).")


def _clip_prepare(lo: float | None = None, hi: float | None = None) -> dict:
    lo = -math.inf if lo is None else check_real(lo, "clip's lo (the lower bound, or None)")
    hi = math.inf if hi is None else check_real(hi, "clip's hi (the upper bound, or None)")
    if lo > hi:
        raise ValueError(f"clip needs lo ≤ hi, got lo = {_fmt(lo)} > hi = {_fmt(hi)}")
    return {"lo": lo, "hi": hi}


def _on_bound(x: Any, ctx: dict) -> int:
    return int(np.count_nonzero((x == ctx["lo"]) | (x == ctx["hi"])))  # clip's kink count


CLIP = op("clip", "clip({x}, {lo}, {hi})", lambda x, ctx: np.clip(x, ctx["lo"], ctx["hi"]),
          d(lambda n, ctx: f"1[{_fmt(ctx['lo'])} ≤ {n['x']} ≤ {_fmt(ctx['hi'])}]",
            lambda x, out, ctx: (x >= ctx["lo"]) & (x <= ctx["hi"])),  # 1 on the bounds
          prepare=_clip_prepare, kink=_on_bound,
          kink_words=("exactly on a bound", "clip' = 1 (PyTorch clamp)"),
          doc="x limited to [lo, hi] (None: no bound); the derivative is 1 on [lo, hi], bounds "
              "included (PyTorch clamp), 0 outside.")


def _half_over(s: Any) -> Any:
    """1/(2s): sqrt's derivative from s = √x; inf at x = 0, as PyTorch."""
    if type(s) is float:
        return div(0.5, s)
    with np.errstate(divide="ignore"):
        return 0.5 / s


SQRT = op("sqrt", "√{x}", lambda x, ctx: sqrt(x),
          d("1/(2√{x})", lambda x, out, ctx: _half_over(out)), prepare=dict, kink=_zeros,
          kink_words=("exactly 0", "sqrt'(0) = inf (PyTorch)"),
          doc="√x (NaN below 0); the derivative 1/(2√x) is inf at 0, which counts as a kink.")

# A piecewise-constant factor (relu's 1[x>0], clip's, maximum's) as a node of its own, for
# ag.grad(create_graph=True): its derivative is 0, except at the first pass's kinks, where it
# is not defined (relu″(0)); they are counted again here, so ag.kinks finds them.
STEP = op("step", "step({x})", lambda x, ctx: ctx["value"], d("0", 0.0),
          prepare=lambda value, of, at: {"value": value, "of": of, "at": at},
          kink=lambda x, ctx: ctx["at"],
          kink_words=("on a kink of the first pass",
                      "its derivative taken as 0, as PyTorch and JAX"),
          doc="the factor of a piecewise-linear op (``of``), frozen at x: derivative 0, "
              "undefined at the first pass's kinks (counted).")

# --- losses (per element or per sample; losses.py adds the reduction) -----------------------


def _clipped_log(p: Any) -> Any:
    """log(p) clipped below at −100, as PyTorch's binary cross-entropy does."""
    with np.errstate(divide="ignore"):
        return maximum(log(p), -100.0)


def _bce(p: Any, t: Any, ctx: dict) -> Any:
    for x, what in ((p, "prob"), (t, "target")):
        if not (0.0 <= x <= 1.0 if type(x) is float else np.all((x >= 0) & (x <= 1))):
            raise ValueError(f"binary_cross_entropy: every {what} must lie in [0, 1]")
    return -(t * _clipped_log(p) + (1 - t) * _clipped_log(1 - p))


BINARY_CROSS_ENTROPY = op(
    "binary_cross_entropy", "bce({x}, {y})", _bce,
    d("({x} − {y}) / ({x}(1 − {x}))",
      lambda p, t, out, ctx: div(p - t, maximum(p * (1 - p), 1e-12))),  # PyTorch's floor
    d("log(1 − {x}) − log {x}", lambda p, t, out, ctx: _clipped_log(1 - p) - _clipped_log(p)),
    prepare=dict,
    doc="−(t·log p + (1 − t)·log(1 − p)) per element, logs clipped at −100; p and t in [0, 1].")


def _bce_logits(z: Any, t: Any, ctx: dict) -> Any:
    e = ctx["e"] = exp(-abs(z))  # exp(−|z|) never overflows; saved for the factor σ(z) − t
    return maximum(z, 0.0) - z * t + (math.log1p(e) if type(e) is float else np.log1p(e))


BCE_WITH_LOGITS = op(
    "binary_cross_entropy_with_logits", "bce_logits({x}, {y})", _bce_logits,
    d("σ({x}) − {y}", lambda z, t, out, ctx: where(z >= 0, 1.0, ctx["e"]) / (1 + ctx["e"]) - t),
    d("−{x}", lambda z, t, out, ctx: -z),
    prepare=dict, doc="max(z, 0) − z·t + log(1 + exp(−|z|)) per element: stable for any z.")


def _picked(labels: np.ndarray) -> tuple:
    """The index of each sample's label in (..., C) scores: score[_picked(labels)]."""
    return (*np.indices(labels.shape, sparse=True), labels)


def _ce(z: Any, ctx: dict) -> Any:
    m = np.max(z, axis=-1, keepdims=True)
    log_softmax = z - (m + np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True)))
    ctx["softmax"] = np.exp(log_softmax)  # saved for the factor
    return -log_softmax[_picked(ctx["labels"])]


def _ce_vjp(g: Any, z: Any, out: Any, ctx: dict) -> Any:
    p = ctx["softmax"].copy()
    p[_picked(ctx["labels"])] -= 1
    return p * np.asarray(g)[..., None]


CROSS_ENTROPY = op(
    "cross_entropy", "ce({x})", _ce,
    vjp("softmax({x}) − onehot", _ce_vjp, _of_ones(_ce_vjp)),
    prepare=lambda labels: {"labels": labels},
    doc="−log softmax(z)[label] per sample, via log-sum-exp (finite at logits of ±1000).")

# --- convolution and pooling: NCHW, im2col from strided views, BLAS for the products ---------
# ctx holds "kernel", "stride" and "padding" as pairs of ints, checked by functions.py (and for
# avg_pool2d "n", the entries of a window). A window is walked a kernel offset at a time: for
# each offset (i, j), the (N, C, OH, OW) view of the entries at (i, j) of every window. Pooling
# is then elementwise work on kh·kw such views (NumPy's own reductions over small window axes
# are several times slower), and a conv is one batched matrix product,
# w (O, C·kh·kw) @ cols (N, C·kh·kw, OH·OW), its output in NCHW already.


def _offsets(x: Any, ctx: dict) -> list:
    """For each kernel offset (in np.ndindex order), the strided view of the zero-padded x that
    holds every window's entry there: (N, C, OH, OW) each. Stacked, they are im2col."""
    (ph, pw), (sh, sw), (kh, kw) = ctx["padding"], ctx["stride"], ctx["kernel"]
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
    oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    return [x[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] for i, j in np.ndindex(kh, kw)]


def _col2im(parts: Any, x: Any, ctx: dict) -> Any:
    """The VJP of _offsets: each offset's part (a list, or an array along its first axis) added
    back where it came from in x."""
    (ph, pw), (sh, sw), (oh, ow) = ctx["padding"], ctx["stride"], parts[0].shape[2:]
    dx = np.zeros((*x.shape[:2], x.shape[2] + 2 * ph, x.shape[3] + 2 * pw), parts[0].dtype)
    for (i, j), part in zip(np.ndindex(ctx["kernel"]), parts):
        dx[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] += part
    return dx[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]


def _conv2d(x: Any, w: Any, ctx: dict) -> Any:
    parts = _offsets(x, ctx)  # cols, (N, C·kh·kw, OH·OW), is saved for ∂/∂w
    cols = ctx["cols"] = np.stack(parts, axis=2).reshape(len(x), math.prod(w.shape[1:]), -1)
    return (w.reshape(len(w), -1) @ cols).reshape(len(x), len(w), *parts[0].shape[2:])


def _conv_dx(g: Any, x: Any, w: Any, out: Any, ctx: dict) -> Any:  # wᵀ @ g, back into x
    cols = w.reshape(len(w), -1).T @ g.reshape(*g.shape[:2], -1)
    return _col2im(np.moveaxis(cols.reshape(len(x), x.shape[1], -1, *g.shape[2:]), 2, 0), x, ctx)


def _conv_dw(g: Any, x: Any, w: Any, out: Any, ctx: dict) -> Any:  # g @ colsᵀ, summed over N
    return (g.reshape(*g.shape[:2], -1) @ ctx["cols"].swapaxes(1, 2)).sum(0).reshape(w.shape)


def _max_pool(x: Any, ctx: dict) -> Any:
    """Each window's max; saved for the kink count and backward: per kernel offset, where it
    sits ("at"), and how many entries of each window hold it ("ties": 1, or a tie)."""
    parts = _offsets(x, ctx)
    out = functools.reduce(np.maximum, parts)
    at = ctx["at"] = [part == out for part in parts]
    ctx["ties"] = sum(at, np.zeros_like(out))
    return out


def _window_ties(x: Any, ctx: dict) -> int:
    """The kink count of max_pool2d: the entries of x that tie with another for a window's max
    (windows apart share no entry: then it is the sum of their ties)."""
    if all(s >= n for s, n in zip(ctx["stride"], ctx["kernel"])):
        return int(ctx["ties"][ctx["ties"] > 1].sum())
    return int(np.count_nonzero(_col2im([a & (ctx["ties"] > 1) for a in ctx["at"]], x, ctx)))


def _pool_share(g: Any, x: Any, out: Any, ctx: dict) -> Any:
    """Each window's g shared equally by its entries that equal its max, added back into x."""
    return _col2im([a * (g / ctx["ties"]) for a in ctx["at"]], x, ctx)


CONV2D = op("conv2d", "conv2d({x}, {y})", _conv2d,
            vjp("col2im({y}ᵀ @ (·))", _conv_dx, lambda x, w, out, ctx: w),
            vjp("(·) @ im2col({x})ᵀ", _conv_dw, lambda x, w, out, ctx: x), prepare=dict,
            doc="x (N, C, H, W) cross-correlated with w (O, C, kh, kw), as PyTorch's conv2d.",
            linear=True)
MAX_POOL2D = op("max_pool2d", "max_pool2d({x})", _max_pool,
                vjp("1[{x} = window max] / #ties", _pool_share, _of_ones(_pool_share)),
                prepare=dict, kink=_window_ties,
                kink_words=("tied for a window's max", "∂max/∂x = 1/#ties"),
                doc="the largest entry of each kh×kw window; k tied entries get g/k each.")
AVG_POOL2D = op("avg_pool2d", "avg_pool2d({x})", lambda x, ctx: sum(_offsets(x, ctx)) / ctx["n"],
                vjp("1/{n}", lambda g, x, out, ctx: _col2im([g / ctx["n"]] * ctx["n"], x, ctx),
                    lambda x, out, ctx: 1 / ctx["n"]),
                prepare=dict, doc="the mean of each window of n = kh·kw entries: each gets g/n.")

# --- custom ops ----------------------------------------------------------------------------


def _checked(fn: Callable, name: str, kind: str, i: int = -1) -> Callable:
    """A custom op's function, its result checked: real numbers, and for a factor a shape that
    fits (an elementwise derivative's broadcasts to the output's, a VJP's to input ``i``'s)."""
    def call(*args: Any) -> Any:
        r = fn(*args)
        a, what = np.asarray(r), f"the {kind} of {name!r}" + f" for input {i}" * (i >= 0)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"{what} must return real numbers, got dtype {a.dtype}")
        want = shape_of(args[-1] if kind == "derivative" else args[1 + i]) if i >= 0 else a.shape
        if a.shape != want and not _fits(a.shape, want, kind == "vjp"):
            raise ValueError(f"{what} returned shape {a.shape}, which does not fit {want}")
        return r if a.dtype.kind == "f" else a.astype(np.float64)

    return call


def _fits(shape: tuple, want: tuple, summed: bool) -> bool:
    """Whether ``shape`` broadcasts to ``want`` (or, ``summed``: sums back to it)."""
    try:
        return np.broadcast_shapes(shape, want) == (shape if summed else want)
    except ValueError:
        return False


def custom_op(name: str, forward: Callable[..., Any],
              derivative: Callable | Sequence[Callable] | None = None, *,
              vjp: Callable | Sequence[Callable] | None = None,
              symbol: str | Sequence[str] | None = None) -> Callable[..., Any]:
    """Declare an op; it joins the table of rules like a built-in.

    ``forward(*inputs)`` computes the output from the inputs' data. Give, per input, either
    ``derivative`` -- the elementwise local derivative ``(*inputs, out) -> ∂out/∂input``,
    which backward multiplies the upstream gradient by -- or ``vjp`` --
    ``(g, *inputs, out) -> g·∂out/∂input``.
    ``symbol`` is how pictures write each factor. Backward, ``gradcheck``, ``draw``,
    ``explain`` and ``kinks`` treat the op as they treat built-ins.

    The seed question: a ReLU whose derivative is written from the output ``A`` instead of
    the input ``Z`` is "1 everywhere", and gradcheck says so.

    >>> import numpy as np, autograd_lite as ag
    >>> relu_z = ag.custom_op("relu_z", lambda z: np.maximum(z, 0),
    ...                       derivative=lambda z, a: 1.0 * (z > 0), symbol="1[z>0]")
    >>> relu_a = ag.custom_op("relu_a", lambda z: np.maximum(z, 0),
    ...                       derivative=lambda z, a: 1.0 * (a >= 0), symbol="1[A>=0]")
    >>> z = ag.Value(np.array([-1.5, -0.5, 0.5, 2.0]))
    >>> ag.gradcheck(lambda v: relu_z(v[0]).sum(), [z])
    True
    >>> ag.gradcheck(lambda v: relu_a(v[0]).sum(), [z])
    Traceback (most recent call last):
    ...
    autograd_lite.gradcheck.GradcheckError: input 0, element (0,): analytic 1, numeric 0 ...
    """
    kind, fns = ("derivative", derivative) if vjp is None else ("vjp", vjp)
    fns = (fns,) if callable(fns) else tuple(fns or ())
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"an op name must be an identifier, got {name!r}")
    if not (callable(forward) and (derivative is None) != (vjp is None) and fns
            and all(callable(f) for f in fns)):
        raise TypeError("custom_op takes a forward function and exactly one of derivative= "
                        "(elementwise) or vjp=: a function, or one function per input")
    n = len(fns)
    symbols = [symbol] if isinstance(symbol, str) else list(symbol or (
        f"∂{name}/∂in" + f"{i}" * (n > 1) for i in range(n)))
    if len(symbols) != n:
        raise ValueError(f"{n} derivative(s) but {len(symbols)} symbol(s)")
    factors = [Factor(s, **{"local" if vjp is None else "vjp": _checked(f, name, kind, i)})
               for i, (s, f) in enumerate(zip(symbols, fns))]
    inputs = ", ".join("{" + "xyzuvw"[i] + "}" if i < 6 else "…" for i in range(n))
    rule = op(name, f"{name}({inputs})", _checked(forward, name, "forward"), *factors, custom=True)

    def call(*inputs: Any) -> Any:
        return rule(*inputs)  # type: ignore[operator]  # value.py makes rules callable

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"The custom op {name!r} ({n} input(s))."
    call.rule = rule  # type: ignore[attr-defined]
    return call
