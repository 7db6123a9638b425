"""The code in README.md runs, and prints what its comments say."""

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_readme_python_blocks_run_and_print_what_they_claim(i, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = BLOCKS[i]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"README block {i}", "exec"), {})
    printed = out.getvalue().splitlines()
    claims = [m.group(1).strip() for line in code.splitlines() if line.lstrip().startswith("print")
              for m in [re.search(r"#\s*(.*)$", line)] if m]
    assert len(claims) == len(printed)
    for claim, line in zip(claims, printed):
        expected = claim.split("...")[0].strip()
        assert line.strip().startswith(expected), (line, claim)


def test_readme_names_the_two_commands():
    text = README.read_text()
    assert "make demo" in text and "make test" in text


def test_readme_says_which_documentation_tool_the_site_uses():
    text = README.read_text()
    assert "[MkDocs](https://www.mkdocs.org/)" in text and "Material" in text
    assert "mkdocs build --strict" in text
