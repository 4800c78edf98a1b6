"""Batched waits send at most ONE list request per DAG per poll tick (issue 14), on both API dialects.

On the fake Airflow (tests/fake_airflow.py, which answers ``state`` and ``updated_at_gte`` as Airflow
does) and virtual time (tests/virtual_time.py): every request is stamped with the driver's clock,
so the list requests of each DAG in each tick are counted exactly, whatever the CPU load. A tick
lists either the DAG's unfinished runs (first sight of a run, and every ``RECONCILE_EVERY`` s) or
the runs changed since the previous such list; runs that finish between two ticks, behind a clock
skewed by more than the overlap, or while new waiters keep arriving are still seen final.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from kestra_airflow_sdk import AsyncAirflowClient, DagRunState
from kestra_airflow_sdk.airflow import DagRun
from kestra_airflow_sdk.airflow.waits import RECONCILE_EVERY, WAIT_OVERLAP
from tests.fake_airflow import FAST, FakeAirflow
from tests.virtual_time import VirtualTimeClient, run_virtual

POLL = 5.0


class Stamped:
    """The fake's handler, recording each request with the driver's clock."""

    def __init__(self, fake: FakeAirflow) -> None:
        self.fake = fake
        self.clock: Callable[[], float] = lambda: 0.0
        self.log: list[tuple[float, httpx.Request]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.log.append((self.clock(), request))
        return self.fake.handle(request)

    def lists(self) -> Counter[tuple[str, float, str]]:
        """(DAG, tick, kind) -> list requests; kind "unfinished" or "changed" (since a time)."""
        counted: Counter[tuple[str, float, str]] = Counter()
        for at, request in self.log:
            parts = unquote(request.url.path).split("/")
            if request.method == "GET" and parts[-1] == "dagRuns":
                kind = "changed" if "updated_at_gte" in request.url.params else "unfinished"
                counted[(parts[-2], round(at / POLL) * POLL, kind)] += 1
        return counted

    def per_tick(self) -> Counter[tuple[str, float]]:
        return Counter({(dag, tick): n for (dag, tick, _), n in self.lists().items()})

    def single_reads(self) -> list[tuple[float, str]]:
        """(time, run id) of every read of one run."""
        return [
            (at, unquote(r.url.path).rsplit("/", 1)[-1])
            for at, r in self.log
            if r.method == "GET" and unquote(r.url.path).split("/")[-2] == "dagRuns"
        ]


def _async_client(stamped: Stamped) -> AsyncAirflowClient:
    return AsyncAirflowClient(
        "http://airflow.test",
        username="u",
        password="p",
        api_version=stamped.fake.api,
        transport=httpx.MockTransport(stamped),
        retry=FAST,
    )


def _finish(fake: FakeAirflow, run_id: str, state: str = "success") -> None:
    """Another client marks the run (as ``PATCH .../dagRuns/{id}`` would: ``updated_at`` moves)."""
    fake.runs[run_id].forced = state
    fake.runs[run_id].updated_at = fake.wall_clock()


async def _finish_at(fake: FakeAirflow, at: float, run_ids: list[str]) -> None:
    await asyncio.sleep(at - asyncio.get_running_loop().time())
    for run_id in run_ids:
        _finish(fake, run_id)


def _ticks(steps: int) -> list[tuple[float, str]]:
    """The list of each tick until the ``steps``-th "changed since" list (which shows the finish)."""
    ticks, changed, at = [(0.0, "unfinished")], 0, 0.0
    while changed < steps:
        at += POLL
        reconcile = at % RECONCILE_EVERY == 0
        ticks.append((at, "unfinished" if reconcile else "changed"))
        changed += not reconcile
    return ticks


def _wait(client: AsyncAirflowClient, dag_id: str, run_id: str, ends: dict[str, float]) -> Any:
    async def wait() -> DagRun:
        run = await client.wait_for_dag_run(
            dag_id, run_id, poll_frequency=POLL, timeout=600, if_paused="ignore"
        )
        ends[run_id] = asyncio.get_running_loop().time()
        return run

    return wait()


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_300_waits_over_3_dags_send_one_list_per_dag_per_tick_across_a_reconcile(api: str) -> None:
    fake = FakeAirflow(api=api, default_script=None, max_page=100)
    dags = {"a": 3, "b": 9, "c": 12}  # each run of DAG d finishes on the d-th "changed since" list
    for dag_id, steps in dags.items():
        fake.scripts[dag_id] = ["queued", *["running"] * (steps - 1), "success"]
    runs = {dag_id: [f"{dag_id}{i}" for i in range(100)] for dag_id in dags}
    for dag_id, run_ids in runs.items():
        for run_id in run_ids:
            fake.add_run(dag_id, run_id)
    stamped, ends = Stamped(fake), {}

    async def main() -> list[DagRun]:
        stamped.clock = asyncio.get_running_loop().time
        async with _async_client(stamped) as client:
            waits = [_wait(client, d, r, ends) for d, run_ids in runs.items() for r in run_ids]
            return list(await asyncio.gather(*waits))

    finals = run_virtual(main())
    assert all(run.state == DagRunState.SUCCESS for run in finals)
    assert stamped.single_reads() == []  # every run was seen in a DAG list
    lists = stamped.lists()
    assert stamped.per_tick() and max(stamped.per_tick().values()) == 1, lists
    # the unfinished runs at first sight (t=0) and at each reconcile (every 30 s); else the changed ones
    for dag_id, steps in dags.items():
        expected = _ticks(steps)
        assert sorted((t, k) for (d, t, k) in lists if d == dag_id) == expected, dag_id
        assert {ends[r] for r in runs[dag_id]} == {expected[-1][0]}


def test_runs_that_finish_just_before_the_reconcile_tick_are_seen_on_the_next_tick_without_reads() -> None:
    fake = FakeAirflow(default_script=["running"])
    run_ids = [f"r{i}" for i in range(20)]
    for run_id in run_ids:
        fake.add_run("etl", run_id)
    stamped, ends = Stamped(fake), {}

    async def main() -> None:
        stamped.clock = asyncio.get_running_loop().time
        async with _async_client(stamped) as client:
            finisher = _finish_at(fake, RECONCILE_EVERY - 2, run_ids[:10])  # between ticks 25 and 30
            later = _finish_at(fake, RECONCILE_EVERY + 7, run_ids[10:])
            await asyncio.gather(finisher, later, *(_wait(client, "etl", r, ends) for r in run_ids))

    run_virtual(main())
    # the reconcile at 30 s no longer lists them (they left the unfinished runs); the changed-since
    # list of 35 s still reaches back before they finished: no run is read one by one
    assert stamped.single_reads() == []
    assert {ends[r] for r in run_ids[:10]} == {RECONCILE_EVERY + POLL}
    assert {ends[r] for r in run_ids[10:]} == {RECONCILE_EVERY + 2 * POLL}
    assert max(stamped.per_tick().values()) == 1
    assert [t for (_, t, kind) in stamped.lists() if kind == "unfinished"] == [0.0, RECONCILE_EVERY]


def test_a_server_clock_behind_by_more_than_the_overlap_delays_a_finish_by_a_reconcile_at_most() -> None:
    # Airflow stamps updated_at a minute behind this machine: the changed-since lists never show a
    # finish; the reconcile (30 s) sees the runs leave the unfinished ones, the tick after it reads them
    fake = FakeAirflow(default_script=["running"], clock_skew=-(WAIT_OVERLAP + timedelta(seconds=50)))
    run_ids = ["a", "b", "c"]
    for run_id in run_ids:
        fake.add_run("etl", run_id)
    stamped, ends = Stamped(fake), {}

    async def main() -> None:
        stamped.clock = asyncio.get_running_loop().time
        async with _async_client(stamped) as client:
            await asyncio.gather(
                _finish_at(fake, 7, run_ids), *(_wait(client, "etl", r, ends) for r in run_ids)
            )

    run_virtual(main())
    assert sorted(stamped.single_reads()) == [(RECONCILE_EVERY + POLL, r) for r in run_ids]
    assert set(ends.values()) == {RECONCILE_EVERY + POLL}
    assert max(stamped.per_tick().values()) == 1


def test_new_waiters_every_tick_do_not_starve_runs_that_finished() -> None:
    # a waiter joins before each tick (it reads its run once itself, then the DAG's list serves it):
    # every tick lists the unfinished runs, never the changed ones; a run that left them is read one
    # by one on the following tick
    fake = FakeAirflow(default_script=["running"])
    for run_id in ["r0", "r1", "r2", "r3", "r4"]:
        fake.add_run("etl", run_id)
    stamped, ends = Stamped(fake), {}

    async def main() -> None:
        stamped.clock = asyncio.get_running_loop().time
        async with _async_client(stamped) as client:

            async def join(at: float, run_id: str) -> None:
                await asyncio.sleep(at)
                await _wait(client, "etl", run_id, ends)

            await asyncio.gather(
                _wait(client, "etl", "r0", ends),
                _wait(client, "etl", "r1", ends),
                _finish_at(fake, 3, ["r0"]),
                join(4, "r2"),
                join(9, "r3"),
                join(14, "r4"),
                _finish_at(fake, 16, ["r1", "r2", "r3", "r4"]),
            )

    run_virtual(main())
    assert [t for (_, t, kind) in sorted(stamped.lists()) if kind == "unfinished"] == [0.0, 5.0, 10.0, 15.0]
    joined = [(4.0, "r2"), (9.0, "r3"), (14.0, "r4")]
    assert sorted(stamped.single_reads()) == sorted([*joined, (10.0, "r0")])  # r0 left them at 5 s
    assert ends["r0"] == 10.0
    # finished at 16 s: the changed-since list of 20 s shows them (the joiners tick at 4 s + 5 s k)
    assert [ends[r] for r in ["r1", "r2", "r3", "r4"]] == [20.0, 24.0, 24.0, 24.0]
    assert max(stamped.per_tick().values()) == 1


def test_sync_waits_on_two_dags_with_runs_finished_before_the_wait() -> None:
    fake = FakeAirflow(api="v1", default_script=None)
    fake.scripts.update(etl=["queued", "running", "success"], report=["running", "failed"])
    for dag_id, run_id in [("etl", "e1"), ("etl", "e2"), ("report", "p1"), ("report", "p2")]:
        fake.add_run(dag_id, run_id)
    fake.add_run("etl", "done", "success")  # finished before the wait: read once
    stamped = Stamped(fake)
    with VirtualTimeClient(
        "http://airflow.test",
        username="u",
        password="p",
        api_version="v1",
        transport=httpx.MockTransport(stamped),
        retry=FAST,
    ) as client:
        stamped.clock = client.clock.monotonic
        finals = client.wait_for_dag_runs(
            [("etl", "e1"), ("report", "p1"), ("etl", "done"), ("etl", "e2"), ("report", "p2")],
            poll_frequency=POLL,
            timeout=600,
        )
    assert [(r.dag_run_id, r.state) for r in finals] == [
        ("e1", DagRunState.SUCCESS),
        ("p1", DagRunState.FAILED),
        ("done", DagRunState.SUCCESS),
        ("e2", DagRunState.SUCCESS),
        ("p2", DagRunState.FAILED),
    ]
    assert stamped.single_reads() == [(0.0, "done")]
    assert stamped.lists() == Counter(
        {
            ("etl", 0.0, "unfinished"): 1,
            ("report", 0.0, "unfinished"): 1,
            ("etl", 5.0, "changed"): 1,
            ("report", 5.0, "changed"): 1,
            ("etl", 10.0, "changed"): 1,
        }
    )
