"""The neurons of a scalar graph, and the picture that draws one box per neuron.

A neuron is found from the graph's structure alone: a sum of products ``w_i · x_i`` (each
``w_i`` a leaf Value, its weight), plus at most one leaf Value (its bias), ending in an
activation (relu, leaky_relu, tanh, sigmoid), or, for the last linear layer, a sum whose
inputs ``x_i`` are all outputs of such neurons. Each evaluation of the network (one per
data point) makes a new copy of the sum; the copies that share the same weights are one
neuron. Layers are numbered from the input: a neuron fed only by inputs is in layer 1,
one fed by layer-k neurons in layer k + 1. Only the public properties of ``Value`` are read
(``.parents``, ``.op``, ``.rule``, ``.data``, ``.grad``).

``find_neurons(L)`` returns the grouping; ``ag.draw(L, view="neurons")`` draws it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .explain import GraphNames, explain_with, number, path_counts
from .value import Value

__all__ = ["ACTIVATIONS", "Network", "Neuron", "find_neurons"]

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid")
LOSS_NODES = 3  # the loss part's nodes drawn (those nearest L), the rest folded


@dataclass(eq=False)
class Neuron:
    """One neuron: ``activation(Σ w_i · x_i + b)``, evaluated once per data point.

    ``outputs`` holds one node per evaluation (the activation's output, or the sum's for a
    linear neuron); ``inputs[k]`` the ``x_i`` of evaluation ``k``, in the weights' order.
    """

    weights: tuple[Value, ...]
    bias: Value | None
    activation: str  # "linear" for a sum with no activation
    outputs: list[Value] = field(default_factory=list)
    inputs: list[tuple[Any, ...]] = field(default_factory=list)
    members: set[Value] = field(default_factory=set)  # the sums' and products' nodes
    layer: int = 1
    index: int = 0
    name: str = ""

    def parameters(self) -> list[Value]:
        return [*self.weights, *([self.bias] if self.bias is not None else [])]


@dataclass
class Network:
    """The neurons of a graph by layer (``layers[0]`` is layer 1) and, for every node that
    belongs to a neuron (its sums and products, outputs, weights and bias), that neuron."""

    layers: list[list[Neuron]]
    of: dict[Value, Neuron]

    @property
    def neurons(self) -> list[Neuron]:
        return [n for layer in self.layers for n in layer]


def _is_param(v: Any) -> bool:
    return v.__class__ is Value and v.rule is None and type(v.data) is float


def _terms(top: Value, uses: Mapping[Value, int]) -> tuple[list[Any], list[Value]] | None:
    """The terms of the sum ending at ``top`` (in the order written) and its add nodes; a
    term's add is followed only when that add feeds nothing else."""
    terms, adds, stack = [], [], [top]
    while stack:
        v = stack.pop()
        if v.__class__ is Value and v.op == "add" and (v is top or uses[v] == 1):
            adds.append(v)
            stack.extend(reversed(v.parents))
        else:
            terms.append(v)
    return terms, adds


def _parse(top: Value, uses: Mapping[Value, int]) -> tuple[Any, ...] | None:
    """``(weights, bias, inputs, members)`` of the sum ending at ``top``, or ``None`` when it
    is not ``Σ w_i · x_i + b`` (weights leaf Values, a product used by this sum alone)."""
    if top.__class__ is not Value or top.op not in ("add", "mul") or type(top.data) is not float:
        return None
    terms, members = _terms(top, uses)
    weights, inputs, bias = [], [], None
    for t in terms:
        if t.__class__ is Value and t.op == "mul" and (t is top or uses[t] == 1):
            a, b = t.parents
            w, x = (a, b) if _is_param(a) else (b, a)  # both leaves: w · x, as written
            if not _is_param(w) or w is x or w in weights:
                return None
            weights.append(w)
            inputs.append(x)
            members.append(t)
        elif _is_param(t) and bias is None:
            bias = t
        elif not (t.__class__ is not Value and np.ndim(t) == 0 and float(t) == 0.0):
            return None  # (a zero that sum() starts from is no term)
    if not weights:
        return None
    return tuple(weights), bias, tuple(inputs), members


def find_neurons(root: Value, order: list[Value] | None = None) -> Network:
    """Group the scalar graph of ``root`` into neurons, by layer (see the module's text).

    >>> import autograd_lite as ag
    >>> x = [ag.Value(1.0, "x0"), ag.Value(-2.0, "x1")]
    >>> w, b = [ag.Value(0.5), ag.Value(0.25)], ag.Value(0.1)
    >>> h = (w[0] * x[0] + w[1] * x[1] + b).tanh()
    >>> net = find_neurons(h * 2.0)
    >>> [(n.name, n.activation, len(n.weights)) for n in net.neurons]
    [('out[0]', 'tanh', 2)]
    """
    order = GraphNames(root).order if order is None else order
    uses: dict[Value, int] = dict.fromkeys(order, 0)
    for v in order:
        for p in v.parents:
            if p.__class__ is Value:
                uses[p] += 1
    found: dict[tuple, Neuron] = {}
    out_of: dict[Value, Neuron] = {}
    claimed: set[Value] = set()
    for linear in (False, True):
        for v in reversed(order):  # L first: a whole sum is met before the sums inside it
            if v in claimed or type(v.data) is not float:
                continue
            if not linear and v.op in ACTIVATIONS:
                top, act = v.parents[0], v.op
            elif linear and v.op == "add":
                top, act = v, "linear"
            else:
                continue
            parsed = _parse(top, uses) if top.__class__ is Value and top not in claimed else None
            if parsed is None or (linear and not all(x in out_of for x in parsed[2])):
                continue
            weights, bias, inputs, members = parsed
            key = (*map(id, weights), id(bias), act, tuple(sorted(v.params.items())))
            n = found.setdefault(key, Neuron(weights, bias, act))
            n.outputs.append(v)
            n.inputs.append(inputs)
            n.members.update(members)
            n.members.add(v)
            claimed.update(members)
            claimed.add(v)
            out_of[v] = n
    first = {v: i for i, v in enumerate(order)}
    neurons = sorted(found.values(), key=lambda n: min(first[o] for o in n.outputs))
    for n in neurons:  # each evaluation's order: the data points' order
        pairs = sorted(zip(n.outputs, n.inputs), key=lambda p: first[p[0]])
        n.outputs, n.inputs = [o for o, _ in pairs], [x for _, x in pairs]
    return _layered(neurons, out_of)


def _layered(neurons: list[Neuron], out_of: Mapping[Value, Neuron]) -> Network:
    changed = True
    while changed:  # the longest chain of neurons below each (the graph has no cycle)
        changed = False
        for n in neurons:
            layer = 1 + max((out_of[x].layer for xs in n.inputs for x in xs if x in out_of),
                            default=0)
            if layer != n.layer:
                n.layer, changed = layer, True
    depth = max((n.layer for n in neurons), default=0)
    layers: list[list[Neuron]] = [[] for _ in range(depth)]
    for n in neurons:  # in the order of their first evaluation: the order they were built
        layers[n.layer - 1].append(n)
    of: dict[Value, Neuron] = {}
    for k, layer in enumerate(layers, 1):
        for j, n in enumerate(layer):
            n.index, n.name = j, f"{'out' if k == depth else f'h{k}'}[{j}]"
            of.update(dict.fromkeys(n.members, n))
            of.update(dict.fromkeys(n.parameters(), n))
    return Network(layers, of)


# --- the picture --------------------------------------------------------------------------------

def _summary(values: list[float]) -> str:
    """One number, or the range of many (3 significant digits)."""
    if len(values) == 1:
        return number(values[0], 3)
    lo, hi = min(values), max(values)
    return number(lo, 3) if lo == hi else f"[{number(lo, 3)}, {number(hi, 3)}]"


def _neuron_lines(n: Neuron, computed: bool) -> list[str]:
    k = len(n.outputs)
    formula = "w·x + b" if n.bias is not None else "w·x"
    head = f"{n.name} = {formula}" if n.activation == "linear" else \
        f"{n.name} = {n.activation}({formula})"
    out = [o.data for o in n.outputs]
    active = ""
    if n.activation in ("relu", "leaky_relu") and k > 1:
        active = f" ({sum(x > 0 for x in out)}/{k} > 0)"
    lines = [head, "out " + _summary(out) + active]
    if computed:
        lines.append("grad " + _summary([o.grad for o in n.outputs]))
    w = [p.data for p in n.weights]
    lines.append(f"{len(w)} weight{'s' if len(w) != 1 else ''}, "
                 f"‖w‖ {number(float(np.linalg.norm(w)), 3)}"
                 + ("" if n.bias is None else f", b {number(n.bias.data, 3)}"))
    lines.append("w in " + _summary(w))
    if computed:
        lines.append("dL/dw in " + _summary([p.grad for p in n.weights]))
        if n.bias is not None:
            lines.append(f"dL/db {number(n.bias.grad, 3)}")
    return lines


def _inputs(net: Network) -> dict[int, list[Any]]:
    """The network's inputs (what layer-1 neurons read that no neuron makes) by weight slot:
    ``x[j]`` is each evaluation's j-th input."""
    slots: dict[int, dict[int, Any]] = {}
    for n in net.neurons:
        for xs in n.inputs:
            for j, x in enumerate(xs):
                if x not in net.of:
                    slots.setdefault(j, {})[id(x)] = x
    return {j: list(xs.values()) for j, xs in slots.items()}


def _loss_part(order: list[Value], net: Network, root: Value, budget: int) -> list[Value]:
    """The nodes below the last layer (neither a neuron's nor feeding one), nearest L first."""
    feeds: set[Value] = set()
    for v in reversed(order):  # the root first: what a neuron reads, and what that reads
        if v in net.of or v in feeds:
            feeds.update(p for p in v.parents if p.__class__ is Value and p not in net.of)
    keep: list[Value] = []
    queue, seen = deque([root]), {root}
    while queue and len(keep) < budget:
        v = queue.popleft()
        if v in net.of or v in feeds:
            continue
        keep.append(v)
        for p in v.parents:
            if p.__class__ is Value and p not in seen:
                seen.add(p)
                queue.append(p)
    return keep


def _feeding(folded: list[Value], keep: set[Value], net: Network,
             scan: int = 20_000) -> dict[str, None]:
    """The neurons whose outputs the folded loss nodes read (their names, in order)."""
    seen, stack, found = set(folded), list(folded), {}
    while stack and len(seen) < scan:
        for p in stack.pop().parents:
            if p.__class__ is not Value or p in seen or p in keep:
                continue
            seen.add(p)
            n = net.of.get(p)
            if n is None:
                stack.append(p)
            elif p in n.outputs:
                found[n.name] = None
    return found


def draw_neurons(root: Value, wrt: Value | None, *, max_nodes: int | None, max_paths: int,
                 constants: Mapping[str, Any] | None, full: int, rankdir: str) -> Any:
    """The neuron-level picture of ``root``'s graph (``ag.draw(root, view="neurons")``)."""
    from . import viz

    names = GraphNames(root, constants)
    net = find_neurons(root, names.order)
    if not net.layers:
        kinds = sorted({v.op for v in names.order if v.rule is not None})
        tensor = any(type(v.data) is not float for v in names.order)
        raise ValueError(
            'view="neurons" needs a graph of scalar neurons, act(Σ w_i·x_i + b) with leaf '
            f"Values as weights; found {'a tensor graph' if tensor else 'a scalar graph'} of "
            f"{len(names.order):,} nodes with no neuron (ops: {', '.join(kinds) or 'none'}); "
            'draw it with view="ops"')
    on_path = {} if wrt is None else path_counts(names.order, wrt)
    if wrt is not None and root not in on_path:
        on_path = {}
    why = None if wrt is None else explain_with(names, root, wrt, max_paths, on_path)
    computed = viz.grads_computed(root)
    g = viz.ChainRuleGraph("neurons", graph_attr={
        "rankdir": rankdir, "fontname": viz.FONT, "labelloc": "b", "labeljust": "l",
        "nodesep": "0.1", "ranksep": "0.4", "fontsize": "14", "newrank": "true",
        "compound": "true"})
    g.attr("node", shape="box", style="rounded,filled", fontname=viz.FONT, fontsize="12",
           fillcolor=viz.OP, color="#374151")
    g.attr("edge", fontname=viz.FONT, fontsize="12", color="#9ca3af", arrowsize="0.6",
           penwidth="0.8")
    g.explanation, g.n_nodes = why, len(names.order)
    hot = net.of.get(wrt) if wrt is not None else None
    folded = _draw_layers(g, net, hot, computed, viz, fold=max_nodes is not None)
    budget = LOSS_NODES if max_nodes is None else min(LOSS_NODES, max_nodes)
    loss = _loss_part(names.order, net, root, budget)
    _draw_loss(g, loss, net, names, root, wrt, on_path, full, computed, viz)
    g.n_shown = len(net.neurons) - folded + len(loss)
    n_w = sum(len(n.weights) for n in net.neurons)
    sizes = "-".join(str(len(x)) for x in [_inputs(net), *net.layers])
    lines = [f"a {sizes} network of {len(net.neurons)} neurons ({n_w:,} weights), "
             f"{len(net.layers[0][0].outputs):,} evaluations, "
             f"{len(names.order):,} nodes; one box per neuron"
             + (f", {folded} of them in dashed boxes (max_nodes=None draws each)"
                if folded else "")]
    lines += viz._caption(root, wrt, names, why, 1, 1, max_nodes, full, computed)
    if hot is not None:
        lines.append(f"{names(wrt)} is a parameter of {hot.name}, in gold")
    if len(loss) < sum(1 for v in names.order if v not in net.of) and loss:
        lines.append(f"the loss part below the network: its {len(loss)} nodes nearest "
                     f"{names(root)} as ops, dashed boxes for the rest")
    g.attr(label=viz._lines([p for line in lines for p in viz._wrap(line)]))
    return g


DENSE = 16  # more connections than this between two layers: one edge for the pair


SHOWN = 5  # a layer of more neurons shows its first two, its last and wrt's; the rest folded


def _runs(layer: list[Neuron], hot: Neuron | None) -> list[list[Neuron]]:
    """The layer's boxes, in order: a neuron, or a run of neurons folded into one box."""
    if len(layer) <= SHOWN:
        return [[n] for n in layer]
    shown = {0, 1, len(layer) - 1} | {k for k, n in enumerate(layer) if n is hot}
    runs: list[list[Neuron]] = []
    hidden: list[Neuron] = []
    for k, n in enumerate(layer):
        if k not in shown:
            hidden.append(n)
            continue
        if hidden:  # (a run of one is drawn as its neuron)
            runs.append(hidden)
            hidden = []
        runs.append([n])
    return runs


def _folded_lines(run: list[Neuron], computed: bool) -> list[str]:
    first, last = run[0].name, run[-1].name.split("[")[1]
    acts = "/".join(sorted({n.activation for n in run}))
    lines = [f"{first[:-1]}..{last}: {len(run)} {acts} neurons",
             "out " + _summary([o.data for n in run for o in n.outputs])]
    if computed:
        lines.append("grad " + _summary([o.grad for n in run for o in n.outputs]))
    w = [p for n in run for p in n.weights]
    lines.append(f"{len(w)} weights in " + _summary([p.data for p in w]))
    if computed:
        lines.append("dL/dw in " + _summary([p.grad for p in w]))
    return lines


def _draw_layers(g: Any, net: Network, hot: Neuron | None, computed: bool, viz: Any,
                 fold: bool) -> int:
    """The inputs, then each layer in a dashed cluster; returns how many neurons are folded."""
    slots = _inputs(net)
    with g.subgraph(name="cluster_inputs") as s:
        s.attr(rank="same", style="rounded,dashed", color="#9ca3af", fontcolor="#374151",
               label=f"{len(slots)} input{'s' if len(slots) != 1 else ''}", labelloc="t")
        for j, xs in sorted(slots.items()):
            data = [x.data if x.__class__ is Value else float(x) for x in xs]
            what = f"{len(xs)} values " if len(xs) > 1 else ""
            s.node(f"x{j}", viz._lines([f"x[{j}]", what + _summary(data)]), shape="ellipse",
                   style="filled", fillcolor=viz.LEAF)
        for a, b in zip(sorted(slots), sorted(slots)[1:]):  # x[0] on top, as in the layers
            s.edge(f"x{b}", f"x{a}", style="invis")
    drawn = [[f"x{j}" for j in sorted(slots)]]  # each layer's boxes, the inputs' first
    box = {x: x for x in drawn[0]}  # a neuron's (or an input's) name -> the box it is in
    folded = 0
    for k, layer in enumerate(net.layers, 1):
        acts = sorted({n.activation for n in layer})
        ids = []
        with g.subgraph(name=f"cluster_layer{k}") as s:
            s.attr(rank="same", style="rounded,dashed", color="#9ca3af", fontcolor="#374151",
                   label=f"{layer[0].name.split('[')[0]}: {len(layer)} {'/'.join(acts)} "
                   f"neuron{'s' if len(layer) != 1 else ''}", labelloc="t")
            for run in _runs(layer, hot) if fold else [[n] for n in layer]:
                n = run[0]
                if len(run) == 1:
                    style = {"fillcolor": viz.WRT, "color": viz.PATH, "penwidth": "2"} \
                        if n is hot else {}
                    s.node(n.name, viz._lines(_neuron_lines(n, computed)), **style)
                else:
                    s.node(n.name, viz._lines(_folded_lines(run, computed)),
                           style="rounded,dashed", fillcolor="white", fontcolor="#4b5563")
                    folded += len(run)
                box.update((m.name, n.name) for m in run)
                ids.append(n.name)
            for a, b in zip(ids, ids[1:]):  # keeps the layer in its order, top to bottom
                s.edge(b, a, style="invis")
        drawn.append(ids)
    pairs: dict[tuple[int, int], list[tuple[str, Neuron]]] = {}
    for n in net.neurons:
        srcs: dict[str, int] = {}
        for j, x in enumerate(n.inputs[0]):
            src = net.of[x] if x in net.of else None
            srcs[src.name if src else f"x{j}"] = src.layer if src else 0
        for src, layer in srcs.items():
            pairs.setdefault((layer, n.layer), []).append((src, n))
    for (a, b), edges in pairs.items():
        if len(edges) <= DENSE:
            joined: dict[tuple[str, str], list[bool]] = {}
            for src, n in edges:  # one edge per pair of boxes, red when on wrt's paths
                red = n is hot or (hot is not None and src == hot.name)
                joined.setdefault((box[src], box[n.name]), []).append(red)
            for (src, dst), reds in joined.items():
                style = {"color": viz.PATH, "penwidth": "1.4"} if any(reds) else {}
                if len(reds) > 1:
                    style["label"] = f"{len(reds)} weights"
                g.edge(src, dst, **style)
            continue
        srcs_, dsts = sorted({s for s, _ in edges}), sorted({n.name for _, n in edges})
        n_a, n_b = len(srcs_), len(dsts)
        what = f"all {n_a} × {n_b}" if len(edges) == n_a * n_b else f"{n_a} to {n_b}"
        g.edge(drawn[a][len(drawn[a]) // 2], drawn[b][len(drawn[b]) // 2],  # middle to middle
               label=viz._lines([f"{len(edges)} weights", what]),
               ltail=f"cluster_layer{a}" if a else "cluster_inputs",
               lhead=f"cluster_layer{b}", color=viz.EDGE, penwidth="2", arrowsize="1")
    return folded


def _draw_loss(g: Any, loss: list[Value], net: Network, names: GraphNames, root: Value,
               wrt: Value | None, on_path: Mapping[Value, int], full: int, computed: bool,
               viz: Any) -> None:
    keep = set(loss)
    loss = sorted(loss, key=names.index.__getitem__)
    for v in loss:
        i = names.index[v]
        g.node(f"n{i}", viz._lines(viz._node_lines(v, names, full, computed)),
               **viz._node_style(v, root, wrt, on_path))
        folded = [p for p in v.parents if p.__class__ is Value and p not in keep
                  and p not in net.of]
        if folded:
            viz._fold(g, i, folded, keep, on_path, 2000)
            for src in _feeding(folded, keep, net):
                g.edge(src, f"n{i}f", style="dashed", color="#9ca3af")
        from_neurons: dict[str, None] = {}
        for slot, p in enumerate(v.parents):
            if p.__class__ is not Value:
                src = f"n{i}c{slot}"
                g.node(src, viz._lines(viz._const_label(p, names, full).split("\n")),
                       shape="ellipse", style="filled", fillcolor=viz.CONST, color="#d1d5db",
                       fontsize="9", fontcolor="#4b5563")
                g.edge(src, f"n{i}", **viz._edge_style(v, slot, names, on_path, full))
            elif p in keep:
                g.edge(f"n{names.index[p]}", f"n{i}",
                       **viz._edge_style(v, slot, names, on_path, full))
            elif p in net.of:
                from_neurons[net.of[p].name] = None
        for src in from_neurons:
            g.edge(src, f"n{i}", color=viz.EDGE, penwidth="1")
