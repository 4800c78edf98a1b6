"""Full run exports: one cursor stream per DAG (bounded), pages into columns, fallbacks (fake Airflow)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pandas as pd
import pytest

from kestra_airflow_sdk.airflow.fetch import EXPORT_STREAMS, _normal_run
from kestra_airflow_sdk.history import DAG_RUNS
from kestra_airflow_sdk.history.frames import RunColumns, runs_frame
from tests.fake_airflow import FakeAirflow, FakeRun, fake_async_client, fake_client
from tests.history.test_frames import v2_run

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@dataclass
class TimedRun(FakeRun):
    """A fake run that also says when it was due and how long it took."""

    minute: int = 0

    def body(self) -> dict[str, Any]:
        due = (T0 + timedelta(minutes=self.minute)).isoformat()
        return {**super().body(), "run_after": due, "queued_at": due, "duration": 10.0, "note": None}


@dataclass
class ListingAirflow(FakeAirflow):
    """The fake Airflow plus ``GET /dags`` (the DAGs it lists: those with a script, or ``listed``)."""

    listed: list[str] | None = None

    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == f"/api/{self.api}/dags":
            dags = self.listed if self.listed is not None else sorted(self.scripts)
            assert request.url.params.get("exclude_stale") in (None, "false")
            return httpx.Response(
                200, json={"dags": [{"dag_id": d} for d in dags], "total_entries": len(dags)}
            )
        return super().answer(request)


class InFlight:
    """An async handler answering with ``answer``, which counts the most requests in flight at once
    (each lets every other ready request start before it ends: no time passes)."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.now = 0
        self.most = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.most = max(self.most, self.now)
        for _ in range(5):
            await asyncio.sleep(0)
        self.now -= 1
        return self.answer(request)


def seeded(dags: int, runs_per_dag: int, **options: Any) -> ListingAirflow:
    """A cursor-paging Airflow 3.3 with ``dags`` DAGs of ``runs_per_dag`` runs, pages of 7."""
    options.setdefault("cursor", True)
    fake = ListingAirflow(
        max_page=7,
        default_script=None,
        scripts={f"dag_{d:02d}": ["success"] for d in range(dags)},
        **options,
    )
    for d in range(dags):
        for i in range(runs_per_dag):
            run_id = f"dag_{d:02d}_run_{i}"
            # the same due time for runs of different DAGs: the order falls back to dag_id, run id
            fake.runs[run_id] = TimedRun(f"dag_{d:02d}", run_id, {"i": i}, ["success"], minute=(i * 7) % 5)
    return fake


def expected(fake: FakeAirflow) -> pd.DataFrame:
    """The frame of every run the fake holds, built the plain way (row dicts, then the frame)."""
    return runs_frame([_normal_run(run.body()) for run in fake.runs.values()])


def run_lists(fake: FakeAirflow) -> list[httpx.Request]:
    return [r for r in fake.requests if r.url.path.endswith("/dagRuns")]


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_every_dag_is_one_cursor_stream_and_the_frame_is_the_plain_one(flavour: str) -> None:
    fake = seeded(dags=12, runs_per_dag=15)
    if flavour == "sync":
        with fake_client(fake) as client:
            frame = client.dag_runs()
            history = client.run_history()
    else:

        async def main() -> tuple[pd.DataFrame, pd.DataFrame]:
            async with fake_async_client(fake) as client:
                return await client.dag_runs(), await client.run_history()

        frame, history = asyncio.run(main())
    pd.testing.assert_frame_equal(frame, expected(fake))
    pd.testing.assert_frame_equal(history, frame)
    assert dict(frame.dtypes) == DAG_RUNS.dtypes
    lists = run_lists(fake)
    counts = [r for r in lists if r.url.path.endswith("/~/dagRuns")]
    # one exact count of ``~`` per export (offset pagination, no cursor), nothing else over ``~``
    assert len(counts) == 2 and all("cursor" not in r.url.params for r in counts)
    per_dag = [r for r in lists if "/~/" not in r.url.path]
    assert all("cursor" in r.url.params for r in per_dag)
    # 15 runs in pages of 7: 3 pages per DAG and export, the last one short (no empty page after it)
    assert len(per_dag) == 2 * 12 * 3
    assert fake.count("GET", "/api/v2/dags") - len(lists) == 2  # the DAG list, once per export


@pytest.mark.parametrize(("max_connections", "bound"), [(2, 2), (3, 3), (50, EXPORT_STREAMS)])
def test_streams_in_flight_stay_within_max_connections(max_connections: int, bound: int) -> None:
    """At most min(EXPORT_STREAMS, max_connections) requests at once, and that many are used."""
    fake = seeded(dags=20, runs_per_dag=9)
    flying = InFlight(fake.handle)

    async def main() -> pd.DataFrame:
        async with fake_async_client(
            fake, max_connections=max_connections, transport=httpx.MockTransport(flying)
        ) as client:
            return await client.dag_runs()

    frame = asyncio.run(main())
    assert len(frame) == 20 * 9
    assert flying.most == bound


def test_runs_of_dags_the_list_misses_are_read_over_tilde() -> None:
    """The streams read fewer runs than ``~`` counts: the export reads ``~`` instead (nothing lost)."""
    fake = seeded(dags=3, runs_per_dag=10, listed=["dag_00", "dag_01"])
    with fake_client(fake) as client:
        frame = client.dag_runs()
    pd.testing.assert_frame_equal(frame, expected(fake))
    assert set(frame["dag_id"]) == {"dag_00", "dag_01", "dag_02"}
    tilde = [r for r in run_lists(fake) if r.url.path.endswith("/~/dagRuns") and "cursor" in r.url.params]
    assert len(tilde) == 5  # 30 runs in cursor pages of 7


def test_several_dags_stream_each_and_skip_unknown_ones() -> None:
    fake = seeded(dags=4, runs_per_dag=8)
    with fake_client(fake) as client:
        frame = client.dag_runs(["dag_01", "nope", "dag_03"], state="success")
    wanted = expected(fake)
    wanted = wanted[wanted["dag_id"].isin(["dag_01", "dag_03"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(frame, wanted)
    lists = run_lists(fake)
    assert fake.count("GET", "/api/v2/dags") == len(lists)  # no DAG list, no count: the DAGs were given
    assert {r.url.path.split("/")[4] for r in lists} == {"dag_01", "nope", "dag_03"}
    assert all(r.url.params.get_list("state") == ["success"] for r in lists)


def test_one_dag_is_one_stream() -> None:
    fake = seeded(dags=3, runs_per_dag=20)
    with fake_client(fake) as client:
        frame = client.dag_runs("dag_02")
    wanted = expected(fake)
    pd.testing.assert_frame_equal(frame, wanted[wanted["dag_id"] == "dag_02"].reset_index(drop=True))
    assert [r.url.path for r in fake.requests if "dagRuns" in r.url.path] == [
        "/api/v2/dags/dag_02/dagRuns"
    ] * 3


def test_an_airflow_3_without_cursors_streams_offset_pages() -> None:
    fake = seeded(dags=3, runs_per_dag=16, cursor=False)
    with fake_client(fake) as client:
        frame = client.dag_runs()
    pd.testing.assert_frame_equal(frame, expected(fake))
    per_dag = [r for r in run_lists(fake) if "/~/" not in r.url.path]
    offsets: dict[str, list[int]] = {}  # the DAGs' streams run concurrently: look at each one
    for r in per_dag:
        offsets.setdefault(r.url.path, []).append(int(r.url.params.get("offset", 0)))
    assert offsets == {f"/api/v2/dags/dag_0{d}/dagRuns": [0, 7, 14] for d in range(3)}


def test_airflow_2_exports_through_offset_pages() -> None:
    fake = seeded(dags=3, runs_per_dag=10, api="v1")
    with fake_client(fake) as client:
        frame = client.dag_runs()
    pd.testing.assert_frame_equal(frame, expected(fake))
    lists = run_lists(fake)  # no cursors on Airflow 2: offset pages over ``~``, no DAG list
    assert {r.url.path for r in lists} == {"/api/v1/dags/~/dagRuns"}
    assert sorted(int(r.url.params.get("offset", 0)) for r in lists) == [0, 7, 14, 21, 28]


def test_a_limited_export_keeps_the_server_order() -> None:
    fake = seeded(dags=3, runs_per_dag=10)
    with fake_client(fake) as client:
        frame = client.dag_runs(limit=12)
    assert len(frame) == 12
    assert {r.url.path for r in run_lists(fake)} == {"/api/v2/dags/~/dagRuns"}


def test_run_columns_equal_runs_frame_whatever_the_page_order_and_chunk() -> None:
    rows = [
        v2_run(
            f"r{i}",
            dag=f"d{i % 3}",
            state=["success", "failed", "running", "odd_state"][i % 4],
            minutes=i % 6,
        )
        for i in range(41)
    ]
    rows[3]["state"] = None
    rows[5]["run_after"] = None
    rows[7]["duration"] = None  # filled from start and end, as for Airflow 2
    rows[8]["note"] = "a note"
    rows.append({"dag_id": "d9", "dag_run_id": "bare"})  # missing keys are missing values
    normal = [_normal_run(row) for row in rows]
    plain = runs_frame(normal)
    shuffled = list(normal)
    random.Random(7).shuffle(shuffled)
    for chunk in (1, 3, 10, 1000):
        columns = RunColumns(chunk=chunk)
        for start in range(0, len(shuffled), 4):
            columns.add(shuffled[start : start + 4])
        pd.testing.assert_frame_equal(columns.frame(), plain)
    assert plain["state"].cat.categories[-1] == "odd_state"
    cleared = RunColumns()
    cleared.add(normal)
    cleared.clear()
    pd.testing.assert_frame_equal(cleared.frame(), DAG_RUNS.empty())
