"""The documentation site: it builds with warnings as errors, and its code runs.

Every ```python block of a page runs, in order, in one namespace per page, inside a
temporary folder. A ```text block right after a python block is that block's output and
must match what it printed.
"""

from __future__ import annotations

import contextlib
import html
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)


def blocks(text):
    """(language, code, start, end) of every fenced block, in order."""
    return [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(text)]


def python_with_output(text):
    """Each python block with the text block right after it (or None)."""
    found = blocks(text)
    pairs = []
    for i, (lang, code, _, end) in enumerate(found):
        if lang != "python":
            continue
        output = None
        if i + 1 < len(found):
            nlang, ncode, nstart, _ = found[i + 1]
            if nlang == "text" and not text[end:nstart].strip():
                output = ncode
        pairs.append((code, output))
    return pairs


def _mkdocs():
    exe = Path(sys.executable).with_name("mkdocs")
    if exe.exists():
        return [str(exe)]
    if shutil.which("mkdocs"):
        return ["mkdocs"]
    pytest.skip("mkdocs is not installed (pip install -e '.[docs]')")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site, built once for this file's tests with warnings as errors."""
    pytest.importorskip("material")
    pytest.importorskip("mkdocstrings_handlers.python")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    r = subprocess.run([*_mkdocs(), "build", "--strict", "--site-dir", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not re.search(r"WARNING\s+-", r.stderr), r.stderr
    return out


def test_site_builds_strictly(site):
    assert (site / "index.html").is_file()
    for page in ("quickstart", "rules", "concepts/subgradient", "questions/seed000", "api/nn"):
        assert (site / page / "index.html").is_file(), page
    api = (site / "api" / "nn" / "index.html").read_text()
    assert "He et al." in api and "SGD" in api  # docstrings were rendered
    pictures = (site / "api" / "pictures" / "index.html").read_text()
    assert 'id="autograd_lite.explain.explain"' in pictures
    assert "GraphNames" not in pictures  # the function, not the module of the same name


def test_every_page_is_in_the_nav():
    config = (ROOT / "mkdocs.yml").read_text()
    for page in PAGES:
        assert page in config, f"docs/{page} is not in the nav of mkdocs.yml"


def test_every_picture_a_page_shows_exists():
    for page in PAGES:
        text = (DOCS / page).read_text()
        for target in re.findall(r"\]\(([^()\s]+\.(?:png|svg))\)", text):  # alt may hold [ ]
            assert (DOCS / page).parent.joinpath(target).resolve().is_file(), (page, target)


@pytest.mark.parametrize("page", [p for p in PAGES if python_with_output((DOCS / p).read_text())])
def test_page_code_runs_and_prints_what_the_page_shows(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for k, (code, expected) in enumerate(python_with_output((DOCS / page).read_text())):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"{page}, python block {k + 1}", "exec"), namespace)
        if expected is not None:
            got = [line.rstrip() for line in out.getvalue().rstrip("\n").splitlines()]
            want = [line.rstrip() for line in expected.rstrip("\n").splitlines()]
            assert got == want, f"{page}, python block {k + 1} printed:\n{out.getvalue()}"


def _api_pages(site):
    return {p.parent.name: p.read_text(encoding="utf-8")
            for p in sorted((site / "api").glob("*/index.html"))}


def test_api_pages_document_every_public_name(site):
    """Each name of ``ag.__all__``, each public class of ``ag.nn`` and each public attribute
    of ``Value`` has an entry (an anchor named by its path) on the API pages."""
    import autograd_lite as ag

    ids = set()
    for text in _api_pages(site).values():
        ids.update(re.findall(r'id="(autograd_lite[\w.]*)"', text))

    def shown(name, module=None):
        if f"autograd_lite.{name}" in ids or (module and f"{module}.{name}" in ids):
            return True
        return any(i.startswith(f"autograd_lite.{name}.") for i in ids)  # a module's page

    missing = [n for n in ag.__all__ if not shown(n, getattr(getattr(ag, n), "__module__", None))]
    missing += [f"nn.{n}" for n in ag.nn.__all__
                if isinstance(getattr(ag.nn, n), type) and not shown(f"nn.{n}")]
    missing += [f"Value.{n}" for n in dir(ag.Value)
                if not n.startswith("_") and f"autograd_lite.Value.{n}" not in ids]
    assert not missing, f"public names without an entry on docs/api/*.md: {missing}"


ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj):(?:`|<code>)")


def test_no_page_shows_a_quoted_doctest_or_a_raw_role(site):
    """Markdown reads a bare ``>>>`` as three nested quotes: a docstring example must come
    out as a code block (docs/griffe_doctests.py fences it), and a Sphinx role as a link."""
    for path in sorted(site.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        page = path.relative_to(site).as_posix()
        assert not ROLE.search(text), (page, ROLE.search(text).group(0))
        for quote in re.findall(r"<blockquote>(.*?)</blockquote>", text, re.S):
            assert "&gt;&gt;&gt;" not in quote, (page, quote[:200])
        if page.startswith("api/"):
            assert "<blockquote>" not in text, (page, "a docstring rendered as a quote")
    values = _api_pages(site)["values"]
    examples = re.findall(r'<pre><span></span><code><span class="gp">&gt;&gt;&gt; ', values)
    assert len(examples) >= 10, "the Values page shows its docstrings' examples as code"


# each picture of a page as the browser lays it out: its file, its width on the page (CSS px)
PICTURES = """return [...document.querySelectorAll('article img')]
    .filter(i => i.currentSrc.endsWith('.svg')).map(i => [i.currentSrc, i.clientWidth]);"""


# each PNG a page shows: its file, width on the page, width in pixels, and whether a link
# around it opens the picture itself
PLOTS = """return [...document.querySelectorAll('article img')]
    .filter(i => i.currentSrc.endsWith('.png')).map(i => [i.currentSrc, i.clientWidth,
        i.naturalWidth, !!(i.closest('a') && i.closest('a').href === i.currentSrc)]);"""


def png_dpi(path: Path) -> float | None:
    """The resolution a PNG records (its pHYs chunk, as matplotlib writes it), or None."""
    data = path.read_bytes()
    at = data.find(b"pHYs")
    if at < 0 or data[at + 12] != 1:  # unit 1: pixels per metre
        return None
    return int.from_bytes(data[at + 4:at + 8], "big") * 0.0254


def test_every_plot_text_is_at_least_9_px_at_a_1400_px_window(site, browser):
    """A plot (matplotlib's PNG, which records its dpi): its 10 pt text -- tick labels,
    axis labels, titles -- at least 9 px high as the page shows it. A screenshot (no dpi)
    shrunk to the page links to itself at full size."""
    small, seen = [], 0
    for page in sorted(site.rglob("*.html")):
        browser.get(page.as_uri())
        for src, width, natural, linked in browser.execute_script(PLOTS):
            path, where = Path(src.removeprefix("file://")), page.relative_to(site).parent
            dpi, seen = png_dpi(path), seen + 1
            if dpi is None:
                assert linked or width >= natural, f"{where}: {path.name} is shrunk, unlinked"
            elif 10 * dpi / 72 * width / natural < 9:
                small.append(f"{where}: {path.name} {10 * dpi / 72 * width / natural:.1f} px")
    assert seen >= 10 and not small, small


# what a reader sees of the page: quotes, and text that reads like a raw Sphinx role
SEEN = """return [document.querySelectorAll('article blockquote').length,
    (document.querySelector('article') || document.body).innerText];"""


def test_every_picture_text_is_at_least_9_px_at_a_1400_px_window(site, browser):
    """The text of each graph picture, as displayed at a 1400 px window: its labels and
    caption (font size 10 and up in the SVG; 9 is for constants) are at least 9 px high.
    And, as the browser shows them, no API page has a quote (a doctest read as one) or a
    raw role."""
    small, seen = [], 0
    for page in sorted(site.rglob("*.html")):
        browser.get(page.as_uri())
        if page.relative_to(site).parts[0] == "api":
            quotes, text = browser.execute_script(SEEN)
            assert quotes == 0 and ">>>" in text, page
            assert not re.search(r":(?:func|class|meth|mod|data|attr|exc|obj):", text), page
        for src, width in browser.execute_script(PICTURES):
            svg = Path(src.removeprefix("file://")).read_text(encoding="utf-8")
            view = float(re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+)', svg).group(1))
            main = min(float(s) for s in re.findall(r'font-size="([\d.]+)"', svg)
                       if float(s) >= 10)
            seen += 1
            if main * width / view < 9:
                small.append(f"{page.relative_to(site).parent}: {Path(src).name} "
                             f"{main * width / view:.1f} px")
    assert seen >= 12 and not small, small


def _make_pictures():
    spec = importlib.util.spec_from_file_location("make_pictures", DOCS / "make_pictures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _svg_drawing(path):
    """What the DOT of a picture says, as its SVG keeps it: each text with its font and size
    (the coordinates follow the Graphviz build)."""
    svg = path.read_text(encoding="utf-8")
    return sorted((html.unescape(t).replace("\xa0", " "), f, s) for f, s, t in re.findall(
        r'<text[^>]*font-family="([^"]*)" font-size="([^"]*)"[^>]*>(.*?)</text>', svg, re.S))


def test_cli_pictures_are_fresh(tmp_path):
    """docs/img/demo.svg and graph.svg are what `autograd-lite demo` and the CLI page's
    `graph` command draw now (docs/make_pictures.py, `make pictures`, makes them)."""
    for path in _make_pictures().cli_pictures(tmp_path):
        assert _svg_drawing(DOCS / "img" / path.name) == _svg_drawing(path), (
            f"docs/img/{path.name} is stale: run make pictures")


def test_concept_pictures_are_fresh(tmp_path):
    """docs/img/concept_*.svg are what docs/make_pictures.py draws now (compared by their
    text: labels, factors, caption; the coordinates follow the Graphviz build)."""
    for path in _make_pictures().concept_pictures(tmp_path):
        assert _svg_drawing(DOCS / "img" / path.name) == _svg_drawing(path), (
            f"docs/img/{path.name} is stale: run python docs/make_pictures.py")


COMING_FROM = sorted((DOCS / "coming-from").glob("*.md"))


@pytest.mark.parametrize("page", COMING_FROM, ids=lambda p: p.stem)
def test_coming_from_pages_both_sides_print_what_the_page_shows(page, tmp_path, monkeypatch):
    """On the "Coming from" pages each ``python`` block (autograd_lite, or the course's
    NumPy) and each ``py`` block (the other library: PyTorch, micrograd) runs, in one
    namespace per language, and every block since the last ``text`` block printed exactly
    that text: both sides of a pair give the same numbers."""
    monkeypatch.chdir(tmp_path)
    text = page.read_text(encoding="utf-8")
    for lib in ("torch", "micrograd"):
        if re.search(rf"^```py\n(?:(?!```).)*?^(?:from|import) {lib}\b", text, re.S | re.M):
            pytest.importorskip(lib)
    spaces = {"python": {"__name__": "__docs__"}, "py": {"__name__": "__docs__"}}
    printed, pairs = [], 0
    for k, (lang, code, _, _) in enumerate(blocks(text)):
        if lang in spaces:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, f"{page.name}, block {k + 1}", "exec"), spaces[lang])
            printed.append((lang, out.getvalue()))
        elif lang == "text":
            want = [line.rstrip() for line in code.rstrip("\n").splitlines()]
            for which, got in printed:
                assert [line.rstrip() for line in got.rstrip("\n").splitlines()] == want, (
                    f"{page.name}: a {which} block before text block {k + 1} printed:\n{got}")
            pairs += len(printed) >= 2
            printed = []
    assert pairs >= 1, "a side-by-side pair with its output"


def test_subgradient_page_gives_the_frameworks_conventions_and_the_references():
    text = (DOCS / "concepts" / "subgradient.md").read_text(encoding="utf-8")
    for framework in ("PyTorch", "TensorFlow / Keras", "JAX"):
        assert re.search(rf"^\| {re.escape(framework)} \| 0 \|", text, re.M), framework
    assert "Bolte and Pauwels" in text and "NeurIPS 2020" in text
    assert "Bertoin, Bolte, Gerchinovitz and Pauwels" in text and "NeurIPS 2021" in text
    assert "Clarke" in text and "[0, 1]" in text


def test_concept_pages_cover_the_chain_rule_in_pictures_and_loss_versus_cost():
    chain = (DOCS / "concepts" / "chain-rule.md").read_text(encoding="utf-8")
    assert "Σ over paths" in chain and "Π factors" in chain
    assert len(re.findall(r"!\[[^\]]*\]\([^)]*\.svg\)", chain)) >= 2  # drawn graphs
    cost = (DOCS / "concepts" / "loss-vs-cost.md").read_text(encoding="utf-8")
    assert "**loss** L is computed *per sample*" in cost
    assert "**cost** J is the average" in cost
    assert "dJ/dW = dJ/dL · dL/dA · dA/dZ · dZ/dW" in cost
