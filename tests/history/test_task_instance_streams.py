"""``client.task_instances()`` of every DAG or of several on Airflow 3.3 (fake): one cursor stream per
DAG, at most ``min(EXPORT_STREAMS, max_connections)`` at once, the filters on every stream, the DAG
list checked against one count of ``~``, and a clear SDK error when a DAG's stream fails."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pandas as pd
import pytest

from kestra_airflow_sdk import AsyncAirflowClient
from kestra_airflow_sdk.airflow import ApiError
from kestra_airflow_sdk.airflow.fetch import EXPORT_STREAMS
from tests.fake_airflow import FAST, FakeTaskInstances
from tests.history.test_export_streams import InFlight, ListingAirflow
from tests.virtual_time import VirtualTimeClient

DAY = datetime(2026, 3, 1, tzinfo=timezone.utc)
TI_LIST = "/dagRuns/~/taskInstances"


def _seeded(dags: int, runs: int, *, listed: list[str] | None = None) -> FakeTaskInstances:
    """``dags`` DAGs of ``runs`` runs (one a day) of 2 tasks, one of them retried on odd days; pages of 4."""
    fake = ListingAirflow(api="v2", cursor=True, max_page=4, default_script=None, listed=listed)
    tis = FakeTaskInstances(fake)
    for d in range(dags):
        dag = f"dag_{d:02d}"
        fake.scripts[dag] = ["success"]
        for day in range(runs):
            due = DAY + timedelta(days=day)
            tis.add(dag, f"{dag}_run{day}", "extract", due, "success")
            tis.add(dag, f"{dag}_run{day}", "load", due, *(["failed", "success"] if day % 2 else ["failed"]))
    return tis


OPTIONS: dict[str, Any] = dict(username="u", password="p", api_version="v2", retry=FAST)


def _client(handler: Any) -> VirtualTimeClient:
    """A sync client on ``handler`` (retry back-off on virtual time)."""
    return VirtualTimeClient("http://airflow.test", transport=httpx.MockTransport(handler), **OPTIONS)


def _async_client(handler: Any, **kwargs: Any) -> AsyncAirflowClient:
    return AsyncAirflowClient(
        "http://airflow.test", transport=httpx.MockTransport(handler), **OPTIONS, **kwargs
    )


def _dag_of(request: httpx.Request) -> str | None:
    """The DAG of a task instance list request (``~`` for every DAG), None for other requests."""
    path = request.url.path.removeprefix("/api/v2/dags/")
    return path.split("/")[0] if path.endswith(TI_LIST) else None


def _per_dag(tis: FakeTaskInstances, dags: list[str], **filters: Any) -> pd.DataFrame:
    with _client(tis) as client:
        frames = [client.task_instances(dag, **filters) for dag in dags]
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_every_dag_is_one_cursor_stream_per_dag(mode: str) -> None:
    tis = _seeded(dags=5, runs=5)
    expected = _per_dag(tis, [f"dag_{d:02d}" for d in range(5)])
    tis.fake.requests.clear()
    if mode == "sync":
        with _client(tis) as client:
            every = client.task_instances()
    else:

        async def main() -> pd.DataFrame:
            async with _async_client(tis) as client:
                return await client.task_instances()

        every = asyncio.run(main())
    pd.testing.assert_frame_equal(every, expected)
    assert len(every) == 5 * (10 + 2)  # 10 task instances per DAG, and load's earlier try on days 1 and 3
    lists = [r for r in tis.fake.requests if _dag_of(r) is not None]
    streams = [r for r in lists if _dag_of(r) != "~"]
    # 10 task instances per DAG in cursor pages of 4: 3 pages each, the last one short
    assert Counter(map(_dag_of, streams)) == {f"dag_{d:02d}": 3 for d in range(5)}
    assert all("cursor" in r.url.params for r in streams)
    (count,) = [r for r in lists if _dag_of(r) == "~"]  # one exact count of ``~``, no page of it
    assert count.url.params["limit"] == "1" and "cursor" not in count.url.params
    assert [r.url.path for r in tis.fake.requests].count("/api/v2/dags") == 1  # the DAG list


@pytest.mark.parametrize(("max_connections", "bound"), [(2, 2), (3, 3), (50, EXPORT_STREAMS)])
def test_streams_in_flight_stay_within_max_connections(max_connections: int, bound: int) -> None:
    """At most min(EXPORT_STREAMS, max_connections) requests at once, and that many are used."""
    tis = _seeded(dags=20, runs=3)
    flying = InFlight(tis)

    async def main() -> pd.DataFrame:
        async with _async_client(flying, max_connections=max_connections) as client:
            return await client.task_instances()

    frame = asyncio.run(main())
    assert len(frame) == 20 * (6 + 1)
    assert flying.most == bound  # the earlier tries too: 4 at once at most, fewer if max_connections says
    streamed = {_dag_of(r) for r in tis.fake.requests} - {None, "~"}
    assert streamed == {f"dag_{d:02d}" for d in range(20)}


def test_several_dags_stream_each_with_the_filters_and_skip_unknown_ones() -> None:
    tis = _seeded(dags=4, runs=6)
    since, until = DAY + timedelta(days=1), DAY + timedelta(days=4)
    filters: dict[str, Any] = dict(state=["failed", "success"], since=since, until=until)
    expected = _per_dag(tis, ["dag_01", "dag_03"], **filters)
    tis.fake.requests.clear()
    with _client(tis) as client:
        several = client.task_instances(["dag_03", "nope", "dag_01"], **filters)
    pd.testing.assert_frame_equal(several, expected)
    # days 1-4 of 2 DAGs: 2 task instances a day, load's earlier (failed) try on days 1 and 3
    assert len(several) == 2 * (4 * 2 + 2) and set(several["dag_id"]) == {"dag_01", "dag_03"}
    lists = [r for r in tis.fake.requests if _dag_of(r) is not None]
    assert {_dag_of(r) for r in lists} == {"dag_03", "nope", "dag_01"}  # no count of ``~``
    assert "/api/v2/dags" not in [r.url.path for r in tis.fake.requests]  # no DAG list: they were given
    for request in lists:
        assert request.url.params.get_list("state") == ["failed", "success"]
        assert request.url.params["run_after_gte"] == since.isoformat()
        assert request.url.params["run_after_lte"] == until.isoformat()


def test_every_dag_passes_the_filters_on_every_stream_and_the_count() -> None:
    tis = _seeded(dags=3, runs=4)
    until = DAY + timedelta(days=2)
    with _client(tis) as client:
        frame = client.task_instances(state="failed", until=until)
    # latest tries that failed, of runs due on days 0-2: load on days 0 and 2
    assert sorted(zip(frame["dag_run_id"], frame["task_id"], strict=True)) == sorted(
        (f"dag_{d:02d}_run{day}", "load") for d in range(3) for day in (0, 2)
    )
    lists = [r for r in tis.fake.requests if _dag_of(r) is not None]
    assert {_dag_of(r) for r in lists} == {"dag_00", "dag_01", "dag_02", "~"}
    for request in lists:
        assert request.url.params.get_list("state") == ["failed"]
        assert request.url.params["run_after_lte"] == until.isoformat()
        assert "run_after_gte" not in request.url.params


def test_task_instances_of_dags_the_list_misses_are_read_over_tilde() -> None:
    """The streams read fewer task instances than ``~`` counts: ``~`` is read instead, nothing lost
    and nothing twice (the earlier tries of the streams' task instances are forgotten too)."""
    tis = _seeded(dags=3, runs=4, listed=["dag_00", "dag_01"])
    expected = _per_dag(tis, ["dag_00", "dag_01", "dag_02"])
    tis.fake.requests.clear()
    with _client(tis) as client:
        every = client.task_instances()
    pd.testing.assert_frame_equal(every, expected)
    assert len(every) == 3 * (8 + 2)
    tilde = [r for r in tis.fake.requests if _dag_of(r) == "~" and "cursor" in r.url.params]
    assert len(tilde) == 6  # 24 task instances in cursor pages of 4


def test_a_dag_whose_stream_fails_is_a_clear_sdk_error() -> None:
    tis = _seeded(dags=4, runs=6)

    def failing(request: httpx.Request) -> httpx.Response:
        if _dag_of(request) == "dag_02" and request.url.params.get("cursor"):  # its second page, always
            tis.fake.requests.append(request)
            return httpx.Response(503, json={"detail": "database is locked"})
        return tis(request)

    with _client(failing) as client, pytest.raises(ApiError) as raised:
        client.task_instances()
    message = str(raised.value)
    assert message.startswith("Listing task instances of DAG 'dag_02' failed: Airflow answered 503")
    assert message.endswith("database is locked") and raised.value.status == 503
    assert raised.value.path == "/api/v2/dags/dag_02/dagRuns/~/taskInstances"
    assert client.clock.sleeps  # retried (on virtual time) before it gave up


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ({"dag_run_id": "a b", "task_id": "c"}, {"dag_run_id": "a", "task_id": "b c"}),
        (
            {"dag_run_id": "r", "task_id": "t", "map_index": None},
            {"dag_run_id": "r", "task_id": "t", "map_index": -1},
        ),
        ({"dag_run_id": "r", "task_id": "None"}, {"dag_run_id": "r", "task_id": None}),
        (
            {"dag_id": "d", "dag_run_id": "r'", "task_id": "t"},
            {"dag_id": "d", "dag_run_id": "r", "task_id": "'t"},
        ),
    ],
)
def test_the_key_a_stream_keeps_tells_task_instances_apart(
    one: dict[str, Any], other: dict[str, Any]
) -> None:
    from kestra_airflow_sdk.airflow.task_instances import _ti_key

    assert _ti_key(one) != _ti_key(other)
    assert _ti_key(one) == _ti_key(dict(one))
