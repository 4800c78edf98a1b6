"""Assets, XComs, task tries and the event log against the REAL Airflow 3.3.2 and 2.10.5, with the
sync and the async client (the ``client`` fixture): the DAGs of tests/dags/assets_dags.py
(``xcom_dag`` on both, ``asset_producer_dag`` and ``asset_consumer_dag`` on Airflow 3) and
``retried_dag`` (tests/dags/plots_dags.py, a task that fails its first try)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import pandas as pd
import pytest

from kestra_airflow_sdk.airflow import ApiError, UnsupportedFeatureError
from tests.airflow_servers import AirflowServer

ASSET = "kas_orders"
PRODUCER, CONSUMER = "asset_producer_dag", "asset_consumer_dag"
#: generous: the scheduler starts an asset-triggered run within seconds, on a loaded box within minutes
SCHEDULER_TIMEOUT = 300.0
AIRFLOW3 = pytest.mark.parametrize("airflow", ["3"], indirect=True, ids=["airflow3"])
AIRFLOW2 = pytest.mark.parametrize("airflow", ["2"], indirect=True, ids=["airflow2"])

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], what: str, timeout: float = SCHEDULER_TIMEOUT) -> T:
    """``probe()``'s first answer that is not None, asked once a second until ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        if answer is not None:
            return answer
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not seen within {timeout:.0f} s")
        time.sleep(1.0)


def events_of(client: Any, since: datetime) -> pd.DataFrame:
    """``client.asset_events(ASSET, since=since)``, asked again while Airflow answers 500: Airflow
    3.3.2 fails the list while a run an event started is still queued (the run has no start date
    yet, which its answer's model requires), until the scheduler starts that run."""

    def listed() -> pd.DataFrame | None:
        try:
            frame: pd.DataFrame = client.asset_events(ASSET, since=since)
        except ApiError as exc:
            if exc.status != 500:
                raise
            return None
        return frame

    return eventually(listed, "a list of asset events Airflow answers")


def _before() -> datetime:
    """A moment just before what the test does next (the server's clock may lag a little)."""
    return datetime.now(timezone.utc) - timedelta(seconds=5)


def _finished(client: Any, dag_id: str, run_id: str) -> Any:
    run = client.wait_for_dag_run(dag_id, run_id, timeout=SCHEDULER_TIMEOUT, poll_frequency=1.0)
    assert str(run.state) == "success", f"{dag_id} run {run_id} ended {run.state}"
    return run


@AIRFLOW3
def test_the_assets_frame_lists_the_asset_and_its_dags(airflow: AirflowServer, client: Any) -> None:
    frame = client.assets().set_index("name")
    orders = frame.loc[ASSET]
    assert orders["uri"] == "file:///tmp/kestra-airflow-sdk/orders.csv" and orders["group"] == "sdk-test"
    assert orders["scheduled_dags"] == [CONSUMER]
    assert orders["producing_dags"] == [PRODUCER]
    assert orders["producing_tasks"] == [f"{PRODUCER}.write_orders"]
    assert list(client.assets(dag_id=CONSUMER)["name"]) == [ASSET]


@AIRFLOW3
def test_an_asset_event_starts_a_run_of_the_dag_scheduled_on_it(airflow: AirflowServer, client: Any) -> None:
    mark = uuid.uuid4().hex
    since = _before()
    event = client.create_asset_event(ASSET, extra={"test": mark})
    assert event.name == ASSET and event.extra["test"] == mark and event.source_dag_id is None

    def started() -> list[dict[str, Any]] | None:
        events = events_of(client, since)
        mine = events[events["event_id"] == event.event_id]
        assert len(mine) == 1 and mine.iloc[0]["extra"]["test"] == mark
        runs: list[dict[str, Any]] = mine.iloc[0]["created_dag_runs"]
        return runs or None

    runs = eventually(started, f"a run of {CONSUMER} started by asset event {event.event_id}")
    (run,) = [r for r in runs if r["dag_id"] == CONSUMER]
    _finished(client, CONSUMER, run["dag_run_id"])


@AIRFLOW3
def test_materialize_runs_the_producer_whose_event_names_that_run(
    airflow: AirflowServer, client: Any
) -> None:
    since = _before()
    run = client.materialize(ASSET)
    assert run.dag_id == PRODUCER and run.run_type == "asset_materialization"
    _finished(client, PRODUCER, run.dag_run_id)
    events = events_of(client, since)
    produced = events[events["source_run_id"] == run.dag_run_id]
    assert list(produced["source_dag_id"]) == [PRODUCER]
    assert list(produced["source_task_id"]) == ["write_orders"]


def _two_xcom_runs(client: Any) -> tuple[str, str]:
    """Two runs of ``xcom_dag`` (``factor`` 2 and 5), both ended."""
    runs = []
    for factor in (2, 5):
        run = client.trigger_dag_run(
            "xcom_dag", conf={"factor": factor}, dag_run_id=f"xcoms_{factor}_{uuid.uuid4().hex}"
        )
        runs.append(run.dag_run_id)
    for run_id in runs:
        _finished(client, "xcom_dag", run_id)
    return runs[0], runs[1]


def test_xcoms_of_two_runs_in_one_frame_with_their_values(airflow: AirflowServer, client: Any) -> None:
    first, second = _two_xcom_runs(client)
    frame = client.xcoms("xcom_dag", [first, second])
    assert len(frame) == 6 and set(frame["key"]) == {"return_value"}
    values = {(row.dag_run_id, row.task_id): row.value for row in frame.itertuples()}
    assert values[(first, "total")] == 12 and values[(second, "total")] == 30
    assert values[(first, "describe")] == "total 12" and values[(second, "describe")] == "total 30"
    assert (
        values[(first, "extract")] == values[(second, "extract")] == {"orders": [1, 2, 3], "currency": "EUR"}
    )
    assert list(frame["dag_run_id"]) == [first] * 3 + [second] * 3  # in the order the runs were due
    every_run = client.xcoms("xcom_dag", task_id="total")  # one listing of every run (~)
    totals = dict(zip(every_run["dag_run_id"], every_run["value"], strict=True))
    assert totals[first] == 12 and totals[second] == 30
    assert client.get_xcom("xcom_dag", second, "extract").value == {"orders": [1, 2, 3], "currency": "EUR"}
    if airflow.major == "3":  # writing: Airflow 3.0.0+
        client.set_xcom("xcom_dag", first, "total", "checked", {"by": "sdk"})
        client.set_xcom("xcom_dag", first, "total", "checked", {"by": "sdk", "again": True})
        mine = client.xcoms("xcom_dag", first, task_id="total", key="checked")
        assert list(mine["value"]) == [{"by": "sdk", "again": True}]


def test_the_tries_of_a_retried_task_and_the_event_log_of_its_run(
    airflow: AirflowServer, client: Any
) -> None:
    since = _before()
    run = client.trigger_dag_run("retried_dag", dag_run_id=f"tries_{uuid.uuid4().hex}")
    _finished(client, "retried_dag", run.dag_run_id)
    tries = client.task_tries("retried_dag", run.dag_run_id, "flaky")
    assert list(tries["try_number"]) == [1, 2]
    assert list(tries["state"].astype(str)) == ["failed", "success"]
    assert tries["start_date"].is_monotonic_increasing and (tries["duration"] > timedelta(0)).all()
    logs = client.event_logs("retried_dag", since=since)
    assert not logs.empty and set(logs["dag_id"]) == {"retried_dag"}
    of_run = logs[logs["dag_run_id"] == run.dag_run_id]
    assert "success" in set(of_run["event"]), of_run.to_string()  # the tasks' ends are logged
    successes = client.event_logs("retried_dag", since=since, event="success")
    assert not successes.empty and set(successes["event"]) == {"success"}


@AIRFLOW2
def test_assets_and_xcom_writes_on_airflow_2_name_the_release(airflow: AirflowServer, client: Any) -> None:
    for call in (
        lambda: client.assets(),
        lambda: client.asset_events(),
        lambda: client.create_asset_event(ASSET),
        lambda: client.materialize(ASSET),
        lambda: client.set_xcom("xcom_dag", "any_run", "total", "k", 1),
    ):
        with pytest.raises(
            UnsupportedFeatureError, match=r"need Airflow 3\.0\.0 or later.*runs Airflow 2\.10\.5"
        ):
            call()
