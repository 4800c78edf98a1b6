"""Batched waits on a fake Airflow 3 (httpx.MockTransport): requests per poll tick, both drivers.

Time is virtual (tests/virtual_time.py): a tick is exactly ``poll_frequency`` seconds of the
driver's clock, so the requests of each tick are counted exactly, whatever the CPU load.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from kestra_airflow_sdk import AsyncAirflowClient, DagRunState, NotFoundError, WaitTimeoutError
from tests.virtual_time import VirtualTimeClient, run_virtual


class FakeAirflow:
    """Runs of one DAG that all finish after ``finish_after`` list requests."""

    def __init__(self, run_ids: list[str], finish_after: int = 3, done_before: tuple[str, ...] = ()) -> None:
        now = datetime.now(timezone.utc).isoformat()
        self.runs = {
            r: {"dag_id": "etl", "dag_run_id": r, "state": "queued", "updated_at": now} for r in run_ids
        }
        for r in done_before:
            self.runs[r].update(state="success", updated_at="2020-01-01T00:00:00+00:00")
        self.finish_after = finish_after
        self.lists = 0
        self.dag_reads = 0
        self.list_times: list[float] = []  # the driver's clock at each list request
        self.clock: Any = None
        self.singles: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/v2/version":
            return httpx.Response(200, json={"version": "3.3.2"})
        if path == "/api/v2/dags/etl":  # the paused check of a run still queued 15 s into a wait
            self.dag_reads += 1
            return httpx.Response(200, json={"dag_id": "etl", "is_paused": False})
        if path == "/api/v2/dags/etl/dagRuns":
            self.lists += 1
            self.list_times.append(self.clock() if self.clock else 0.0)
            if self.lists == self.finish_after:
                for run in self.runs.values():
                    if run["state"] == "queued":
                        run.update(state="success", updated_at=datetime.now(timezone.utc).isoformat())
            states = request.url.params.get_list("state")
            since = request.url.params.get("updated_at_gte")
            rows = [
                {k: v for k, v in run.items() if k != "updated_at"}
                for run in self.runs.values()
                if run["state"] in states and (since is None or run["updated_at"] >= since)
            ]
            return httpx.Response(
                200, json={"dag_runs": rows, "total_entries": len(rows), "next_cursor": None}
            )
        run_id = path.rsplit("/", 1)[-1]
        self.singles.append(run_id)
        if run_id not in self.runs:
            return httpx.Response(404, json={"detail": "not found"})
        return httpx.Response(200, json={k: v for k, v in self.runs[run_id].items() if k != "updated_at"})


def test_hundred_concurrent_async_waits_cost_one_request_per_tick() -> None:
    fake = FakeAirflow([f"r{i}" for i in range(100)], finish_after=4)

    async def main() -> tuple[list[Any], float]:
        fake.clock = asyncio.get_running_loop().time
        client = AsyncAirflowClient("http://airflow.test")
        client._http = httpx.AsyncClient(transport=httpx.MockTransport(fake))
        async with client:
            waits = [
                client.wait_for_dag_run("etl", f"r{i}", poll_frequency=5.0, timeout=600) for i in range(100)
            ]
            runs = list(await asyncio.gather(*waits))
            return runs, asyncio.get_running_loop().time()

    runs, ended = run_virtual(main())
    assert [r.dag_run_id for r in runs] == [f"r{i}" for i in range(100)]
    assert all(r.state == DagRunState.SUCCESS for r in runs)
    assert fake.singles == []
    # one list request per 5 s tick: the unfinished runs at t=0, then the runs changed since
    assert fake.list_times == [0.0, 5.0, 10.0, 15.0]
    assert 15.0 <= ended < 16.0  # the last waiters read the shared answer within their settle step


def test_sync_wait_for_dag_runs_reads_already_finished_runs_once() -> None:
    fake = FakeAirflow(["a", "b", "c"], finish_after=3, done_before=("b",))
    with VirtualTimeClient("http://airflow.test") as client:
        fake.clock = client.clock.monotonic
        client._http = httpx.Client(transport=httpx.MockTransport(fake))
        runs = client.wait_for_dag_runs(
            [("etl", "a"), ("etl", "b"), ("etl", "c")], poll_frequency=5.0, timeout=600
        )
    assert [r.dag_run_id for r in runs] == ["a", "b", "c"]
    assert fake.singles == ["b"]
    assert fake.list_times == [0.0, 5.0, 10.0]  # one list request per tick
    assert client.clock.sleeps == [0, 5.0, 5.0]


def test_timeouts_and_unknown_runs() -> None:
    fake = FakeAirflow(["a"], finish_after=10**6)
    with VirtualTimeClient("http://airflow.test") as client:
        client._http = httpx.Client(transport=httpx.MockTransport(fake))
        with pytest.raises(WaitTimeoutError, match="'a' of DAG 'etl' did not finish within 60s") as err:
            client.wait_for_dag_run("etl", "a", poll_frequency=5.0, timeout=60)
        assert err.value.last_state == "queued"
        assert err.value.waited == 60.0
        assert fake.singles == ["a"] * 13  # a lone wait reads its run: at 0, 5, ..., 60 s
        assert fake.dag_reads == 1  # queued 15 s in: is the DAG paused? (again after 60 s more)
        with pytest.raises(NotFoundError):
            client.wait_for_dag_runs([("etl", "a"), ("etl", "nope")], poll_frequency=5.0, timeout=60)
        with pytest.raises(Exception, match=r"runs\[0\]"):
            client.wait_for_dag_runs([("etl",)])  # type: ignore[list-item]
