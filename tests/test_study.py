"""The relu'(0) study: the quick mode end to end, and its parts."""

import argparse
import contextlib
import csv
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import Value
from autograd_lite.studies import relu0 as study


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("relu0")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert study.main(["--quick", "--out", str(out)]) == 0
    return out, printed.getvalue()


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run[0]


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_study_quick_writes_tables_and_plots(quick, capsys):
    names = {p.name for p in quick.iterdir()}
    assert {"relu0_results.md", "relu0_results.csv", "relu0_runs.csv"} <= names
    pytest.importorskip("matplotlib")
    for name in ("relu0_distance.png", "relu0_accuracy.png", "relu0_init.png"):
        assert (quick / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_study_quick_results_table(quick):
    rows = {(r["precision"], r["backward"]): r for r in _rows(quick / "relu0_results.csv")}
    assert set(rows) == {("float16", "multiply"), ("float16", "replace"),
                         ("float32", "multiply"), ("float64", "multiply")}
    steps = study.QUICK.seeds * study.QUICK.epochs * 45  # 1437 images in batches of 32
    for r in rows.values():
        assert int(r["minibatches"]) == steps and int(r["seeds"]) == study.QUICK.seeds
        assert int(r["inits"]) == study.QUICK.inits
        # a minibatch can only differ where some pre-activation was exactly 0
        assert int(r["minibatches_differ"]) <= int(r["minibatches_with_zero"])
        assert 0.0 <= float(r["acc0_mean"]) <= 1.0 and 0.0 <= float(r["acc1_mean"]) <= 1.0
    # float64 meets no exact zero: identical gradients, identical trajectories, same results
    f64 = rows["float64", "multiply"]
    assert int(f64["zeros_train_layer1"]) == int(f64["zeros_train_layer2"]) == 0
    assert int(f64["minibatches_differ"]) == 0 and int(f64["inits_differ_in_one_epoch"]) == 0
    assert float(f64["l1_final_mean"]) == 0.0 and f64["split_steps"] == "never"
    assert f64["acc0_mean"] == f64["acc1_mean"] and f64["loss0_mean"] == f64["loss1_mean"]
    # float16 with the bias added after rounding meets exact zeros (~1e-4 per pre-activation)
    f16 = rows["float16", "multiply"]
    assert float(f16["zero_rate_train"]) > 1e-6 and int(f16["minibatches_differ"]) > 0


def test_study_quick_runs_and_replace_check(quick):
    runs = _rows(quick / "relu0_runs.csv")
    assert len(runs) == 3 * study.QUICK.seeds
    for r in runs:
        if r["split_step"]:  # trajectories cannot part before the first differing minibatch
            assert int(r["split_step"]) >= int(r["first_differ_step"])
        else:
            assert float(r["l1_final_multiply"]) == 0.0
            assert r["acc_mul0"] == r["acc_mul1"]
    seed0 = [r for r in runs if r["precision"] == "float16" and r["seed"] == "0"][0]
    assert seed0["rep0_is_mul0"] == "True"  # replacing by 0 is multiplying by 0, bitwise


def test_study_quick_markdown_says_what_it_used(quick):
    text = (quick / "relu0_results.md").read_text()
    assert "digits" in text and "MLP 64-64-64-10" in text
    assert "How often is a pre-activation exactly 0?" in text
    assert "Fewer bits, more zeros: held." in text
    assert "| float16 | replace |" in text


def test_study_quick_says_it_is_a_smoke_run(quick_run):
    out, printed = quick_run
    note = study.smoke_note(study.QUICK)
    assert note.startswith("SMOKE RUN (--quick)") and "numbers mean nothing" in note
    assert "`autograd-lite study relu0`" in note and "3 epoch(s), 2 seeds" in note
    # said at the start of what it prints, and at the start and end of its summary
    assert printed.splitlines()[1] == note
    text = (out / "relu0_results.md").read_text()
    assert text.startswith(f"**{note}**\n") and text.rstrip().endswith(f"**{note}**")
    assert printed.count(note) == 3


def test_study_full_run_says_nothing_of_a_smoke_run(tiny_summary):
    text = study.markdown(tiny_summary, TINY, "digits", 1.0)
    assert "SMOKE" not in text and text.startswith("Data: digits")


def test_study_quick_has_a_few_points_per_curve_and_stays_small():
    assert study.QUICK.epochs >= 3 and study.QUICK.seeds <= 2 and study.QUICK.hidden <= 64


def _figures(monkeypatch, summary, st, folder, smoke):
    """The matplotlib figures that :func:`study.plot` draws, kept open for inspection."""
    plt = pytest.importorskip("matplotlib.pyplot")
    figs = []
    monkeypatch.setattr(plt, "close", figs.append)
    paths = study.plot(summary, st, folder, smoke=smoke)
    assert [p.name for p in paths] == ["relu0_distance.png", "relu0_accuracy.png",
                                       "relu0_init.png"]
    return figs


def _titles(fig):
    return [fig._suptitle.get_text()] if fig._suptitle else [ax.get_title() for ax in fig.axes]


def test_study_plots_of_a_smoke_run_say_so(monkeypatch, tmp_path, tiny_summary):
    figs = _figures(monkeypatch, tiny_summary, TINY, tmp_path, smoke=True)
    try:
        for fig in figs:
            assert _titles(fig)[0].startswith(study.SMOKE_TITLE + "\n"), _titles(fig)
        assert "numbers mean nothing" in study.SMOKE_TITLE
    finally:
        for fig in figs:
            fig.clf()
    plain = _figures(monkeypatch, tiny_summary, TINY, tmp_path, smoke=False)
    assert not any("SMOKE" in t for fig in plain for t in _titles(fig))


def test_study_accuracy_plot_of_one_epoch_is_readable(monkeypatch, tmp_path, tiny_summary):
    assert TINY.epochs == 1
    acc = _figures(monkeypatch, tiny_summary, TINY, tmp_path, smoke=False)[1]
    for ax in acc.axes:
        lo, hi = ax.get_xlim()
        assert (lo, hi) == (0.5, 1.5)  # an epoch wide, not 0.1 around the point
        assert [t for t in ax.get_xticks() if lo <= t <= hi] == [1.0]
        # each choice is a visible marker with its range bar (a band of one point is empty)
        markers = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
        assert len(markers) == 2 and all(ln.get_markersize() >= 5 for ln in markers)
        assert len(ax.collections) >= 2  # the two range bars
    assert acc._suptitle.get_text().startswith("Mean (dot) and range (bar)")


def test_study_replace_relu_replaces_instead_of_multiplying():
    z = np.array([-1.0, 0.0, 0.0, 2.0], np.float16)
    g = np.array([0.5, 0.25, -3.0, 0.125], np.float16)
    for s in (0.0, 1.0):
        zr, zm = Value(z), Value(z)
        study.replace_relu(s)(zr).backward(g)
        zm.relu(subgradient=s).backward(g)
        assert zr.grad.dtype == np.float16
        assert np.array_equal(zr.grad, [0.0, s, s, 0.125])
        assert np.array_equal(zm.grad, [0.0, 0.25 * s, -3.0 * s, 0.125])
    # away from 0 the two backwards agree
    x = Value(np.array([-1.0, 2.0]))
    study.replace_relu(1.0)(x).sum().backward()
    assert np.array_equal(x.grad, [0.0, 1.0])


def test_study_init_params_is_pytorch_uniform_and_shared_across_precisions():
    p16, p64 = (study.init_params(3, 16, dt) for dt in (np.float16, np.float64))
    assert [p.shape for p in p64] == [(64, 16), (16,), (16, 16), (16,), (16, 10), (10,)]
    for p, fan_in in zip(p64, (64, 64, 16, 16, 16, 16)):
        assert np.abs(p).max() <= 1 / np.sqrt(fan_in)
    for W, fan_in in zip(p64[::2], (64, 16, 16)):  # the whole interval, not a narrower one
        bound = 1 / np.sqrt(fan_in)
        assert W.max() > 0.9 * bound and W.min() < -0.9 * bound
        assert abs(W.mean()) < 0.1 * bound and abs(W.std() - bound / np.sqrt(3)) < 0.1 * bound
    for a, b in zip(p16, p64):
        assert a.dtype == np.float16 and np.array_equal(a, b.astype(np.float16))
    assert np.array_equal(study.init_params(3, 16, np.float64)[0], p64[0])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_study_sgd_step_keeps_the_parameters_in_their_precision(dtype):
    X, y, *_ = study.load_data()
    X, y = X[:32].astype(dtype), y[:32]
    params = study.init_params(0, 8, dtype)
    for act in (ag.Value.relu, study.replace_relu(1.0)):
        grads = study._grads(params, X, y, act)
        assert [g.dtype for g in grads] == [np.dtype(dtype)] * 6
        assert [g.shape for g in grads] == [p.shape for p in params]
        new = study._sgd(params, grads, 0.05)
        assert [p.dtype for p in new] == [np.dtype(dtype)] * 6
        assert all(not np.array_equal(a, b) for a, b in zip(new, params))


def test_study_logits_labels_the_relu_layers():
    params = [Value(p) for p in study.init_params(0, 8, np.float32)]
    X = np.zeros((4, 64), np.float32)
    out = study.logits(params, X)
    assert out.shape == (4, 10) and out.dtype == np.float32
    labels = {v.label for v in ag.backward.toposort(out) if v.op == "relu"}
    assert labels == {"A1", "A2"}


def test_study_data_split_and_fallback(monkeypatch):
    X, y, Xt, yt, source = study.load_data()
    assert X.shape == (1437, 64) and Xt.shape == (360, 64)
    assert np.array_equal(X * 16, np.rint(X * 16))  # sixteenths, exact in float16
    monkeypatch.setitem(sys.modules, "sklearn", None)  # as if scikit-learn were absent
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    G, gy, Gt, gyt, gsource = study.load_data()
    assert "generated" in gsource and "generated" not in source
    assert G.shape == (1437, 64) and Gt.shape == (360, 64)
    assert G.min() >= 0 and G.max() <= 1 and np.array_equal(G * 16, np.rint(G * 16))
    assert set(gy.tolist()) == set(range(10))


def test_study_data_split_is_fixed_and_partitions_the_digits():
    datasets = pytest.importorskip("sklearn.datasets")
    X, y, Xt, yt, _ = study.load_data()
    again = study.load_data()
    assert all(np.array_equal(a, b) for a, b in zip((X, y, Xt, yt), again[:4]))
    digits, labels = datasets.load_digits(return_X_y=True)
    assert len(X) + len(Xt) == len(digits) == 1797
    # together the two parts are the digits / 16, each image exactly once
    ours = np.column_stack([np.concatenate([X, Xt]) * 16, np.concatenate([y, yt])])
    theirs = np.column_stack([digits, labels])
    assert np.array_equal(ours[np.lexsort(ours.T)], theirs[np.lexsort(theirs.T)])


def test_study_runs_end_to_end_on_the_generated_fallback(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    monkeypatch.setattr(study, "_DATA", None)
    args = ["--quick", "--hidden", "16", "--epochs", "2", "--seeds", "1", "--inits", "1",
            "--workers", "1", "--out", str(tmp_path)]
    assert study.main(args) == 0
    text = (tmp_path / "relu0_results.md").read_text()
    assert "generated stand-in for the digits (scikit-learn is not installed)" in text
    assert "generated stand-in" in capsys.readouterr().out
    rows = _rows(tmp_path / "relu0_runs.csv")
    assert len(rows) == 3 and all(float(r["acc_mul0"]) > 0.2 for r in rows)  # chance: 0.1


TINY = study.Settings(hidden=8, epochs=1, seeds=1, inits=2, workers=1)


@pytest.fixture(scope="module")
def tiny_summary():
    return study.summarise(study._execute(study._tasks(TINY), 1), TINY)


def test_study_in_process_run_of_a_tiny_setting(tiny_summary):
    assert tiny_summary["float64"]["steps"] == 45 and tiny_summary["float64"]["n_inits"] == 2
    assert len(study.table_rows(tiny_summary, TINY)) == 4


def test_study_verdict_says_when_a_claim_did_not_hold(tiny_summary):
    text = study.verdict(tiny_summary, TINY)
    assert "(paper: 0, ~1e-8, ~1e-7)" in text and "(paper: ~100 %, ~46 %, 0 %)" in text
    assert "60000 MNIST images through 2 x 256 ReLUs" in text
    # as if float16 had met no exact zero (and float32 some): the claim fails, and it says so
    s16, s32 = (dict(tiny_summary[p]) for p in ("float16", "float32"))
    s16["zeros_train"], s16["zeros_init"] = [0, 0], [0, 0]
    s32["zeros_train"] = [1, 0]
    flipped = {**tiny_summary, "float16": s16, "float32": s32}
    assert "Fewer bits, more zeros: did not hold." in study.verdict(flipped, TINY)
    # as if relu'(0) = 1 had ended 30 points lower with the chain rule
    mul1 = dict(s16["mul1"], acc=s16["mul1"]["acc"] - 0.3)
    hurt = {**tiny_summary, "float16": dict(tiny_summary["float16"], mul1=mul1)}
    assert "beyond twice the spread between seeds in float16" in study.verdict(hurt, TINY)


def test_study_full_settings_are_the_issues():
    full = study.FULL
    assert (full.lr, full.batch) == (study.QUICK.lr, study.QUICK.batch) == (0.05, 32)
    assert full.seeds >= 5 and full.inits >= 100 and full.workers == 2
    assert (study.N_TRAIN, study.N_TEST) == (1437, 360)
    assert study.PRECISIONS == ("float16", "float32", "float64") and study.CHOICES == (0, 1)


def test_study_arguments():
    parser = argparse.ArgumentParser()
    study.add_arguments(parser)
    args = parser.parse_args(["--quick", "--seeds", "3"])
    st = study.settings_from(args)
    assert st == study.Settings(hidden=64, epochs=3, seeds=3, inits=6)
    assert study.settings_from(parser.parse_args([])) == study.FULL
    with pytest.raises(SystemExit):
        parser.parse_args(["--seeds", "0"])
    with pytest.raises(SystemExit):
        parser.parse_args(["--epochs", "two"])
    with pytest.raises(ValueError, match="lr must be a positive number"):
        study.Settings(lr=-1.0).check()
    with pytest.raises(ValueError, match="hidden must be an integer from 1 to 4096, got 0"):
        study.Settings(hidden=0).check()
    with pytest.raises(ValueError, match="workers must be an integer from 1 to 64"):
        study.Settings(workers=10**6).check()


def test_study_runs_without_tqdm_and_matplotlib(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    bar = study._progress(2)
    bar.update(1)
    bar.close()
    assert "1/2 runs done" in capsys.readouterr().err
    assert study.plot({}, study.QUICK, tmp_path) == []
    assert "matplotlib is not installed: no plots" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_study_example_script_is_the_study():
    script = Path(__file__).resolve().parents[1] / "examples" / "relu0_study.py"
    r = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "autograd-lite study relu0" in r.stdout and "--quick" in r.stdout
    assert "--figures" in r.stdout


def test_study_pins_blas_to_one_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    limits = study._pin_blas()
    try:
        blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
        assert blas and all(p["num_threads"] == 1 for p in blas)
    finally:
        limits.restore_original_limits()
