"""Defects of the command line found by hand, each held by a test.

* ``graph`` with inputs named f, F, out and result ran out of names for the result
  (a StopIteration traceback); any identifier must work as a name, or be refused in one line.
* ``study relu0 --hidden 1000000`` ended in a MemoryError traceback; every setting of the
  study has a range, checked before any work, and a lack of memory is one line too.
"""

import argparse
import ast
import contextlib
import io
import keyword
import re
import subprocess
import sys
import unicodedata
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_lite.cli import build_parser, main
from autograd_lite.expr import FUNCTIONS
from autograd_lite.studies import relu0

ROOT = Path(__file__).resolve().parents[1]


def exit_code(argv):
    try:
        return main(argv)
    except SystemExit as e:  # argparse's own errors
        return e.code


def graph(capsys, tmp_path, formula, **values):
    """Run ``graph`` in-process: (exit code, stdout, stderr)."""
    argv = ["graph", formula, "--at", *(f"{k}={v}" for k, v in values.items()),
            "-o", str(tmp_path / "g.dot")]
    code = exit_code(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def gradients(out):
    """The result's name and {input: gradient} as ``graph`` prints them."""
    result = out.split(" = ", 1)[0]
    found = re.findall(rf"^  d{re.escape(result)}/d(\S+) = (\S+)$", out, flags=re.M)
    return result, {n: float(g) for n, g in found}


def assert_one_line_error(code, out, err, pattern):
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith("autograd-lite"), err
    assert "Traceback" not in err and re.search(pattern, err), err
    assert out == ""


# --- graph: any name for an input -------------------------------------------------------------

def test_graph_inputs_named_like_every_result_name_get_a_fresh_one(tmp_path, capsys):
    code, out, err = graph(capsys, tmp_path, "f+F+out+result", f=1, F=2, out=3, result=4)
    assert code == 0, err
    assert out.startswith("f1 = f+F+out+result = 10\n")
    assert gradients(out) == ("f1", {"f": 1.0, "F": 1.0, "out": 1.0, "result": 1.0})
    code, out, err = graph(capsys, tmp_path, "f*F + out*result + f1",
                           f=1, F=2, out=3, result=4, f1=5)
    assert code == 0, err
    assert gradients(out) == ("f2", {"f": 2.0, "F": 1.0, "out": 4.0, "result": 3.0, "f1": 1.0})


def test_graph_result_name_skips_unused_inputs_too(tmp_path, capsys):
    code, out, err = graph(capsys, tmp_path, "x * 2", x=1, f=0, F=0, out=0, result=0)
    assert code == 0 and out.startswith("f1 = x * 2 = 2\n") and "df1/dx = 2" in out
    assert err.count("is not used by the formula") == 4


TRICKY = ["x", "f", "F", "out", "result", "grad", "Value", "relu_", "exp_", "np", "self",
          "v1", "v2", "f1", "cls", "__import__", "__class__", "eval", "print", "match", "case",
          "_", "type", "inf", "nan", "e", "pi", "d", "dx", "lambda_", "é", "Δ", "λ", "变量",
          "x_0", "X", "W1"]


@pytest.mark.parametrize("a,b", [(a, b) for a, b in zip(TRICKY, TRICKY[1:] + TRICKY[:1])])
def test_graph_tricky_names_give_the_hand_gradients(a, b, tmp_path, capsys):
    # f = a*b + 3*a at a = 2, b = 5: f = 16, df/da = b + 3 = 8, df/db = a = 2
    code, out, err = graph(capsys, tmp_path, f"{a}*{b} + 3*{a}", **{a: 2, b: 5})
    assert code == 0, err
    result, grads = gradients(out)
    assert result not in (a, b)
    assert out.startswith(f"{result} = {a}*{b} + 3*{a} = 16\n")
    assert grads == {a: 8.0, b: 2.0}
    assert err == ""


@pytest.mark.parametrize("name", ["𝑥", "ℌ", "ﬁ", "𝐢𝐟", "ｘ"])
def test_graph_names_are_read_as_python_reads_them(name, tmp_path, capsys):
    code, out, err = graph(capsys, tmp_path, f"{name} * {name} * 3", **{name: 2})
    assert code == 0, err
    assert gradients(out)[1] == {unicodedata.normalize("NFKC", name): 12.0}
    code = exit_code(["graph", f"{name} * 2", "--at", f"{name}=1", "--wrt", name,
                      "-o", str(tmp_path / "g.dot")])
    assert code == 0


@pytest.mark.parametrize("argv,message", [
    (["lambda + 1", "--at", "lambda=1"], r"lambda is a Python keyword and cannot be a name; "
                                         r"use e\.g\. lambda_"),
    (["if * for", "--at", "x=1"], "if, for are Python keywords"),
    (["x", "--at", "x=1", "class=2"], r"--at 'class=2': class is a Python keyword, not a name"),
    (["None + x", "--at", "x=1"], "the constant None cannot be used"),
    (["x", "--at", "x=1", "True=2"], "True is a Python keyword"),
    (["fi * 2", "--at", "ﬁ=1", "fi=2"], r"binds fi twice \(ﬁ and fi are the same name"),
    (["x", "--at", "x=1", "𝑥=2"], r"binds x twice \(x and 𝑥 are the same name"),
    (["𝐫𝐞𝐥𝐮 * 2", "--at", "x=1"], "relu is a function: call it"),
    (["x", "--at", "x=1", "𝐫𝐞𝐥𝐮=2"], "relu is a function, not a name"),
    (["x", "--at", "x-y=1"], "is not a name"),
    (["x", "--at", "x=1", "--wrt", "lambda"], "not a name in the formula"),
])
def test_graph_names_that_cannot_work_are_one_line(argv, message, tmp_path, monkeypatch,
                                                   capsys):
    monkeypatch.chdir(tmp_path)
    code = exit_code(["graph", *argv])
    captured = capsys.readouterr()
    assert_one_line_error(code, captured.out, captured.err, message)


def test_graph_many_names_in_a_real_process_has_no_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "autograd_lite", "graph", "f+F+out+result",
                        "--at", "f=1", "F=2", "out=3", "result=4", "-o", "g.dot"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert "df1/dresult = 1" in r.stdout


NAME = st.one_of(
    st.sampled_from(TRICKY + ["lambda", "if", "None", "True", "relu", "exp", "log", "𝑥", "ﬁ"]),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True),
    st.text(st.characters(categories=["L", "Nl", "Mn", "Nd", "Pc"]), min_size=1, max_size=4),
)


def _works(names):
    """Whether a formula with these names (as written) must evaluate."""
    read = [unicodedata.normalize("NFKC", n) for n in names]
    return (all(n.isidentifier() and not keyword.iskeyword(n) for n in names)
            and not any(r in FUNCTIONS for r in read) and len(set(read)) == len(read))


@settings(max_examples=150, deadline=None)
@given(st.lists(NAME, min_size=1, max_size=4, unique=True))
def test_fuzz_graph_names_work_or_are_refused_in_one_line(tmp_path_factory, names):
    # f = 1*n1 + 2*n2 + ...: df/dn_i = i, whatever the names
    formula = " + ".join(f"{i}*{n}" for i, n in enumerate(names, 1))
    out_file = tmp_path_factory.mktemp("names") / "g.dot"
    argv = ["graph", formula, "--at", *(f"{n}={i}" for i, n in enumerate(names, 1)),
            "-o", str(out_file)]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = exit_code(argv)
    out, err = out.getvalue(), err.getvalue()
    if _works(names):
        assert code == 0, err
        result, grads = gradients(out)
        read = [unicodedata.normalize("NFKC", n) for n in names]
        assert result not in read
        assert grads == {r: float(i) for i, r in enumerate(read, 1)}
    else:
        assert_one_line_error(code, out, err, ".")


# --- study relu0: ranges checked before any work -----------------------------------------------

BAD = ["0", "-1", "-5", "abc", "1e3", "2.5", "", " ", "0x10", "9" * 5000]


@pytest.mark.parametrize("option", ["hidden", "epochs", "seeds", "inits", "workers"])
@pytest.mark.parametrize("value", BAD + ["too big"], ids=lambda v: v[:12] or "empty")
def test_study_settings_out_of_range_are_one_line(option, value, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    top = relu0.LIMITS[option]
    if value == "too big":
        value = str(top + 1)
    code = exit_code(["study", "relu0", "--quick", f"--{option}", value])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.count("\n") == 1, captured.err
    shown = repr(value) if len(value) <= 30 else repr(value[:27] + "...")
    assert captured.err == (
        f"autograd-lite study relu0: error: argument --{option}: must be an integer from 1 to "
        f"{top}, got {shown} (see autograd-lite study relu0 --help)\n")
    assert not list(tmp_path.iterdir())  # no folder made, nothing run


def test_study_the_reported_command_is_refused_before_any_work(tmp_path):
    r = subprocess.run([sys.executable, "-m", "autograd_lite", "study", "relu0", "--quick",
                        "--hidden", "1000000"], capture_output=True, text=True, cwd=tmp_path,
                       timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == ("autograd-lite study relu0: error: argument --hidden: must be an "
                        "integer from 1 to 4096, got '1000000' (see autograd-lite study relu0 "
                        "--help)\n")
    assert not list(tmp_path.iterdir())


def test_study_limits_are_accepted_and_listed_in_help(capsys):
    top = {f"--{k}": str(v) for k, v in relu0.LIMITS.items() if k != "batch"}
    args = build_parser().parse_args(["study", "relu0", *[x for kv in top.items() for x in kv]])
    assert relu0.settings_from(args) == relu0.Settings(
        **{k: v for k, v in relu0.LIMITS.items() if k != "batch"})
    one = build_parser().parse_args(["study", "relu0", *[x for k in top for x in (k, "1")]])
    assert relu0.settings_from(one).hidden == 1
    assert exit_code(["study", "relu0", "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    for k, v in top.items():
        assert re.search(rf"{k} {k[2:].upper()} (?:(?!--).)*, 1 to {v} \(default: ", shown), k


def test_study_settings_check_every_knob_has_a_range():
    assert relu0.Settings().check() == relu0.FULL and relu0.QUICK.check() == relu0.QUICK
    for name, top in relu0.LIMITS.items():
        for bad in (0, -1, top + 1, 10**9, 2.0, True, "3"):
            with pytest.raises(ValueError, match=f"^{name} must be an integer from 1 to {top}, "):
                relu0.Settings(**{name: bad}).check()
    for lr in (0.0, -1.0, float("nan"), float("inf"), 1):
        with pytest.raises(ValueError, match="lr must be a positive number"):
            relu0.Settings(lr=lr).check()


def test_study_settings_from_a_namespace_names_the_option():
    args = argparse.Namespace(quick=True, hidden=10**6, seeds=None, epochs=None, inits=None,
                              workers=None)
    with pytest.raises(relu0.StudyError, match=r"^--hidden must be an integer from 1 to 4096"):
        relu0.settings_from(args)


@pytest.mark.parametrize("error,message", [
    (MemoryError("Unable to allocate 7.28 TiB for an array with shape (1000000, 1000000)"),
     r"out of memory: Unable to allocate 7\.28 TiB for an array with shape \(1000000, 1000000\)"
     r"; try a smaller --hidden \(now 64\) or fewer --workers \(now 2\)"),
    (MemoryError(), r"out of memory; try a smaller --hidden \(now 64\) or fewer --workers .*"),
    (BrokenProcessPool("A process in the process pool was terminated abruptly"),
     r"a worker process died \(killed for lack of memory\?\); try a smaller --hidden .*"),
])
def test_study_out_of_memory_is_one_line(error, message, tmp_path, monkeypatch, capsys):
    def fail(tasks, workers):
        raise error

    monkeypatch.setattr(relu0, "_execute", fail)
    monkeypatch.setattr(relu0, "_data", lambda: (None,) * 4 + ("stand-in data",))
    assert exit_code(["study", "relu0", "--quick", "--out", str(tmp_path / "r")]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert re.fullmatch(f"autograd-lite: error: {message}\n", captured.err), captured.err
    # the same through the study's own main (python -m autograd_lite.studies.relu0)
    assert relu0.main(["--quick", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(f"autograd-lite study relu0: error: {message}\n", err), err


def test_study_out_of_memory_in_the_cli_is_one_line_whatever_raises_it(monkeypatch, capsys):
    def fail(args):
        raise MemoryError

    monkeypatch.setattr(relu0, "run", fail)
    assert exit_code(["study", "relu0", "--quick"]) == 2
    err = capsys.readouterr().err
    assert err == ("autograd-lite: error: out of memory; ask for less (see --help for the "
                   "allowed ranges)\n")


@pytest.mark.parametrize("option", ["--out", "--figures"])
def test_study_a_file_in_the_way_of_a_folder_is_one_line(option, tmp_path, monkeypatch, capsys):
    (tmp_path / "file").write_text("")
    monkeypatch.setattr(relu0, "_execute", pytest.fail)  # never reached
    argv = ["--quick", "--out", str(tmp_path / "r"), option, str(tmp_path / "file")]
    assert exit_code(["study", "relu0", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"autograd-lite: error: {option} {tmp_path / 'file'}: not a folder\n"
    assert relu0.main(argv) == 2
    assert capsys.readouterr().err.startswith("autograd-lite study relu0: error: ")


# --- the study's new home ---------------------------------------------------------------------

def test_study_lives_in_the_studies_subpackage():
    assert not (ROOT / "autograd_lite" / "study.py").exists()
    assert (ROOT / "autograd_lite" / "studies" / "__init__.py").is_file()
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices["study"]
    studies = next(a for a in sub._actions if a.dest == "study")
    assert studies.choices["relu0"].get_default("run") is relu0.run


def test_study_heavy_imports_stay_lazy():
    tree = ast.parse((ROOT / "autograd_lite" / "studies" / "relu0.py").read_text())
    top = {a.name.split(".")[0] for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    top |= {n.module.split(".")[0] for n in tree.body
            if isinstance(n, ast.ImportFrom) and n.module}
    assert not top & {"sklearn", "tqdm", "matplotlib", "threadpoolctl"}, top
    code = ("import sys; from autograd_lite.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('sklearn', 'tqdm', 'matplotlib') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stderr


def test_study_runs_as_a_module_under_its_new_name(tmp_path):
    r = subprocess.run([sys.executable, "-m", "autograd_lite.studies.relu0", "--help"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0 and "autograd-lite study relu0" in r.stdout, r.stderr
    assert "1 to 4096" in " ".join(r.stdout.split())


def test_every_subpackage_is_packaged():
    setuptools = pytest.importorskip("setuptools")
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = config["packages"]
    if isinstance(packages, dict):  # packages.find
        found = packages["find"]
        packages = setuptools.find_packages(str(ROOT / found.get("where", ["."])[0]),
                                            include=found.get("include", ["*"]),
                                            exclude=found.get("exclude", ()))
    on_disk = {".".join(p.parent.relative_to(ROOT).parts)
               for p in (ROOT / "autograd_lite").rglob("__init__.py")}
    assert on_disk == {"autograd_lite", "autograd_lite.studies"} <= set(packages)
    assert set(packages) == on_disk
