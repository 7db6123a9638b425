"""docs/rules.md is generated from the table of rules and kept fresh."""

import importlib.util
from pathlib import Path

import autograd_lite as ag
from autograd_lite import ops

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_rules", DOCS / "gen_rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rules_page_is_fresh():
    fresh = _generator().render()
    committed = (DOCS / "rules.md").read_text(encoding="utf-8")
    assert committed == fresh, "docs/rules.md is stale: run `python docs/gen_rules.py`"


def test_rules_page_lists_every_built_in_rule_and_each_of_its_factors():
    text = _generator().render()
    rows = [line for line in text.splitlines() if line.startswith("| ")][1:]
    builtin = [r for r in ops.RULES.values() if not r.custom]
    assert len(rows) == sum(len(r.factors) for r in builtin)
    for rule in builtin:
        assert f"| `{rule.name}` |" in text
    assert "| `relu` | relu(x) | x | 1[x>0] | elementwise | kink |" in text
    assert "| `mul` | x · y | x | y | elementwise |  |" in text
    assert "3·x² (shown for p = 3)" in text


def test_custom_ops_stay_out_of_the_page():
    ag.custom_op("page_probe", lambda x: 2 * x, derivative=lambda x, out: 2.0 + 0 * x)
    assert "page_probe" in ops.RULES
    assert "page_probe" not in _generator().render()
