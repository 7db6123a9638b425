"""A Griffe extension for the API pages (mkdocs.yml loads it): docstrings read as the site shows.

The docstrings are NumPy-style, and most give their runnable example as a bare doctest in the
description (``>>> ...``) rather than under an ``Examples`` heading. Markdown reads ``>>>`` as
three nested quotes, so each such block is fenced here as a ``pycon`` code block. The Sphinx
roles the docstrings use (``:func:`draw```, ``:class:``, ``:meth:``, ``:mod:``) become links
to the object's entry when the name resolves in the package, else plain code. The source
files are not changed: the doctests still run as they are.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const):"
                  r"`~?([\w.]+?)(?:\(\))?`")
SECTION_RULE = re.compile(r"^\s*-{3,}\s*$")
DOCTEST_FLAG = re.compile(r"\s*#\s*doctest:.*$")
PACKAGE = "autograd_lite"


def fence_doctests(text: str) -> str:
    """Wrap each run of ``>>>`` lines (with its output, up to a blank line) in a ``pycon``
    fence; an ``Examples`` section is left to the NumPy parser, which already does that."""
    lines, out, i, section = text.split("\n"), [], 0, ""
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and SECTION_RULE.match(lines[i + 1]) and line.strip():
            section = line.strip().lower()
        if line.lstrip().startswith(">>>") and section != "examples":
            indent = line[: len(line) - len(line.lstrip())]
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(DOCTEST_FLAG.sub("", lines[i][len(indent):]))
                i += 1
            if out and out[-1].strip():
                out.append("")
            out += [indent + "```pycon", *(indent + b for b in block), indent + "```"]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _resolve(name: str, obj: Any) -> str | None:
    """The path of the object a role names, seen from ``obj``, or None."""
    for scope in (obj, obj.module, obj.package):
        try:
            scope[name]
        except Exception:  # noqa: BLE001 -- not a member there (or not a container at all)
            continue
        return f"{scope.path}.{name}"
    if name.startswith(PACKAGE + "."):
        return name
    return None


def link_roles(text: str, obj: Any) -> str:
    """``:func:`x``` -> a link to x's entry (an optional cross-reference: plain code when the
    page set does not show x)."""
    def replace(m: re.Match) -> str:
        name = m.group(1)
        shown = name.rsplit(".", 1)[-1] if m.group(0).split("`")[1].startswith("~") else name
        code = f"<code>{html.escape(shown)}</code>"
        path = _resolve(name, obj)
        if path is None:
            return f"`{shown}`"
        return f'<autoref identifier="{path}" optional>{code}</autoref>'
    return ROLE.sub(replace, text)


class DoctestsAsCode(griffe.Extension):
    """Fence bare doctests and turn Sphinx roles into cross-references."""

    def on_object(self, *, obj: Any, loader: Any, **kwargs: Any) -> None:
        if obj.is_alias or obj.docstring is None:
            return
        obj.docstring.value = link_roles(fence_doctests(obj.docstring.value), obj)
