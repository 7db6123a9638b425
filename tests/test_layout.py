"""The shape of the package (DESIGN.md): imports flow one way, the engine stays small."""

import ast
import inspect
import io
import tokenize
from pathlib import Path

import autograd_lite.backward as backward
import autograd_lite.kernels as kernels
import autograd_lite.value as value
from autograd_lite.ops import RULES

BUILT_IN_RULES = [name for name, rule in RULES.items() if not rule.custom]

PKG = Path(__file__).resolve().parents[1] / "autograd_lite"

# module -> the package modules it may import (DESIGN.md, "Imports flow one way")
ALLOWED = {
    "shapes": set(),
    "policy": set(),
    "ops": {"shapes", "policy"},
    "backward": {"shapes"},
    "value": {"ops", "backward", "shapes"},
    "kernels": {"ops", "backward", "shapes", "value", "growing", "losses"},
    "growing": set(),
    "functions": {"value", "ops"},
    "numpy_api": {"value", "functions", "ops"},
    "gradients": {"value", "backward", "ops", "shapes"},
    "explain": {"value", "backward"},
    "gradcheck": {"value", "backward", "explain", "shapes", "policy"},
    "losses": {"value", "ops", "shapes"},
    "nn": {"value", "ops", "shapes", "policy", "losses", "functions"},
    "datasets": {"shapes"},
    "viz": {"value", "explain", "neurons"},
    "neurons": {"value", "explain", "viz"},
    "courses": {"value", "losses", "policy"},
    "check": {"courses"},
    "replay": {"value", "backward", "explain", "viz"},
}
ENGINE = ("value", "ops", "backward", "shapes", "policy")  # value.py and all it imports


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:  # from .x / from . import x
            found |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("autograd_lite"):
            found.add(node.module.split(".")[1] if "." in node.module else "__init__")
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names
                      if a.name.startswith("autograd_lite.")}
    return found - {""}


def test_imports_flow_one_way():
    for name, allowed in ALLOWED.items():
        extra = _imports(PKG / f"{name}.py") - allowed
        assert not extra, f"{name}.py imports {sorted(extra)}; allowed: {sorted(allowed)}"


def test_the_engine_is_value_and_what_it_imports():
    seen, todo = set(), ["value"]
    while todo:
        name = todo.pop()
        seen.add(name)
        todo += [m for m in _imports(PKG / f"{name}.py") if m not in seen]
    assert seen == set(ENGINE)


def test_only_viz_imports_graphviz():
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        if path.stem != "viz":
            assert not any(n.split(".")[0] == "graphviz" for n in names), path.name


def test_every_function_of_the_engine_fits_on_a_screen():
    for name in ENGINE:
        tree = ast.parse((PKG / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                n = node.end_lineno - node.lineno + 1
                assert n <= 60, f"{name}.{node.name} has {n} lines"


def test_the_builder_and_the_sweeps_name_no_op():
    for fn in (value.apply, backward.toposort, backward.sweep, backward.pull,
               backward.backward, kernels.fast_backward, kernels._reach, kernels._pass):
        src = inspect.getsource(fn)
        assert "ops." not in src and "RULES" not in src, f"{fn.__name__} names a specific op"


def code_lines(path: Path) -> int:
    """Lines with code on them: no blank lines, comments or docstrings."""
    source = path.read_text()
    docs = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(
                node.value.value, str):  # a docstring, or a string standing alone
            docs.update(range(node.lineno, node.end_lineno + 1))
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER}
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in skip:
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return len(lines - docs)


def test_code_lines_counts_code_only(tmp_path):
    f = tmp_path / "m.py"
    f.write_text('"""Doc\n\nstring."""\n\n# a comment\nx = (1,\n     2)  # two lines\n\n'
                 'def f():\n    """Doc."""\n    return x\n')
    assert code_lines(f) == 4


def test_the_engine_stays_within_its_budget():
    """450 code lines plus 12 per rule of the table (DESIGN.md); the hand-tuned kernels.py is
    not part of it: the engine (value.py and what it imports) runs without it."""
    budget = 450 + 12 * len(BUILT_IN_RULES)
    used = {name: code_lines(PKG / f"{name}.py") for name in ENGINE}
    assert sum(used.values()) <= budget, f"{sum(used.values())} > {budget}: {used}"


def test_the_studies_live_outside_the_core():
    """cli.py and studies/ may import everything; nothing else imports them."""
    assert not (PKG / "study.py").exists() and (PKG / "studies" / "relu0.py").exists()
    for name in ALLOWED:
        assert not _imports(PKG / f"{name}.py") & {"cli", "studies", "study"}, name
