"""The README's quickstart is the 10-line program the engine issue promises (test_readme.py
runs it and checks what it prints)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_quickstart_is_ten_lines_of_code():
    section = README.read_text().split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    code = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    lines = [ln for ln in code.splitlines() if ln.strip()]
    assert len(lines) <= 10, f"the quickstart has {len(lines)} lines of code"
    assert "relu_subgradient" in code and "backward()" in code and "kinks" in code
