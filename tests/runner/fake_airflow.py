"""An in-memory Airflow 3 REST API on httpx.MockTransport, for fast runner tests.

Each DAG follows a script of states, one per poll (``{"ok": ["queued", "running", "success"]}``);
the last state repeats. A poll is a read of the run, or a list of the DAG's finished runs (the
batched poll of several waits on one DAG), which moves all the DAG's runs one step. Requests and DAG runs are recorded for assertions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from kestra_airflow_sdk.runner.clients import AirflowClients

_RUN = re.compile(r"^/api/v2/dags/(?P<dag>[^/]+)/dagRuns(?:/(?P<run>[^/]+))?(?P<tis>/taskInstances)?$")


@dataclass
class FakeRun:
    dag_id: str
    run_id: str
    conf: dict[str, Any]
    script: list[str]
    polls: int = 0
    forced: str | None = None

    @property
    def state(self) -> str:
        if self.forced:
            return self.forced
        return self.script[min(self.polls, len(self.script) - 1)]

    def body(self) -> dict[str, Any]:
        final = self.state in ("success", "failed")
        return {
            "dag_id": self.dag_id,
            "dag_run_id": self.run_id,
            "state": self.state,
            "conf": self.conf,
            "start_date": "2026-01-01T00:00:00Z" if self.state != "queued" else None,
            "end_date": "2026-01-01T00:00:10Z" if final else None,
        }


@dataclass
class FakeAirflow:
    scripts: dict[str, list[str]] = field(default_factory=dict)
    password: str = "admin"
    #: answer 500 to the next N requests of this kind ("trigger", "poll")
    errors: dict[str, int] = field(default_factory=dict)
    #: a failed trigger still created the run (as SQLite-locked Airflow sometimes does)
    create_on_error: bool = False
    runs: dict[str, FakeRun] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def _error(self, kind: str) -> bool:
        if self.errors.get(kind, 0) > 0:
            self.errors[kind] -= 1
            return True
        return False

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/api/v2/version":
            return httpx.Response(200, json={"version": "3.3.2"})
        if path == "/auth/token":
            ok = json.loads(request.content)["password"] == self.password
            return (
                httpx.Response(201, json={"access_token": "jwt"})
                if ok
                else httpx.Response(401, json={"detail": "Invalid credentials"})
            )
        if request.headers.get("authorization") != "Bearer jwt":
            return httpx.Response(401, json={"detail": "Not authenticated"})
        match = _RUN.match(path)
        if match is None:
            return httpx.Response(404, json={"detail": f"no route {path}"})
        dag, run_id = match["dag"], match["run"]
        if dag not in self.scripts:
            return httpx.Response(404, json={"detail": f"Dag with dag_id: '{dag}' not found"})
        if run_id is None and request.method == "GET":
            return self._list(request, dag)
        if run_id is None and request.method == "POST":
            body = json.loads(request.content)
            run = FakeRun(dag, body["dag_run_id"], body.get("conf") or {}, self.scripts[dag])
            if self._error("trigger"):
                if self.create_on_error:
                    self.runs[run.run_id] = run
                return httpx.Response(500, json={"detail": "database is locked"})
            if run.run_id in self.runs:
                return httpx.Response(409, json={"detail": "exists"})
            self.runs[run.run_id] = run
            return httpx.Response(200, json=run.body())
        run = self.runs.get(str(run_id))
        if run is None:
            return httpx.Response(404, json={"detail": "The DagRun was not found"})
        if match["tis"]:
            return httpx.Response(
                200,
                json={
                    "task_instances": [
                        {
                            "dag_id": dag,
                            "dag_run_id": run.run_id,
                            "task_id": "t1",
                            "state": run.state if run.state in ("success", "failed") else "running",
                            "try_number": 1,
                        }
                    ],
                    "total_entries": 1,
                },
            )
        if request.method == "PATCH":
            run.forced = json.loads(request.content)["state"]
            return httpx.Response(200, json=run.body())
        if self._error("poll"):
            return httpx.Response(503, json={"detail": "busy"})
        run.polls += 1
        return httpx.Response(200, json=run.body())

    def _list(self, request: httpx.Request, dag: str) -> httpx.Response:
        """``GET /dags/{dag}/dagRuns?state=...``: the batched poll of waits. A list that asks for
        finished runs is the per-tick poll: it moves every run of the DAG one step along its script."""
        states = request.url.params.get_list("state")
        runs = [run for run in self.runs.values() if run.dag_id == dag]
        if "success" in states:
            if self._error("poll"):
                return httpx.Response(503, json={"detail": "busy"})
            for run in runs:
                run.polls += 1
        rows = [run.body() for run in runs if not states or run.state in states]
        offset = int(request.url.params.get("offset", 0))
        return httpx.Response(200, json={"dag_runs": rows[offset:], "total_entries": len(rows)})


def route_runner_to(fake: FakeAirflow) -> Callable[[], None]:
    """Make the Airflow clients the runner opens reach ``fake`` (through their public ``transport=``
    seam); returns the function that undoes it."""
    transport = httpx.MockTransport(fake.handle)
    opened = AirflowClients.get

    def through_fake(self: AirflowClients, base_url: str, **options: Any) -> Any:
        return opened(self, base_url, **options, transport=transport)

    AirflowClients.get = through_fake  # type: ignore[method-assign]

    def undo() -> None:
        AirflowClients.get = opened  # type: ignore[method-assign]

    return undo


@pytest.fixture
def fake_airflow() -> Iterator[FakeAirflow]:
    fake = FakeAirflow(
        scripts={
            "ok": ["queued", "running", "success"],
            "fails": ["queued", "running", "failed"],
            "forever": ["running"],
        }
    )
    undo = route_runner_to(fake)
    try:
        yield fake
    finally:
        undo()
