"""``client.task_instances()`` of one DAG, several or every DAG, on the fake Airflow (v1 and v2, sync
and async): filters sent to Airflow, every page of the clamped batch and list endpoints (or of the
per-DAG cursor streams, tests/history/test_task_instance_streams.py), earlier tries added, and the
frame of several DAGs equal to the per-DAG frames one after the other."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pandas as pd
import pytest

from kestra_airflow_sdk import AirflowClient, AsyncAirflowClient
from kestra_airflow_sdk.airflow import InvalidArgumentError
from kestra_airflow_sdk.airflow.task_instances import (
    _normal_task_instance,
    export_task_instances,
    fetch_task_instances,
)
from kestra_airflow_sdk.history.frames import TaskInstanceColumns, task_instances_frame
from tests.fake_airflow import FAST, FakeTaskInstances
from tests.history.test_export_streams import ListingAirflow

DAY = datetime(2026, 3, 1, tzinfo=timezone.utc)
DAGS = ["alpha", "beta", "gamma"]


def _seeded(api: str, *, cursor: bool = False, max_page: int = 7) -> FakeTaskInstances:
    """3 DAGs x 4 runs (one a day) x 3 tasks, with retries and a mapped task: 48 task instances."""
    fake = ListingAirflow(api=api, cursor=cursor, max_page=max_page, default_script=None)
    fake.scripts.update({dag: ["success"] for dag in DAGS})
    tis = FakeTaskInstances(fake)
    for day in range(4):
        for dag in reversed(DAGS):  # not in dag order: the frame orders them
            run = f"{dag}_run{day}"
            due = DAY + timedelta(days=day)
            tis.add(dag, run, "extract", due, "success")
            tis.add(dag, run, "load", due, *(["failed", "success"] if day % 2 else ["failed"]))
            for index in range(2):
                tis.add(dag, run, "mapped", due, *(["up_for_retry"] * index), "success", map_index=index)
    return tis


def _call(mode: str, tis: FakeTaskInstances, *args: Any, **kwargs: Any) -> pd.DataFrame:
    options: dict[str, Any] = dict(username="u", password="p", api_version=tis.fake.api, retry=FAST)
    if mode == "sync":
        with AirflowClient("http://airflow.test", transport=httpx.MockTransport(tis), **options) as client:
            return client.task_instances(*args, **kwargs)

    async def main() -> pd.DataFrame:
        async with AsyncAirflowClient(
            "http://airflow.test", transport=httpx.MockTransport(tis), **options
        ) as client:
            return await client.task_instances(*args, **kwargs)

    return asyncio.run(main())


def _later(request: httpx.Request) -> bool:
    """Whether a list request asks for a page after the first one (by cursor or offset)."""
    return bool(request.url.params.get("cursor")) or int(request.url.params.get("offset", 0)) > 0


def _lists(tis: FakeTaskInstances) -> list[httpx.Request]:
    return [r for r in tis.fake.requests if r.url.path.endswith(("/taskInstances", "/taskInstances/list"))]


CASES = [("v2", True, "sync"), ("v2", False, "async"), ("v1", False, "sync"), ("v1", False, "async")]


@pytest.mark.parametrize(("api", "cursor", "mode"), CASES)
def test_several_dags_equal_the_per_dag_frames_one_after_the_other(api: str, cursor: bool, mode: str) -> None:
    tis = _seeded(api, cursor=cursor)
    tis.batch_max_page = 5  # a server clamping the batch's page_limit too: every page is still fetched
    per_dag = [_call(mode, tis, dag) for dag in DAGS]
    tis.fake.requests.clear()
    several = _call(mode, tis, ["gamma", "alpha", "beta", "alpha"])
    expected = pd.concat(per_dag, ignore_index=True)
    pd.testing.assert_frame_equal(several, expected)
    pd.testing.assert_frame_equal(_call(mode, tis, None), expected)  # every DAG
    pd.testing.assert_frame_equal(_call(mode, tis, ["beta"]), per_dag[1])
    # 48 task instances + their earlier tries: load failed once on days 1 and 3, mapped[1] once
    assert len(several) == 48 + 3 * (2 + 4)
    assert several.groupby(["dag_id", "dag_run_id", "task_id", "map_index"]).size().max() == 2
    batch = [r for r in _lists(tis) if r.url.path.endswith("/list")]
    if api == "v2":  # one stream per DAG (pages of 7: 16 task instances in 3; offsets without cursors)
        streams = [r for r in _lists(tis) if "/~/dagRuns" not in r.url.path]
        assert not batch and all(("cursor" in r.url.params) == cursor for r in streams if _later(r))
        paths = Counter(r.url.path.split("/")[4] for r in streams)
        assert paths == {"gamma": 3 * 2, "alpha": 3 * 2, "beta": 3 * 3}  # several, every DAG, ["beta"]
        return
    bodies = [json.loads(r.content) for r in batch]
    # the first page told the total (48) and came back clamped to 5: the other 9 at offsets of 5
    assert sorted(b["page_offset"] for b in bodies) == list(range(0, 50, 5))
    assert all(b["dag_ids"] == ["gamma", "alpha", "beta"] for b in bodies)
    assert all(("order_by" in b) == (api == "v2") for b in bodies)


@pytest.mark.parametrize(("api", "cursor", "mode"), CASES)
def test_filters_are_applied_by_airflow(api: str, cursor: bool, mode: str) -> None:
    tis = _seeded(api, cursor=cursor)
    since, until = DAY + timedelta(days=1), DAY + timedelta(days=2)
    frame = _call(mode, tis, ["alpha", "gamma"], state=["failed", "up_for_retry"], since=since, until=until)
    # latest tries in those states, of runs due on days 1-2: load of day 2 failed (day 1's succeeded)
    assert sorted(zip(frame["dag_run_id"], frame["task_id"], frame["try_number"], strict=True)) == [
        ("alpha_run2", "load", 1),
        ("gamma_run2", "load", 1),
    ]
    field = "run_after" if api == "v2" else "execution_date"
    if api == "v2":  # one stream per DAG, each with the filters
        streams = _lists(tis)
        assert sorted(r.url.path.split("/")[4] for r in streams) == ["alpha", "gamma"]
        for request in streams:
            assert request.url.params.get_list("state") == ["failed", "up_for_retry"]
            assert request.url.params[f"{field}_gte"] == since.isoformat()
            assert request.url.params[f"{field}_lte"] == until.isoformat()
    else:
        (body,) = [json.loads(r.content) for r in _lists(tis)]
        assert body["state"] == ["failed", "up_for_retry"] and body["dag_ids"] == ["alpha", "gamma"]
        assert (body[f"{field}_gte"], body[f"{field}_lte"]) == (since.isoformat(), until.isoformat())
    tis.fake.requests.clear()
    every = _call(mode, tis, None, state="success", until=DAY)
    requests = _lists(tis)
    # 9 task instances, pages of 7: two pages of ``~``; or on Airflow 3, one per DAG and one count
    assert len(requests) == (3 + 1 if api == "v2" else 2)
    for request in requests:
        assert request.url.path.endswith("/dagRuns/~/taskInstances")
        assert request.url.params.get_list("state") == ["success"] and request.url.params[f"{field}_lte"]
    # day 0: extract, mapped[0] and mapped[1] (its earlier up_for_retry try is not a success) per DAG
    assert len(every) == 3 * 3 and set(every["state"]) == {"success"}


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_limit_counts_task_instances_over_the_dags(api: str) -> None:
    tis = _seeded(api)
    frame = _call("sync", tis, DAGS, limit=12)
    assert frame.drop_duplicates(["dag_id", "dag_run_id", "task_id", "map_index"]).shape[0] == 12


def test_bad_arguments_are_refused_before_any_request() -> None:
    tis = _seeded("v2")
    with pytest.raises(InvalidArgumentError, match=r"dag_run_id: 'r1' names a run of one DAG.*\['a', 'b'\]"):
        _call("sync", tis, ["a", "b"], "r1")
    with pytest.raises(InvalidArgumentError, match=r"dag_run_id: 'r1'.*None"):
        _call("sync", tis, None, "r1")
    with pytest.raises(InvalidArgumentError, match="dag_id"):
        _call("sync", tis, ["alpha", ""])
    with pytest.raises(InvalidArgumentError, match="since"):
        _call("sync", tis, ["alpha", "beta"], since=datetime(2026, 1, 1))
    assert _lists(tis) == []
    empty = _call("sync", tis, [])
    assert empty.empty and list(empty.columns) == list(_call("sync", tis, "alpha").columns)


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_a_row_repeated_by_offset_pages_of_a_changing_server_is_kept_once(api: str) -> None:
    """The batch endpoint's offset pages (several DAGs on Airflow 2, or with a ``limit``)."""
    tis = _seeded(api)
    tis.batch_max_page = 5
    handle = tis.__call__

    def entering(request: httpx.Request) -> httpx.Response:
        answer = handle(request)
        if request.url.path.endswith("/list") and json.loads(request.content)["page_offset"] == 0:
            # a task instance enters the filter before the next pages: they all shift by one row
            tis.latest.insert(0, {**tis.latest[0], "task_id": "late", "try_number": 1})
        return answer

    with AirflowClient(
        "http://airflow.test",
        username="u",
        password="p",
        api_version=api,
        retry=FAST,
        transport=httpx.MockTransport(entering),
    ) as client:
        query = fetch_task_instances(client, DAGS, None, state=[], since=None, until=None, limit=None)
        frame = task_instances_frame(client.execute(query))
    assert any(r.url.path.endswith("/list") for r in tis.fake.requests)
    keys = ["dag_id", "dag_run_id", "task_id", "map_index", "try_number"]
    assert not frame.duplicated(keys).any()  # the row the shift repeated is kept once
    assert "late" not in set(frame["task_id"])  # it entered behind the pages read: the next export has it
    # (the shift also pushes the last task instance past the total the first page announced: offset
    # pages cannot see it, cursor pages do)
    assert len(frame) == 48 + 18 - 2


def test_task_instance_columns_equal_task_instances_frame() -> None:
    tis = _seeded("v2")
    rows = [_normal_task_instance(row) for row in tis.latest + [t for ts in tis.earlier.values() for t in ts]]
    rows[0]["map_index"] = None  # missing: -1, as the model says, before the rows are ordered
    rows[1]["state"] = "odd_state"
    rows[2]["hostname"] = 7  # not a text: pandas' ``string`` dtype makes it "7"
    random.Random(5).shuffle(rows)
    for chunk in (1, 5, 1000):
        columns = TaskInstanceColumns(chunk=chunk)
        for start in range(0, len(rows), 6):
            columns.add(rows[start : start + 6])
        pd.testing.assert_frame_equal(columns.frame(), task_instances_frame(rows))


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_every_dag_is_streamed_into_columns_page_by_page(mode: str) -> None:
    """On cursor pages, every DAG's (or one DAG's) task instances go page by page into columns, one
    cursor stream per DAG: the same frame as the rows fetched in one piece; a row a stream repeats
    is kept once, and the earlier tries of the task instances tried more than once are added."""
    tis = _seeded("v2", cursor=True, max_page=5)
    handle = tis.__call__

    def repeating(request: httpx.Request) -> httpx.Response:
        answer = handle(request)
        dag = request.url.path.removeprefix("/api/v2/dags/").split("/")[0]
        if request.url.params.get("cursor") == "5" and dag != "~":  # repeats its first page's last row
            body = answer.json()
            body["task_instances"].insert(0, [row for row in tis.latest if row["dag_id"] == dag][4])
            return httpx.Response(200, json=body)
        return answer

    options: dict[str, Any] = dict(username="u", password="p", api_version="v2", retry=FAST)
    with AirflowClient("http://airflow.test", transport=httpx.MockTransport(tis), **options) as client:
        expected = task_instances_frame(
            client.execute(
                fetch_task_instances(client, None, None, state=[], since=None, until=None, limit=None)
            )
        )
        one = task_instances_frame(
            client.execute(
                fetch_task_instances(client, "beta", None, state=[], since=None, until=None, limit=None)
            )
        )
    tis.fake.requests.clear()
    # the export the operation runs, into columns that note the size of each page they take
    sink = _PageSizes()
    _export_with(mode, repeating, sink)
    # 16 task instances per DAG, page by page (the repeated row once), then the 18 earlier tries:
    # never every raw row at once
    assert sorted(sink.pages[:-1]) == sorted([5, 5, 5, 1] * 3) and sink.pages[-1] == 18
    pd.testing.assert_frame_equal(sink.frame(), expected)
    tis.fake.requests.clear()
    every = _call_with(mode, repeating, "v2", None)
    pd.testing.assert_frame_equal(every, expected)
    assert len(every) == 48 + 18
    lists = _lists(tis)
    streams: dict[str, list[str]] = {}
    for r in lists:
        streams.setdefault(r.url.path, []).append(r.url.params.get("cursor", "count"))
    assert streams == {
        **{f"/api/v2/dags/{dag}/dagRuns/~/taskInstances": ["", "5", "10", "15"] for dag in DAGS},
        "/api/v2/dags/~/dagRuns/~/taskInstances": ["count"],
    }
    tries = [r for r in tis.fake.requests if r.url.path.endswith("/tries")]
    assert len(tries) == 3 * (2 + 4)  # per DAG: load on days 1 and 3, mapped[1] on every day
    pd.testing.assert_frame_equal(_call_with(mode, handle, "v2", "beta"), one)


class _PageSizes(TaskInstanceColumns):
    """The columns of a task instance export that also note how many rows each page brought."""

    def __init__(self) -> None:
        super().__init__()
        self.pages: list[int] = []

    def add(self, rows: list[dict[str, Any]]) -> None:
        self.pages.append(len(rows))
        super().add(rows)


def _export_with(mode: str, handler: Any, sink: TaskInstanceColumns) -> None:
    """Every DAG's task instances exported into ``sink``, on a v2 server, by the sync or async client."""
    options: dict[str, Any] = dict(username="u", password="p", api_version="v2", retry=FAST)
    transport: Any = httpx.MockTransport(handler)
    if mode == "sync":
        with AirflowClient("http://airflow.test", transport=transport, **options) as client:
            client.execute(_every_task_instance(client, sink))
        return

    async def main() -> None:
        async with AsyncAirflowClient("http://airflow.test", transport=transport, **options) as client:
            await client.execute(_every_task_instance(client, sink))

    asyncio.run(main())


def _every_task_instance(client: Any, sink: TaskInstanceColumns) -> Any:
    return export_task_instances(client, None, None, state=[], since=None, until=None, limit=None, sink=sink)


def _call_with(mode: str, handler: Any, api: str, *args: Any) -> pd.DataFrame:
    options: dict[str, Any] = dict(username="u", password="p", api_version=api, retry=FAST)
    transport: Any = httpx.MockTransport(handler)
    if mode == "sync":
        with AirflowClient("http://airflow.test", transport=transport, **options) as client:
            return client.task_instances(*args)

    async def main() -> pd.DataFrame:
        async with AsyncAirflowClient("http://airflow.test", transport=transport, **options) as client:
            return await client.task_instances(*args)

    return asyncio.run(main())
