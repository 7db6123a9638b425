"""The benchmark suite stays runnable: a --quick smoke run whose correctness cross-checks
(every engine's loss and gradients from the same weights) must all have run and passed.

Nothing here looks at the timings: they belong to `make bench` and docs/benchmarks.md.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.harness import CrossCheckError, check_all_close, interleave

ROOT = Path(__file__).resolve().parents[1]


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
                  "## W4 — flower 2-8-1", "## W5 — MLP 784-256-256-10"):
        assert title in quick_run, title
    assert "| threads | 1 " in quick_run


def test_quick_run_cross_checks_every_workload(quick_run):
    checks = quick_run.split("## Correctness cross-checks")[1]
    for prefix in ("- W1 cross-check:", "- W2 cross-check:", "- W3 cross-check:",
                   "- W4 cross-check:", "- W5 float64 cross-check:", "- W5 float32 cross-check:"):
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
