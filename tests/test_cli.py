"""The command line as a new user runs it, and every kind of bad input it must survive."""

import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd_lite.cli import DEMO_FILE, build_parser, main
from autograd_lite.expr import FUNCTIONS

SVG = "{http://www.w3.org/2000/svg}text"


def run(*args, cwd):
    """``python -m autograd_lite ARGS`` in ``cwd``, as a user would start it."""
    env = {**os.environ, "PYTHONWARNINGS": "error"}  # no stray warnings on stderr either
    return subprocess.run([sys.executable, "-m", "autograd_lite", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120)


def svg_texts(path):
    return [t.text for t in ET.parse(path).getroot().iter(SVG)]


def test_demo_as_a_new_user_runs_it(tmp_path):
    r = run("demo", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    out = r.stdout
    assert "dJ/dW1 by the chain rule: 1 path from W1 to J" in out
    assert "= 1/n · (σ(Z2) − Y) · 1 · ((·) @ W2ᵀ) · 1[Z1>0] · 1 · (Xᵀ @ (·))" in out
    picture = tmp_path / DEMO_FILE
    assert f"picture: {DEMO_FILE}  (every edge" in out
    texts = svg_texts(picture)
    assert "∂A1/∂Z1 = 1[Z1>0]" in texts and "= 0.25" in texts
    assert any(t and t.startswith("dJ/dW1 = Σ over paths Π factors") for t in texts)
    total = re.search(r"W1\.grad = \[\[\s*([-\d.]+)", out).group(1)
    assert any(t and t.startswith("[[") and f"{float(total):.4g}" in t for t in texts)


def test_demo_out_folder_is_made_and_a_file_in_the_way_is_an_error(tmp_path, capsys):
    (tmp_path / "pics").mkdir()
    assert main(["demo", "--out", str(tmp_path / "pics")]) == 0
    assert (tmp_path / "pics" / DEMO_FILE).exists()
    assert main(["demo", "--out", str(tmp_path / "new" / "pics")]) == 0  # as mkdir -p
    assert (tmp_path / "new" / "pics" / DEMO_FILE).exists()
    capsys.readouterr()
    (tmp_path / "file").write_text("")
    assert main(["demo", "--out", str(tmp_path / "file")]) == 2
    err = capsys.readouterr().err
    assert err == f"autograd-lite: error: --out {tmp_path / 'file'}: not a folder\n"


def test_graph_as_a_new_user_runs_it(tmp_path):
    r = run("graph", "relu(w*x + b)", "--at", "w=2", "x=3", "b=-1", "--wrt", "w",
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("f = relu(w*x + b) = 5\n")
    for line in ("df/dw = 3", "df/dx = 2", "df/db = 1", "kinks hit: none",
                 "where v2 = w · x,  v4 = v2 + b,  f = relu(v4)",
                 "∂f/∂v4 · ∂v4/∂v2 · ∂v2/∂w = 1[v4>0] · 1 · x = 1 · 1 · 3 = 3"):
        assert line in out
    texts = svg_texts(tmp_path / "graph.svg")
    assert "df/dw = Σ over paths Π factors = 1·1·3 = 3" in texts


def test_graph_kink_subgradient_and_several_paths(tmp_path, capsys):
    assert main(["graph", "relu(x) * x + x", "--at", "x=0", "--subgradient", "1",
                 "-o", str(tmp_path / "k.dot")]) == 0
    out = capsys.readouterr().out
    assert "relu'(0) = 1" in out and "kinks hit: relu: 1 input exactly 0" in out
    assert "3 paths from x to f" in out
    assert "relu'(0) = 1 (subgradient)" in (tmp_path / "k.dot").read_text(encoding="utf-8")


def test_graph_writes_other_formats_and_notes_unused_names(tmp_path, capsys):
    assert main(["graph", "x * 2", "--at", "x=1", "y=5", "-o", str(tmp_path / "g.dot")]) == 0
    captured = capsys.readouterr()
    assert "digraph" in (tmp_path / "g.dot").read_text(encoding="utf-8")
    assert captured.err.strip() == "autograd-lite: note: --at y=... is not used by the formula"


def test_graph_result_named_f_even_when_f_is_an_input(tmp_path, capsys):
    assert main(["graph", "f * g", "--at", "f=2", "g=3", "-o", str(tmp_path / "g.dot")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("F = f * g = 6") and "dF/df = 3" in out


def test_help_lists_every_function(tmp_path):
    top = run("--help", cwd=tmp_path).stdout
    sub = run("graph", "--help", cwd=tmp_path).stdout
    for f in FUNCTIONS.values():
        assert f.usage in top and f.usage in sub
    assert "demo" in top and "graph" in top


def test_build_parser_has_one_subparser_per_command():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert {"demo", "graph"} <= set(sub.choices)
    assert all(p.get_default("run") is not None for p in sub.choices.values())


def test_study_relu0_is_wired_to_the_study(capsys):
    from autograd_lite.studies import relu0

    args = build_parser().parse_args(["study", "relu0", "--quick", "--out", "x"])
    assert args.run is relu0.run and args.quick and str(args.out) == "x"
    assert exit_code(["study"]) == 2
    assert exit_code(["study", "relu0", "--epochs", "many"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("autograd-lite study") for line in err)
    assert "--epochs" in err[1]


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "usage: autograd-lite" in capsys.readouterr().out


def exit_code(argv):
    try:
        return main(argv)
    except SystemExit as e:  # argparse's own errors
        return e.code


HOSTILE = [
    (["graph", "relu(w*x", "--at", "w=1", "x=1"], "syntax error"),
    (["graph", "w*y", "--at", "w=1"], "no value for y"),
    (["graph", "w*x", "--at", "w=1", "x=2", "x=3"], "binds x twice"),
    (["graph", "x", "--at", "x"], "write NAME=NUMBER"),
    (["graph", "x", "--at", "=1"], "write NAME=NUMBER"),
    (["graph", "x", "--at", "x="], "write NAME=NUMBER"),
    (["graph", "x", "--at", "x=abc"], "'abc' is not a number"),
    (["graph", "x", "--at", "x=nan"], "finite number"),
    (["graph", "x", "--at", "x=inf"], "finite number"),
    (["graph", "x", "--at", "1x=2"], "is not a name"),
    (["graph", "x", "--at", "relu=2"], "relu is a function"),
    (["graph", "x", "--at", *[f"v{i}=1" for i in range(101)]], "at most 100"),
    (["graph", "relu(x)", "--at", "x=0", "--subgradient", "2"], r"in \[0, 1\]"),
    (["graph", "relu(x)", "--at", "x=0", "--subgradient", "nan"], r"in \[0, 1\]"),
    (["graph", "relu(x)", "--at", "x=0", "--subgradient", "abc"], "expected a number"),
    (["graph", "x" + "+x" * 600, "--at", "x=1"], "at most 1000"),
    (["graph", "+".join(["x"] * 300), "--at", "x=1"], "too large"),
    (["graph", "relu(" * 60 + "x" + ")" * 60, "--at", "x=1"], "nested more than"),
    (["graph", "(" * 250 + "x" + ")" * 250, "--at", "x=1"], "too many nested"),
    (["graph", "x / 0", "--at", "x=1"], "division by zero"),
    (["graph", "x / (x - 1)", "--at", "x=1"], "division by zero"),
    (["graph", "exp(x)", "--at", "x=1000"], "inf"),
    (["graph", "x ** 0.5", "--at", "x=0"], "not differentiable"),
    (["graph", "log(x)", "--at", "x=-1"], "nan"),
    (["graph", "x.__class__", "--at", "x=1"], "attributes"),
    (["graph", "__import__('os').system('true')", "--at", "x=1"], "attributes"),
    (["graph", "open('/etc/passwd')", "--at", "x=1"], "unknown function 'open'"),
    (["graph", "leaky_relu(x, slope=1)", "--at", "x=1"], "keyword"),
    (["graph", "3 * 4"], "no names"),
    (["graph", "x", "--at", "x=1", "--wrt", "y"], "not a name in the formula"),
    (["graph", "x", "--at", "x=1", "-o", "out.txt"], "must end in"),
    (["graph", "x", "--at", "x=1", "-o", "missing/dir/out.svg"], "no such folder 'missing/dir'"),
    (["graph", "-o", "g.svg"], "the formula is required"),
    (["graph"], "the formula is required"),
    (["graph", "-x", "-y", "--at", "x=1"], "unrecognized arguments: -x -y"),
    (["graph", "--x", "--at", "x=1"], "unrecognized arguments: --x"),
    (["graph", " " + "-" * 60 + "x", "--at", "x=1"], "nested more than 50"),
    (["graph", "-" * 60 + "x", "--at", "x=1"], "nested more than 50"),
    (["graph", "x ** 2 ** 3 ** 4 ** 5", "--at", "x=2"], "overflow|inf"),
    (["graph", "1 / x", "--at", "x=1e-200"], "gradient overflows"),
    (["graph", "x", "--at", "x=1e400"], "finite number"),
    (["bogus"], "invalid choice"),
    (["demo", "--bogus"], "unrecognized arguments"),
]


@pytest.mark.parametrize("argv,message", HOSTILE, ids=[" ".join(a)[:40] for a, _ in HOSTILE])
def test_bad_input_is_one_line_and_a_nonzero_exit(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert exit_code(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("autograd-lite")
    assert re.search(message, captured.err), captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""  # refused before any work, not half-way through the output
    assert not list(tmp_path.glob("*.svg"))


@pytest.mark.parametrize("args,message", [
    (["x / (y - y)", "--at", "x=1", "y=2"], r"division by zero in 'x / \(y - y\)'"),
    (["relu(w*x", "--at", "w=1", "x=1"], r"syntax error in the formula at column \d+: .+"),
    (["(" * 250 + "x" + ")" * 250, "--at", "x=1"], r"syntax error .*too many nested.*"),
    (["x", "--at", "x"], r"--at 'x': write NAME=NUMBER, e\.g\. --at x=1\.5"),
    (["relu(x)", "--at", "x=0", "--subgradient", "7"], r".*must be a real number in \[0, 1\].*"),
])
def test_bad_input_in_a_real_process_has_no_traceback(args, message, tmp_path):
    r = run("graph", *args, cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert re.fullmatch(f"autograd-lite: error: {message}\n", r.stderr), r.stderr


def test_graph_formula_may_start_with_a_minus(tmp_path, capsys):
    out = str(tmp_path / "g.dot")
    assert main(["graph", "-x*y", "--at", "x=2", "y=3", "-o", out]) == 0
    assert capsys.readouterr().out.startswith("f = -x*y = -6\n")
    assert main(["graph", "--at", "x=2", "-o", out, "-x"]) == 0  # after the options too
    assert capsys.readouterr().out.startswith("f = -x = -2\n")
    r = run("graph", "-(x*x)", "--at", "x=3", "-o", "g.dot", cwd=tmp_path)
    assert r.returncode == 0 and "df/dx = -6" in r.stdout, r.stderr


def test_graph_refuses_an_unwritable_format_before_any_output(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)  # no system Graphviz
    assert exit_code(["graph", "x * x", "--at", "x=3", "-o", str(tmp_path / "g.png")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "PNG output needs the system Graphviz `dot`" in captured.err
    assert "apt-get install graphviz" in captured.err and not list(tmp_path.iterdir())


@given(st.text(max_size=40))
def test_fuzz_graph_never_raises(tmp_path_factory, text):
    out = tmp_path_factory.mktemp("fuzz") / "g.dot"
    code = exit_code(["graph", text, "--at", "x=0.5", "y=-2", "-o", str(out)])
    assert code in (0, 2)


def test_entry_point_script_is_installed_beside_python(tmp_path):
    script = Path(sys.executable).with_name("autograd-lite")
    if not script.exists():
        pytest.skip("the package is not installed with its scripts in this environment")
    r = subprocess.run([str(script), "graph", "x * x", "--at", "x=3", "-o", "sq.dot"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0 and "df/dx = 6" in r.stdout and (tmp_path / "sq.dot").exists()


def test_demo_without_a_system_graphviz_uses_the_embedded_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["demo", "--out", str(tmp_path)]) == 0
    texts = svg_texts(tmp_path / DEMO_FILE)
    assert "∂A1/∂Z1 = 1[Z1>0]" in texts


CLI_PAGE = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
CONSOLE = re.findall(r"^```console\n\$ (.*?)\n(.*?)^```", CLI_PAGE.read_text(encoding="utf-8"),
                     flags=re.S | re.M)


@pytest.mark.parametrize("command,shown", CONSOLE, ids=[c[:50] for c, _ in CONSOLE])
def test_docs_cli_page_shows_what_the_commands_print(command, shown, tmp_path, monkeypatch,
                                                     capsys):
    argv = shlex.split(command)
    assert argv[0] == "autograd-lite"
    monkeypatch.chdir(tmp_path)
    code = exit_code(argv[1:])
    captured = capsys.readouterr()
    printed = (captured.out + captured.err).rstrip("\n").splitlines()
    assert [line.rstrip() for line in printed] == shown.rstrip("\n").splitlines()
    assert code == (2 if "error:" in shown else 0)


README = CLI_PAGE.parents[1] / "README.md"


def test_readme_shows_the_demo_picture_and_both_commands(tmp_path, capsys):
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Seeing the chain rule"):]
    section = section[:section.index("\n## ", 1)]
    assert "autograd-lite demo" in section
    assert 'autograd-lite graph "relu(w*x + b)" --at w=2 x=3 b=-1 --wrt w' in section
    pictures = re.findall(r"!\[[^\]]+\]\((docs/img/[\w.]+\.svg)\)", section)
    assert pictures == ["docs/img/demo.svg"]
    assert main(["demo", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    shown = sorted(t or "" for t in svg_texts(README.parent / pictures[0]))
    assert shown == sorted(t or "" for t in svg_texts(tmp_path / DEMO_FILE)), (
        "docs/img/demo.svg is not what autograd-lite demo draws now: "
        "autograd-lite demo --out docs/img && mv docs/img/autograd_lite_demo.svg docs/img/demo.svg")
