"""The code blocks of docs/flows.md's Core tasks section run as written (they assert their results)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "flows.md"


def core_task_blocks() -> list[str]:
    section = DOC.read_text().split("## Core tasks\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


def test_the_section_has_code() -> None:
    assert len(core_task_blocks()) == 7  # 3 of them in Waiting and approvals


@pytest.mark.parametrize("code", core_task_blocks())
def test_the_section_code_runs(code: str) -> None:
    exec(compile(code, str(DOC), "exec"), {})
