"""Every demo in examples/ runs with no arguments and prints the numbers that answer its question.

Each script is copied into a temporary folder and run there as a user would run it
(``python seed000_....py``), all at once in parallel; the tests read what it printed and
check the pictures it wrote next to itself. Each is run a second time as
``python <demo>.py --out pictures/new`` with matplotlib hidden: the same numbers still come
out, the graph pictures go into the new folder, and every plot is reported as skipped.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DEMOS = {
    "quickstart": ["quickstart_graph.svg", "quickstart_flower.png"],
    "seed000_relu_derivative_from_z": ["seed000_graph_relu.svg", "seed000_graph_bug.svg",
                                       "seed000_decision_boundaries.png"],
    "seed001_dAL_is_the_loss_derivative": ["seed001_chain.svg",
                                           "seed001_relu_vs_linear_output.png"],
    "seed002_relu_not_differentiable_at_zero": ["seed002_graph_s0.svg", "seed002_graph_s1.svg",
                                                "seed002_relu_subgradient.png"],
    "seed003_leaky_relu_backward": ["seed003_graph_right.svg", "seed003_graph_wrong.svg",
                                    "seed003_leaky_relu_backward.png"],
    "seed004_why_activation_derivatives": ["seed004_chain.svg",
                                           "seed004_activation_factors.png"],
    "second_order": ["second_order_tanh2.svg"],
}
OUT = Path("pictures", "new")  # the --out folder of the second runs, inside the temporary one
BARE = ("import runpy, sys; sys.modules['matplotlib'] = None; "
        "sys.argv = [{script!r}, '--out', {out!r}]; "
        "runpy.run_path({script!r}, run_name='__main__')")
CPU_SECONDS = 30  # "runs in seconds": each demo needs 1-4 CPU-seconds on a laptop
VARIANTS = ["plotted", "bare"]


def _finish(proc: subprocess.Popen) -> tuple[int, str, float | None]:
    """Wait for ``proc``: its exit code, its output and the CPU seconds it used."""
    out = proc.stdout.read()
    proc.stdout.close()
    if not hasattr(os, "wait4"):  # no per-process resource usage here
        return proc.wait(timeout=300), out, None
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, out, usage.ru_utime + usage.ru_stime


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Run every demo twice (plotted, and bare: no matplotlib, --out) in parallel."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
    jobs = {}
    for name in DEMOS:
        for variant in VARIANTS:
            folder = tmp_path_factory.mktemp(f"{name}_{variant}")
            shutil.copy(EXAMPLES / "_common.py", folder)
            shutil.copy(EXAMPLES / f"{name}.py", folder)
            args = ([f"{name}.py"] if variant == "plotted" else
                    ["-c", BARE.format(script=f"{name}.py", out=str(OUT))])
            jobs[name, variant] = (folder, subprocess.Popen(
                [sys.executable, *args], cwd=folder, env=env, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    results = {}
    for key, (folder, proc) in jobs.items():
        code, out, cpu = _finish(proc)
        results[key] = (code, out, folder, cpu)
    return results


def _output(runs, name, variant="plotted"):
    code, out, folder, _ = runs[name, variant]
    assert code == 0, out
    return out, folder


def _number(pattern, text):
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not found in:\n{text}"
    return float(m.group(1))


def test_every_script_in_examples_is_run_here():
    mine = {p.stem for p in EXAMPLES.glob("*.py")} - {"_common", "relu0_study", "cnn_digits"}
    assert mine == set(DEMOS)


@pytest.mark.parametrize("name", list(DEMOS))
def test_demo_writes_its_pictures_next_to_itself(runs, name):
    out, folder = _output(runs, name)
    for file in DEMOS[name]:
        path = folder / file
        assert path.is_file(), f"{file} missing; output:\n{out}"
        assert f"wrote {path}" in out or f"wrote {path.resolve()}" in out
        data = path.read_bytes()
        if file.endswith(".png"):
            assert data.startswith(b"\x89PNG") and len(data) > 5000
        else:  # a chain-rule picture: every edge labelled, the caption names the sum of paths
            text = data.decode("utf-8")
            assert "<svg" in text and "∂" in text and "Σ over paths Π factors" in text


@pytest.mark.parametrize("name", list(DEMOS))
def test_demo_without_matplotlib_prints_and_draws_into_out_and_skips_its_plots(runs, name):
    out, folder = _output(runs, name, "bare")
    target = folder / OUT
    for file in DEMOS[name]:
        if file.endswith(".png"):
            assert f"{file}: skipped (matplotlib is not installed" in out
            assert not (target / file).exists()
        else:
            assert (target / file).is_file(), f"{file} missing in --out; output:\n{out}"
            assert f"wrote {OUT / file}" in out or f"wrote {(target / file).resolve()}" in out
    beside = sorted(p.name for p in folder.iterdir())
    assert beside == sorted(["_common.py", f"{name}.py", OUT.parts[0]])  # nothing beside it


@pytest.mark.parametrize("name", list(DEMOS))
def test_demo_runs_in_seconds(runs, name):
    cpu = runs[name, "plotted"][3]
    if cpu is None:
        pytest.skip("no per-process CPU time on this platform")
    assert cpu < CPU_SECONDS, f"{name} used {cpu:.1f} CPU-seconds"


@pytest.mark.parametrize("variant", VARIANTS)
def test_quickstart(runs, variant):
    out, _ = _output(runs, "quickstart", variant)
    assert "L = relu(w·x + b) = 5;  dL/dw = 3, dL/dx = 2, dL/db = 1" in out
    assert "1[z>0] · 1 · x = 1 · 1 · 3 = 3" in out
    assert _number(r"accuracy (\d\.\d+)", out) > 0.85


@pytest.mark.parametrize("variant", VARIANTS)
def test_seed000_relu_derivative_must_come_from_z(runs, variant):
    out, _ = _output(runs, "seed000_relu_derivative_from_z", variant)
    acc0 = _number(r"relu'\(0\) = 0  \(Z > 0\)\s+accuracy (\S+)", out)
    acc1 = _number(r"relu'\(0\) = 1  \(Z >= 0\)\s+accuracy (\S+)", out)
    bug = _number(r"bug: 1\[A >= 0\]\s+accuracy (\S+)", out)
    strict = _number(r"question's 1\[A > 0\]\s+accuracy (\S+)", out)
    assert acc0 == acc1 >= 0.88  # the subgradient at 0 never mattered ...
    assert "pre-activations exactly 0 during training: 0" in out
    assert "two correct runs end with bitwise identical weights" in out
    assert strict == acc0  # the question's A1 > 0 is Z1 > 0 in disguise
    assert "1[A > 0] is 1[Z > 0] in disguise (A = relu(Z) > 0 exactly where Z > 0): bitwise " \
           "identical\n  weights to relu'(0) = 0" in out
    assert bug < 0.75 and acc0 - bug > 0.15  # ... the derivative read from A did
    assert "built-in relu: True" in out
    assert re.search(r"relu_from_A:\s+GradcheckError: input 0, element \(\d+, \d+\): "
                     r"analytic 1, numeric 0", out)
    assert "A = relu(Z):        dL/dw = 0" in out
    assert "A = relu_from_A(Z): dL/dw = -4" in out


@pytest.mark.parametrize("variant", VARIANTS)
def test_seed001_dal_is_the_derivative_of_the_loss(runs, variant):
    out, _ = _output(runs, "seed001_dAL_is_the_loss_derivative", variant)
    assert "dL/dA = [1, -1, 2, -6]        = A − Y" in out
    assert "dJ/dA = [0.25, -0.25, 0.5, -1.5]  = (A − Y)/m" in out
    assert "with ag.mse_loss (no ½): dJ/dA = [0.5, -0.5, 1, -3] = 2(A − Y)/m" in out
    assert "0.3333 ·    -6 ·     0 ·     1 = 0" in out  # Z < 0: dA/dZ = 0 kills the path
    assert "sum over samples = -39;  backward: W.grad = -39" in out
    assert "ag.explain(J, W): 3 paths, products [0, -10, -29], total -39" in out
    rows = re.findall(r"^   (\d)\s+(\d+) (\(never moved\))?\s+(\S+)\s+(\S+)$", out, re.M)
    assert len(rows) == 6
    stuck = [int(r[1]) for r in rows]
    assert any(s == 19 for s in stuck) and any(0 < s < 19 for s in stuck)
    assert all(float(r[4]) < 1e-3 for r in rows)  # the linear output always fits


@pytest.mark.parametrize("variant", VARIANTS)
def test_seed002_keras_gradients_and_the_census_of_zeros(runs, variant):
    out, _ = _output(runs, "seed002_relu_not_differentiable_at_zero", variant)
    assert "relu'(0) = 0  : dJ/dx = [0, 0, 0, 0.5]" in out
    assert "relu'(0) = 0.5: dJ/dx = [0, -0.25, 0, 0.5]" in out
    assert "relu'(0) = 1  : dJ/dx = [0, -0.5, 0, 0.5]" in out
    assert "relu 'A': 1 of 4 inputs exactly 0" in out
    zeros = {dt: _number(rf"{dt}:\s+(\d+) of 3,200,000", out)
             for dt in ("float16", "float32", "float64")}
    assert zeros["float16"] > 100 and zeros["float32"] == zeros["float64"] == 0
    verdicts = re.findall(r"relu'\(0\) = 0 vs 1: (\w+) weights", out)
    assert verdicts == ["different", "identical", "identical"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_seed003_leaky_relu_backward_multiplies(runs, variant):
    out, _ = _output(runs, "seed003_leaky_relu_backward", variant)
    assert "question's leaky_relu_backward(dA)  = [0.01, 0.01, -0.25, 0.5]" in out
    assert "fixed leaky_relu_backward(dA)       = [-0.0051, 0.004975, -0.25, 0.5]" in out
    assert "engine, leaky_relu                  = [-0.0051, 0.004975, -0.25, 0.5]" in out
    assert "engine, leaky_right                 = [-0.0051, 0.004975, -0.25, 0.5]" in out
    assert "engine, leaky_wrong                 = [0.01, 0.01, -0.25, 0.5]" in out
    assert re.search(r"J = sum\(A\)\s+leaky_wrong: passes", out)  # dA = 1: a coincidence
    assert re.search(r"J = mean\(\(A−Y\)²\)\s+leaky_right: passes", out)
    assert re.search(r"J = mean\(\(A−Y\)²\)\s+leaky_wrong: GradcheckError: input 0, "
                     r"element \(0,\): analytic 0.01, numeric -0.0051", out)
    right = _number(r"accuracy: right (\S+),", out)
    wrong = _number(r", wrong (\S+)", out)
    assert right > 0.88 and right > wrong  # the wrong run's accuracy is chaotic: 0.79-0.86
    assert _number(r"loss J:   right (\S+),", out) < 0.35  # over seeds; its loss is robust:
    assert "wrong above 100: the wrong gradient drives the weights away" in out  # 1e3-1e5


@pytest.mark.parametrize("variant", VARIANTS)
def test_seed004_every_activation_contributes_a_factor(runs, variant):
    out, _ = _output(runs, "seed004_why_activation_derivatives", variant)
    assert "relu        dA/dZ = 1[Z>0]                 = [0, 0, 1, 1]" in out
    assert "leaky_relu  dA/dZ = 1 if Z>0 else 0.01     = [0.01, 0.01, 1, 1]" in out
    assert "∂L/∂A2 · ∂A2/∂Z2 · ∂Z2/∂A1 · ∂A1/∂Z1 · ∂Z1/∂W1 = dL/dW1" in out
    assert re.search(r"relu\s+-2\s+· 0.25\s+· -1.2\s+· 0\s+· 1.5\s+= 0$", out, re.M)
    assert re.search(r"tanh\s+.*· 0.7116\s+· 1.5\s+= 0.4409$", out, re.M)
    assert "sigmoid + cross-entropy: dL/dZ2 = -404.4 · 0.002467 = -0.9975" in out
    assert "sigmoid + squared error: dL/dZ2 = -1.995 · 0.002467 = -0.004921" in out
    assert "linear  + squared error: dL/dZ2 = -14" in out  # 2(Z2 − y): no factor to vanish
    acc = {f"{hidden} / {head}": float(a) for hidden, head, a in
           re.findall(r"hidden (\w+)\s+output (.+?)\s+accuracy (\S+)", out)}
    assert len(acc) == 6
    for hidden in ("relu", "leaky_relu", "tanh", "sigmoid"):
        assert acc[f"{hidden} / sigmoid + BCE"] > 0.85  # the hidden choice keeps the loss
    assert acc["relu / sigmoid + MSE"] < acc["relu / sigmoid + BCE"] - 0.05
    assert acc["relu / linear + MSE"] > 0.85  # a regression head also separates, at ½


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")


def _numbers(line):
    return [float(n.replace(",", "")) for n in _NUMBER.findall(line)]


def _same_but_for_the_machine(quoted, printed):
    """The same words, and numbers within 10 % (or 0.05): the last digits of a float16
    census or of a training run with a wrong gradient follow the CPU's SIMD and BLAS
    kernels, so a page quotes them from one machine."""
    skeleton = _NUMBER.sub("#", quoted)
    for line in printed:
        if _NUMBER.sub("#", line) == skeleton:
            pairs = zip(_numbers(quoted), _numbers(line))
            if all(abs(a - b) <= max(0.05, 0.1 * abs(b)) for a, b in pairs):
                return True
    return False


def test_same_but_for_the_machine_is_strict_on_words_and_loose_on_last_digits():
    assert _same_but_for_the_machine("accuracy: right 0.897, wrong 0.818",
                                     ["accuracy: right 0.897, wrong 0.785"])
    assert _same_but_for_the_machine("413 of 3,200,000 exactly 0", ["415 of 3,200,000 exactly 0"])
    assert not _same_but_for_the_machine("413 of 3,200,000 exactly 0",
                                         ["0 of 3,200,000 exactly 0"])
    assert not _same_but_for_the_machine("accuracy: right 0.897, wrong 0.818",
                                         ["accuracy: right 0.897, wrong 0.618"])
    assert not _same_but_for_the_machine("different weights", ["identical weights"])


@pytest.mark.parametrize("name", [n for n in DEMOS if n.startswith("seed")])
def test_docs_page_quotes_the_demo_output_verbatim(runs, name):
    """Every line in a ```text block of the demo's docs page is a line the demo printed
    (numbers that follow the machine's floating-point kernels may differ a little)."""
    out, _ = _output(runs, name)
    printed = {line.strip() for line in out.splitlines()}
    page = ROOT / "docs" / "questions" / f"{name[:7]}.md"
    text = page.read_text(encoding="utf-8")
    assert f"python examples/{name}.py" in text
    quoted = re.findall(r"^```text\n(.*?)^```$", text, re.S | re.M)
    assert quoted, f"{page.name} quotes no output"
    for block in quoted:
        for line in block.splitlines():
            quoted_line = line.strip()
            assert (not quoted_line or quoted_line in printed
                    or _same_but_for_the_machine(quoted_line, printed)), (page.name, line)


PICTURE = re.compile(r"\]\(([^()\s]+\.(?:png|svg))\)")  # ![alt](path); alt may hold brackets


def _page(name):
    pages = {"quickstart": "quickstart.md", "second_order": "second-order.md"}
    return ROOT / "docs" / pages.get(name, f"questions/{name[:7]}.md")


@pytest.mark.parametrize("name", list(DEMOS))
def test_docs_page_shows_every_picture_of_its_demo(name):
    text = _page(name).read_text(encoding="utf-8")
    shown = {Path(t).name for t in re.findall(PICTURE, text)}
    assert set(DEMOS[name]) <= shown, sorted(set(DEMOS[name]) - shown)


def _svg_text(path):
    """The words of an SVG picture (sorted), whatever Graphviz build laid it out."""
    texts = re.findall(r"<text[^>]*>(.*?)</text>", path.read_text(encoding="utf-8"), re.S)
    return sorted(html.unescape(t).replace("\xa0", " ") for t in texts)


@pytest.mark.parametrize("name", list(DEMOS))
def test_docs_graph_pictures_are_fresh(runs, name):
    """docs/img holds what the demo draws now (python docs/make_pictures.py refreshes it).
    Compared by the text in the SVG: labels, factors and caption, not coordinates, which
    follow the Graphviz build."""
    _, folder = _output(runs, name)
    for file in DEMOS[name]:
        if file.endswith(".svg"):
            committed = ROOT / "docs" / "img" / file
            assert _svg_text(committed) == _svg_text(folder / file), (
                f"docs/img/{file} is stale: run python docs/make_pictures.py")


@pytest.mark.parametrize("variant", VARIANTS)
def test_second_order(runs, variant):
    out, _ = _output(runs, "second_order", variant)
    assert "x = 1.000000000000 after 10 steps" in out  # Newton from x = 2
    assert "step 1: x = 1.4545454545" in out
    assert _number(r"largest difference (\S+) ", out) < 1e-7  # H·v against finite differences
    assert ".grad untouched: True" in out
    assert "tanh''(0.5) = -0.7268619814;  −2·tanh·(1 − tanh²) = -0.7268619814" in out
    assert "y'' = [0, 0, 2]" in out
    assert "kink: step: 1 of 3 inputs on a kink of the first pass" in out
    assert "kink: relu: 1 of 3 inputs exactly 0" in out
