"""The command line as a new user runs it."""

import subprocess
import sys

from autograd_lite.cli import main


def test_demo_prints_the_gradients(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "dJ/dW1" in out and "J = " in out


def test_python_dash_m_runs_the_same_command_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "autograd_lite", "--help"], capture_output=True,
                       text=True, cwd=tmp_path)
    assert r.returncode == 0 and "demo" in r.stdout
