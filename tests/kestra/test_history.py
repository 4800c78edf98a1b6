"""Kestra's history as DataFrames: every page of an execution search (read concurrently after the
first), the task runs of those executions (read per execution on 2.0, whose search has none), and
``df.kestra.summary()`` (the ``df.airflow`` summary's own code), sync and async."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pandas as pd
import pytest

from kestra_airflow_sdk import AsyncKestraServer, KestraServer
from kestra_airflow_sdk.kestra import KestraError
from kestra_airflow_sdk.kestra.executions import executions_schema
from kestra_airflow_sdk.kestra.history import PAGE_SIZE, task_runs_schema
from tests.virtual_time import run_virtual

START = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def execution_body(i: int, *, flow: str = "etl", state: str = "SUCCESS", seconds: int = 10) -> dict[str, Any]:
    """Execution ``e{i}``: started ``i`` minutes after START, ``seconds`` long, two task runs."""
    start = START + timedelta(minutes=i)
    end = start + timedelta(seconds=seconds)
    return {
        "id": f"e{i}",
        "namespace": "company.team",
        "flowId": flow,
        "flowRevision": 2,
        "state": {"current": state, "startDate": _iso(start), "endDate": _iso(end)},
        "taskRunList": [
            {
                "id": f"e{i}-t{k}",
                "taskId": f"t{k}",
                "state": {
                    "current": state if k else "SUCCESS",
                    "startDate": _iso(start),
                    "endDate": _iso(start + timedelta(seconds=seconds // 2 * (k + 1))),
                },
                "attempts": [{}],
            }
            for k in range(2)
        ],
    }


class History:
    """A Kestra holding ``bodies``: ``/executions/search`` pages them (1.3 with task runs, 2.0
    without), ``/executions/{id}`` reads one."""

    def __init__(self, bodies: list[dict[str, Any]], version: str) -> None:
        self.bodies, self.version = bodies, version
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        path = request.url.path
        if path.endswith("/executions/search"):
            page, size = int(request.url.params["page"]), int(request.url.params["size"])
            found = self.bodies[(page - 1) * size : page * size]
            if self.version == "2.0":
                found = [{k: v for k, v in b.items() if k != "taskRunList"} for b in found]
            return httpx.Response(200, json={"results": found, "total": len(self.bodies)})
        for body in self.bodies:
            if path.endswith(f"/executions/{body['id']}"):
                return httpx.Response(200, json=body)
        return httpx.Response(404, json={"message": f"no {path}"})

    def count(self, suffix: str) -> int:
        return sum(1 for r in self.requests if r.url.path.endswith(suffix))


def call(fake: History, mode: str, name: str, *args: Any, **kwargs: Any) -> Any:
    if mode == "sync":
        with KestraServer("http://kestra.test", token="t", transport=httpx.MockTransport(fake)) as server:
            return getattr(server, name)(*args, **kwargs)

    async def main() -> Any:
        async with AsyncKestraServer(
            "http://kestra.test", token="t", transport=httpx.MockTransport(fake)
        ) as server:
            return await getattr(server, name)(*args, **kwargs)

    return run_virtual(main())


MODES = ["sync", "async"]


@pytest.mark.parametrize("mode", MODES)
def test_every_page_of_executions_as_one_frame(mode: str) -> None:
    fake = History([execution_body(i) for i in range(2 * PAGE_SIZE + 7)], "2.0")
    since = START - timedelta(days=1)
    frame = call(fake, mode, "executions", "company.team", "etl", since=since, page=None)
    assert list(frame["id"]) == [f"e{i}" for i in range(2 * PAGE_SIZE + 7)]  # every page, in order
    assert dict(frame.dtypes.astype(str)) == dict(executions_schema().empty().dtypes.astype(str))
    assert fake.count("/executions/search") == 3
    pages = sorted(int(r.url.params["page"]) for r in fake.requests)
    assert pages == [1, 2, 3]
    query = fake.requests[0].url.params
    assert query["filters[namespace][EQUALS]"] == "company.team"
    assert query["filters[flowId][EQUALS]"] == "etl"
    assert query["filters[startDate][GREATER_THAN_OR_EQUAL_TO]"] == since.isoformat()
    assert frame["duration"].iloc[0] == pd.Timedelta(seconds=10)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("version", ["1.3", "2.0"])
def test_task_runs_of_every_execution(mode: str, version: str) -> None:
    bodies = [execution_body(i, state="FAILED" if i % 3 == 0 else "SUCCESS") for i in range(PAGE_SIZE + 5)]
    fake = History(bodies, version)
    frame = call(fake, mode, "task_runs", "company.team")
    assert len(frame) == 2 * len(bodies)
    assert dict(frame.dtypes.astype(str)) == dict(task_runs_schema().empty().dtypes.astype(str))
    assert set(frame["execution_id"]) == {b["id"] for b in bodies}
    row = frame[frame["id"] == "e1-t1"].iloc[0]
    assert (row["task_id"], row["state"], row["attempts"]) == ("t1", "SUCCESS", 1)
    assert row["duration"] == pd.Timedelta(seconds=10)
    # 2.0's search has no task runs: each execution is read; 1.3's has them
    reads = sum(fake.count(f"/executions/{b['id']}") for b in bodies)
    assert reads == (len(bodies) if version == "2.0" else 0)
    failed = call(History(bodies, version), mode, "task_runs", state="FAILED")
    assert set(failed["state"]) == {"FAILED"} and len(failed) == sum(
        1 for i in range(len(bodies)) if i % 3 == 0
    )


def test_no_executions_give_empty_frames_with_the_dtypes() -> None:
    fake = History([], "2.0")
    assert call(fake, "sync", "task_runs").empty
    frame = call(fake, "sync", "executions", page=None)
    assert frame.empty and dict(frame.dtypes.astype(str)) == dict(
        executions_schema().empty().dtypes.astype(str)
    )


def test_bad_arguments_are_refused_before_any_request() -> None:
    fake = History([], "2.0")
    with pytest.raises(KestraError, match="since: expected a timezone-aware datetime"):
        call(fake, "sync", "task_runs", since=datetime(2026, 1, 1))
    with pytest.raises(KestraError, match="state: expected a non-empty string"):
        call(fake, "sync", "task_runs", state="")
    with pytest.raises(KestraError, match="page: expected an integer >= 1"):
        call(fake, "sync", "executions", page=0)
    assert fake.requests == []


def test_summary_is_the_airflow_summary_per_flow_and_per_task() -> None:
    bodies = [execution_body(i, seconds=s) for i, s in enumerate([10, 20, 30])]
    bodies += [
        execution_body(3, state="FAILED", seconds=40),
        execution_body(4, flow="other", state="RUNNING"),
    ]
    bodies[4]["state"].pop("endDate")
    fake = History(bodies, "1.3")
    summary = call(fake, "sync", "executions", page=None).kestra.summary()
    assert summary.index.name == "flow" and list(summary.index) == ["company.team.etl", "company.team.other"]
    etl = summary.loc["company.team.etl"]
    assert (etl["runs"], etl["success"], etl["failed"]) == (4, 3, 1)
    assert etl["success_rate"] == 0.75
    assert etl["p50_duration"] == pd.Timedelta(seconds=25)  # the median of 10, 20, 30, 40 s
    assert etl["p95_duration"] == pd.Timedelta(seconds=38.5)
    assert etl["last_state"] == "failed" and etl["last_success"] == START + timedelta(minutes=2, seconds=30)
    other = summary.loc["company.team.other"]
    assert other["runs"] == 1 and pd.isna(other["success_rate"])  # still running: no outcome yet
    tasks = call(fake, "sync", "task_runs").kestra.summary()
    assert tasks.index.name == "task" and "company.team.etl.t0" in tasks.index
    assert tasks.loc["company.team.etl.t0", "success_rate"] == 1.0  # t0 always succeeds
    assert tasks.loc["company.team.etl.t1", "success_rate"] == 0.75


def test_summary_of_another_frame_says_what_it_needs() -> None:
    executions_schema()  # registers df.kestra (done by every frame the server builds)
    with pytest.raises(KestraError, match=r"lacks the columns \['namespace'"):
        pd.DataFrame({"x": [1]}).kestra.summary()
