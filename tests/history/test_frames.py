"""Frames, schemas, merge and the df.airflow accessor, on rows shaped like the real API's (no server)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from kestra_airflow_sdk.airflow import InvalidArgumentError
from kestra_airflow_sdk.airflow.fetch import _normal_run
from kestra_airflow_sdk.airflow.task_instances import _normal_task_instance
from kestra_airflow_sdk.history import DAG_RUNS, DAGS, TASK_INSTANCES
from kestra_airflow_sdk.history.frames import merge_runs, runs_frame, task_instances_frame

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def v2_run(
    run_id: str, dag: str = "etl", state: str = "success", minutes: int = 0, seconds: float = 60.0
) -> dict:
    start = T0 + timedelta(minutes=minutes)
    return {
        "dag_id": dag,
        "dag_run_id": run_id,
        "state": state,
        "run_type": "manual",
        "logical_date": None,
        "run_after": start.isoformat(),
        "queued_at": start.isoformat(),
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(seconds=seconds)).isoformat()
        if state in ("success", "failed")
        else None,
        "duration": seconds if state in ("success", "failed") else None,
        "conf": {"n": minutes},
        "note": None,
        "dag_versions": [{"bundle": "x"}],
    }


def test_empty_frames_keep_columns_and_dtypes() -> None:
    for schema in (DAGS, DAG_RUNS, TASK_INSTANCES):
        empty = schema.empty()
        assert empty.empty and list(empty.columns) == schema.names and dict(empty.dtypes) == schema.dtypes
    assert str(DAG_RUNS.dtypes["start_date"]) == "datetime64[us, UTC]"
    assert str(DAG_RUNS.dtypes["duration"]) == "timedelta64[us]"
    assert str(TASK_INSTANCES.dtypes["map_index"]) == "Int64"
    assert isinstance(DAG_RUNS.dtypes["state"], pd.CategoricalDtype)


def test_v1_and_v2_rows_give_the_same_frame() -> None:
    v2 = v2_run("r1", seconds=12.5)
    v1 = {
        "dag_id": "etl",
        "dag_run_id": "r1",
        "state": "success",
        "run_type": "manual",
        "execution_date": v2["run_after"],
        "logical_date": None,
        "start_date": v2["start_date"],
        "end_date": v2["end_date"],
        "conf": {"n": 0},
        "note": None,
        "external_trigger": True,
    }
    a, b = runs_frame([_normal_run(v2)]), runs_frame([_normal_run(v1)])
    assert list(a.columns) == list(b.columns) and dict(a.dtypes) == dict(b.dtypes)
    assert a.loc[0, "duration"] == b.loc[0, "duration"] == pd.Timedelta(seconds=12.5)
    assert a.loc[0, "run_after"] == b.loc[0, "run_after"] == pd.Timestamp(T0)
    assert b.loc[0, "logical_date"] == pd.Timestamp(T0)  # v1's execution_date
    assert pd.isna(a.loc[0, "logical_date"])


def test_unknown_states_are_kept_as_extra_categories() -> None:
    frame = runs_frame([_normal_run(v2_run("r1", state="brand_new_state"))])
    assert frame.loc[0, "state"] == "brand_new_state"
    tis = task_instances_frame(
        [
            _normal_task_instance(
                {"dag_id": "d", "dag_run_id": "r", "task_id": "t", "state": "none", "hostname": ""}
            )
        ]
    )
    assert pd.isna(tis.loc[0, "state"]) and pd.isna(tis.loc[0, "hostname"]) and tis.loc[0, "map_index"] == -1


def test_merge_replaces_changed_runs_and_keeps_dtypes() -> None:
    cached = runs_frame([_normal_run(v2_run(f"r{i}", minutes=i, state="running")) for i in range(3)])
    changed = runs_frame(
        [_normal_run(v2_run("r1", minutes=1)), _normal_run(v2_run("r9", minutes=9, state="failed"))]
    )
    merged = merge_runs(cached, changed)
    expected = runs_frame(
        [
            _normal_run(v2_run("r0", state="running")),
            _normal_run(v2_run("r1", minutes=1)),
            _normal_run(v2_run("r2", minutes=2, state="running")),
            _normal_run(v2_run("r9", minutes=9, state="failed")),
        ]
    )
    pd.testing.assert_frame_equal(merged, expected)


def test_summary_failures_and_pivots() -> None:
    rows = [
        v2_run(f"a{i}", minutes=i, seconds=10 * (i + 1), state="failed" if i == 2 else "success")
        for i in range(4)
    ]
    rows += [v2_run("b0", dag="other", state="running", minutes=5)]
    runs = runs_frame([_normal_run(r) for r in rows])
    summary = runs.airflow.summary()
    assert summary.loc["etl", "runs"] == 4 and summary.loc["etl", "failed"] == 1
    assert summary.loc["etl", "success_rate"] == pytest.approx(0.75)
    assert summary.loc["etl", "max_duration"] == pd.Timedelta(seconds=40)
    assert summary.loc["etl", "p50_duration"] == pd.Timedelta(seconds=25)
    assert summary.loc["etl", "last_state"] == "success"
    assert summary.loc["etl", "last_success"] == pd.Timestamp(T0 + timedelta(minutes=3, seconds=40))
    assert pd.isna(summary.loc["other", "success_rate"]) and summary.loc["other", "last_state"] == "running"
    failed = runs.airflow.failures(since=T0 + timedelta(minutes=2))
    assert list(failed["dag_run_id"]) == ["a2"]
    assert runs.airflow.failures(until=T0).empty
    with pytest.raises(InvalidArgumentError, match="naive"):
        runs.airflow.failures(since=datetime(2026, 1, 1))
    with pytest.raises(InvalidArgumentError, match="task_id"):
        runs.airflow.task_states()

    tis = task_instances_frame(
        [
            _normal_task_instance(
                {
                    "dag_id": "etl",
                    "dag_run_id": f"a{r}",
                    "task_id": t,
                    "map_index": m,
                    "state": "success",
                    "duration": d,
                    "try_number": 1,
                }
            )
            for r in range(2)
            for t, m, d in [("extract", -1, 5.0 + r), ("load", 0, 30.0), ("load", 1, 31.0)]
        ]
    )
    pivot = tis.airflow.task_states()
    assert list(pivot.columns) == ["extract", "load[0]", "load[1]"] and pivot.shape == (2, 3)
    slowest = tis.airflow.slowest_tasks(1)
    assert list(slowest.index) == [("etl", "load")] and slowest.iloc[0]["max_duration"] == pd.Timedelta(
        seconds=31
    )
