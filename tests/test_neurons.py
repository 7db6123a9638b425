"""The neuron-level view: grouping a scalar graph into neurons, and draw(view="neurons")."""

import re

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite.explain import number
from autograd_lite.neurons import SHOWN, _runs, find_neurons


def scalar_mlp(sizes, act="relu", points=1, seed=0, inputs_as_values=False):
    """A micrograd-style MLP of scalar Values (last layer linear) and its loss on points."""
    rng = np.random.default_rng(seed)
    layers = [[([ag.Value(float(w)) for w in rng.uniform(-1, 1, n_in)], ag.Value(0.1))
               for _ in range(n_out)] for n_in, n_out in zip(sizes, sizes[1:])]
    X = rng.normal(size=(points, sizes[0])).tolist()
    outs = []
    for row in X:
        x = [ag.Value(v) for v in row] if inputs_as_values else row
        for k, layer in enumerate(layers):
            sums = [sum((wi * xi for wi, xi in zip(w, x)), b) for w, b in layer]
            x = [getattr(s, act)() for s in sums] if k < len(layers) - 1 else sums
        outs.append(x[0])
    L = sum((o - 1.0) * (o - 1.0) for o in outs) * (1.0 / points)
    return L, layers, outs


@pytest.mark.parametrize("sizes, act, points", [
    ((2, 16, 16, 1), "relu", 3), ((3, 4, 1), "tanh", 1), ((1, 5, 2, 3, 1), "sigmoid", 2),
    ((4, 2, 1), "leaky_relu", 4)])
def test_find_neurons_counts_layers_and_fan_in(sizes, act, points):
    L, layers, _ = scalar_mlp(sizes, act, points)
    net = find_neurons(L)
    assert [len(layer) for layer in net.layers] == list(sizes[1:])
    for k, layer in enumerate(net.layers):
        for j, n in enumerate(layer):
            assert len(n.weights) == sizes[k] and len(n.outputs) == points
            assert n.weights == tuple(layers[k][j][0]) and n.bias is layers[k][j][1]
            assert n.activation == (act if k < len(layers) - 1 else "linear")
            assert n.name == (f"h{k + 1}[{j}]" if k < len(layers) - 1 else f"out[{j}]")


def test_find_neurons_with_inputs_as_values_and_last_activation():
    L, layers, outs = scalar_mlp((2, 3, 1), "tanh", 2, inputs_as_values=True)
    net = find_neurons(L)
    assert [len(layer) for layer in net.layers] == [3, 1]
    assert net.layers[1][0].outputs == outs
    # a single tanh neuron whose output feeds a loss
    w, x, b = ag.Value(0.5), ag.Value(2.0), ag.Value(-1.0)
    h = (w * x + b).tanh()
    net = find_neurons((h - 1.0) * (h - 1.0))
    assert [(n.name, n.activation, n.weights, n.bias) for n in net.neurons] == [
        ("out[0]", "tanh", (w,), b)]


def _node_labels(source):
    return {m.group(1): m.group(2) for m in re.finditer(r'^\t+"?([\w\[\]]+)"? \[label="(.*?)"',
                                                          source, re.M)}


def test_draw_neurons_one_box_per_neuron_with_its_values():
    L, layers, outs = scalar_mlp((2, 3, 1), "relu", 1)
    L.backward()
    g = ag.draw(L, view="neurons")
    labels = _node_labels(g.source)
    names = [n for n in labels if re.fullmatch(r"(h1|out)\[\d\]", n)]
    assert sorted(names) == ["h1[0]", "h1[1]", "h1[2]", "out[0]"]
    net = find_neurons(L)
    for n in net.neurons:
        text = labels[n.name].replace("\\l", "\n")
        assert f"out {number(n.outputs[0].data, 3)}\n" in text
        assert f"grad {number(n.outputs[0].grad, 3)}\n" in text
        assert f"{len(n.weights)} weights, ‖w‖ " in text
        assert f"dL/db {number(n.bias.grad, 3)}" in text
    assert net.layers[1][0].outputs == outs
    assert "x0" in labels and "x1" in labels  # inputs as small nodes
    assert "L = " in g.source  # the loss part drawn as ops


def test_draw_neurons_wrt_highlights_the_neuron_and_gives_dL_dw():
    L, layers, _ = scalar_mlp((2, 16, 16, 1), "relu", 2)
    L.backward()
    w = layers[0][3][0][1]
    g = ag.draw(L, wrt=w, view="neurons")
    line = [t for t in g.source.splitlines() if t.strip().startswith('"h1[3]"')][0]
    assert 'fillcolor="#fde68a"' in line
    assert g.explanation.total == pytest.approx(w.grad)
    assert "256 weights" in g.source  # a dense layer pair: one edge
    assert g.source.count("->") < 80


def test_draw_neurons_folds_wide_layers_but_keeps_wrts_neuron():
    L, layers, _ = scalar_mlp((2, 16, 16, 1), "relu", 2)
    L.backward()
    w = layers[0][3][0][1]
    g = ag.draw(L, wrt=w, view="neurons")
    labels = _node_labels(g.source)
    boxes = sorted(n for n in labels if re.fullmatch(r"(h\d|out)\[\d+\]", n))
    assert boxes == ["h1[0]", "h1[15]", "h1[1]", "h1[2]", "h1[3]", "h1[4]", "h2[0]", "h2[15]",
                     "h2[1]", "h2[2]", "out[0]"]  # h1[4], h2[2]: the folded runs' boxes
    net = find_neurons(L)
    folded = labels["h1[4]"].replace("\\l", "\n")
    assert folded.startswith("h1[4..14]: 11 relu neurons\n")
    ws = [p for n in net.layers[0][4:15] for p in n.weights]
    lo, hi = min(p.grad for p in ws), max(p.grad for p in ws)
    assert "22 weights in " in folded and f"dL/dw in [{number(lo, 3)}, {number(hi, 3)}]" in folded
    assert "h1[2]" in labels  # a run of one (between h1[1] and wrt's h1[3]) is its neuron
    assert "24 of them in dashed boxes" in g.source and g.n_shown == 9 + 3
    every = _node_labels(ag.draw(L, wrt=w, view="neurons", max_nodes=None).source)
    assert len([n for n in every if re.fullmatch(r"(h\d|out)\[\d+\]", n)]) == 33


@pytest.mark.parametrize("size", range(1, 20))
def test_runs_cover_the_layer_in_order(size):
    layer = [object() for _ in range(size)]
    for hot in [None, *layer]:
        runs = _runs(layer, hot)
        assert [n for run in runs for n in run] == layer
        shown = {id(run[0]) for run in runs if len(run) == 1}
        assert size <= SHOWN and len(shown) == size or \
            {id(layer[0]), id(layer[1]), id(layer[-1])} <= shown
        assert hot is None or id(hot) in shown


def test_draw_neurons_raises_without_neurons():
    x = ag.Value(2.0, "x")
    with pytest.raises(ValueError, match=r'view="neurons" needs a graph of scalar neurons.*'
                       r"a scalar graph of 3 nodes"):
        ag.draw((x * x).tanh(), view="neurons")
    W = ag.Value(np.ones((2, 2)))
    with pytest.raises(ValueError, match="a tensor graph"):
        ag.draw((W @ np.ones(2)).relu().sum(), view="neurons")
    with pytest.raises(ValueError, match='view must be "ops" or "neurons"'):
        ag.draw(x * x, view="layers")


def test_draw_default_view_unchanged():
    L, _, _ = scalar_mlp((2, 3, 1), "relu", 1)
    L.backward()
    assert ag.draw(L).source == ag.draw(L, view="ops").source == ag.draw(
        L, view="ops", rankdir="TB").source
    assert "rankdir=TB" in ag.draw(L).source
