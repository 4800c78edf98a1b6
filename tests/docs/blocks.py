"""The code blocks of README.md and docs/*.md, as the reader sees them.

A block is a fenced block (```python, ```bash, ```yaml, ...). An HTML comment on the line just
before a fence (invisible on the rendered page, visible in the source) says how the test treats it:

* ``<!-- not run: <reason> -->``: the block is not executed (the reason says why);
* ``<!-- save as: <file> -->``: a YAML block is written to ``<file>`` in the page's working folder
  before the page's Python blocks run (a later block loads it by that name).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
CODE_LANGUAGES = ("python", "bash", "yaml")
_FENCE = re.compile(r"^```(\S*)\s*$")
_NOT_RUN = re.compile(r"^<!--\s*not run:\s*(?P<reason>.+?)\s*-->$")
_SAVE_AS = re.compile(r"^<!--\s*save as:\s*(?P<file>\S+)\s*-->$")

#: what the docs tests did, e.g. {"Python blocks executed (airflow3)": 24}: printed at the end
EXECUTED: Counter[str] = Counter()


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    language: str
    code: str
    not_run: str | None = None
    save_as: str | None = None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """Every fenced block of a page, in order."""
    lines = page.read_text().splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence is None:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        before = lines[index - 1].strip() if index else ""
        not_run, save_as = _NOT_RUN.match(before), _SAVE_AS.match(before)
        found.append(
            Block(
                page=page,
                line=index + 1,
                language=fence.group(1),
                code="\n".join(lines[index + 1 : end]) + "\n",
                not_run=not_run.group("reason") if not_run else None,
                save_as=save_as.group("file") if save_as else None,
            )
        )
        index = end + 1
    return found


def all_blocks() -> list[Block]:
    return [block for page in PAGES for block in blocks(page)]
