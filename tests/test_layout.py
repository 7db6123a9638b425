"""The shape of the package (DESIGN.md): imports flow one way, the engine stays small."""

import ast
import inspect
from pathlib import Path

import autograd_lite.value as value

PKG = Path(__file__).resolve().parents[1] / "autograd_lite"

# module -> the package modules it may import (DESIGN.md, "Imports flow one way")
ALLOWED = {
    "shapes": set(),
    "policy": set(),
    "ops": {"shapes", "policy"},
    "value": {"ops", "shapes"},
    "explain": {"value", "ops", "shapes"},
    "gradcheck": {"value", "explain", "shapes"},
    "losses": {"value", "ops", "shapes"},
    "nn": {"value", "ops", "shapes", "policy", "losses"},
    "datasets": {"shapes"},
    "viz": {"value", "explain", "ops", "shapes"},
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.add((node.module or "").split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("autograd_lite"):
            found.add(node.module.split(".")[1] if "." in node.module else "__init__")
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names
                      if a.name.startswith("autograd_lite.")}
    return found - {""}


def test_imports_flow_one_way():
    for name, allowed in ALLOWED.items():
        path = PKG / f"{name}.py"
        if path.exists():
            extra = _imports(path) - allowed
            assert not extra, f"{name}.py imports {sorted(extra)}; allowed: {sorted(allowed)}"


def test_only_viz_imports_graphviz():
    for path in PKG.glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        if path.stem != "viz":
            assert not any(n.split(".")[0] == "graphviz" for n in names), path.name


def test_engine_functions_fit_on_a_screen_and_name_no_op():
    for fn in (value.apply, value._build, value.toposort, value._backward):
        lines = inspect.getsource(fn).splitlines()
        assert len(lines) <= 60, f"{fn.__name__} has {len(lines)} lines"
        src = "\n".join(lines)
        assert "ops." not in src, f"{fn.__name__} names a specific op"
