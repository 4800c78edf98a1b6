"""Prints the corpus summary line at the end of the session (``N ran as Kestra, M refused, …``)."""

from __future__ import annotations

import pytest

from tests.corpus.harness import RESULTS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RESULTS.by_path and not RESULTS.corpus_missing:
        return
    terminalreporter.section("Kestra corpus")
    if RESULTS.corpus_missing:
        terminalreporter.write_line(RESULTS.corpus_missing)
    for _path, outcome in sorted(RESULTS.verdicts().items()):
        if outcome.kind in ("gap", "diverged"):
            label = (
                "still refused"
                if outcome.kind == "gap"
                else ("known divergence" if outcome.known else "DIVERGED")
            )
            terminalreporter.write_line(f"{label}: {outcome.case}: {outcome.detail[:500]}")
    if RESULTS.by_path:
        terminalreporter.write_line(RESULTS.summary())
