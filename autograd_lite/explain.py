"""Reading the chain rule off a graph: where kinks were hit, and dL/dW path by path.

This module only walks the graph and reads the table of rules (``ops.py``); it never
changes a ``.grad`` and knows no op by name.
"""

from __future__ import annotations

import math
import numbers
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from .backward import plus, pull, toposort
from .value import Value


def kink_words(v: Value) -> tuple[int, str, str]:
    """How the kinks of node ``v`` read: of how many entries they were counted (0 for scalar
    inputs), where those inputs sat and the factor used there, as the rule words them
    (``"exactly 0"``, ``"relu'(0) = 0"``; ``"tied for the max"``, ``"∂max/∂x = 1/#ties"``)."""
    sized = [p.data if p.__class__ is Value else p for p in (v, *v.parents)]
    n = max((np.size(d) for d in sized if np.ndim(d)), default=0)
    if v.rule.kink_words is not None:
        return (n, *v.rule.kink_words)
    s = v.params.get("subgradient", 0.0)
    return n, "exactly 0", f"{v.op}'(0) = {s + 0.0:g}" if isinstance(s, numbers.Real) else \
        f"the subgradient of {v.op} at 0"


@dataclass(frozen=True)
class Kink:
    """A node (ReLU, abs, max, clip, ...) with ``count`` inputs exactly on its kink; the
    ``subgradient`` recorded there (NaN for an op whose choice is no one number: a max's tie
    is shared by the k tied entries, 1/k each)."""

    node: Value
    op: str
    count: int
    subgradient: float

    def __str__(self) -> str:
        name = f" {self.node.label!r}" if self.node.label else ""
        n, where, choice = kink_words(self.node)
        of = f" of {n}" if n else ""
        inputs = "input" if self.count == 1 and not of else "inputs"
        return f"{self.op}{name}: {self.count}{of} {inputs} {where} ({choice})"


def kinks(root: Value) -> list[Kink]:
    """The nodes ``root`` depends on where an input sat exactly on a kink, with counts.

    At those points the op is not differentiable and the recorded subgradient was used.

    >>> import autograd_lite as ag
    >>> x = ag.Value([-1.0, 0.0, 2.0], "x")
    >>> for k in ag.kinks(x.relu().sum()):
    ...     print(k)
    relu: 1 of 3 inputs exactly 0 (relu'(0) = 0)
    """
    if not isinstance(root, Value):
        raise TypeError(f"kinks() takes a Value, got {type(root).__name__}")
    return [Kink(v, v.op, p["kinks"], p.get("subgradient", math.nan if v.rule.kink_words
                                           else 0.0))
            for v in toposort(root) for p in (v.params,) if p.get("kinks")]


def summary(x: Any, full: int = 6, precision: int = 4) -> str:
    """A short text for a number or array: small arrays in full, large ones summarised.

    A zero is written without a sign: ``-0.0`` (say ``0 · -2``), and a tiny negative number
    that rounds to zero, read ``0``. Only the text changes, never ``x``.

    >>> summary(-0.0), summary(np.array([-0.0, -1e-20, 0.5]))
    ('0', '[ 0. ,  0. ,  0.5]')
    """
    if type(x) is float or (isinstance(x, np.ndarray) and x.ndim == 0):
        return f"{float(x) + 0.0:.{precision}g}"
    x = np.asarray(x)
    if x.dtype == bool:
        x = x.astype(np.float64)
    if x.dtype.kind == "f":
        x = x + 0.0  # a new array without -0.0 (the caller's is untouched)
    if x.size <= full:
        text = np.array2string(x, precision=precision, separator=", ", suppress_small=True,
                               max_line_width=60)
        return _NEGATIVE_ZERO.sub(" ", text)
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return f"{x.shape} all non-finite"
    lo, hi, mean = (float(t) + 0.0 for t in (finite.min(), finite.max(), finite.mean()))
    return f"mean {mean:.{precision}g}, range [{lo:.{precision}g}, {hi:.{precision}g}]"


# the sign of a number NumPy rounded to zero ("-0.", "-0.000"), kept as a space for alignment
_NEGATIVE_ZERO = re.compile(r"(?<![\w.])-(?=0\.0*(?![\d.]))")


# --- explain(): the chain rule written out, path by path ----------------------------------------

_LETTERS = "xyzuvw"  # the placeholders of the table's symbols, for inputs in order
_MAX_STEPS = 1_000_000  # the paths explain() lists stop growing past this many factors in all
_MAX_KINK_LINES = 8  # the kinks written out per path
_SIMPLE = re.compile(r"[\w.′']+")


def number(v: Any, digits: int = 4, full: int = 6) -> str:
    """A number or array as short text: ``digits`` significant digits, small arrays in full.

    Only the text changes: a zero is written ``0`` whatever its sign (IEEE ``0 · -2`` is
    ``-0.0``), while the value itself is left as it is.

    >>> number(-0.0), number(2 / 3), number(np.array([-0.0, 0.5]))
    ('0', '0.6667', '[0. , 0.5]')
    """
    if v is None:
        return "?"
    if isinstance(v, bool | np.bool_):
        return "1" if v else "0"
    if isinstance(v, numbers.Real) or (isinstance(v, np.ndarray) and v.ndim == 0):
        return f"{float(v) + 0.0:.{digits}g}"  # + 0.0: a -0.0 is shown as 0
    a = np.asarray(v)
    if a.size > full and a.size and np.all((a == 0) | (a == 1)):  # a mask such as 1[z>0]
        return f"1 at {np.count_nonzero(a):,} of {a.size:,} entries, 0 elsewhere"
    text = summary(a, full=full, precision=digits)
    flat = " ".join(line.strip() for line in text.splitlines())
    return flat if len(flat) <= 64 else text


class _SafeNames(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class CallerNames(dict):
    """Names for array constants found among a caller's variables (see :func:`caller_names`).

    A plain ``dict`` from name to array; :class:`GraphNames` gives these names way to a
    Value's label (the constant is then ``c<k>``), where names given by hand always win.
    """


def caller_names(depth: int = 1) -> CallerNames:
    """The NumPy arrays among the variables of the frame ``depth`` calls above the caller.

    ``draw``, ``explain`` and ``replay`` call this once (``depth=1``: their own caller) when
    no ``constants`` are given, so that ``X @ W`` with a data array ``X`` shows ``X``. The
    locals come first, then the globals; names starting with ``_`` are skipped; an array
    that several names hold gets the first. Matching is by identity: an array the engine
    converted (a list, integers made floats) is a new object and keeps its ``c<k>``.
    """
    frame = sys._getframe(depth + 1)
    try:
        found: dict[int, tuple[str, np.ndarray]] = {}
        for scope in (frame.f_locals, frame.f_globals):
            for name, obj in list(scope.items()):
                if isinstance(obj, np.ndarray) and not name.startswith("_"):
                    found.setdefault(id(obj), (name, obj))
    finally:
        del frame  # a frame held here would keep every local of the caller alive
    return CallerNames(found.values())


class GraphNames:
    """The names pictures and explanations use for the nodes and constants of one graph.

    A Value is called by its ``label``; an unlabelled one by ``v<i>``, ``i`` its position in
    the graph's topological order (inputs first, the same numbers ``draw`` gives its DOT
    nodes); an unlabelled root is ``L``. A constant is called by its value (a number) or
    ``c<k>`` (an array), unless ``constants`` names it (matched by identity). Names in a
    :class:`CallerNames` that a Value's label already uses are not taken.
    """

    def __init__(self, root: Value, constants: Mapping[str, Any] | None = None) -> None:
        self.order: list[Value] = toposort(root)[::-1]  # inputs first, the root last
        self.index: dict[Value, int] = {v: i for i, v in enumerate(self.order)}
        self._root = root
        self._labels = {v.label for v in self.order if v.label}
        if constants is not None and not isinstance(constants, Mapping):
            raise TypeError("constants must be a mapping from name to array or number, got "
                            f"{type(constants).__name__}")
        found = isinstance(constants, CallerNames)
        # the object is kept with its name: an id is only compared while its object lives
        self._given = {id(c): (n, c) for n, c in (constants or {}).items()
                       if not (found and n in self._labels)}
        self._consts: dict[int, str] = {}

    def __call__(self, v: Any) -> str:
        """The name of a Value or a constant (worked out when asked: a picture of a graph of a
        million nodes names the few it shows)."""
        if v.__class__ is Value:
            if v.label:
                return v.label
            i = self.index.get(v)
            if i is None:
                return "wrt"  # a node off the graph
            name = "L" if v is self._root and "L" not in self._labels else f"v{i}"
            return name + "′" if name in self._labels else name
        given = self._given.get(id(v))
        if given is not None and given[1] is v:
            return given[0]
        if type(v) is float or np.ndim(v) == 0:
            return number(float(v))
        if id(v) not in self._consts:
            self._consts[id(v)] = f"c{len(self._consts) + 1}"
        return self._consts[id(v)]

    def placeholders(self, node: Value) -> dict[str, str]:
        """``{x}``, ``{y}``, ... and ``{out}`` of ``node``'s rule, filled with names."""
        names = {"out": _wrap(self(node))}
        for letter, p in zip(_LETTERS, node.parents):
            names[letter] = _wrap(self(p))
        names["inputs"] = ", ".join(p if isinstance(p, str) else self(p)  # for variadic ops
                                    for p in _elide(list(node.parents), 7))
        return names

    def formula(self, node: Value) -> str:
        """``node``'s op written with its inputs' names, e.g. ``w · x`` or ``relu(z)``."""
        fields = _SafeNames(self.placeholders(node))
        for k, v in node.params.items():
            fields.setdefault(k, number(v) if isinstance(v, float) else v)
        try:
            return node.rule.formula.format_map(fields)
        except (ValueError, IndexError, AttributeError, TypeError):
            return node.rule.formula

    def symbol(self, node: Value, slot: int) -> str:
        """The chain-rule factor ∂node/∂(input ``slot``) as the table writes it, with names."""
        factor, names, ctx = node.rule.factors[slot], self.placeholders(node), node.params
        try:
            if callable(factor.symbol):
                return factor.symbol(names, ctx)
            return factor.symbol.format(**names, **ctx)
        except (KeyError, ValueError, IndexError, AttributeError, TypeError):
            return factor.symbol if isinstance(factor.symbol, str) else f"∂{node.op}/∂in{slot}"

    def partial(self, node: Value, slot: int) -> str:
        """``∂out/∂in`` written with names."""
        return f"∂{self(node)}/∂{self(node.parents[slot])}"


def _wrap(name: str) -> str:
    return name if _SIMPLE.fullmatch(name) else f"({name})"


def factor_value(node: Value, slot: int) -> Any:
    """The value of ∂node/∂(input ``slot``) at this point, as backward uses it
    (see :meth:`Value.factor`)."""
    return node.factor(slot)


def as_vjp(node: Value, slot: int, value: Any) -> bool:
    """Whether a factor is shown as a vector-Jacobian product rather than by its ``value``:
    a VJP rule whose shown value is an array, or that shows none (``value`` is ``None``)."""
    return node.rule.factors[slot].vjp is not None and (value is None or bool(np.ndim(value)))


def _seed(root: Value) -> Any:
    if np.size(root.data) != 1:
        raise ValueError(f"explain() needs a one-element root (like backward()), got shape "
                         f"{root.shape}; reduce it first, e.g. L.sum() or L.mean()")
    return 1.0 if type(root.data) is float else np.ones_like(root.data)


class PathFactor:
    """One factor ∂out/∂in of a chain-rule product: ``out``'s input number ``slot``.

    Its texts and value are worked out when first read, so a path of a million steps costs
    a walk, not a million formatted strings.
    """

    def __init__(self, out: Value, slot: int, names: GraphNames) -> None:
        self.out, self.slot, self._names = out, slot, names

    @cached_property
    def partial(self) -> str:
        """``∂out/∂in`` with names."""
        return self._names.partial(self.out, self.slot)

    @cached_property
    def symbol(self) -> str:
        """The table's symbol with names, e.g. ``1[z>0]``."""
        return self._names.symbol(self.out, self.slot)

    @cached_property
    def value(self) -> Any:
        """Its value here (a float, an array, or what the rule shows for a VJP)."""
        return self.out.factor(self.slot)

    @property
    def input(self) -> Value:
        return self.out.parents[self.slot]

    @property
    def is_vjp(self) -> bool:
        """Whether the factor is applied as a vector-Jacobian product (see :func:`as_vjp`)."""
        return as_vjp(self.out, self.slot, self.value)

    def __repr__(self) -> str:
        return f"<PathFactor {self}>"

    def __str__(self) -> str:
        if self.value is None and self.is_vjp:
            return f"{self.partial} = {self.symbol} (a vector-Jacobian product)"
        return f"{self.partial} = {self.symbol} = {number(self.value)}"


class Explanation:
    """The chain rule for dL/dwrt, written out one path at a time; see :func:`explain`.

    A path is kept as its steps, the nodes and input slots from the root down; its
    :class:`PathFactor` objects are made when read (``.paths``, :meth:`factor`), so the text
    of a path of a million steps makes only the factors it shows.
    """

    def __init__(self, root: Value, wrt: Value, names: GraphNames,
                 steps: list[tuple[list[Value], list[int]]], products: list[Any], n_paths: int,
                 total: Any, tensor: bool | None = None) -> None:
        self.root, self.wrt, self.names = root, wrt, names
        self._steps, self.products = steps, products
        self.n_paths, self.total = n_paths, total
        self.truncated = len(steps) < n_paths
        if tensor is None:
            tensor = any(type(v.data) is not float for v in (
                root, wrt, *(v for nodes, _ in steps for v in nodes)))
        #: whether factors compose as vector-Jacobian products (some node on a path is a tensor)
        self.tensor = tensor

    @cached_property
    def paths(self) -> list[list[PathFactor]]:
        """Each path a list of its factors, from the root down to ``wrt``."""
        names = self.names
        return [[PathFactor(v, i, names) for v, i in zip(nodes, slots)]
                for nodes, slots in self._steps]

    def path_length(self, k: int) -> int:
        """How many factors path ``k`` has."""
        return len(self._steps[k][0])

    def path_nodes(self, k: int) -> list[Value]:
        """The nodes along path ``k``, from the root down to ``wrt``."""
        return [*self._steps[k][0], self.wrt]

    def factor(self, k: int, i: int) -> PathFactor:
        """Factor ``i`` of path ``k`` (root first; ``-1`` the last, into ``wrt``)."""
        nodes, slots = self._steps[k]
        return PathFactor(nodes[i], slots[i], self.names)

    def shown(self, k: int, cap: int) -> list[PathFactor | None]:
        """Path ``k``'s factors as the text shows them: a path longer than ``cap`` keeps its
        ends, with one ``None`` for the factors between."""
        return [self.factor(k, i) if isinstance(i, int) else None
                for i in _elide(range(self.path_length(k)), cap)]

    @property
    def lhs(self) -> str:
        """``dL/dwrt`` with names."""
        return f"d{self.names(self.root)}/d{self.names(self.wrt)}"

    def __repr__(self) -> str:
        return (f"<Explanation {self.lhs}: {self.n_paths} path(s), "
                f"total {number(self.total)}>")

    def __str__(self) -> str:
        return "\n".join(self._lines())

    def _lines(self, max_factors: int = 12) -> list[str]:
        n, names = self.n_paths, self.names
        root, wrt = names(self.root), names(self.wrt)
        s = "" if n == 1 else "s"
        lines = [f"{self.lhs} by the chain rule: {n:,} path{s} from {wrt} to {root}"]
        if n == 0:
            lines.append(f"  {root} does not depend on {wrt}, so {self.lhs} = 0")
            return lines
        on_paths = set().union(*(nodes for nodes, _ in self._steps))
        kinked = {v for v in on_paths if v.params.get("kinks")}
        ops = [v for v in names.order if v in on_paths]
        defs = [f"{names(v)} = {names.formula(v)}" for v in _elide(ops, 24) if isinstance(v, Value)]
        line = "  where"
        for k, d in enumerate(defs):
            piece = (" " if k == 0 else ",  ") + d
            if k and len(line) + len(piece) > 92:
                lines.append(line + ",")
                line = "        " + d
            else:
                line += piece
        if defs:
            lines.append(line)
        if self.tensor:
            lines += [
                "  Tensors: each factor is a vector-Jacobian product. Starting from "
                f"d{root}/d{root} = 1,",
                "  each one maps the gradient of an op's output to the gradient of its input",
                f"  (summed back to the input's shape), from {root} back to {wrt}.",
            ]
        for k, prod in enumerate(self.products):
            lines.append("")
            lines += self._path_lines(k, prod, max_factors, kinked)
        lines.append("")
        if self.truncated:
            lines.append(f"  (showing the first {len(self.products):,} of {n:,} paths; the total "
                         "below is the sum over all of them, as backward computes it)")
        sigma = "Σ over paths Π factors"
        if self.tensor:
            lines.append(f"{self.lhs} = {sigma} =")
            lines.append("  " + number(self.total, 6).replace("\n", "\n  "))
        else:
            terms = [number(p, 6) for p in self.products]
            if self.truncated:
                terms.append("…")
            mid = " + ".join(terms) if 1 < len(terms) <= 12 else ""
            mid = mid.replace("+ -", "- ")
            lines.append(f"{self.lhs} = {sigma} = " + (f"{mid} = " if mid else "")
                         + number(self.total, 6))
        return lines

    def _path_lines(self, k: int, prod: Any, cap: int, kinked: set[Value]) -> list[str]:
        names, nodes = self.names, self._steps[k][0]
        chain = _elide([self.wrt, *reversed(nodes)], cap)  # named once elided
        head = f"  path {k + 1}: " + " → ".join(names(v) if isinstance(v, Value) else v
                                                 for v in chain)
        if not nodes:
            return [head + f"  ({names(self.root)} is {names(self.wrt)} itself: the factor is 1)"]
        dots = self.shown(k, cap)
        part = " · ".join(f.partial if f else "…" for f in dots)
        sym = " · ".join(paren(f.symbol) if f else "…" for f in dots)
        lines = [head]
        if self.tensor:
            lines += [f"    {part}", f"    = {sym}"]
            for f in dots:
                if f is None:
                    continue
                if f.is_vjp:
                    lines.append(f"      {f.symbol}: applied as a vector-Jacobian product")
                elif f.symbol != number(f.value):
                    lines.append(_block(f"      {f.symbol} = ", number(f.value)))
            lines.append(_block("    contribution: ", number(prod, 6)))
        else:
            vals = " · ".join(paren(number(f.value)) if f else "…" for f in dots)
            steps = [part]
            for text in (sym, vals, number(prod, 6)):
                if text != steps[-1]:
                    steps.append(text)
            lines.append("    " + " = ".join(steps))
        hits = [i for i, v in enumerate(nodes) if v in kinked] if kinked else []
        lines += [self._kink_line(self.factor(k, i)) for i in hits[:_MAX_KINK_LINES]]
        if len(hits) > _MAX_KINK_LINES:
            lines.append(f"    … and {len(hits) - _MAX_KINK_LINES:,} more kinks on this path")
        return lines

    def _kink_line(self, f: PathFactor) -> str:
        k, (n, where, choice) = f.out.params["kinks"], kink_words(f.out)
        which = f"{k} of {n} inputs were" if n else "the input was"
        factor = choice if f.out.rule.kink_words else f"the subgradient {choice}"
        return (f"    kink: at {self.names(f.out)} = {self.names.formula(f.out)} {which} "
                f"{where}; there the factor is {factor}")


def _elide(items: list, cap: int) -> list:
    if len(items) <= cap:
        return list(items)
    head, tail = cap // 2, cap - cap // 2 - 1
    return [*items[:head], f"… {len(items) - head - tail:,} more …", *items[-tail:]]


def _block(prefix: str, text: str) -> str:
    """``prefix + text`` with the continuation lines of ``text`` indented under its start."""
    return prefix + text.replace("\n", "\n" + " " * len(prefix))


def paren(text: str) -> str:
    """``text`` in parentheses when it is a sum or a negative number inside a product."""
    if text.startswith("-") or text.startswith("−"):
        return f"({text})"
    if " " not in text:
        return text
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and i < len(text) - 1:
            return f"({text})"
    return text


def explain(root: Value, wrt: Value, *, max_paths: int = 64,
            constants: Mapping[str, Any] | None = None) -> Explanation:
    """The chain rule for ``dL/dwrt`` written out: one product of factors per path.

    Every path from ``wrt`` up to ``root`` contributes the product of the chain-rule factors
    ∂out/∂in along it (for tensors, a composition of vector-Jacobian products); dL/dwrt is
    the sum over paths. The factors are read from the table of rules, exactly as backward
    uses them.

    Parameters
    ----------
    root : Value
        The output L, with one element (as for ``backward()``).
    wrt : Value
        The node to differentiate with respect to (a leaf or an intermediate node).
    max_paths : int
        At most this many paths are enumerated (depth first, from ``root``), and no more
        once they hold a million factors in all; the count of all paths and the total are
        always exact, and ``str()`` says when paths were left out. Explaining costs a few
        walks of the graph, however many paths it has.
    constants : mapping of str to array or number, optional
        Names for constants (data passed as plain arrays), matched by identity. Without it
        an array constant is named after the caller's variable that holds it (its locals,
        then its globals), else ``c1``, ``c2``, ...; ``constants={}`` skips that search.

    Returns
    -------
    Explanation
        ``.paths``: each path a list of :class:`PathFactor` (``.partial``, ``.symbol``,
        ``.value``) from ``root`` down to ``wrt``; ``.products``: each path's product
        (its contribution); ``.n_paths``: how many paths there are; ``.truncated``;
        ``.total``: dL/dwrt as backward computes it, in ``wrt``'s shape. ``str()`` is the
        chain rule written out.

    Examples
    --------
    >>> import autograd_lite as ag
    >>> x = ag.Value(3.0, "x")
    >>> y = x * x; y.label = "y"
    >>> z = y + x; z.label = "z"
    >>> e = ag.explain(z, x)
    >>> [[f.symbol for f in p] for p in e.paths], e.products, e.total
    ([['1', 'x'], ['1', 'x'], ['1']], [3.0, 3.0, 1.0], 7.0)
    >>> print(e)
    dz/dx by the chain rule: 3 paths from x to z
      where y = x · x,  z = y + x
    <BLANKLINE>
      path 1: x → y → z
        ∂z/∂y · ∂y/∂x = 1 · x = 1 · 3 = 3
    <BLANKLINE>
      path 2: x → y → z
        ∂z/∂y · ∂y/∂x = 1 · x = 1 · 3 = 3
    <BLANKLINE>
      path 3: x → z
        ∂z/∂x = 1
    <BLANKLINE>
    dz/dx = Σ over paths Π factors = 3 + 3 + 1 = 7
    """
    if not isinstance(root, Value) or not isinstance(wrt, Value):
        raise TypeError(f"explain(root, wrt) takes two Values, got {type(root).__name__} and "
                        f"{type(wrt).__name__}")
    if isinstance(max_paths, bool) or not isinstance(max_paths, numbers.Integral) \
            or max_paths < 1:
        raise ValueError(f"max_paths must be a positive integer, got {max_paths!r}")
    if constants is None:
        constants = caller_names()
    return explain_with(GraphNames(root, constants), root, wrt, int(max_paths))


def explain_with(names: GraphNames, root: Value, wrt: Value, max_paths: int,
                 counts: dict[Value, int] | None = None) -> Explanation:
    """:func:`explain` with the names of a picture already made (``draw`` uses it, and passes
    the :func:`path_counts` it highlights with).

    Its cost is a few walks of the graph: the order (in ``names``), the path counts, the
    sweep from ``root`` down to ``wrt`` on the nodes between them, and the paths listed
    (at most ``max_paths``, and no more once they hold ``_MAX_STEPS`` factors in all).
    """
    seed = _seed(root)
    if counts is None:
        counts = path_counts(names.order, wrt)
    found = list(_walk(root, wrt, counts, seed, max_paths, _MAX_STEPS))
    # one path: its product is the sweep (the same steps in the same order, nothing to add)
    total = found[0][2] if counts.get(root) == 1 else _total(names.order, counts, root, wrt,
                                                             seed)
    tensor = (type(root.data) is not float or type(wrt.data) is not float
              or any(type(v.data) is not float for v in counts))
    return Explanation(root, wrt, names, [(nodes, slots) for nodes, slots, _ in found],
                       [g for *_, g in found], counts.get(root, 0), total, tensor)


def path_counts(order: list[Value], wrt: Value) -> dict[Value, int]:
    """How many paths lead from ``wrt`` to each node that depends on it (``order``: inputs
    first). A node absent from the result does not depend on ``wrt``."""
    counts: dict[Value, int] = {}
    get = counts.get
    for v in order:
        if v is wrt:
            counts[v] = 1
        elif counts:  # (no node before wrt depends on it)
            n = 0
            for p in v.parents:
                if p.__class__ is Value:
                    n += get(p, 0)
            if n:
                counts[v] = n
    return counts


def _total(order: list[Value], counts: dict[Value, int], root: Value, wrt: Value,
           seed: Any) -> Any:
    """dL/dwrt as backward computes it.

    This is the sweep (``backward.sweep``) on the nodes ``counts`` holds, from ``root`` down
    to ``wrt``: no other node sends anything to them, and each of them receives the same
    terms in the same order, so the sum is the same bit for bit.
    """
    if root in counts:
        cot = {root: seed}
        for node in reversed(order):  # the sweep's order
            g = cot.pop(node, None)
            if g is None:  # a node off the paths
                continue
            if node is wrt:
                return g
            for i, p in enumerate(node.parents):
                if p.__class__ is Value and p in counts:
                    gp = pull(node, i, g)
                    cot[p] = gp if p not in cot else plus(cot[p], gp)
    return 0.0 if type(wrt.data) is float else np.zeros_like(wrt.data)


def _walk(root: Value, wrt: Value, counts: dict[Value, int], seed: Any, limit: int,
          max_steps: int) -> Iterator[tuple[list[Value], list[int], Any]]:
    """Paths from ``root`` down to ``wrt``, depth first and iterative: each as its steps (the
    nodes and the input slots taken, root first) and its product, seed · the factors in that
    order, as the sweep multiplies them. Stops after ``limit`` paths, or once those hold
    ``max_steps`` steps."""
    if root not in counts:
        return
    node, g = root, seed
    nodes: list[Value] = []  # the path down to node
    slots: list[int] = []
    stack: list[tuple[Value, int, int, Any]] = []  # edges to take later: (node, slot, depth, g)
    found = held = 0
    while True:
        while node is not wrt:  # down the first input on a path; the others wait on the stack
            parents, take = node.parents, -1
            for i in range(len(parents) - 1, -1, -1):
                p = parents[i]
                if p.__class__ is Value and p in counts:
                    if take >= 0:
                        stack.append((node, take, len(nodes), g))
                    take = i
            nodes.append(node)
            slots.append(take)
            g = pull(node, take, g)
            node = parents[take]
        found += 1
        held += len(nodes)
        yield nodes[:], slots[:], g
        if not stack or found >= limit or held >= max_steps:
            return
        node, take, depth, g = stack.pop()
        del nodes[depth:], slots[depth:]
        nodes.append(node)
        slots.append(take)
        g = pull(node, take, g)
        node = node.parents[take]
