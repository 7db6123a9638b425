"""``--baseline REV``: the previous engine, timed beside the current one in the same run.

REV's ``autograd_lite/`` is extracted with ``git archive`` into a temporary folder and
renamed ``autograd_lite_prev`` (any absolute ``autograd_lite`` import in it rewritten), so
that both packages import side by side in one process. Every workload then adds an engine
"autograd_lite (previous engine)": the same benchmark code as its autograd_lite engine,
given the previous module instead of the current one, cross-checked like every engine and
timed interleaved with the others. The report compares the two in a section of its own.
"""

from __future__ import annotations

import importlib
import io
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import numpy as np

from .harness import (
    Comparison,
    Config,
    Result,
    fmt_bytes,
    fmt_time,
    markdown_table,
    median,
    ratio_range,
)

PACKAGE = "autograd_lite"
PREV_PACKAGE = "autograd_lite_prev"
LABEL = "autograd_lite (previous engine)"
LIMIT = 1.05  # the bar: no figure of the current engine more than 5 % above it
ROOT = Path(__file__).resolve().parents[1]

# ``import autograd_lite``, ``import autograd_lite.x``, ``from autograd_lite[.x] import ...``
# (not ``autograd_lite_demo`` and the like: the name must end there).
_ABSOLUTE = re.compile(r"\b(from|import)(\s+)autograd_lite\b(?![\w])")


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True)


def resolve(rev: str) -> str:
    """The short hash of the commit ``rev`` names in this repository; ValueError if none."""
    proc = _git("rev-parse", "--verify", "--short", f"{rev}^{{commit}}")
    if proc.returncode != 0:
        raise ValueError(f"--baseline {rev}: not a commit of the repository at {ROOT} "
                         f"({proc.stderr.decode(errors='replace').strip()})")
    return proc.stdout.decode().strip()


def describe(rev: str) -> str:
    """How the report names the baseline: ``d1c4b10``, or ``main~2 = d1c4b10``."""
    short = resolve(rev)
    return short if short.startswith(rev) or rev.startswith(short) else f"{rev} = {short}"


def describe_current() -> str:
    """What "current" was when the run started: HEAD, and whether the package was edited."""
    head = _git("rev-parse", "--short", "HEAD").stdout.decode().strip() or "unknown"
    dirty = _git("status", "--porcelain", "--", PACKAGE).stdout.decode().strip()
    edits = f"; {PACKAGE}/ had uncommitted changes" if dirty else ""
    return f"the working tree's {PACKAGE} (HEAD {head}{edits})"


def rewrite_imports(text: str) -> str:
    """Point the absolute imports of the package at its new name."""
    return _ABSOLUTE.sub(lambda m: f"{m[1]}{m[2]}{PREV_PACKAGE}", text)


def extract(rev: str, dest: str | Path) -> Path:
    """Write ``rev``'s ``autograd_lite/`` to ``dest/autograd_lite_prev``; returns that folder.

    ``dest`` is then the folder to put on ``sys.path`` (see :func:`load`)."""
    dest = Path(dest)
    proc = _git("archive", "--format=tar", rev, PACKAGE)
    if proc.returncode != 0:
        raise ValueError(f"git archive {rev} {PACKAGE} failed: "
                         f"{proc.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12: no links out, no odd modes
            tar.extractall(dest, filter="data")
        else:  # pragma: no cover -- older Pythons; the archive is our own repository's
            tar.extractall(dest)  # noqa: S202
    pkg = dest / PREV_PACKAGE
    (dest / PACKAGE).rename(pkg)
    for path in pkg.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        new = rewrite_imports(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
    return pkg


def load(folder: str | Path) -> ModuleType:
    """Import ``autograd_lite_prev`` from ``folder``; ImportError unless it is that copy."""
    folder = str(Path(folder).resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    prev = importlib.import_module(PREV_PACKAGE)
    where = Path(prev.__file__).resolve()
    current = importlib.import_module(PACKAGE)
    if not where.is_relative_to(folder) or prev.Value is current.Value:
        raise ImportError(f"{PREV_PACKAGE} came from {where}, not from the extracted {folder}")
    return prev


def previous(cfg: Config) -> ModuleType | None:
    """The previous engine's package when the run has ``--baseline``, else None."""
    return load(cfg.baseline_dir) if cfg.baseline_dir else None


def agreement(what: str, current: tuple, prev: tuple, noun: str | None = None) -> str:
    """A cross-check line: do the two engines' loss and gradients agree bit for bit?

    ``current`` and ``prev`` are (loss, gradients), the gradients numbers or arrays; both
    have passed the workload's own tolerance check already. ``noun`` names what they are
    (default: "loss and N gradient numbers")."""
    a = [np.asarray(current[0], dtype=float)] + [np.asarray(g) for g in current[1]]
    b = [np.asarray(prev[0], dtype=float)] + [np.asarray(g) for g in prev[1]]
    noun = noun or f"loss and {sum(x.size for x in a[1:]):,} gradient numbers"
    if all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b)):
        return f"{what}: {noun} bit for bit equal to the current engine's"
    worst = max(float(np.max(np.abs(x - y), initial=0.0)) for x, y in zip(a, b))
    return (f"{what}: {noun} not bit for bit the current engine's: they differ by up to "
            f"{worst:.3g} (within the tolerance above)")


def compare(res: Result, what: str, current: list[float], prev: list[float],
            unit: str = "time", tiny: float = 0.0) -> None:
    """Add a current-against-previous figure to the result (rounds paired as measured)."""
    res.comparisons.append(Comparison(res.name, what, list(current), list(prev), unit, tiny))


def compare_times(res: Result, what: str, times: dict[str, list[float]],
                  current: str = "autograd_lite", prev: str = LABEL) -> None:
    """:func:`compare` the two engines' rounds in ``times``, if the previous engine ran."""
    if prev in times:
        compare(res, what, times[current], times[prev])


def _cells(c: Comparison) -> list[str]:
    fmt = fmt_time if c.unit == "time" else fmt_bytes
    cur, prev = median(c.current), median(c.previous)
    if max(abs(cur), abs(prev)) <= c.tiny:
        return [fmt(cur), fmt(prev), f"— (both ≤ {fmt(c.tiny)})", "yes"]
    if prev <= 0:
        return [fmt(cur), fmt(prev), "—", "yes" if cur <= prev else "**no**"]
    r = cur / prev
    spread = ""
    if len(c.current) > 1:
        lo, hi = ratio_range(c.current, c.previous)
        spread = f" ({lo:.3g}–{hi:.3g})"
    return [fmt(cur), fmt(prev), f"{r:.3g}×{spread}", "yes" if r <= LIMIT else "**no**"]


def section(results: list[Result], cfg: Config) -> list[str]:
    """The report's lines for "Against the previous engine (REV)"; [] without --baseline."""
    if cfg.baseline is None:
        return []
    comps = [c for r in results for c in r.comparisons]
    rows = [[c.workload, c.what, *_cells(c)] for c in comps]
    slower = [r for r in rows if r[-1] != "yes"]
    out = [f"## Against the previous engine ({cfg.baseline})", ""]
    out.append(markdown_table(["workload", "figure", "current", "previous",
                               "current / previous", f"≤ {LIMIT:g}×"], rows))
    out.append("")
    notes = [
        f"current: {cfg.current or PACKAGE}; previous: {cfg.baseline}'s {PACKAGE}/, extracted "
        f"with git archive and imported beside it as {PREV_PACKAGE}. Both run the same "
        "benchmark code, interleaved with the other engines in the same rounds.",
        "A ratio is the ratio of the two medians of this run, the range in brackets the "
        "smallest and largest ratio of single rounds (none for a figure measured once: "
        "the memory figures). Below 1 the current engine is faster (or smaller).",
        f"{len(rows) - len(slower)} of {len(rows)} figures within {LIMIT:g}× of the previous "
        f"engine's" + (f"; above it: {'; '.join(f'{r[0]} {r[1]}' for r in slower)}."
                       if slower else "."),
    ]
    if cfg.quick:
        notes.append("--quick: small sizes and one round, so these ratios are not meaningful.")
    out.extend(f"- {n}" for n in notes)
    out.append("")
    return out
