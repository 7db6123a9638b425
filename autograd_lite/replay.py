"""Watch backprop happen: the backward sweep replayed step by step, as one offline page.

``replay(L)`` reads the reference sweep (``backward.sweep``) and takes its steps again, one
chain-rule step (``backward.pull``) per edge, adding up what arrives at each input in the
sweep's order. Step 0 of the page is the graph after the forward pass; each later step is one
node, in the sweep's order, whose dL/dnode is final passing it to its inputs. Each running
sum is checked against what the sweep itself yields for that node, bit for bit.
With ``order="naive"`` the steps are those of a naive recursive backward instead (why the
order matters): one edge per step, a node passing on what it holds now.

The picture is ``draw``'s, rendered once to SVG: its grad lines are widened to hold the
longest text they will show, and each edge gets one more line, ``step k: g × factor =
contribution``, that the page's script reveals at step ``k`` (the naive walk, which takes
an edge more than once, shows the latest). The script and the style
(``assets/replay.js``, ``assets/replay.css``) and the SVG are inline; a Content Security
Policy forbids every fetch, so the page works offline, also inside a notebook.
"""

from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .backward import plus, pull, sweep, toposort
from .explain import GraphNames, as_vjp, caller_names, number, paren
from .value import Value
from .viz import _kink_note, _lines, draw, grad_line, grads_computed, to_svg

__all__ = ["Contribution", "Replay", "Step", "replay"]

MAX_NODES = 2_000  # one step per node: past this a replay is no longer readable
MAX_NAIVE = 2_000  # steps of the naive walk, one per edge of every path
MAX_NUMBERS = 1_000_000  # gradient entries the page may hold (running sums, in full)
LEGEND = {
    "sweep": "Blue: the node whose gradient is final, passing it on, and its input edges; "
             "faded: the nodes already passed. Each edge gains 'step k: upstream × factor = "
             "contribution' when it is taken, and its input adds that to its sum (+=). "
             "✓ final: every node that uses it has passed it its share.",
    "naive": "Blue: the node passing on what it holds now, and the one edge it takes; the "
             "recursion then goes into that input. Each edge shows the last time it was "
             "taken. At a sum's last change, ✓ = backward or ✗ says what backward gives.",
}
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "img-src data:")


@dataclass(frozen=True, eq=False)
class Contribution:
    """One chain-rule step of the sweep: ``out`` passes ``upstream`` (dL/dout) to its input
    number ``slot``, ``upstream × factor = value``; ``total`` is that input's sum so far."""

    out: Value
    slot: int
    upstream: Any
    factor: Any
    value: Any
    total: Any

    @property
    def input(self) -> Value:
        return self.out.parents[self.slot]


@dataclass(frozen=True, eq=False)
class Step:
    """One step: a node, its ``grad`` and what it passes on. In the sweep ``grad`` is the
    final dL/dnode, passed along every input edge; in the naive walk it is what the node
    holds at that moment, passed along one edge."""

    node: Value
    grad: Any
    contributions: tuple[Contribution, ...]


def replay(root: Value, wrt: Value | None = None, *, order: str = "sweep",
           max_nodes: int | None = 120, constants: dict[str, Any] | None = None) -> Replay:
    """The backward sweep of ``root``, step by step, as one self-contained page.

    Step 0 is the graph after the forward pass (values, no gradients). Each step is one
    node whose dL/dnode is final passing it to its inputs, in the order backward takes
    them: the node is marked, each of its input edges shows ``upstream × factor =
    contribution`` and each input's running sum updates; a ledger lists every ``+=``. The
    last step shows what ``backward()`` gives. No ``.grad`` is changed.

    Parameters
    ----------
    root : Value
        The output L, with one element (as for ``backward()``).
    wrt : Value, optional
        Highlight the paths from ``wrt`` to ``root``, as :func:`draw` does.
    order : {"sweep", "naive"}
        ``"naive"`` shows why the order matters: a recursive backward that passes on what
        a node holds *now* along each edge and recurses at once (each step one edge); a
        node used twice passes an unfinished sum, and the last step shows where it ends
        up against ``backward()``.
    max_nodes : int or None
        The picture's node budget (see :func:`draw`): larger graphs are drawn folded, and
        their steps still play in the step panel and the ledger.
    constants : mapping of str to array or number, optional
        Names for constants, matched by identity; without it, as in :func:`draw`, an array
        constant is named after the caller's variable that holds it, else ``c<k>``.

    Returns
    -------
    Replay
        ``.steps`` (one :class:`Step` per node, in the sweep's order; for the naive walk
        one per edge taken), ``.state(k)``, ``.ledger(node)``, ``.html``, ``.save(path)``;
        displays itself in notebooks.

    Raises
    ------
    ValueError
        A root with more than one element, or a graph too big to replay readably (more
        than 2,000 nodes, or a million gradient entries); the message says what to do.

    Examples
    --------
    >>> import autograd_lite as ag
    >>> h = ag.Value(3.0, "h")
    >>> L = h * h + h
    >>> r = ag.replay(L)
    >>> [c.value for c in r.ledger(h)]
    [1.0, 3.0, 3.0]
    >>> r.state()["h"]
    {'grad': 7.0, 'done': True}
    """
    _check(root, wrt, order)
    seed = 1.0 if type(root.data) is float else np.ones_like(root.data)
    steps = _steps(root, seed) if order == "sweep" else _naive_steps(root, seed)
    if constants is None:  # looked up here, once: the page's picture is drawn with these
        constants = caller_names()
    return Replay(root, wrt, steps, seed, order, max_nodes, constants)


def _check(root: Any, wrt: Any, order: Any) -> None:
    if not isinstance(root, Value) or (wrt is not None and not isinstance(wrt, Value)):
        raise TypeError("replay(L, wrt=None) takes Values, got "
                        f"{type(root).__name__} and {type(wrt).__name__}")
    if order not in ("sweep", "naive"):
        raise ValueError(f"order must be 'sweep' or 'naive', got {order!r}")
    if root.size != 1:
        raise ValueError(f"replay() needs a one-element root (like backward()), got shape "
                         f"{root.shape}; reduce it first, e.g. L.sum() or L.mean()")
    n = len(toposort(root))
    if n > MAX_NODES:
        raise ValueError(
            f"replay() shows one step per node and this graph has {n:,} nodes (at most "
            f"{MAX_NODES:,} stay readable): replay a smaller graph (fewer samples in the "
            "batch, a smaller network, or an intermediate node of it), or look at it folded "
            "with ag.draw(L, max_nodes=120)")


def _steps(root: Value, seed: Any) -> list[Step]:
    """The reference sweep with each edge's chain-rule step and each input's sum so far."""
    sums: dict[Value, Any] = {}
    steps = []
    held = 0
    for node, g in sweep(root, seed):
        if node is not root and not _same(sums[node], g):
            raise AssertionError(f"the replay's sum for {node!r} is not the sweep's")
        passed = []
        for i, p in enumerate(node.parents):
            if type(p) is Value:
                c = pull(node, i, g)
                sums[p] = c if p not in sums else plus(sums[p], c)
                passed.append(Contribution(node, i, g, node.factor(i), c, sums[p]))
                held = _hold(held, c)
        steps.append(Step(node, g, tuple(passed)))
    return steps


def _hold(held: int, c: Any) -> int:
    """How many gradient entries the page holds with ``c`` added; too many: ValueError."""
    held += np.size(c)
    if held > MAX_NUMBERS:
        raise ValueError(
            f"replay() would hold more than {MAX_NUMBERS:,} gradient entries (it keeps "
            "every running sum in full): replay a smaller graph (fewer samples in the "
            "batch, smaller layers)")
    return held


def _naive_steps(root: Value, seed: Any) -> list[Step]:
    """A naive recursive backward, as learners first write it: a node passes on what it
    holds now along each input edge and recurses into that input at once. One step per edge
    taken; a stack stands for the recursion (same order, no recursion limit)."""
    grads, steps, stack, held = {root: seed}, [], [(root, 0)], 0
    while stack:
        node, i = stack.pop()
        slots = [j for j, p in enumerate(node.parents) if type(p) is Value]
        if i == len(slots):
            continue
        stack.append((node, i + 1))
        p, g = node.parents[slots[i]], grads[node]
        c = pull(node, slots[i], g)
        grads[p] = c if p not in grads else plus(grads[p], c)
        held = _hold(held, c)
        steps.append(Step(node, g, (Contribution(node, slots[i], g, node.factor(slots[i]), c,
                                                 grads[p]),)))
        stack.append((p, 0))
        if len(steps) > MAX_NAIVE:
            raise ValueError(
                f"the naive backward takes more than {MAX_NAIVE:,} steps on this graph (it "
                "walks every path, and their number can grow exponentially: that is one more "
                "reason for the sweep): replay a smaller graph with order='naive'")
    return steps


def _same(a: Any, b: Any) -> bool:
    return np.array_equal(a, b, equal_nan=True) and np.shape(a) == np.shape(b)


class Replay:
    """The sweep of one graph, step by step; see :func:`replay`.

    Page step 0 is the forward; page step ``k`` (1 to ``len(steps)``) is ``steps[k - 1]``.
    ``keys`` maps each node to its name in ``state()``, ``nodes`` lists them root first,
    ``at`` gives the page step where a node (first) passes its gradient on, ``taken`` the
    page step of each :class:`Contribution`; ``true`` (naive walk only) what backward gives.
    """

    def __init__(self, root: Value, wrt: Value | None, steps: list[Step], seed: Any,
                 order: str, max_nodes: int | None, constants: dict[str, Any] | None) -> None:
        self.root, self.wrt, self.steps, self.seed, self.order = root, wrt, steps, seed, order
        self.names = GraphNames(root, constants)
        self._draw = {"max_nodes": max_nodes, "constants": constants}
        self.nodes = self.names.order[::-1]  # the sweep's order, root first
        self.keys = _keys(self.names, self.nodes)
        self.at: dict[Value, int] = {}  # the page step where each node first passes
        self.taken: dict[Contribution, int] = {}  # the page step of each contribution
        self._ledgers: dict[Value, list[Contribution]] = {v: [] for v in self.nodes}
        for k, s in enumerate(steps, 1):
            self.at.setdefault(s.node, k)
            for c in s.contributions:
                self.taken[c] = k
                self._ledgers[c.input].append(c)
        self.true = dict(sweep(root, seed)) if order == "naive" else None  # what backward gives

    def __repr__(self) -> str:
        return f"<Replay ({self.order}) of {self.names(self.root)}: {len(self.steps)} steps>"

    def ledger(self, node: Value) -> list[Contribution]:
        """Every contribution added to dL/d``node``, in the order they are added."""
        return list(self._ledgers.get(node, ()))

    def state(self, k: int | None = None) -> dict[str, dict[str, Any]]:
        """What the page's ``state()`` gives at page step ``k`` (default: the last): for each
        node, by its label or drawn name, ``{"grad": ..., "done": ...}``; ``grad`` is the sum
        so far (``None`` before any contribution; a float, or a nested list for a tensor),
        ``done`` whether the node has passed its gradient on."""
        k = len(self.steps) if k is None else max(0, min(k, len(self.steps)))
        grads: dict[Value, Any] = {self.root: self.seed} if k else {}
        for s in self.steps[:k]:
            for c in s.contributions:
                grads[c.input] = c.total
        return {self.keys[v]: {"grad": _plain(grads.get(v)),
                               "done": self.at.get(v, k + 1) <= k} for v in self.nodes}

    @cached_property
    def html(self) -> str:
        """The page: one self-contained HTML file."""
        return _page(self)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to ``path`` (an ``.html`` file) and return its path."""
        target = Path(os.fspath(path))
        target.write_text(self.html, encoding="utf-8")
        return target

    def _repr_html_(self) -> str:
        """The page in a notebook, in an iframe of its own (its script and ids kept apart)."""
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" sandbox="allow-scripts" '
                'style="width:100%;height:760px;border:1px solid #e5e7eb;resize:vertical" '
                'title="autograd_lite replay"></iframe>')


def _keys(names: GraphNames, nodes: list[Value]) -> dict[Value, str]:
    """Each node's key in ``state()``: its label or drawn name; a name used twice gets
    ``#<i>`` (its number in the picture) from its second use on."""
    keys: dict[Value, str] = {}
    taken: set[str] = set()
    for v in reversed(nodes):  # inputs first, as the picture numbers them
        key = names(v)
        if key in taken:
            key = f"{key}#{names.index[v]}"
        taken.add(key)
        keys[v] = key
    return keys


def _plain(x: Any) -> Any:
    """A gradient as JSON holds it: a float, a nested list of floats, or None."""
    if x is None:
        return None
    return float(x) if type(x) is float or np.ndim(x) == 0 else np.asarray(x, float).tolist()


# --- texts --------------------------------------------------------------------------------------

def _short(x: Any) -> str:
    """A number or array on one line, as the picture shows it."""
    return " ".join(line.strip() for line in number(x).splitlines())


def _exact(x: Any) -> str:
    """Full precision for a number (``repr``), a summary for an array."""
    return repr(float(x) + 0.0) if type(x) is float or np.ndim(x) == 0 else _short(x)


def _scalar(x: Any) -> bool:
    return type(x) is float or np.ndim(x) == 0


def _product(r: Replay, c: Contribution, short: bool) -> str:
    """``upstream × factor``: numbers for scalars, the rule's form for tensors."""
    show = _short if short else _exact
    if _scalar(c.upstream) and _scalar(c.value) and not as_vjp(c.out, c.slot, c.factor):
        return f"{paren(show(c.upstream))} × {paren(show(c.factor))}"
    g = f"d{r.names(r.root)}/d{r.names(c.out)}"
    symbol = r.names.symbol(c.out, c.slot)
    return symbol.replace("(·)", g) if "(·)" in symbol else f"{g} × {paren(symbol)}"


def _edge_line(r: Replay, k: int, c: Contribution) -> str:
    return f"step {k}: {_product(r, c, True)} = {_short(c.value)}"


def _grad_texts(r: Replay) -> dict[Value, list[tuple[int, str]]]:
    """Each node's grad line in the picture, from the step it changes on: the sweep marks a
    sum once it is final; the naive walk, at its last change, whether it is backward's."""
    texts: dict[Value, list[tuple[int, str]]] = {v: [(0, "grad —")] for v in r.nodes}
    if r.steps:
        texts[r.root].append((1, f"grad {_short(r.seed)} (the seed) ✓"))
    for v in r.nodes:
        led = r._ledgers[v]
        for j, c in enumerate(led):
            text = f"grad {_short(c.total)}"
            if j == len(led) - 1:
                text += " ✓ final" if r.true is None else _verdict(r, v, c.total)
            elif r.true is None:
                text += " so far"
            texts[v].append((r.taken[c], text))
    return texts


def _verdict(r: Replay, v: Value, got: Any) -> str:
    """How a naive sum ends: backward's value, or not."""
    want = r.true[v]
    return " ✓ = backward" if _same(got, want) else f" ✗ backward: {_short(want)}"


def _summed(c: Contribution) -> bool:
    """Whether the engine summed this contribution back to its input's shape: the input
    was broadcast to the output's shape (a bias added to a batch)."""
    x, out = np.shape(c.value), np.shape(c.upstream)
    try:
        return x != out and np.broadcast_shapes(x, out) == out and np.prod(x) < np.prod(out)
    except ValueError:
        return False


def _step_text(r: Replay, k: int, s: Step) -> dict[str, Any]:
    """What the step panel says at page step ``k``: a title and one line per edge."""
    names, v = r.names, s.node
    name = names(v)
    lhs = f"d{names(r.root)}/d{name}"
    what = f"{name} = {names.formula(v)}" if v.rule is not None else f"{name} (a leaf)"
    if r.true is None:
        title = f"{what}: {lhs} = {_exact(s.grad)} is final" + (
            " (the seed: dL/dL = 1)" if v is r.root else "")
    else:
        title = f"{what} passes what it holds now, {lhs} = {_exact(s.grad)}" + (
            "" if _same(s.grad, r.true[v]) else
            f": not final yet (backward's is {_exact(r.true[v])})")
    lines = [_contribution_line(r, c) for c in s.contributions]
    skipped = [p for p in v.parents if type(p) is not Value]
    if skipped and r.true is None:
        lines.append("constants (" + ", ".join(names(p) for p in skipped)
                     + ") get no gradient")
    if v.rule is None:
        lines.append(f"a leaf: nothing to pass on; backward() adds {lhs} to {name}.grad")
    if r.true is not None:
        lines.append(f"the recursion goes into {names(s.contributions[0].input)} at once")
        if k == len(r.steps):
            lines += _naive_ends(r)
    kink = _kink_note(v)
    if kink:
        kink = (f"⚠ kink: an input of {name} sat exactly on the point where {v.op} is not "
                f"differentiable; the factor there is the recorded subgradient: {kink}")
    return {"title": f"step {k} of {len(r.steps)}: {title}", "lines": lines, "kink": kink or None,
            "node": r.keys[v]}


def _contribution_line(r: Replay, c: Contribution) -> str:
    """``→ input: factor; upstream × factor = contribution; input so far: ...``"""
    names, v, p = r.names, c.out, r.names(c.input)
    led = r._ledgers[c.input]
    i = next(j for j, e in enumerate(led) if e is c)
    before = led[i - 1].total if i else None
    factor = (f"{names.partial(v, c.slot)} = {names.symbol(v, c.slot)}"
              + ("" if as_vjp(v, c.slot, c.factor) else f" = {_exact(c.factor)}"))
    sum_ = (f"{p} so far: {_exact(before)} + {_exact(c.value)} = {_exact(c.total)}"
            if before is not None else f"{p} so far: {_exact(c.total)}")
    if _summed(c):
        sum_ += f" (summed back to {p}'s shape {np.shape(c.value)}: it was broadcast)"
    return f"→ {p}: {factor}; {_product(r, c, False)} = {_exact(c.value)}; {sum_}"


def _naive_ends(r: Replay) -> list[str]:
    """The naive walk's results against backward's, node by node."""
    got = {v: led[-1].total for v, led in r._ledgers.items() if led}
    lines = ["the naive walk is over; against backward():"]
    for v in r.nodes:
        if v in got:
            mark = "✓" if _same(got[v], r.true[v]) else "✗"
            lines.append(f"{mark} {r.keys[v]}: naive {_exact(got[v])}, backward "
                         f"{_exact(r.true[v])}")
    return lines


# --- the picture --------------------------------------------------------------------------------

_NODE = re.compile(r"^\t(n\d+) \[")
_EDGE = re.compile(r"^\t(n\d+) -> (n\d+) \[")
_LABEL = re.compile(r'label="((?:[^"\\]|\\.)*)"')


def _picture(r: Replay, texts: dict[Value, list[tuple[int, str]]]) -> tuple[str, dict]:
    """``draw``'s SVG with an id on every node and edge, each grad line as wide as its
    widest text, and a line on each edge for its ``step k: ...`` texts; and what the
    script needs to find them."""
    g = draw(r.root, r.wrt, **r._draw)
    order, names, shown = r.names.order, r.names, _shown(g.body)
    computed = grads_computed(r.root)
    taken: dict[tuple[Value, int], list[tuple[int, str]]] = {}
    for c, k in r.taken.items():
        taken.setdefault((c.out, c.slot), []).append((k, _edge_line(r, k, c)))
    into: dict[str, list[int]] = {}  # the input slots of a drawn node, as its edges come
    found: dict[str, Any] = {"nodes": {}, "edges": {}}
    for j, stmt in enumerate(g.body):
        m = _NODE.match(stmt)
        if m:
            v = order[int(m.group(1)[1:])]
            pad = _widest(texts[v])
            old = "\\l" + _lines([grad_line(v, computed)])
            g.body[j] = stmt.replace(old, "\\l" + _lines([pad]), 1).replace(
                " [", f' [id="ag_{m.group(1)}" ', 1)
            found["nodes"][r.keys[v]] = {"id": f"ag_{m.group(1)}", "pad": pad.strip()}
            into[m.group(1)] = [i for i, p in enumerate(v.parents)
                                if type(p) is Value and names.index[p] in shown]
            continue
        m = _EDGE.match(stmt)
        if m and into.get(m.group(2)):
            slot = into[m.group(2)].pop(0)
            lines = taken.get((order[int(m.group(2)[1:])], slot))
            if lines:
                eid, pad = f"ag_e{m.group(2)[1:]}_{slot}", _widest(lines)
                label = _LABEL.search(stmt).group(1)
                g.body[j] = stmt.replace(f'label="{label}"',
                                         f'label="{label}{_lines([pad])}" id="{eid}"', 1)
                found["edges"][eid] = {"pad": pad.strip(), "texts": lines}
    return _clean(to_svg(g)), found


def _widest(texts: list[tuple[int, str]]) -> str:
    return max((t for _, t in texts), key=len) + "  "


def _shown(body: list[str]) -> set[int]:
    return {int(m.group(1)[1:]) for stmt in body for m in (_NODE.match(stmt),) if m}


def _clean(svg: str) -> str:
    """The SVG as it sits in the page: no prolog, doctype, comments, titles or namespaces
    (an inline SVG needs none, and the page then names no URL)."""
    svg = re.sub(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->|<title>.*?</title>", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    return svg.strip()


# --- the page -----------------------------------------------------------------------------------

def _page(r: Replay) -> str:
    texts = _grad_texts(r)
    svg, found = _picture(r, texts)
    data = {
        "root": r.keys[r.root], "naive": r.true is not None,
        "steps": [_first_step(r)] + [_step_text(r, k, s) for k, s in enumerate(r.steps, 1)],
        "nodes": [_node_data(r, v, texts[v], found) for v in r.nodes],
        "edges": found["edges"],
    }
    script = _asset("replay.js").replace("/*DATA*/null", _js(data), 1)
    what = "the sweep" if r.true is None else "a naive recursive backward (why the order matters)"
    title = html.escape(f"autograd_lite replay, {what}: d{r.names(r.root)}/d(every node)")
    legend = html.escape(LEGEND["sweep" if r.true is None else "naive"])
    return _asset("replay.html").format(csp=CSP, title=title, style=_asset("replay.css"),
                                        svg=svg, script=script, last=len(r.steps),
                                        legend=legend)


def _first_step(r: Replay) -> dict[str, Any]:
    n, root = len(r.steps), r.names(r.root)
    if r.true is None:
        lines = [f"the sweep visits the {n} nodes from {root} back to the inputs, each only "
                 "once every node that uses it has passed it its share",
                 f"step 1 seeds d{root}/d{root} = 1"]
    else:
        lines = [f"a naive recursive backward: starting from d{root}/d{root} = 1, a node "
                 "passes what it holds now along one input edge, and the recursion goes "
                 "into that input at once, before the node's other edges",
                 f"{n} steps, one per edge taken: a node used twice passes on before its "
                 "sum is complete, and passes again later"]
    return {"title": f"step 0 of {n}: after the forward pass, every node has its value and "
                     "no gradient yet", "lines": lines, "kink": None, "node": None}


def _node_data(r: Replay, v: Value, texts: list[tuple[int, str]],
               found: dict[str, Any]) -> dict[str, Any]:
    led = r._ledgers[v]
    events = [[1, _plain(r.seed)]] if v is r.root and r.steps else []
    events += [[r.taken[c], _plain(c.total)] for c in led]
    ledger = [[r.taken[c], f"+= {_short(c.value)}  from {r.names(c.out)}"] for c in led]
    drawn = found["nodes"].get(r.keys[v])
    return {"key": r.keys[v], "step": r.at.get(v), "events": events, "texts": texts,
            "ledger": ledger, "id": drawn and drawn["id"], "pad": drawn and drawn["pad"]}


def _js(data: Any) -> str:
    """``data`` as a JavaScript literal (NaN and Infinity kept), safe inside a script tag."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=True, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _asset(name: str) -> str:
    return resources.files("autograd_lite").joinpath("assets", name).read_text("utf-8")
