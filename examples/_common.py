"""What the demos share: the output folder, optional plots, pictures of graphs.

Plots need matplotlib (``pip install "autograd-lite[plot]"``); without it a demo still
prints its numbers and says which plot it skipped.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import autograd_lite as ag

PLOT_HINT = 'matplotlib is not installed; pip install "autograd-lite[plot]"'


def output_dir(argv: Sequence[str] | None, description: str, script: str) -> Path:
    """Parse ``--out DIR`` (default: the folder of ``script``) and create the folder."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=Path(script).resolve().parent,
                        help="where to write pictures and plots (default: next to this script)")
    out = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    return out


def pyplot() -> Any:
    """matplotlib.pyplot with a file-only backend, or None when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def save_figure(fig: Any, path: Path, written: list[Path]) -> None:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    fig.clf()
    import matplotlib.pyplot as plt
    plt.close(fig)
    written.append(path)
    print(f"  wrote {path}")


def skipped(what: str) -> None:
    print(f"  {what}: skipped ({PLOT_HINT})")


def save_graph(root: ag.Value, path: Path, written: list[Path], wrt: ag.Value | None = None,
               **options: Any) -> None:
    """Draw the graph of ``root`` with every edge labelled by its chain-rule factor."""
    dot = ag.draw(root, wrt=wrt, **options)
    ag.render(dot, str(path))
    written.append(path)
    print(f"  wrote {path}")


def fmt(values: object, digits: int = 4) -> str:
    """A short list of numbers: ``[0, -0.25, 0, 0.5]``."""
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    return "[" + ", ".join(f"{v + 0.0:.{digits}g}" for v in flat) + "]"  # no -0


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    """Share of samples on the right side of 0 (binary labels 0/1)."""
    return float(np.mean((np.asarray(logits).reshape(-1) > 0) == (np.asarray(y).reshape(-1) == 1)))


CLASS_COLOURS = ("#c0392b", "#1f4fbf")  # class 0 red, class 1 blue
REGION_COLOURS = ("#f6d2d2", "#d2dcf6")  # where the network predicts class 0, class 1


def decision_boundary(ax: Any, predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray,
                      y: np.ndarray, title: str) -> None:
    """Shade where ``predict`` (logits) is positive and scatter the labelled points."""
    pad = 0.5
    xs = np.linspace(X[:, 0].min() - pad, X[:, 0].max() + pad, 200)
    ys = np.linspace(X[:, 1].min() - pad, X[:, 1].max() + pad, 200)
    gx, gy = np.meshgrid(xs, ys)
    z = np.asarray(predict(np.c_[gx.ravel(), gy.ravel()])).reshape(gx.shape)
    ax.contourf(gx, gy, (z > 0).astype(float), levels=[-0.5, 0.5, 1.5],
                colors=list(REGION_COLOURS))
    ax.scatter(X[:, 0], X[:, 1], c=np.where(y == 1, CLASS_COLOURS[1], CLASS_COLOURS[0]), s=8,
               lw=0)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal")


def class_legend(fig: Any, ncol: int = 4) -> None:
    """One legend under the figure: what the dots and the shading of a boundary plot mean."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    handles = [Line2D([], [], marker="o", lw=0, color=CLASS_COLOURS[0], label="class 0"),
               Line2D([], [], marker="o", lw=0, color=CLASS_COLOURS[1], label="class 1"),
               Patch(color=REGION_COLOURS[0], label="predicted class 0"),
               Patch(color=REGION_COLOURS[1], label="predicted class 1")]
    fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, -0.03))
