"""Batched waits on the one fake Airflow 3 (``tests/fake_airflow.py``, through ``transport=``):
requests per poll tick, both drivers.

Time is virtual (tests/virtual_time.py): a tick is exactly ``poll_frequency`` seconds of the
driver's clock, so the requests of each tick are counted exactly, whatever the CPU load.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone
from typing import Any

import pytest

from kestra_airflow_sdk import DagRunState
from kestra_airflow_sdk.airflow import NotFoundError, WaitTimeoutError
from tests.fake_airflow import FakeAirflow, fake_async_client, fake_client
from tests.virtual_time import VirtualTimeClient, run_virtual

RUNS = "/dags/etl/dagRuns"


def _airflow(run_ids: list[str], finish_after: int | None, done_before: tuple[str, ...] = ()) -> FakeAirflow:
    """Runs of DAG ``etl`` that all finish at the ``finish_after``-th poll (a batched poll lists the
    DAG's finished runs; None: never); ``done_before`` ones finished long before the wait."""
    script = ["queued"] if finish_after is None else ["queued"] * finish_after + ["success"]
    fake = FakeAirflow(scripts={"etl": script})
    for run_id in run_ids:
        fake.add_run("etl", run_id)
    for run_id in done_before:
        fake.runs[run_id].forced = "success"
        fake.runs[run_id].updated_at = datetime(2020, 1, 1, tzinfo=timezone.utc)
    return fake


def _single_reads(fake: FakeAirflow) -> list[str]:
    """The runs read one by one (``GET .../dagRuns/{run_id}``), in order."""
    return [p.rsplit("/", 1)[-1] for m, p in fake.log if m == "GET" and re.search(f"{RUNS}/[^/]+$", p)]


def test_hundred_concurrent_async_waits_cost_one_request_per_tick() -> None:
    fake = _airflow([f"r{i}" for i in range(100)], finish_after=3)

    async def main() -> tuple[list[Any], float]:
        fake.clock = asyncio.get_running_loop().time
        async with fake_async_client(fake) as client:
            waits = [
                client.wait_for_dag_run("etl", f"r{i}", poll_frequency=5.0, timeout=600) for i in range(100)
            ]
            runs = list(await asyncio.gather(*waits))
            return runs, asyncio.get_running_loop().time()

    runs, ended = run_virtual(main())
    assert [r.dag_run_id for r in runs] == [f"r{i}" for i in range(100)]
    assert all(r.state == DagRunState.SUCCESS for r in runs)
    assert _single_reads(fake) == []
    # one list request per 5 s tick: the unfinished runs at t=0, then the runs changed since
    assert fake.when("GET", RUNS) == [0.0, 5.0, 10.0, 15.0]
    assert 15.0 <= ended < 16.0  # the last waiters read the shared answer within their settle step


def test_sync_wait_for_dag_runs_reads_already_finished_runs_once() -> None:
    fake = _airflow(["a", "b", "c"], finish_after=2, done_before=("b",))
    client = fake_client(fake)
    assert isinstance(client, VirtualTimeClient)
    with client:
        fake.clock = client.clock.monotonic
        runs = client.wait_for_dag_runs(
            [("etl", "a"), ("etl", "b"), ("etl", "c")], poll_frequency=5.0, timeout=600
        )
    assert [r.dag_run_id for r in runs] == ["a", "b", "c"]
    assert _single_reads(fake) == ["b"]
    assert fake.when("GET", RUNS) == [0.0, 5.0, 10.0]  # one list request per tick
    assert client.clock.sleeps == [0, 5.0, 5.0]


def test_timeouts_and_unknown_runs() -> None:
    fake = _airflow(["a"], finish_after=None)
    with fake_client(fake) as client:
        with pytest.raises(WaitTimeoutError, match="'a' of DAG 'etl' did not finish within 60s") as err:
            client.wait_for_dag_run("etl", "a", poll_frequency=5.0, timeout=60)
        assert err.value.last_state == "queued"
        assert err.value.waited == 60.0
        assert _single_reads(fake) == ["a"] * 13  # a lone wait reads its run: at 0, 5, ..., 60 s
        assert fake.count("GET", "/dags/etl") - fake.count("GET", RUNS) == 1  # queued 15 s in: paused?
        with pytest.raises(NotFoundError):
            client.wait_for_dag_runs([("etl", "a"), ("etl", "nope")], poll_frequency=5.0, timeout=60)
        with pytest.raises(Exception, match=r"runs\[0\]"):
            client.wait_for_dag_runs([("etl",)])  # type: ignore[list-item]
