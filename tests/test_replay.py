"""ag.replay: the backward sweep step by step, as one offline page.

The steps and their numbers are tested in Python; the page itself in a real headless Chromium
(Debian's ``chromium`` and ``chromium-driver``, driven by selenium), skipped with a message
where those cannot run.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import time

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite.backward import sweep, toposort
from autograd_lite.cli import demo_graph, main
from autograd_lite.replay import MAX_NODES, Replay


def kinked_graph():
    """``h*h + h`` (h reused: three contributions) plus a ReLU sitting exactly on its kink."""
    h, z, w = ag.Value(3.0, "h"), ag.Value(0.0, "z"), ag.Value(-2.0, "w")
    L = h * h + h + (z * w).relu()
    L.label = "L"
    return L, h, z


def mlp_graph():
    rng = np.random.default_rng(0)
    net = ag.nn.MLP([3, 4, 2], seed=1)
    X, y = rng.normal(size=(5, 3)), np.array([0, 1, 1, 0, 1])
    return ag.cross_entropy(net(X), y), net.parameters()


def grads_after_backward(L):
    L.backward()
    return {v: v.grad for v in toposort(L)}


def assert_state_is(state, r: Replay, grads):
    assert set(state) == {r.keys[v] for v in grads}
    for v, g in grads.items():
        got = state[r.keys[v]]
        assert got["done"] is True
        assert np.shape(got["grad"]) == np.shape(g), r.keys[v]
        assert np.array_equal(np.asarray(got["grad"], dtype=np.float64), g), r.keys[v]


# --- the steps, in Python -----------------------------------------------------------------------

def test_replay_steps_are_the_reference_sweep():
    L, _, _ = kinked_graph()
    r = ag.replay(L)
    expected = list(sweep(L, 1.0))
    assert [s.node for s in r.steps] == [v for v, _ in expected]
    assert [s.grad for s in r.steps] == [g for _, g in expected]
    for s in r.steps:  # each step passes its gradient along each input edge, in slot order
        inputs = [i for i, p in enumerate(s.node.parents) if isinstance(p, ag.Value)]
        assert [c.slot for c in s.contributions] == inputs
        for c in s.contributions:
            assert c.upstream == s.grad and c.factor == s.node.factor(c.slot)
            assert c.value == c.upstream * c.factor


def test_replay_final_state_equals_backward_with_a_kink_and_a_reused_node():
    L, h, z = kinked_graph()
    r = ag.replay(L)
    assert_state_is(r.state(), r, grads_after_backward(L))
    assert [c.value for c in r.ledger(h)] == [1.0, 3.0, 3.0]  # h*h + h: three +=
    assert [c.total for c in r.ledger(h)] == [1.0, 4.0, 7.0]
    assert r.state()["z"]["grad"] == 0.0  # relu'(0) = 0 used: nothing reaches z


def test_replay_final_state_equals_backward_for_a_tensor_mlp():
    L, params = mlp_graph()
    r = ag.replay(L)
    grads = grads_after_backward(L)
    assert_state_is(r.state(), r, grads)
    for p in params:
        assert np.array_equal(np.array(r.state()[r.keys[p]]["grad"]), p.grad)


def test_replay_starts_with_no_gradient_and_marks_each_node_done_in_turn():
    L, _, _ = kinked_graph()
    r = ag.replay(L)
    assert all(s == {"grad": None, "done": False} for s in r.state(0).values())
    assert r.state(1)["L"] == {"grad": 1.0, "done": True}
    for k in range(len(r.steps) + 1):
        assert sum(s["done"] for s in r.state(k).values()) == k


def test_replay_changes_no_grad_and_refuses_what_it_cannot_show():
    L, h, _ = kinked_graph()
    assert ag.replay(L).html
    assert h._grad is None or h.grad == 0.0
    with pytest.raises(ValueError, match=r"one-element root.*L.sum\(\)"):
        ag.replay(ag.Value(np.ones(3)) * 2)
    with pytest.raises(TypeError):
        ag.replay(3.0)
    x = ag.Value(1.0, "x")
    y = x
    for _ in range(MAX_NODES):
        y = y * 1.0
    with pytest.raises(ValueError, match=r"2,001 nodes.*smaller graph"):
        ag.replay(y)


def test_replay_refuses_to_hold_too_many_gradient_entries():
    W = ag.Value(np.ones((1100, 1000)), "W")
    with pytest.raises(ValueError, match=r"more than 1,000,000 gradient entries.*smaller"):
        ag.replay(W.sum())


def test_replay_of_a_big_graph_is_drawn_folded_and_still_plays_every_step():
    x = ag.Value(0.5, "x")
    y = x
    for _ in range(200):
        y = (y * 0.9).tanh()
    r = ag.replay(y, max_nodes=40)
    page = r.html
    assert len(re.findall(r'<g id="ag_n\d+" class="node"', page)) == 40
    assert "folded" in page
    assert len(r.state()) == 401
    y.backward()
    assert r.state()["x"]["grad"] == x.grad


def test_replay_names_nodes_once_each_and_takes_a_leaf_or_an_infinity():
    h1, h2 = ag.Value(1.0, "h"), ag.Value(2.0, "h")
    r = ag.replay(h1 * h2)
    assert r.keys[h1] == "h" and r.keys[h2] == "h#1"  # the picture's numbers tell them apart
    assert r.state()["h"]["grad"] == 2.0 and r.state()["h#1"]["grad"] == 1.0
    w = ag.Value(2.0, "w")
    assert ag.replay(w).state(0) == {"w": {"grad": None, "done": False}}
    assert ag.replay(w).state() == {"w": {"grad": 1.0, "done": True}}
    x = ag.Value(0.0, "x")
    r = ag.replay(x.log() * 2)
    assert r.state()["x"]["grad"] == float("inf") and "Infinity" in r.html


def reused_twice():
    """micrograd#64: ``a = 1; b = a + a; c = b + b``, where dc/da = 4."""
    a = ag.Value(1.0, "a")
    b = a + a
    b.label = "b"
    c = b + b
    c.label = "c"
    return c, b, a


def test_replay_naive_order_shows_where_a_recursive_backward_goes_wrong():
    c, b, a = reused_twice()
    r = ag.replay(c, order="naive")
    trace = [(r.keys[s.node], s.grad, r.keys[s.contributions[0].input], s.contributions[0].total)
             for s in r.steps]
    assert trace == [("c", 1.0, "b", 1.0), ("b", 1.0, "a", 1.0), ("b", 1.0, "a", 2.0),
                     ("c", 1.0, "b", 2.0), ("b", 2.0, "a", 4.0), ("b", 2.0, "a", 6.0)]
    assert r.state()["a"]["grad"] == 6.0 and r.state()["b"]["grad"] == 2.0
    sweep_ = ag.replay(c)
    c.backward()
    assert sweep_.state()["a"]["grad"] == a.grad == 4.0 and b.grad == 2.0
    page = r.html
    assert "not final yet (backward's is 2.0)" in page  # b passes 1 of its 2 early
    assert "✗ a: naive 6.0, backward 4.0" in page and "grad 6 ✗ backward: 4" in page
    with pytest.raises(ValueError, match="order must be"):
        ag.replay(c, order="recursive")


def test_replay_naive_order_refuses_an_exponential_walk():
    x = ag.Value(1.0, "x")
    y = x
    for _ in range(12):  # 2**12 paths
        y = y + y
    with pytest.raises(ValueError, match="naive backward takes more than 2,000 steps"):
        ag.replay(y, order="naive")


# --- the page ------------------------------------------------------------------------------------

def test_replay_page_is_one_offline_file(tmp_path):
    L, _, _ = kinked_graph()
    r = ag.replay(L)
    page = r.html
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in page
    assert not re.search(r"https?://", page)  # nothing to fetch, not even a namespace URL
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=", page)
    for action in ("next", "prev", "play", "reset"):
        assert f'data-action="{action}"' in page
    assert "window.autogradLite = api" in page and "<svg" in page
    for v in toposort(L):
        assert f'id="ag_n{r.names.index[v]}"' in page
    svg = page.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert len(re.findall(r"step \d+: 1 × 3 = 3", svg)) == 2  # h*h: upstream × factor = ...
    assert "relu'(0) = 0 used" in page
    assert r.save(tmp_path / "r.html").read_text(encoding="utf-8") == page
    frame = r._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and html.unescape(frame).count(page) == 1


def test_replay_page_data_is_safe_inside_a_script_tag():
    x = ag.Value(2.0, "</script><script>alert(1)</script>")
    r = ag.replay(x * x)
    script = r.html.split("<script>", 1)[1].rsplit("</script>", 1)[0]
    assert "</script>" not in script


def test_cli_graph_and_demo_write_the_replay(tmp_path, capsys):
    out = tmp_path / "g.html"
    assert main(["graph", "relu(w*x + b)", "--at", "w=2", "x=3", "b=-6", "-o",
                 str(tmp_path / "g.svg"), "--replay", str(out)]) == 0
    assert "window.autogradLite" in out.read_text(encoding="utf-8")
    assert main(["demo", "--out", str(tmp_path), "--replay", str(tmp_path / "d.html")]) == 0
    assert f"replay: {tmp_path / 'd.html'}" in capsys.readouterr().out
    assert main(["graph", "x*2", "--at", "x=1", "--replay", str(tmp_path / "g.txt")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--replay" in err and ".html" in err


# --- the page in a real browser -----------------------------------------------------------------

def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed (pip install selenium); the "
                                     "replay page is not tested in a browser")
    chromium, driver = _chromium(), shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium "
                    "chromium-driver); the replay page is not tested in a browser")
    os.environ.setdefault("SE_AVOID_STATS", "true")  # Selenium Manager sends no telemetry
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,900"):
        options.add_argument(arg)
    try:
        d = webdriver.Chrome(service=webdriver.ChromeService(driver), options=options)
    except Exception as e:  # a driver that does not match the browser, no display libraries...
        pytest.skip(f"headless Chromium could not start ({type(e).__name__}: "
                    f"{str(e).splitlines()[0] if str(e) else ''})")
    yield d
    d.quit()


def _open(browser, r: Replay, tmp_path):
    path = r.save(tmp_path / "replay.html")
    browser.get(path.as_uri())
    assert browser.execute_script("return window.autogradLite.current") == 0
    return browser


def _current(browser):
    return browser.execute_script("return window.autogradLite.current")


def test_browser_final_state_equals_backward_with_a_kink_and_a_reused_node(browser, tmp_path):
    L, _, _ = kinked_graph()
    r = ag.replay(L)
    b = _open(browser, r, tmp_path)
    n = b.execute_script("return autogradLite.steps.length") - 1
    assert n == len(r.steps)
    for k in range(n + 1):  # every step, as Python says it
        b.execute_script("autogradLite.goto(arguments[0])", k)
        assert b.execute_script("return autogradLite.state()") == r.state(k), k
    assert_state_is(b.execute_script("return autogradLite.state()"), r, grads_after_backward(L))
    grad_line = b.execute_script(
        "return [...document.querySelectorAll('#ag_n0 text')].map(t => t.textContent)")
    assert "grad 7 ✓ final" in [t.replace("\xa0", " ").strip() for t in grad_line]


def test_browser_final_state_equals_backward_for_a_tensor_mlp(browser, tmp_path):
    L, _ = mlp_graph()
    r = ag.replay(L)
    b = _open(browser, r, tmp_path)
    b.execute_script("autogradLite.goto(autogradLite.steps.length - 1)")
    assert_state_is(b.execute_script("return autogradLite.state()"), r, grads_after_backward(L))


def test_browser_kink_stands_out_at_its_step(browser, tmp_path):
    L, _, _ = kinked_graph()
    r = ag.replay(L)
    b = _open(browser, r, tmp_path)
    k = next(r.at[s.node] for s in r.steps if s.node.op == "relu")
    b.execute_script("autogradLite.goto(arguments[0])", k)
    note = b.find_element("css selector", ".ag-kink")
    assert note.is_displayed() and "relu'(0) = 0 used" in note.text
    b.execute_script("autogradLite.goto(arguments[0])", k + 1)
    assert not note.is_displayed()


def test_browser_buttons_and_keys_move_the_step(browser, tmp_path):
    from selenium.webdriver.common.keys import Keys

    L, _, _ = kinked_graph()
    r = ag.replay(L)
    b = _open(browser, r, tmp_path)
    button = {a: b.find_element("css selector", f"[data-action={a}]")
              for a in ("next", "prev", "play", "reset")}
    button["next"].click()
    button["next"].click()
    assert _current(b) == 2
    button["prev"].click()
    assert _current(b) == 1
    button["reset"].click()
    assert _current(b) == 0
    body = b.find_element("tag name", "body")
    body.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    assert _current(b) == 3
    body.send_keys(Keys.ARROW_LEFT)
    assert _current(b) == 2
    body.send_keys(Keys.END)
    assert _current(b) == len(r.steps)
    body.send_keys(Keys.HOME)
    assert _current(b) == 0
    slider = b.find_element("css selector", ".ag-slider")
    b.execute_script("arguments[0].value = 4; arguments[0].dispatchEvent(new Event('input'))",
                     slider)
    assert _current(b) == 4 and b.find_element("css selector", ".ag-counter").text == \
        f"step 4 / {len(r.steps)}"


def test_browser_play_pause_and_space(browser, tmp_path):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    L, _, _ = kinked_graph()
    b = _open(browser, ag.replay(L), tmp_path)
    Select(b.find_element("css selector", ".ag-speed")).select_by_visible_text("fast")
    b.find_element("css selector", "[data-action=play]").click()
    assert b.execute_script("return autogradLite.playing()")
    deadline = time.monotonic() + 10
    while _current(b) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _current(b) >= 2
    b.find_element("tag name", "body").send_keys(Keys.SPACE)  # pause
    assert not b.execute_script("return autogradLite.playing()")
    at = _current(b)
    time.sleep(1.2)
    assert _current(b) == at


def test_browser_fetches_nothing(browser, tmp_path):
    L, _ = mlp_graph()
    b = _open(browser, ag.replay(L), tmp_path)
    b.execute_script("autogradLite.goto(5)")
    assert b.execute_script("return performance.getEntriesByType('resource').length") == 0
    csp = b.execute_script("return document.querySelector("
                           "'meta[http-equiv=\"Content-Security-Policy\"]').content")
    assert csp.startswith("default-src 'none'")
    assert b.execute_script("return document.querySelectorAll('[src], [href]').length") == 0
    errors = [e for e in b.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_browser_notebook_view_works_in_its_iframe(browser, tmp_path):
    L, _, _ = kinked_graph()
    r = ag.replay(L)
    cell = tmp_path / "notebook.html"  # the output cell as a notebook exported to HTML holds it
    cell.write_text(f"<!DOCTYPE html><html><body>{r._repr_html_()}</body></html>",
                    encoding="utf-8")
    browser.get(cell.as_uri())
    browser.switch_to.frame(browser.find_element("tag name", "iframe"))
    try:
        browser.execute_script("autogradLite.goto(autogradLite.steps.length - 1)")
        assert browser.execute_script("return autogradLite.state()") == r.state()
    finally:
        browser.switch_to.default_content()


def test_browser_naive_order_ends_away_from_backward(browser, tmp_path):
    c, _, a = reused_twice()
    r = ag.replay(c, order="naive")
    b = _open(browser, r, tmp_path)
    for k in range(len(r.steps) + 1):
        b.execute_script("autogradLite.goto(arguments[0])", k)
        assert b.execute_script("return autogradLite.state()") == r.state(k), k
    c.backward()
    assert b.execute_script("return autogradLite.state()")["a"]["grad"] == 6.0 != a.grad
    assert "✗ a: naive 6.0, backward 4.0" in b.find_element("css selector", ".ag-step").text


def test_browser_page_with_an_infinity_loads(browser, tmp_path):
    x = ag.Value(0.0, "x")
    r = ag.replay(x.log() * 2)
    b = _open(browser, r, tmp_path)
    b.execute_script("autogradLite.goto(autogradLite.steps.length - 1)")
    assert b.execute_script("return autogradLite.state().x.grad === Infinity")


def test_browser_demo_replay_plays_to_backward(browser, tmp_path):
    J, W1, constants = demo_graph()
    r = ag.replay(J, W1, constants=constants)
    b = _open(browser, r, tmp_path)
    b.execute_script("autogradLite.goto(1e9)")  # clamped to the last step
    assert _current(b) == len(r.steps)
    assert_state_is(b.execute_script("return autogradLite.state()"), r, grads_after_backward(J))
