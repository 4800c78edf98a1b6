"""The code blocks of docs/flows.md's Expressions section run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "flows.md"


def expression_blocks() -> list[str]:
    text = DOC.read_text()
    section = text.split("## Expressions\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


@pytest.mark.parametrize("code", expression_blocks())
def test_the_section_code_runs(code: str) -> None:
    exec(compile(code, str(DOC), "exec"), {})  # the blocks assert their own results
