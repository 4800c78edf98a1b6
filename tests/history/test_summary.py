"""``runs.airflow.summary(dag_id)``: the DAGs asked about that have no run get a row of their own
(zero counts, missing values) instead of vanishing; on runs built from a real Airflow 3 run body."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kestra_airflow_sdk.airflow import InvalidArgumentError
from kestra_airflow_sdk.airflow.fetch import _normal_run
from kestra_airflow_sdk.history import DAG_RUNS
from kestra_airflow_sdk.history.frames import runs_frame

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "v2_dag_run_success.json"
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
COUNTS = ["runs", "success", "failed"]
MISSING = [
    "success_rate",
    "p50_duration",
    "p95_duration",
    "max_duration",
    "last_run_after",
    "last_state",
    "last_success",
]


def runs_of(*specs: tuple[str, str, int]) -> pd.DataFrame:
    """Runs of (dag_id, state, minutes after T0), each 30 s long, from the real run body."""
    body: dict[str, Any] = json.loads(SAMPLE.read_text())
    rows = []
    for i, (dag, state, minutes) in enumerate(specs):
        due = T0 + timedelta(minutes=minutes)
        rows.append(
            _normal_run(
                dict(
                    body,
                    dag_id=dag,
                    dag_run_id=f"run_{i}",
                    state=state,
                    conf={},
                    run_after=due.isoformat(),
                    queued_at=due.isoformat(),
                    start_date=due.isoformat(),
                    end_date=(due + timedelta(seconds=30)).isoformat(),
                    duration=30.0,
                )
            )
        )
    return runs_frame(rows)


def test_dags_asked_about_without_runs_get_a_row_with_zero_counts() -> None:
    runs = runs_of(("etl", "success", 0), ("etl", "failed", 5), ("reports", "success", 1))
    summary = runs.airflow.summary(["etl", "idle", "reports", "archived"])
    assert list(summary.index) == ["archived", "etl", "idle", "reports"]
    assert summary.index.name == "dag_id"
    for dag in ("idle", "archived"):
        assert summary.loc[dag, COUNTS].tolist() == [0, 0, 0]
        assert summary.loc[dag, MISSING].isna().all(), summary.loc[dag]
    assert summary.loc["etl", COUNTS].tolist() == [2, 1, 1]
    assert summary.loc["etl", "success_rate"] == pytest.approx(0.5)
    assert summary.loc["etl", "last_state"] == "failed"
    assert summary.loc["reports", "last_success"] == pd.Timestamp(T0 + timedelta(minutes=1, seconds=30))
    # the rows of the DAGs with runs are those of a summary without dag_id, dtypes included
    pd.testing.assert_frame_equal(summary.loc[["etl", "reports"]], runs.airflow.summary())


def test_dags_of_the_frame_not_asked_about_keep_their_rows_and_one_id_is_enough() -> None:
    runs = runs_of(("etl", "success", 0))
    summary = runs.airflow.summary("idle")
    assert list(summary.index) == ["etl", "idle"]
    assert summary.loc["idle", "runs"] == 0 and summary.loc["etl", "runs"] == 1


def test_an_empty_frame_summarises_every_dag_asked_about() -> None:
    summary = DAG_RUNS.empty().airflow.summary(pd.Series(["b", "a"], dtype="string"))
    assert list(summary.index) == ["a", "b"]
    assert (summary[COUNTS] == 0).all().all() and summary[MISSING].isna().all().all()
    assert dict(summary.dtypes) == dict(runs_of(("etl", "success", 0)).airflow.summary().dtypes)
    assert DAG_RUNS.empty().airflow.summary().empty  # nothing asked, nothing ran: no row


@pytest.mark.parametrize(
    ("dag_id", "message"),
    [
        (["etl", ""], "dag_id: expected non-empty strings, got ''"),
        (["etl", 3], "dag_id: expected non-empty strings, got 3"),
        (7, "dag_id: expected a DAG id or several (a list, a Series), got int"),
        (DAG_RUNS.empty(), "dag_id: expected a DAG id or several (a list, a Series), got DataFrame"),
    ],
)
def test_bad_dag_ids_are_refused_by_name(dag_id: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        runs_of(("etl", "success", 0)).airflow.summary(dag_id)
    assert str(caught.value) == message
