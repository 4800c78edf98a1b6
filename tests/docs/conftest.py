"""The Prism mock of Kestra (for the pages whose blocks talk to a Kestra server), and the count of
blocks the docs tests ran, printed at the end of the session (tests/conftest.py ``TALLIES``)."""

from __future__ import annotations

import pytest

from tests.docs.blocks import EXECUTED
from tests.kestra.conftest import prism_url

__all__ = ["export", "merge", "prism_url", "write_summary"]


def export() -> dict[str, int]:
    return dict(EXECUTED)


def merge(data: dict[str, int]) -> None:
    EXECUTED.update(data)  # a Counter: adds


def write_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if EXECUTED:
        terminalreporter.write_line(
            "README.md and docs/*.md code blocks: "
            + ", ".join(f"{n} {what}" for what, n in sorted(EXECUTED.items()))
        )
