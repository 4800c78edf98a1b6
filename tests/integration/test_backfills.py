"""Backfills against the REAL Airflow 3.3.2 of the production profile (PostgreSQL, Celery), with the sync
and the async client (tests/dags_production/backfill_dags.py), and the version error against the REAL
Airflow 2.10.5.

Each client mode has its own DAGs (Airflow runs one backfill per DAG at a time). The backfills ask
``reprocess="completed"``, so a reused server that ran them before runs the same dates again.

Not on the SQLite server: there, creating a backfill while the scheduler writes may be answered 503
and Airflow 3.3.2's scheduler can crash when the runs the failed attempt created are removed under it
(docs/backfills.md, "On SQLite"), which would stop the runs of every other test on that server.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

import pandas as pd
import pytest

from kestra_airflow_sdk import AirflowClient, ConflictError, UnsupportedFeatureError
from kestra_airflow_sdk.airflow import BackfillState, DagRunState
from kestra_airflow_sdk.display import Backfill, RunProgress
from kestra_airflow_sdk.history.backfill_frames import BACKFILL_DRY_RUN, BACKFILLS
from kestra_airflow_sdk.history.schemas import DAG_RUNS

AIRFLOW3 = pytest.mark.parametrize("airflow", ["3-production"], indirect=True, ids=["airflow3-production"])
AIRFLOW2 = pytest.mark.parametrize("airflow", ["2"], indirect=True, ids=["airflow2"])
UTC = timezone.utc
#: a loaded 2-core machine ran three one-task runs in 90 s: room for much worse
WAIT = 900.0


def day(month: int, day_of_month: int) -> datetime:
    return datetime(2024, month, day_of_month, tzinfo=UTC)


def mode(client: Any) -> str:
    return "sync" if isinstance(client, AirflowClient) else "async"


def done(client: Any, value: Any) -> Any:
    """What a handle method gave: the value (sync client), or its coroutine run on the async client's loop."""
    if asyncio.iscoroutine(value):
        return asyncio.run_coroutine_threadsafe(value, client._loop).result()
    return value


@AIRFLOW3
def test_a_dry_run_lists_the_logical_dates_and_creates_nothing(client: Any) -> None:
    dag_id = f"backfill_{mode(client)}_dag"
    frame = client.backfill(dag_id, day(3, 1), day(3, 4))
    assert list(frame.columns) == BACKFILL_DRY_RUN.names and frame.dtypes.to_dict() == BACKFILL_DRY_RUN.dtypes
    assert list(frame["logical_date"]) == [pd.Timestamp(f"2024-03-0{d}", tz="UTC") for d in (1, 2, 3, 4)]
    backwards = client.backfill(dag_id, day(3, 1), day(3, 4), run_backwards=True)
    assert list(backwards["logical_date"]) == list(reversed(frame["logical_date"]))
    march = [r for r in client.list_dag_runs(dag_id) if r.logical_date and r.logical_date.month == 3]
    assert march == []  # nothing was created


@AIRFLOW3
def test_a_backfill_is_followed_to_its_end_and_listed(client: Any) -> None:
    dag_id = f"backfill_{mode(client)}_dag"
    conf = {"source": "sdk-test", "mode": mode(client)}
    backfill = client.backfill(
        dag_id, day(1, 1), day(1, 2), dry_run=False, conf=conf, reprocess="completed", max_active_runs=2
    )
    assert isinstance(backfill, Backfill)
    assert (backfill.dag_id, backfill.from_date, backfill.to_date) == (dag_id, day(1, 1), day(1, 2))
    assert backfill.info.dag_run_conf == conf and backfill.info.max_active_runs == 2

    progress = RunProgress("off")
    final = done(client, backfill.wait(progress=progress, poll_frequency=2, timeout=WAIT))
    assert [r.logical_date for r in final] == [day(1, 1), day(1, 2)]
    assert [r.state for r in final] == [DagRunState.SUCCESS] * 2
    assert all(r.run_type == "backfill" and r.conf == conf for r in final)
    assert {s.dag_run_id for s in progress.snapshots} == {
        r.dag_run_id for r in final
    }  # the display followed them
    assert progress.closed and all(s.state == "success" for s in progress.snapshots)

    runs = done(client, backfill.runs())
    assert list(runs.columns) == DAG_RUNS.names and runs["state"].tolist() == ["success"] * 2
    listed = client.backfills(dag_id)
    assert list(listed.columns) == BACKFILLS.names and listed.dtypes.to_dict() == BACKFILLS.dtypes
    row = listed.set_index("id").loc[backfill.id]
    assert row["dag_id"] == dag_id and row["from_date"] == pd.Timestamp("2024-01-01", tz="UTC")
    assert row["dag_run_conf"] == conf
    assert backfill.id in client.backfills()["id"].tolist()  # every DAG's backfills


@AIRFLOW3
def test_pause_unpause_and_cancel_a_backfill(client: Any) -> None:
    dag_id = f"backfill_slow_{mode(client)}_dag"
    backfill = client.backfill(
        dag_id, day(6, 1), day(6, 3), dry_run=False, reprocess="completed", max_active_runs=1
    )
    try:
        paused = done(client, backfill.pause())
        assert (paused.state, paused.is_paused) == (BackfillState.PAUSED, True)
        assert client.get_backfill(backfill.id).is_paused is True
        unpaused = done(client, paused.unpause())
        assert (unpaused.state, unpaused.is_paused) == (BackfillState.RUNNING, False)
        cancelled = done(client, unpaused.cancel())
        assert cancelled.state is BackfillState.COMPLETED and cancelled.completed_at is not None
        runs = done(client, cancelled.list_runs())
        assert [r.logical_date for r in runs] == [day(6, d) for d in range(1, 4)]
        assert DagRunState.QUEUED not in {r.state for r in runs}  # the cancel failed every queued run
        final = done(client, cancelled.wait(progress=False, poll_frequency=2, timeout=WAIT))
        assert all(r.state in (DagRunState.SUCCESS, DagRunState.FAILED) for r in final)
        with pytest.raises(ConflictError, match="already completed"):
            done(client, cancelled.pause())
        listed = client.backfills(dag_id).set_index("id")
        assert listed.loc[backfill.id, "state"] == "completed"
    finally:
        if client.get_backfill(backfill.id).completed_at is None:
            client.cancel_backfill(backfill.id)


@AIRFLOW2
def test_airflow_2_says_backfills_need_airflow_3(client: Any) -> None:
    for call in (
        lambda: client.backfill("hello_world_dag", day(1, 1), day(1, 2)),
        lambda: client.backfill("hello_world_dag", day(1, 1), day(1, 2), dry_run=False),
        lambda: client.backfills(),
        lambda: client.get_backfill(1),
    ):
        with pytest.raises(
            UnsupportedFeatureError, match=r"^backfills need Airflow 3\.0\.0 or later"
        ) as caught:
            call()
        assert caught.value.server_version is not None and caught.value.server_version.startswith("2.")
