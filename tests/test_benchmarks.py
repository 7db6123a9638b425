"""The benchmark suite stays runnable: a --quick smoke run whose correctness cross-checks
(every engine's loss and gradients from the same weights) must all have run and passed;
and ``--baseline REV`` (the previous engine beside the current one) works: REV's package
extracted and imported under its new name, and a --quick W4 run reporting against it.

Nothing here looks at the timings: they belong to `make bench` and docs/benchmarks.md.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd_lite as ag
from benchmarks import baseline, w6_cnn
from benchmarks.harness import CrossCheckError, check_all_close, interleave

ROOT = Path(__file__).resolve().parents[1]
PREVIOUS = "d1c4b10"  # the last commit before the engine's redesign (make bench-baseline)


def _has_revision(rev):
    try:
        baseline.resolve(rev)
    except (ValueError, OSError):
        return False
    return True


needs_previous = pytest.mark.skipif(not _has_revision(PREVIOUS),
                                    reason=f"{PREVIOUS} is not in this checkout's history")


@pytest.fixture(scope="module")
def quick_run():
    env = {**os.environ, "BENCH_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_quick_run_prints_every_workload_and_the_targets(quick_run):
    for title in ("## Targets", "## W1 — micrograd's demo step", "## W2 — chain",
                  "## W2 — memory of the chain", "## W3 — memory kept per W1 step",
                  "## W4 — flower 2-8-1", "## W5 — MLP 784-256-256-10",
                  "## W6 — CNN on 8×8 digits"):
        assert title in quick_run, title
    assert "| threads | 1 " in quick_run
    assert "Against the previous engine" not in quick_run  # only with --baseline
    assert baseline.LABEL not in quick_run


def test_quick_run_cross_checks_every_workload(quick_run):
    checks = quick_run.split("## Correctness cross-checks")[1]
    for prefix in ("- W1 cross-check:", "- W2 cross-check:", "- W3 cross-check:",
                   "- W4 cross-check:", "- W5 float64 cross-check:", "- W5 float32 cross-check:",
                   "- W6 float64 cross-check:", "- W6 float32 cross-check:"):
        assert prefix in checks, prefix
    assert "autograd_lite" in checks.split("- W1 cross-check:")[1].splitlines()[0]


def test_cross_check_rejects_different_gradients():
    check_all_close("same", [1.0, 2.0], [1.0, 2.0 + 1e-15], rtol=1e-9)
    with pytest.raises(CrossCheckError, match="element 1"):
        check_all_close("different", [1.0, 2.0], [1.0, 2.1], rtol=1e-9)


def test_interleave_alternates_the_order_of_engines():
    calls = []
    out = interleave({"a": lambda: calls.append("a") or 1.0,
                      "b": lambda: calls.append("b") or 2.0}, rounds=3)
    assert calls == ["a", "b", "b", "a", "a", "b"]
    assert out == {"a": [1.0, 1.0, 1.0], "b": [2.0, 2.0, 2.0]}


def test_baseline_rewrites_only_the_package_own_absolute_imports():
    text = ("from autograd_lite.study import main\nimport autograd_lite as ag\n"
            "from . import value\nDEMO = 'autograd_lite_demo.svg'\nimport autograd_lite_x\n")
    assert baseline.rewrite_imports(text) == (
        "from autograd_lite_prev.study import main\nimport autograd_lite_prev as ag\n"
        "from . import value\nDEMO = 'autograd_lite_demo.svg'\nimport autograd_lite_x\n")


@needs_previous
def test_baseline_package_imports_beside_the_current_one(tmp_path):
    import autograd_lite
    pkg = baseline.extract(PREVIOUS, tmp_path)
    assert pkg == tmp_path / baseline.PREV_PACKAGE and (pkg / "__init__.py").is_file()
    assert not (tmp_path / "autograd_lite").exists()
    for path in pkg.rglob("*.py"):  # nothing in it reaches for the current package
        for line in path.read_text(encoding="utf-8").splitlines():
            assert not baseline._ABSOLUTE.search(line), f"{path}: {line}"
    try:
        prev = baseline.load(tmp_path)
        assert Path(prev.__file__).resolve().is_relative_to(tmp_path.resolve())
        assert prev.Value is not autograd_lite.Value
        x = prev.Value(3.0)
        y = x * x + x
        y.backward()
        assert x.grad == 7.0
    finally:
        sys.path.remove(str(tmp_path.resolve()))
        for name in [m for m in sys.modules if m.split(".")[0] == baseline.PREV_PACKAGE]:
            del sys.modules[name]


def test_baseline_rejects_an_unknown_revision():
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "W4",
                           "--baseline", "no-such-revision"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "no-such-revision" in proc.stderr
    assert proc.stdout == ""


@needs_previous
def test_quick_w4_with_baseline_reports_against_the_previous_engine():
    env = {**os.environ, "BENCH_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "W4",
                           "--baseline", PREVIOUS], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    section = out.split(f"## Against the previous engine ({PREVIOUS})\n")[1].split("\n## ")[0]
    for row in ("| W4 | time per step (sigmoid + BCE) |", "| W4 | time per step (logits) |"):
        assert row in section, row
    assert "| ≤ 1.05× |" in section
    for engine in (baseline.LABEL, "autograd_lite (previous engine, logits)"):
        assert f"| {engine} |" in out  # a row of W4's own table
    checks = out.split("## Correctness cross-checks")[1]
    assert baseline.LABEL in checks.split("- W4 cross-check:")[1].splitlines()[0]
    assert "- W4 previous engine:" in checks and "- W4 previous engine (logits):" in checks


def test_baseline_agreement_says_whether_the_engines_agree_bit_for_bit():
    same = baseline.agreement("X", (1.0, [[1.0, 2.0]]), (1.0, [[1.0, 2.0]]))
    assert "loss and 2 gradient numbers bit for bit equal" in same
    near = baseline.agreement("X", (1.0, [[1.0, 2.0]]), (1.0, [[1.0, 2.0 + 2**-51]]))
    assert "not bit for bit" in near and "4.44e-16" in near


def test_w6_hand_written_numpy_step_equals_autograd_lite_ties_included():
    """W6's hand-written im2col step computes the loss and gradients autograd_lite does, on the
    digits and on a flat image (where max-pool windows tie at positive values: both share)."""
    for dtype, rtol in ((np.float64, 1e-10), (np.float32, 1e-4)):
        X, labels, params, _ = w6_cnn.problem(dtype)
        flat = np.full_like(X, 0.5)
        for images in (X, flat):
            ours = w6_cnn.AutogradLite(params).loss_and_grads(images, labels)
            theirs = w6_cnn.NumPy(params).loss_and_grads(images, labels)
            assert np.isclose(ours[0], theirs[0], rtol=rtol)
            for a, b in zip(ours[1], theirs[1]):
                assert a.dtype == b.dtype == dtype and a.shape == b.shape
                np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * 1e-3)
    W1, b1, _, _ = w6_cnn.AutogradLite(params).params
    pooled = ag.max_pool2d(ag.conv2d(flat, W1, b1, padding=1).relu(), 2)
    assert pooled.params["kinks"] > 0  # the flat image ties, at positive values too
    assert (pooled.data > 0).any()
