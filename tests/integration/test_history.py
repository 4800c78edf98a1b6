"""Run history as DataFrames, the incremental cache and batched waits, against real Airflow 3 and 2.

Runs are created on the paused ``history_dag_a`` / ``history_dag_b`` (tests/dags/history_dags.py), so
they stay ``queued`` until a test marks them; every assertion filters on this module's own run ids.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

import kestra_airflow_sdk.airflow.pagination as pagination
from kestra_airflow_sdk import AirflowClient, AsyncAirflowClient, DagRunState
from kestra_airflow_sdk.airflow import DagRun
from kestra_airflow_sdk.airflow.waits import RECONCILE_EVERY
from kestra_airflow_sdk.history import DAG_RUNS, TASK_INSTANCES
from tests.airflow_servers import AirflowServer
from tests.clients import open_client
from tests.virtual_time import VirtualClock, VirtualTimeClient

A, B = "history_dag_a", "history_dag_b"


@dataclass
class Seed:
    prefix: str
    a: list[str] = field(default_factory=list)
    b: list[str] = field(default_factory=list)
    middle: datetime | None = None  # between a[2] and a[3]: a "since" that cuts the DAG's runs in two
    hello: list[str] = field(default_factory=list)

    def mine(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["dag_run_id"].str.startswith(self.prefix)].reset_index(drop=True)


@pytest.fixture(scope="module")
def seed(airflow: AirflowServer) -> Seed:
    """7 runs on A (2 success, 1 failed, 4 queued), 3 on B (1 failed), 2 real hello_world_dag runs."""
    seed = Seed(prefix=f"hist_{uuid.uuid4().hex[:8]}")
    with AirflowClient(airflow.base_url, username="admin", password="admin") as c:
        for i in range(7):
            if i == 3:
                time.sleep(1.0)
                seed.middle = datetime.now(timezone.utc)
                time.sleep(1.0)
            seed.a.append(c.trigger_dag_run(A, dag_run_id=f"{seed.prefix}_a{i}", conf={"i": i}).dag_run_id)
        seed.b = [
            c.trigger_dag_run(B, dag_run_id=f"{seed.prefix}_b{i}", note=f"n{i}").dag_run_id for i in range(3)
        ]
        for run_id, state in [(seed.a[0], "success"), (seed.a[1], "failed"), (seed.a[4], "success")]:
            c.set_dag_run_state(A, run_id, state)
        c.set_dag_run_state(B, seed.b[0], "failed")
        hello = [c.trigger_dag_run("hello_world_dag", dag_run_id=f"{seed.prefix}_h{i}") for i in range(2)]
        finished = c.wait_for_dag_runs(hello, poll_frequency=1.0, timeout=300.0)
        assert [r.state for r in finished] == [DagRunState.SUCCESS] * 2
        seed.hello = [r.dag_run_id for r in hello]
    return seed


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pagination, "PAGE_SIZE", 2)


class Watched(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """The network as a client of these tests sees it (its ``transport=``, sync or async): every
    request goes to each open watch list. ``cursors = False`` makes Airflow look like a server
    without cursor pagination (Airflow 3 < 3.3): no cursor is sent, no ``next_cursor`` comes back."""

    def __init__(self) -> None:
        limits = httpx.Limits(max_connections=10, max_keepalive_connections=10)  # the client's default
        self.network = httpx.HTTPTransport(limits=limits)
        self.async_network = httpx.AsyncHTTPTransport(limits=limits)
        self.watches: list[list[httpx.Request]] = []
        self.cursors = True
        self._lock = threading.Lock()  # the sync client sends from several threads
        self.in_flight = 0
        self.most_in_flight = 0  # the most requests sent and not yet answered at once
        #: (sent at, answered at, request) of every request answered, on ``time.monotonic``
        self.timeline: list[tuple[float, float, httpx.Request]] = []

    @contextmanager
    def _flying(self, request: httpx.Request) -> Iterator[None]:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        sent = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1
                self.timeline.append((sent, time.monotonic(), request))

    def _sending(self, request: httpx.Request) -> None:
        if not self.cursors and "cursor" in request.url.params:
            request.url = request.url.copy_remove_param("cursor")
        for watch in self.watches:
            watch.append(request)

    def _received(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        body = response.json() if "json" in response.headers.get("content-type", "") else None
        if not isinstance(body, dict) or "next_cursor" not in body:  # the body as read: decoded already
            headers = {
                k: v for k, v in response.headers.items() if k not in ("content-encoding", "content-length")
            }
            return httpx.Response(
                response.status_code, headers=headers, content=response.content, request=request
            )
        body.pop("next_cursor")
        return httpx.Response(response.status_code, json=body, request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._sending(request)
        with self._flying(request):
            response = self.network.handle_request(request)
            response.read()
        return response if self.cursors else self._received(request, response)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._sending(request)
        with self._flying(request):
            response = await self.async_network.handle_async_request(request)
            await response.aread()
        return response if self.cursors else self._received(request, response)

    def close(self) -> None:
        self.network.close()

    async def aclose(self) -> None:
        await self.async_network.aclose()


#: the watched transport of each client these tests opened
_NETWORK: dict[int, Watched] = {}


@contextmanager
def watched_client(mode: str, base_url: str, **kwargs: Any) -> Iterator[Any]:
    """:func:`open_client` whose requests :func:`_requests` can see."""
    network = Watched()
    with open_client(mode, base_url, transport=network, **kwargs) as client:
        _NETWORK[id(client)] = network
        try:
            yield client
        finally:
            del _NETWORK[id(client)]


@pytest.fixture(params=["sync", "async"])
def client(
    request: pytest.FixtureRequest, airflow: AirflowServer, credentials: dict[str, str]
) -> Iterator[Any]:
    """The sync client, then the async one (as in conftest.py), watched."""
    with watched_client(request.param, airflow.base_url, **credentials) as c:
        yield c


def _requests(client: Any) -> list[httpx.Request]:
    """Every request the client sends from now on."""
    sent: list[httpx.Request] = []
    _NETWORK[id(client)].watches.append(sent)
    return sent


def _api_requests(sent: list[httpx.Request]) -> list[httpx.Request]:
    return [r for r in sent if "/api/" in r.url.path]  # not the login of Airflow 3


def _value(value: Any) -> Any:
    return None if value is None or value is pd.NaT or value is pd.NA else value


def _assert_rows_match(frame: pd.DataFrame, models: list[Any], columns: list[str]) -> None:
    by_id = {(m.dag_run_id, getattr(m, "task_id", None), getattr(m, "map_index", None)): m for m in models}
    assert len(frame) == len(models)
    for row in frame.to_dict("records"):
        model = by_id[(row["dag_run_id"], row.get("task_id"), row.get("map_index"))]
        for name in columns:
            expected, got = getattr(model, name), _value(row[name])
            if name == "state":
                expected = None if expected is None else str(expected)
            if isinstance(got, (pd.Timestamp, pd.Timedelta)):
                got = got.to_pytimedelta() if isinstance(got, pd.Timedelta) else got.to_pydatetime()
            assert got == expected, (name, row["dag_run_id"], got, expected)


def test_dag_runs_view_matches_the_api(client: Any, seed: Seed, small_pages: None) -> None:
    sent = _requests(client)
    frame = client.dag_runs(A)
    assert list(frame.columns) == DAG_RUNS.names
    assert dict(frame.dtypes) == DAG_RUNS.dtypes
    assert str(frame["run_after"].dtype) == "datetime64[us, UTC]"
    assert str(frame["duration"].dtype) == "timedelta64[us]"
    assert isinstance(frame["state"].dtype, pd.CategoricalDtype)
    mine = seed.mine(frame)
    assert list(mine["dag_run_id"]) == seed.a  # canonical order: by run_after
    assert len(sent) >= 4  # PAGE_SIZE=2: the export crossed several pages
    models = [r for r in client.list_dag_runs(A) if r.dag_run_id.startswith(seed.prefix)]
    _assert_rows_match(mine, models, DAG_RUNS.names)
    assert list(mine["state"].astype(str)) == [
        "success",
        "failed",
        "queued",
        "queued",
        "success",
        "queued",
        "queued",
    ]
    assert [c["i"] for c in mine["conf"]] == list(range(7))
    assert mine.loc[0, "end_date"] is not pd.NaT and mine.loc[0, "end_date"].tzinfo is not None


def test_dag_runs_filters_are_applied(client: Any, seed: Seed, small_pages: None) -> None:
    assert seed.middle is not None
    late_success = seed.mine(client.dag_runs(A, state="success", since=seed.middle))
    assert list(late_success["dag_run_id"]) == [seed.a[4]]
    early = seed.mine(client.dag_runs(A, until=seed.middle))
    assert list(early["dag_run_id"]) == seed.a[:3]
    failed_both = seed.mine(client.dag_runs([A, B], state=["failed"]))
    assert sorted(failed_both["dag_run_id"]) == sorted([seed.a[1], seed.b[0]])
    both = seed.mine(client.dag_runs([A, B]))
    assert set(both["dag_run_id"]) == set(seed.a + seed.b)
    assert list(seed.mine(client.dag_runs(B))["note"]) == ["n0", "n1", "n2"]
    everything = seed.mine(client.dag_runs())
    assert set(seed.a + seed.b + seed.hello) <= set(everything["dag_run_id"])
    assert len(client.dag_runs(A, limit=3)) == 3
    empty = client.dag_runs(A, state="running", since=datetime(2999, 1, 1, tzinfo=timezone.utc))
    assert empty.empty and dict(empty.dtypes) == DAG_RUNS.dtypes and list(empty.columns) == DAG_RUNS.names


def test_task_instances_view_matches_the_api(client: Any, seed: Seed, small_pages: None) -> None:
    frame = client.task_instances("hello_world_dag")
    assert list(frame.columns) == TASK_INSTANCES.names
    assert dict(frame.dtypes) == TASK_INSTANCES.dtypes
    mine = seed.mine(frame)
    assert len(mine) == 6
    models = [ti for run_id in seed.hello for ti in client.list_task_instances("hello_world_dag", run_id)]
    _assert_rows_match(mine, models, TASK_INSTANCES.names)
    assert (mine["duration"] > pd.Timedelta(0)).all()
    assert (mine["try_number"] >= 1).all() and (mine["map_index"] == -1).all()
    one = client.task_instances("hello_world_dag", seed.hello[0], state="success")
    assert sorted(one["task_id"]) == ["print_conf", "say_hello", "sleep_a_bit"]
    states = mine.airflow.task_states()
    assert states.shape == (2, 3) and (states == "success").all().all()
    slowest = mine.airflow.slowest_tasks(3)
    assert slowest["p95_duration"].is_monotonic_decreasing and list(slowest["tries"]) == [2, 2, 2]
    sleeper = mine[mine["task_id"] == "sleep_a_bit"]["duration"]
    assert slowest.loc[("hello_world_dag", "sleep_a_bit"), "max_duration"] == sleeper.max()
    assert sleeper.min() >= pd.Timedelta(seconds=3)  # the task sleeps 3 s
    none = client.task_instances("hello_world_dag", seed.hello[0], state="failed")
    assert none.empty and dict(none.dtypes) == TASK_INSTANCES.dtypes


def test_task_instances_of_several_dags_equal_the_per_dag_frames(
    client: Any, seed: Seed, airflow: AirflowServer, credentials: dict[str, str]
) -> None:
    """A list of DAGs and every DAG give the per-DAG frames one after the other (the rows of this
    module's runs: other tests add runs meanwhile). Airflow 3.3: one cursor stream per DAG, at most
    ``min(8, max_connections)`` at once (every DAG: the DAG list, and one count of ``~``); Airflow 2:
    the batch endpoint for a list, the pages of ``~`` for every DAG."""
    dags = ["hello_world_dag", B, A]
    per_dag = [seed.mine(client.task_instances(dag)) for dag in sorted(dags)]
    expected = pd.concat(per_dag, ignore_index=True)
    assert [len(frame) for frame in per_dag] == [6, 7, 3]  # 2 runs x 3 tasks; 7 and 3 runs x 1 task
    sent = _requests(client)
    several = client.task_instances(dags)
    several_requests = _api_requests(list(sent))
    held = _total_task_instances(airflow, credentials)
    every = client.task_instances()
    now = _total_task_instances(airflow, credentials)
    assert list(several.columns) == TASK_INSTANCES.names and dict(several.dtypes) == TASK_INSTANCES.dtypes
    pd.testing.assert_frame_equal(seed.mine(several), expected)
    pd.testing.assert_frame_equal(seed.mine(every), expected)
    assert set(several["dag_id"]) <= set(dags)
    # every page was read (2.10.5 sends ``~``'s in one page, whatever the limit): one row per try,
    # so as many distinct task instances as the server held, or more if it gained some
    distinct = every.drop_duplicates(["dag_id", "dag_run_id", "task_id", "map_index"])
    assert held <= len(distinct) <= now
    requests = _api_requests(sent)
    every_requests = requests[len(several_requests) :]

    def lists(sent: list[httpx.Request]) -> list[httpx.Request]:
        return [r for r in sent if r.url.path.endswith(("/taskInstances", "/taskInstances/list"))]

    tilde = [r for r in lists(every_requests) if r.url.path.endswith("/dags/~/dagRuns/~/taskInstances")]
    if airflow.api_version == "v1":
        batch = [json.loads(r.content) for r in lists(several_requests) if r.url.path.endswith("/list")]
        assert batch and all(body["dag_ids"] == dags for body in batch)
        assert tilde and tilde == lists(every_requests)
        return
    assert not any(r.method == "POST" for r in requests)
    paths = {f"/api/v2/dags/{dag}/dagRuns/~/taskInstances" for dag in dags}
    assert {r.url.path for r in lists(several_requests)} == paths
    streams = {r.url.path for r in lists(every_requests) if "cursor" in r.url.params}
    assert paths <= streams and "/api/v2/dags/~/dagRuns/~/taskInstances" not in streams
    assert [r.url.params.get("limit") for r in tilde] == ["1"]  # one count of ``~``, no page of it
    assert any(r.url.path == "/api/v2/dags" for r in every_requests)  # the DAG list
    # a client allowed 2 connections never has more than 2 requests in flight, and the same frame
    with watched_client("sync", airflow.base_url, max_connections=2, **credentials) as gentle:
        network = _NETWORK[id(gentle)]
        pd.testing.assert_frame_equal(seed.mine(gentle.task_instances()), expected)
        assert network.most_in_flight <= 2


def test_task_instances_of_several_dags_are_filtered_by_airflow(
    client: Any, seed: Seed, small_pages: None
) -> None:
    dags, states = [A, B, "hello_world_dag"], ["success", "skipped"]
    # the window of this module's runs from ``middle`` on (other tests write to these DAGs meanwhile)
    until = seed.mine(client.dag_runs(dags))["run_after"].max().to_pydatetime()
    sent = _requests(client)
    mine = seed.mine(client.task_instances(dags, state=states, since=seed.middle, until=until))
    sent = _api_requests(list(sent))  # those of this export only
    # runs due after ``middle``: a3..a6, b0..b2 and the two hello_world_dag runs (3 successful tasks
    # each); a0..a2 are older, though a0's and a1's task instances are in those states too (marking a
    # run success or failed sets its task instances success or skipped)
    late = set(seed.a[3:] + seed.b + seed.hello)
    per_dag = pd.concat([seed.mine(client.task_instances(d)) for d in sorted(dags)], ignore_index=True)
    expected = per_dag[per_dag["dag_run_id"].isin(late) & per_dag["state"].isin(states)]
    pd.testing.assert_frame_equal(mine, expected.reset_index(drop=True))
    assert set(seed.hello) <= set(mine["dag_run_id"]) and len(mine) >= 6
    early = per_dag[per_dag["dag_run_id"].isin(seed.a[:2])]
    assert early["state"].isin(states).all() and not early.empty  # what since= (not state=) left out
    field = "run_after" if client.get_version().api_version == "v2" else "execution_date"
    assert seed.middle is not None
    if field == "run_after":  # Airflow 3.3: one cursor stream per DAG, each with the filters
        streams = [r for r in sent if r.url.path.endswith("/taskInstances")]
        assert {r.url.path for r in streams} == {f"/api/v2/dags/{d}/dagRuns/~/taskInstances" for d in dags}
        assert len(streams) > len(dags)  # pages of 2 (PAGE_SIZE patched): every page read
        for request in streams:
            assert request.url.params.get_list("state") == states
            assert datetime.fromisoformat(request.url.params[f"{field}_gte"]) == seed.middle
            assert datetime.fromisoformat(request.url.params[f"{field}_lte"]) == until
        return
    bodies = [json.loads(r.content) for r in sent if r.url.path.endswith("/taskInstances/list")]
    assert len(bodies) > 1  # pages of 2 (PAGE_SIZE patched): every page read, in order
    assert sorted(body["page_offset"] for body in bodies) == list(range(0, 2 * len(bodies), 2))
    for body in bodies:
        assert (body["dag_ids"], body["state"]) == (dags, states)
        assert datetime.fromisoformat(body[f"{field}_gte"]) == seed.middle
        assert datetime.fromisoformat(body[f"{field}_lte"]) == until


@pytest.fixture(scope="module")
def retried(airflow: AirflowServer) -> str:
    """A hello_world_dag run that ran twice (cleared once finished): every task has tries 1 and 2."""
    run_id = f"histtry_{uuid.uuid4().hex[:8]}"
    with AirflowClient(airflow.base_url, username="admin", password="admin") as c:
        c.trigger_dag_run("hello_world_dag", dag_run_id=run_id)
        assert c.wait_for_dag_run("hello_world_dag", run_id, timeout=300.0).state == DagRunState.SUCCESS
        c.clear_dag_run("hello_world_dag", run_id)
        assert c.wait_for_dag_run("hello_world_dag", run_id, timeout=300.0).state == DagRunState.SUCCESS
    return run_id


def _expected(name: str, raw: dict[str, Any]) -> Any:
    value = raw.get(name)
    if value is None:
        return None
    if name in ("start_date", "end_date"):
        return pd.Timestamp(value).tz_convert("UTC")
    if name == "duration":
        return pd.Timedelta(seconds=value).round("us")
    return value


def test_task_instances_has_one_row_per_try(
    client: Any, airflow: AirflowServer, credentials: dict[str, str], retried: str, small_pages: None
) -> None:
    sent = _requests(client)
    frame = client.task_instances("hello_world_dag", retried)
    assert list(frame.columns) == TASK_INSTANCES.names
    assert dict(frame.dtypes) == TASK_INSTANCES.dtypes
    tasks = ["print_conf", "say_hello", "sleep_a_bit"]
    assert list(zip(frame["task_id"], frame["try_number"], strict=True)) == [
        (t, n) for t in tasks for n in (1, 2)
    ]
    tries = [r for r in _api_requests(sent) if r.url.path.endswith("/tries")]
    assert sorted(r.url.path.split("/")[-2] for r in tries) == tasks  # one per task instance retried
    # every value equals what Airflow's own tries endpoint answered for that try
    with AirflowClient(airflow.base_url, **credentials) as raw:
        version = raw.get_version().api_version
        for task in tasks:
            path = f"/dags/hello_world_dag/dagRuns/{retried}/taskInstances/{task}/tries"
            body = raw.execute(raw._call("GET", path, action="reading tries"))
            answered = {t["try_number"]: t for t in body["task_instances"]}
            assert sorted(answered) == [1, 2], version
            for row in frame[frame["task_id"] == task].to_dict("records"):
                expected = answered[row["try_number"]]
                for name in TASK_INSTANCES.names:
                    if name == "state":
                        assert str(row[name]) == expected["state"] == "success"
                    else:
                        assert _value(row[name]) == _expected(name, expected), (task, name)
    first, second = (frame[frame["try_number"] == n].reset_index(drop=True) for n in (1, 2))
    assert (first["end_date"] < second["start_date"]).all()  # two real, successive executions
    assert client.task_instances("hello_world_dag", retried, state="success").equals(frame)
    states = frame.airflow.task_states()
    assert list(states.columns) == tasks and (states == "success").all().all()
    assert list(frame.airflow.slowest_tasks()["tries"]) == [2, 2, 2]
    latest_only = client.task_instances("hello_world_dag", retried, limit=1)
    assert list(latest_only["try_number"]) == [1, 2] and latest_only["task_id"].nunique() == 1


def _force_offsets(client: Any) -> None:
    """Make the client page by offsets, as against a server without cursors (Airflow 3 < 3.3)."""
    client.get_version()
    _NETWORK[id(client)].cursors = False


def test_offset_pages_are_fetched_concurrently(
    client: Any, seed: Seed, small_pages: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without cursors: the first page tells the total, the others come 4 at a time; same rows."""
    _force_offsets(client)
    target = getattr(client, "_client", client)

    def raw_rows() -> tuple[list[str], list[httpx.Request]]:
        sent = _requests(client)
        op = pagination.pages(
            target, f"/dags/{A}/dagRuns", "dag_runs", action="export", params={}, limit=None
        )
        rows = client.execute(op)
        return [r["dag_run_id"] for r in rows], _api_requests(sent)

    concurrent, sent = raw_rows()
    monkeypatch.setattr(pagination, "PAGE_CONCURRENCY", 1)
    sequential, _ = raw_rows()
    assert concurrent == sequential  # same rows, same order
    assert set(seed.a) <= set(concurrent) and len(set(concurrent)) == len(concurrent)
    assert len(sent) == math.ceil(len(concurrent) / 2)  # no empty page, no page twice
    offsets = sorted(int(r.url.params.get("offset", 0)) for r in sent)  # the first asks for a cursor
    assert offsets == list(range(0, len(concurrent), 2))
    monkeypatch.setattr(pagination, "PAGE_CONCURRENCY", 4)
    frame = client.dag_runs(A)
    many = client.dag_runs([A, B])  # the batch POST endpoint pages the same way
    monkeypatch.setattr(pagination, "PAGE_SIZE", 1000)
    pd.testing.assert_frame_equal(frame, client.dag_runs(A))
    pd.testing.assert_frame_equal(many, client.dag_runs([A, B]))
    assert list(seed.mine(frame)["dag_run_id"]) == seed.a


def test_dags_view(client: Any) -> None:
    dags = client.dags().set_index("dag_id")
    assert {A, B, "hello_world_dag"} <= set(dags.index)
    assert bool(dags.loc[A, "is_paused"]) is True
    assert sorted(dags.loc[A, "tags"]) == ["history", "sdk-test"]
    assert str(dags["last_parsed_time"].dtype) == "datetime64[us, UTC]"
    model = client.get_dag(A)
    assert dags.loc[A, "owners"] == model.owners


def test_summary_and_failures(client: Any, seed: Seed) -> None:
    runs = seed.mine(client.dag_runs([A, B]))
    summary = runs.airflow.summary()
    assert list(summary.loc[A, ["runs", "success", "failed"]]) == [7, 2, 1]
    assert summary.loc[A, "success_rate"] == pytest.approx(2 / 3)
    assert summary.loc[B, "success_rate"] == 0.0
    assert summary.loc[A, "last_state"] == "queued"
    failures = runs.airflow.failures(since=seed.middle)  # marked failed after all runs were created
    assert set(failures["dag_run_id"]) == {seed.a[1], seed.b[0]}
    assert runs.airflow.failures(until=seed.middle).empty


def test_incremental_refresh_equals_a_full_export(
    client: Any, airflow: AirflowServer, credentials: dict[str, str], seed: Seed, tmp_path: Path
) -> None:
    file = tmp_path / "runs.parquet"
    first = client.run_history([A, B], path=file)
    assert first.equals(client.dag_runs([A, B]))
    prefix = f"{seed.prefix}_inc{uuid.uuid4().hex[:4]}"
    with AirflowClient(airflow.base_url, **credentials) as writer:
        added = [
            writer.trigger_dag_run(A, dag_run_id=f"{prefix}_{i}", conf={"new": i}).dag_run_id
            for i in range(3)
        ]
        writer.set_dag_run_state(A, added[0], "success")
        writer.set_dag_run_state(B, seed.b[1], "success")  # an old run changes
    everything = _requests(client)
    refreshed = client.run_history([A, B], path=file)
    assert len(_api_requests(everything)) == 1  # only the runs updated since the last sync were asked for
    full = client.dag_runs([A, B])
    pd.testing.assert_frame_equal(refreshed, full)
    assert set(added) <= set(refreshed["dag_run_id"])
    assert refreshed.set_index("dag_run_id").loc[seed.b[1], "state"] == "success"
    # a new client (a restarted notebook) refreshes from the file, row for row again
    with watched_client("sync", airflow.base_url, **credentials) as fresh:
        fresh_sent = _requests(fresh)
        reloaded = fresh.run_history([A, B], path=file)
        assert len([r for r in fresh_sent if "dagRuns" in r.url.path]) == 1
    pd.testing.assert_frame_equal(reloaded, full)
    succeeded = client.run_history([A, B], state="success")
    assert set(succeeded["state"].astype(str)) == {"success"}
    pd.testing.assert_frame_equal(succeeded, client.dag_runs([A, B], state="success"))


def _mark_all(base_url: str, credentials: dict[str, str], runs: list[tuple[str, str]], delay: float) -> None:
    time.sleep(delay)
    with AirflowClient(base_url, **credentials) as writer:
        for i, (dag_id, run_id) in enumerate(runs):
            writer.set_dag_run_state(dag_id, run_id, "failed" if i % 10 == 0 else "success")


def _poll_ticks(network: Watched, dag_id: str, poll_frequency: float) -> int:
    """How many list requests (first pages) polled the runs of ``dag_id``; each one a tick of its own.

    A client's waiters on a DAG share one poll per tick: a poll starts ``poll_frequency`` or more
    after the previous poll of that DAG ended (as the client's monotonic clock and this one tell),
    so no waiter sends a list request of its own in between. Asserted from when each list page was
    sent and answered: a slow server or machine only makes the gaps longer.
    """
    lists = sorted(
        (sent, answered, request)
        for sent, answered, request in network.timeline
        if request.method == "GET" and request.url.path.endswith(f"/dags/{dag_id}/dagRuns")
    )
    first = [(sent, request) for sent, _, request in lists if _first_page(request)]
    for (before, _), (sent, request) in itertools.pairwise(first):
        # every page of the previous poll was answered, then the waiters paused (asyncio's timers
        # may fire a clock resolution early: a millisecond is far more)
        previous = max(answered for s, answered, _ in lists if before <= s < sent)
        assert sent - previous >= poll_frequency - 0.001, (
            f"a list request of {dag_id} outside a tick: {request.url}"
        )
    return len(first)


def _total_task_instances(airflow: AirflowServer, credentials: dict[str, str]) -> int:
    """How many task instances the server holds (``total_entries`` of ``~/dagRuns/~/taskInstances``)."""
    auth: dict[str, Any]
    if airflow.api_version == "v2":
        token = httpx.post(f"{airflow.base_url}/auth/token", json=credentials, timeout=60)
        token.raise_for_status()
        auth = {"headers": {"Authorization": f"Bearer {token.json()['access_token']}"}}
    else:
        auth = {"auth": (credentials["username"], credentials["password"])}
    url = f"{airflow.base_url}/api/{airflow.api_version}/dags/~/dagRuns/~/taskInstances"
    page = httpx.get(url, params={"limit": 1}, timeout=60, **auth)
    page.raise_for_status()
    return int(page.json()["total_entries"])


def _first_page(request: httpx.Request) -> bool:
    """Whether a list request asks for a list's first page (no offset past 0, no cursor yet)."""
    return request.url.params.get("offset", "0") == "0" and not request.url.params.get("cursor")


def _trigger_on_both_dags(client: AirflowClient, prefix: str, per_dag: int) -> list[tuple[str, str]]:
    """``per_dag`` runs of A, then of B, with run ids from ``prefix``: their (DAG id, run id) pairs."""
    return [
        (dag, client.trigger_dag_run(dag, dag_run_id=f"{prefix}_{dag[-1]}{i}").dag_run_id)
        for dag in (A, B)
        for i in range(per_dag)
    ]


def test_concurrent_waits_share_one_poll_per_dag(airflow: AirflowServer, credentials: dict[str, str]) -> None:
    """100 asyncio.gather'ed wait_for_dag_run on one DAG: one list request per poll tick."""
    prefix = f"hist_wait_{uuid.uuid4().hex[:8]}"
    with AirflowClient(airflow.base_url, **credentials) as c:
        runs = [(B, c.trigger_dag_run(B, dag_run_id=f"{prefix}_{i}").dag_run_id) for i in range(100)]
    network = Watched()

    async def wait_all() -> tuple[list[DagRun], list[httpx.Request]]:
        # wait_streams=0: every wait polls, batched (Airflow 3.1+ would stream the first few: "Waits
        # that stream", tested in test_wait_stream.py)
        async with AsyncAirflowClient(
            airflow.base_url, **credentials, transport=network, wait_streams=0
        ) as client:
            await client.get_version()
            sent: list[httpx.Request] = []
            network.watches.append(sent)
            marker = threading.Thread(target=_mark_all, args=(airflow.base_url, credentials, runs, 1.5))
            marker.start()
            waits = [client.wait_for_dag_run(d, r, poll_frequency=0.5, timeout=240.0) for d, r in runs]
            finished = await asyncio.gather(*waits)
            marker.join()
            return finished, sent

    finished, everything = asyncio.run(wait_all())
    sent = _api_requests(everything)
    assert [r.dag_run_id for r in finished] == [r for _, r in runs]
    assert [str(r.state) for r in finished] == ["failed" if i % 10 == 0 else "success" for i in range(100)]
    # one list per tick, for the 100 waiters together: a list's later pages (more than a page of runs
    # changed within the overlap window, which depends on how fast the server marks them) are not
    # more lists, and the runs were marked after the first tick
    assert _poll_ticks(network, B, poll_frequency=0.5) >= 2
    polls = [r for r in sent if r.url.path.endswith(f"/dags/{B}/dagRuns") and r.method == "GET"]
    # a run is read on its own only if it finished before its first look (how many did depends on
    # how fast the server marks them): once each at most, and nothing like one read per wait and tick
    # (and the DAG is read when a run stays queued: is it paused?)
    dag = f"/api/{airflow.api_version}/dags/{B}"
    singles = [r.url.path for r in sent if r not in polls and r.url.path != dag]
    assert all(path.startswith(f"{dag}/dagRuns/") for path in singles), singles
    assert len(singles) == len(set(singles)) < 10, singles


def test_wait_for_dag_runs_polls_per_dag(
    client: Any, airflow: AirflowServer, credentials: dict[str, str]
) -> None:
    prefix = f"hist_waits_{uuid.uuid4().hex[:8]}"
    with AirflowClient(airflow.base_url, **credentials) as c:
        runs = _trigger_on_both_dags(c, prefix, 5)
        c.set_dag_run_state(A, runs[0][1], "success")  # already final before the wait starts
    client.get_version()
    everything = _requests(client)
    marker = threading.Thread(target=_mark_all, args=(airflow.base_url, credentials, runs[1:], 1.0))
    marker.start()
    finished = client.wait_for_dag_runs(
        [runs[0], *(DagRun(dag_id=d, dag_run_id=r) for d, r in runs[1:])], poll_frequency=0.5, timeout=120.0
    )
    marker.join()
    assert [(r.dag_id, r.dag_run_id) for r in finished] == runs
    assert all(r.state is not None and r.state.is_final for r in finished)
    sent = _api_requests(everything)
    singles = [r for r in sent if "/dagRuns/" in r.url.path]
    # at most the run that was final before the wait began is read on its own
    assert {r.url.path.rsplit("/", 1)[-1] for r in singles} <= {runs[0][1]}
    ticks = _poll_ticks(_NETWORK[id(client)], A, poll_frequency=0.5) + _poll_ticks(
        _NETWORK[id(client)], B, poll_frequency=0.5
    )
    assert len(sent) - len(singles) <= 2 * ticks  # one list per DAG and tick, of one or two pages


class Stamped(httpx.BaseTransport):
    """The network of a sync client on virtual time: each request is stamped with the client's
    clock, and what is due by that time happens first (another client marking runs)."""

    def __init__(self, clock: Callable[[], float], due: list[tuple[float, Callable[[], None]]]) -> None:
        self.network = httpx.HTTPTransport()
        self.clock, self.due = clock, sorted(due, key=lambda item: item[0])
        self.sent: list[tuple[float, httpx.Request]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        now = self.clock()
        while self.due and self.due[0][0] <= now:
            self.due.pop(0)[1]()
        self.sent.append((now, request))
        return self.network.handle_request(request)

    def close(self) -> None:
        self.network.close()


def test_waits_on_two_dags_send_one_list_request_per_dag_per_tick(
    airflow: AirflowServer, credentials: dict[str, str]
) -> None:
    """wait_for_dag_runs of 60 runs over 2 DAGs on virtual time against the real server: exactly one
    list request per DAG per 5 s tick; runs marked final just before the 30-s reconcile are seen on
    the tick after it; no run is read on its own."""
    prefix = f"hist_ticks_{uuid.uuid4().hex[:8]}"
    with AirflowClient(airflow.base_url, **credentials) as c:
        runs = _trigger_on_both_dags(c, prefix, 30)

    def mark(part: int) -> Callable[[], None]:
        return lambda: _mark_all(airflow.base_url, credentials, runs[part::3], 0.0)

    clock = VirtualClock()
    # a third of the runs before the tick of 10 s, one before the reconcile of 30 s, one before 45 s
    network = Stamped(clock.monotonic, [(10.0, mark(0)), (RECONCILE_EVERY, mark(1)), (45.0, mark(2))])
    with VirtualTimeClient(airflow.base_url, **credentials, transport=network, clock=clock) as client:
        finished = client.wait_for_dag_runs(runs, poll_frequency=5.0, timeout=600.0, if_paused="ignore")
    assert [(r.dag_id, r.dag_run_id) for r in finished] == runs
    assert all(r.state is not None and r.state.is_final for r in finished)
    lists: Counter[tuple[str, float, str]] = Counter()
    for at, request in network.sent:
        path = request.url.path
        assert "/dagRuns/" not in path, f"a run was read on its own at {at}s: {path}"
        if request.method == "GET" and path.endswith("/dagRuns") and _first_page(request):
            # (a list's later pages, when other tests' runs changed within the window too, are the
            # same list)
            kind = "changed" if "updated_at_gte" in request.url.params else "unfinished"
            lists[(path.split("/")[-2], at, kind)] += 1
    ticks = [(t, "unfinished" if t in (0.0, RECONCILE_EVERY) else "changed") for t in range(0, 50, 5)]
    assert lists == Counter({(dag, float(t), kind): 1 for dag in (A, B) for t, kind in ticks})


def test_full_export_reads_one_stream_per_dag_and_equals_the_plain_export(
    client: Any, airflow: AirflowServer, seed: Seed
) -> None:
    """dag_runs() of several DAGs and of every DAG: on Airflow 3.3 one cursor stream per DAG (plus the
    DAG list and one count of ``~``), pages straight into columns; the same frame as the plain export
    (every row as a dict, then the frame) of the same runs, dtypes included. Airflow 2: offset pages."""
    from kestra_airflow_sdk.airflow.fetch import RunQuery, fetch_runs
    from kestra_airflow_sdk.history.frames import runs_frame

    target = getattr(client, "_client", client)
    for query, dag_id in ((RunQuery(dag_ids=(A, B)), [A, B]), (RunQuery(), None)):
        sent = _requests(client)
        frame = client.dag_runs(dag_id)
        requests = _api_requests(sent)
        plain = runs_frame(client.execute(fetch_runs(target, query)))
        assert dict(frame.dtypes) == DAG_RUNS.dtypes
        pd.testing.assert_frame_equal(seed.mine(frame), seed.mine(plain))
        assert set(seed.a + seed.b) <= set(frame["dag_run_id"])
        lists = [r for r in requests if r.url.path.endswith("/dagRuns") or r.url.path.endswith("/list")]
        if airflow.api_version == "v2":
            streams = {r.url.path for r in lists if "cursor" in r.url.params}
            assert {f"/api/v2/dags/{A}/dagRuns", f"/api/v2/dags/{B}/dagRuns"} <= streams
            assert "/api/v2/dags/~/dagRuns" not in streams  # every run was read from its DAG's stream
            assert not any(r.method == "POST" for r in requests)
            if dag_id is None:  # the DAG list and one exact count of ``~`` (offset pagination)
                assert [r.url.params.get("limit") for r in lists if "/~/" in r.url.path] == ["1"]
                assert any(r.url.path == "/api/v2/dags" for r in requests)
        else:
            assert all("/~/" in r.url.path and "cursor" not in r.url.params for r in lists)
