"""The corpus summary lines (``N ran as Kestra, M refused, …`` and ``kestra2-migration: N pairs, …``),
printed at the end of the session (tests/conftest.py ``TALLIES``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.corpus.harness import RESULTS, Outcome
from tests.corpus.kestra2 import TALLY


def export() -> dict[str, Any]:
    by_path = {path: [dataclasses.asdict(o) for o in outcomes] for path, outcomes in RESULTS.by_path.items()}
    return {"by_path": by_path, "corpus_missing": RESULTS.corpus_missing, "kestra2": TALLY.export()}


def merge(data: dict[str, Any]) -> None:
    for path, outcomes in data["by_path"].items():
        for outcome in outcomes:
            RESULTS.add(path, Outcome(**outcome))
    RESULTS.corpus_missing = RESULTS.corpus_missing or data["corpus_missing"]
    TALLY.merge(data["kestra2"])


def write_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY.outcomes or TALLY.missing or TALLY.corpus:
        terminalreporter.section("Kestra 1.3 -> 2.0 migration pairs")
        if TALLY.missing:
            terminalreporter.write_line(TALLY.missing)
        for name, outcome in [*sorted(TALLY.outcomes.items()), *sorted(TALLY.corpus.items())]:
            if outcome.detail:
                terminalreporter.write_line(f"{outcome.kind}: {name}: {outcome.detail[:500]}")
        if TALLY.outcomes:
            terminalreporter.write_line(TALLY.summary())
        if TALLY.corpus:
            terminalreporter.write_line(TALLY.corpus_summary())
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
