"""The notebooks run from top to bottom, and the site shows them with their outputs.

Every notebook is written by notebooks/make_notebooks.py from the cells kept there: in
notebooks/ without outputs, in docs/notebooks/ executed, for the site's "Notebooks" pages.
Each one runs here (nbclient, the ``python3`` kernel of ipykernel) in a folder of its own;
the pictures it draws display inline as SVG, and what it shows must be what the executed
copy in docs/notebooks/ shows (else that copy is stale). Then the built site's notebook
pages are opened in headless Chromium: their pictures' text is at least 9 px high at a
1400 px window, and the replay steps in its frame. Skipped without nbclient and ipykernel
(the ``dev`` extra installs both), mkdocs-jupyter (``docs``) or Chromium.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["quickstart.ipynb", "chain_rule_pictures.ipynb",
         "seed000_relu_derivative_from_z.ipynb", "seed001_dAL_is_the_loss_derivative.ipynb",
         "seed002_relu_not_differentiable_at_zero.ipynb", "seed003_leaky_relu_backward.ipynb",
         "seed004_why_activation_derivatives.ipynb", "replay.ipynb"]
STALE = "docs/notebooks/{} is stale: run python notebooks/make_notebooks.py"


def _maker():
    pytest.importorskip("nbformat")
    spec = importlib.util.spec_from_file_location("make_notebooks",
                                                  ROOT / "notebooks" / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shows_a_drawing(cell):
    """A code cell whose last line is ``ag.draw(...)``: the notebook displays its picture."""
    lines = cell.source.strip().splitlines() if cell.cell_type == "code" else []
    return bool(lines) and lines[-1].startswith("ag.draw(")


def _svg_texts(markup):
    """The texts of the pictures in an output (their coordinates follow the Graphviz build)."""
    return sorted(html.unescape(html.unescape(t)).replace("\xa0", " ")
                  for t in re.findall(r"<text[^>]*>(.*?)</text>", markup, re.S))


def shown(nb):
    """What each code cell of ``nb`` shows: its source, its printed text, its values, and
    for each picture (SVG, or an HTML page holding one) the texts drawn in it."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            cells.append((cell.cell_type, cell.source))
            continue
        outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if out.get("output_type") == "stream":  # one entry per stream, however chunked
                if outputs and outputs[-1][0] == out["name"]:
                    outputs[-1] = (out["name"], outputs[-1][1] + out["text"])
                else:
                    outputs.append((out["name"], out["text"]))
            elif "image/svg+xml" in data:
                outputs.append(("svg", _svg_texts(data["image/svg+xml"])))
            elif "text/html" in data:
                outputs.append(("html", _svg_texts(data["text/html"])))
            else:
                outputs.append((out.get("output_type"), data.get("text/plain")))
        cells.append(("code", cell.source, outputs))
    return cells


def test_the_notebooks_are_there_and_written_from_their_cells():
    maker = _maker()
    assert list(maker.NOTEBOOKS) == NAMES
    assert sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")) == sorted(NAMES)
    assert sorted(p.name for p in (ROOT / "docs" / "notebooks").glob("*.ipynb")) == sorted(NAMES)
    import nbformat

    for name, cells in maker.NOTEBOOKS.items():
        kept = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        assert kept == maker.build(cells), (
            f"notebooks/{name} is not what make_notebooks.py writes: run it")
        assert not any(c.get("outputs") for c in kept.cells), name  # kept without outputs
        copy = nbformat.read(ROOT / "docs" / "notebooks" / name, as_version=4)
        assert [c.source for c in copy.cells] == [c.source for c in kept.cells], STALE.format(name)


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_and_shows_its_pictures(name, tmp_path):
    maker = _maker()
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    maker.execute(nb, tmp_path)  # raises CellExecutionError, with the cell and its traceback
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    pictures = [o for o in outputs if "image/svg+xml" in o.get("data", {})]
    drawn = sum(map(_shows_a_drawing, nb.cells))
    assert len(pictures) >= drawn >= 1, (len(pictures), drawn)  # each ag.draw(...) shown
    assert all(p["data"]["image/svg+xml"].lstrip().startswith(("<?xml", "<svg"))
               for p in pictures)
    assert sum("assert " in c.source for c in nb.cells if c.cell_type == "code") >= 2
    copy = nbformat.read(ROOT / "docs" / "notebooks" / name, as_version=4)
    assert shown(copy) == shown(nb), STALE.format(name)


def test_replay_notebook_shows_the_replay_inline(tmp_path):
    maker = _maker()
    import nbformat

    nb = nbformat.read(ROOT / "docs" / "notebooks" / "replay.ipynb", as_version=4)
    pages = [o["data"]["text/html"] for c in nb.cells if c.cell_type == "code"
             for o in c.outputs if "text/html" in o.get("data", {})]
    assert len(pages) == 2 and all(p.startswith("<iframe srcdoc=") for p in pages)
    assert [c.source for c in nb.cells] == [c.source for c in maker.build(maker.REPLAY).cells]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The whole site, built with warnings as errors (the notebook pages need the plugin)."""
    pytest.importorskip("mkdocs_jupyter", reason="mkdocs-jupyter is not installed (docs extra)")
    pytest.importorskip("mkdocstrings_handlers.python")
    out = tmp_path_factory.mktemp("site")
    mkdocs = Path(sys.executable).with_name("mkdocs")
    command = [str(mkdocs)] if mkdocs.exists() else [sys.executable, "-m", "mkdocs"]
    r = subprocess.run([*command, "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert r.returncode == 0 and not re.search(r"WARNING\s+-", r.stderr), r.stdout + r.stderr
    return out


# each picture of a notebook page as the browser lays it out (nbconvert inlines an SVG output
# as an <img> with a data: URL, which test_docs's check of <img> files leaves out): its
# source and its width on the page (CSS px)
INLINE = """return [...document.querySelectorAll('article img')]
    .filter(i => i.currentSrc.startsWith('data:image/svg+xml;base64,'))
    .map(i => [i.currentSrc, i.clientWidth]);"""


def test_notebook_pages_show_their_pictures_with_text_at_least_9_px(site, browser):
    """As test_docs holds the pages' picture files: the labels and caption of each graph
    (font size 10 and up in the SVG; 9 is for constants) are at least 9 px high."""
    small, seen = [], {}
    for name in NAMES:
        page = site / "notebooks" / Path(name).stem / "index.html"
        browser.get(page.as_uri())
        found = browser.execute_script(INLINE)
        seen[name] = len(found)
        for k, (src, width) in enumerate(found):
            svg = base64.b64decode(src.split(",", 1)[1]).decode("utf-8")
            view = float(re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+)', svg).group(1))
            main = min(float(s) for s in re.findall(r'font-size="([\d.]+)"', svg)
                       if float(s) >= 10)
            if main * width / view < 9:
                small.append(f"{name}, picture {k + 1}: {main * width / view:.1f} px")
    assert not small, small
    drawn = {name: sum(_shows_a_drawing(c) for c in _maker().build(cells).cells)
             for name, cells in _maker().NOTEBOOKS.items()}
    assert all(seen[name] >= drawn[name] >= 1 for name in NAMES), (seen, drawn)


def test_replay_page_steps_inside_its_frame(site, browser):
    from selenium.webdriver.common.by import By

    browser.get((site / "notebooks" / "replay" / "index.html").as_uri())
    frames = browser.find_elements(By.CSS_SELECTOR, "article iframe")
    assert len(frames) == 2 and all(f.size["height"] > 300 for f in frames)
    browser.switch_to.frame(frames[0])
    try:
        assert browser.execute_script("return window.autogradLite.steps.length") == 4
        browser.find_element(By.CSS_SELECTOR, "[data-action=next]").click()
        assert browser.execute_script("return window.autogradLite.current") == 1
        browser.execute_script("window.autogradLite.goto(3)")
        assert browser.execute_script("return window.autogradLite.state()")["h"] == {
            "grad": 7, "done": True}
    finally:
        browser.switch_to.default_content()
