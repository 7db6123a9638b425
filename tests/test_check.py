"""ag.check and ``autograd-lite check``: each planted mistake gets its diagnosis.

Every file under tests/check_cases/ is a learner's file; its first line says what check
must find: ``# expect: all ok`` or ``# expect: FUNCTION DIAGNOSIS [OUTPUT] [factor=F]``.
"""

import ast
import importlib
import os
import re
import subprocess
import sys
import types
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite.check import DIAGNOSES, RIGHT, CheckError
from autograd_lite.cli import main

CASES = Path(__file__).resolve().parent / "check_cases"
FILES = sorted(CASES.glob("*.py"))
EXPECT = re.compile(r"# expect: (?:all ok|(\w+) ([\w-]+)(?: (\w+))?(?: factor=(\S+))?)$")


def expected(path):
    """(function or None for 'all ok', diagnosis, output, factor) from the file's first line."""
    m = EXPECT.fullmatch(path.read_text().splitlines()[0])
    assert m, f"{path.name}: its first line must say what check expects"
    name, diagnosis, output, factor = m.groups()
    return name, diagnosis or "ok", output, None if factor is None else float(factor)


def course_of(path):
    return path.name.split("_")[0]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_check_diagnoses_each_planted_mistake(path):
    name, diagnosis, output, factor = expected(path)
    report = ag.check(path)
    results = {r.name: r for r in report.results}
    if name is None:  # every function of the file is right
        assert report.ok, str(report)
        assert all(r.diagnosis == "ok" for r in report.results), str(report)
        return
    r = results[name]
    assert (r.diagnosis, r.ok) == (diagnosis, diagnosis in RIGHT), str(report)
    if output is not None:
        assert r.output == output, str(r)
    if factor is not None:
        assert r.factor == pytest.approx(factor), str(r)
    assert report.ok == all(x.ok for x in report.results)
    assert r.message and "\n" not in r.message


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_command_line_prints_the_report_and_exits_by_the_verdict(path, capsys):
    report = ag.check(path)
    code = main(["check", str(path)])
    out, err = capsys.readouterr()
    assert code == (0 if report.ok else 1)
    assert out == str(report) + "\n"
    assert err == ""


def test_every_diagnosis_is_planted_at_least_twice_in_each_course():
    seen = Counter((course_of(p), expected(p)[1]) for p in FILES)
    for course in ("dls", "cs231n"):
        for diagnosis in DIAGNOSES:
            assert seen[course, diagnosis] >= 2, (course, diagnosis, seen)


def test_report_reads_like_a_teacher():
    text = str(ag.check(CASES / "dls_nochain_leaky.py"))
    assert text.splitlines()[0] == ("Checking " + str(CASES / "dls_nochain_leaky.py")
                                    + " (Deep Learning Specialization conventions)")
    assert "leaky_relu_backward: WRONG (no-chain-rule, in dZ)" in text
    assert "difference(dZ) = " in text and "below 2e-7" in text
    assert "set, not multiplied" in text
    assert "`dZ = np.array(dA, copy=True); dZ[Z <= 0] *= 0.01`" in text
    assert text.endswith("1 function checked: 0 right, 1 wrong: leaky_relu_backward.")
    cs = str(ag.check(CASES / "cs231n_scale_softmax.py"))
    assert "rel_error(dx) = " in cs and "CS231n conventions" in cs and "1/N" in cs


def test_kink_only_says_which_subgradient_and_pytorchs():
    r = ag.check(CASES / "dls_kink_relu.py").results[0]
    assert r.ok and r.diagnosis == "kink-only"
    assert "relu'(0) = 1" in r.message and "PyTorch" in r.message and "relu'(0) = 0" in r.message
    leaky = ag.check(CASES / "dls_kink_leaky.py").results[0]
    assert "leaky_relu'(0) = 1" in leaky.message and "0.01" in leaky.message


def test_several_wrong_outputs_name_the_first_in_backward_order_and_list_the_rest():
    r = ag.check(CASES / "dls_sign_dAL.py").results[-1]
    assert r.name == "L_model_backward" and r.output == "dA2"
    assert [o for o, _ in r.also_wrong] == ["dW3", "db3", "dA1", "dW2", "db2", "dA0", "dW1",
                                           "db1"]
    scale = ag.check(CASES / "dls_scale_nom.py").results[0]
    assert (scale.output, scale.also_wrong) == ("dW", [("db", "scale")])


def _namespace(source):
    namespace = {"np": np}
    exec(source, namespace)
    return namespace


def test_relu_backward_follows_the_course_of_the_file():
    dls = "def relu_backward(dA, cache):\n    return dA * (cache > 0)\n"
    cs = "def relu_backward(dout, cache):\n    return dout * (cache > 0)\n"
    other = "def relu_backward(g, c):\n    return g * (c > 0)\ndef svm_loss(x, y): pass\n"
    assert ag.check(_namespace(dls)).results[0].course.metric == "difference"
    assert ag.check(_namespace(cs)).results[0].course.metric == "rel_error"
    assert ag.check(_namespace(other)).results[0].course.metric == "rel_error"


def test_source_may_be_a_module_or_a_dict():
    module = types.ModuleType("learner")
    exec("import numpy as np\ndef sigmoid_backward(dA, Z):\n"
         "    s = 1 / (1 + np.exp(-Z))\n    return dA * s * (1 - s)\n", vars(module))
    assert ag.check(module).ok and ag.check(module).source == "learner"
    assert ag.check(vars(module)).results[0].diagnosis == "ok"


def test_a_function_that_returns_nothing_or_the_wrong_structure_is_wrong_value():
    none = _namespace("def relu_backward(dA, cache):\n    pass\n")
    r = ag.check(none).results[0]
    assert (r.diagnosis, r.output) == ("wrong-value", "dZ") and "None" in r.message
    pair = _namespace("def linear_backward(dZ, cache):\n    return dZ, dZ\n")
    assert "a tuple of 2" in ag.check(pair).results[0].message
    keys = _namespace("def L_model_backward(AL, Y, caches):\n    return {'dW1': 0}\n")
    r = ag.check(keys).results[0]
    assert r.diagnosis == "wrong-value" and "dA0" in r.message


def test_a_function_that_raises_is_reported_not_propagated():
    ns = _namespace("def sigmoid_backward(dA, cache):\n    raise KeyError('oops')\n")
    r = ag.check(ns).results[0]
    assert not r.ok and r.output is None and "KeyError" in r.message


def test_the_learners_prints_and_warnings_stay_out_of_the_report(capsys):
    ns = _namespace("print('loading')\ndef relu_backward(dA, cache):\n"
                    "    print('hello')\n    return dA * (cache > 0) / 0\n")
    ag.check(ns)
    assert capsys.readouterr() == ("loading\n", "")  # only the exec above printed


def test_the_learners_arguments_are_copies():
    seen = []
    def relu_backward(dA, cache):
        seen.append(cache)
        return dA * (cache > 0)
    ag.check({"relu_backward": relu_backward})
    ag.check({"relu_backward": relu_backward})
    assert np.array_equal(seen[0], seen[-1])
    assert seen[0] is not seen[-1]


@pytest.mark.parametrize("text, says", [
    ("def relu_backward(dA, cache)\n    return dA\n", "SyntaxError at line 1"),
    ("import no_such_module_14\n", "ModuleNotFoundError at line 1"),
    ("raise SystemExit(3)\n", "SystemExit"),
    ("def forward(x):\n    return x\n", "no function that check recognises"),
])
def test_a_file_that_cannot_be_checked_is_one_line_and_exit_2(tmp_path, capsys, text, says):
    path = tmp_path / "learner.py"
    path.write_text(text)
    with pytest.raises(CheckError, match=says):
        ag.check(path)
    assert main(["check", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and says in err


def test_a_missing_file_is_exit_2(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.py")]) == 2
    assert "no such Python file" in capsys.readouterr().err


def test_the_file_may_import_its_own_helpers_and_their_edits_are_seen(tmp_path):
    helper = tmp_path / "dnn_utils_14.py"
    helper.write_text(
        "import numpy as np\ndef relu_backward(dA, cache):\n    return dA * (cache > 0)\n")
    (tmp_path / "mine.py").write_text("from dnn_utils_14 import relu_backward\n")
    assert ag.check(tmp_path / "mine.py").ok
    assert "dnn_utils_14" not in sys.modules and str(tmp_path) not in sys.path
    helper.write_text("def relu_backward(dA, cache):\n    return dA\n")  # the learner edits it
    assert ag.check(tmp_path / "mine.py").results[0].diagnosis == "wrong-variable"


def test_as_a_user_runs_it(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    r = subprocess.run([sys.executable, "-m", "autograd_lite", "check",
                        str(CASES / "dls_wrongvar_relu.py")], capture_output=True, text=True,
                       env=env, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 1 and r.stderr == ""
    assert "relu_backward: WRONG (wrong-variable, in dZ)" in r.stdout
    assert "`A >= 0` is true for every entry" in " ".join(r.stdout.split())


@pytest.mark.parametrize("name", ["autograd_lite.check", "autograd_lite.courses"])
def test_every_function_of_check_fits_on_a_screen(name):
    module = importlib.import_module(name)  # ag.check is the function, not the module
    tree = ast.parse(Path(module.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            assert node.end_lineno - node.lineno + 1 <= 60, node.name


def test_the_docs_page_walks_through_each_seed_and_each_seed_page_links_to_it():
    docs = Path(__file__).resolve().parents[1] / "docs"
    page = (docs / "check.md").read_text(encoding="utf-8")
    for seed in range(5):
        assert f"{{#seed00{seed}}}" in page
        question = (docs / "questions" / f"seed00{seed}.md").read_text(encoding="utf-8")
        assert f"](../check.md#seed00{seed})" in question
    for diagnosis in DIAGNOSES:
        assert f"| `{diagnosis}` |" in page


def test_cs231n_backward_with_its_own_forward_needs_that_forward(tmp_path):
    text = (CASES / "cs231n_ok_cnn.py").read_text()
    without = text.replace("def conv_forward_naive(", "def conv_forward_other(")
    (tmp_path / "layers.py").write_text(without)
    report = ag.check(tmp_path / "layers.py")
    assert "conv_backward_naive" not in [r.name for r in report.results]
    assert report.skipped == ["conv_backward_naive (it needs conv_forward_naive in the same "
                              "file, for its cache)"]
    assert "Not checked: conv_backward_naive" in " ".join(str(report).split())
    only = "def conv_backward_naive(dout, cache):\n    return dout, dout, dout\n"
    (tmp_path / "only.py").write_text(only)
    with pytest.raises(CheckError, match="not checked: conv_backward_naive"):
        ag.check(tmp_path / "only.py")


def test_a_wrong_forward_is_reported_before_its_backward(tmp_path):
    text = (CASES / "cs231n_ok_cnn.py").read_text()
    (tmp_path / "layers.py").write_text(text.replace("out = gamma * x_hat + beta",
                                                     "out = gamma * x_hat"))
    r = {r.name: r for r in ag.check(tmp_path / "layers.py").results}["batchnorm_backward"]
    assert not r.ok and "batchnorm_forward's output is not the engine's" in r.message


def _all_cases():
    courses = importlib.import_module("autograd_lite.courses")
    namespace = _namespace((CASES / "cs231n_ok_cnn.py").read_text())
    for name, course, build in courses.CHECKS:
        for c in (courses.DLS, courses.CS231N) if course is None else (course,):
            for case in build(c, namespace):
                yield f"{name}[{c.key}]", case


@pytest.mark.parametrize("label, case", list(_all_cases()), ids=lambda x: x
                         if isinstance(x, str) else "")
def test_every_known_mistake_and_kink_is_visible_on_the_test_data(label, case):
    assert not case.problem, case.problem
    for s, truth in case.kinks.items():  # the planted zeros make relu'(0) matter
        assert any(not np.array_equal(truth[k], case.truth[k]) for k in truth), (label, s)
    for variant in case.variants:
        assert variant.diagnosis in DIAGNOSES
        assert any(not np.allclose(v, case.truth[k]) for k, v in variant.outputs.items()), label
    for out, truth in case.truth.items():
        assert np.all(np.isfinite(truth)) and np.any(truth != 0), (label, out)
        assert set(case.formulas) >= set(case.truth), label
