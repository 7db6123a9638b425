"""The notebooks in notebooks/ run from top to bottom (nbclient, the ``python3`` kernel of
ipykernel), each in a folder of its own, and the pictures they draw display inline as SVG.
Skipped without nbclient and ipykernel (the ``dev`` extra installs both)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_notebooks_are_there():
    assert {p.name for p in NOTEBOOKS} >= {"quickstart.ipynb", "chain_rule_pictures.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_shows_its_pictures(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    # the kernel imports this checkout's package, whatever is installed
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on failure
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    pictures = [o for o in outputs if "image/svg+xml" in o.get("data", {})]
    drawn = sum("ag.draw(" in c.source.splitlines()[-1] for c in nb.cells
                if c.cell_type == "code" and c.source.strip())
    assert len(pictures) >= drawn >= 1, (len(pictures), drawn)  # each ag.draw(...) shown
    assert all(p["data"]["image/svg+xml"].lstrip().startswith(("<?xml", "<svg"))
               for p in pictures)
