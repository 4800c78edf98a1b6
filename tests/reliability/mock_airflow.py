"""A scripted fake Airflow 2 API for fast unit tests of the retry / settle / wait logic.

``FakeAirflow`` keeps DAG runs in a dict and answers like Airflow's ``/api/v1``; a script of
faults (an exception to raise or a status to answer) is consumed by matching requests first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

from kestra_airflow_sdk import AsyncAirflowClient, RetryPolicy
from tests.virtual_time import VirtualTimeClient

Reaction = Callable[[httpx.Request], httpx.Response | None]


def run_body(dag_id: str, run_id: str, state: str = "queued", conf: Any = None) -> dict[str, Any]:
    return {"dag_id": dag_id, "dag_run_id": run_id, "state": state, "conf": conf or {}, "run_type": "manual"}


@dataclass
class FakeAirflow:
    """Airflow 2-like state: DAG runs per id, plus scripted faults ``(method, path_part, reaction)``."""

    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    paused: bool = False
    faults: list[tuple[str, str, Reaction]] = field(default_factory=list)
    log: list[tuple[str, str]] = field(default_factory=list)
    states: list[str] = field(default_factory=list)  # states a GET of a run reports, in turn

    def fault(self, method: str, path_part: str, reaction: Reaction) -> None:
        self.faults.append((method, path_part, reaction))

    def count(self, method: str, path_part: str = "") -> int:
        return sum(1 for m, p in self.log if m == method and path_part in p)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.path)
        self.log.append((request.method, path))
        for i, (method, part, reaction) in enumerate(self.faults):
            if method == request.method and part in path:
                del self.faults[i]
                answer = reaction(request)
                if answer is not None:
                    return answer
                break
        return self.answer(request, path)

    def answer(self, request: httpx.Request, path: str) -> httpx.Response:
        parts = path.removeprefix("/api/v1/").split("/")
        if parts == ["version"]:
            return httpx.Response(200, json={"version": "2.10.5", "git_version": "x"})
        if len(parts) == 2 and parts[0] == "dags":
            return httpx.Response(200, json={"dag_id": parts[1], "is_paused": self.paused})
        if len(parts) == 3 and request.method == "POST":
            body = json.loads(request.content)
            run_id = body["dag_run_id"]
            if run_id in self.runs:
                return httpx.Response(409, json={"detail": "exists", "status": 409, "title": "Conflict"})
            self.runs[run_id] = run_body(parts[1], run_id, conf=body.get("conf"))
            return httpx.Response(200, json=self.runs[run_id])
        if len(parts) == 4 and request.method == "GET":
            run = self.runs.get(parts[3])
            if run is None:
                return httpx.Response(
                    404, json={"detail": "no such run", "status": 404, "title": "Not Found"}
                )
            if self.states:
                run = {**run, "state": self.states.pop(0) if len(self.states) > 1 else self.states[0]}
            return httpx.Response(200, json=run)
        return httpx.Response(404, json={"detail": f"unexpected {request.method} {path}"})


def raising(exc_type: type[httpx.TransportError]) -> Reaction:
    def react(request: httpx.Request) -> None:
        raise exc_type("injected", request=request)

    return react


def answering(status: int, headers: dict[str, str] | None = None) -> Reaction:
    return lambda request: httpx.Response(status, json={"detail": "injected"}, headers=headers)


def after_forwarding(fake: FakeAirflow, exc_type: type[httpx.TransportError]) -> Reaction:
    """Let the fake act on the request, then lose the answer (the outcome is unknown to the client)."""

    def react(request: httpx.Request) -> None:
        fake.answer(request, unquote(request.url.path))
        raise exc_type("injected after the server acted", request=request)

    return react


class FakeSyncClient(VirtualTimeClient):
    """The sync driver on ``fake``, its sleeps (retry backoff, poll ticks) on a virtual clock."""

    fake: FakeAirflow

    def _open(self, options: dict[str, Any]) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.fake), **options)


class FakeAsyncClient(AsyncAirflowClient):
    fake: FakeAirflow

    def _open(self, options: dict[str, Any]) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.fake), **options)


def fake_client(fake: FakeAirflow, **kwargs: Any) -> FakeSyncClient:
    """A sync client talking to ``fake`` (tiny retry delays unless ``retry=`` is given)."""
    kwargs.setdefault("retry", FAST)
    cls = type("Client", (FakeSyncClient,), {"fake": fake})
    return cls("http://airflow.test", username="u", password="p", api_version="v1", **kwargs)


def fake_async_client(fake: FakeAirflow, **kwargs: Any) -> FakeAsyncClient:
    """An async client talking to ``fake``."""
    kwargs.setdefault("retry", FAST)
    cls = type("Client", (FakeAsyncClient,), {"fake": fake})
    return cls("http://airflow.test", username="u", password="p", api_version="v1", **kwargs)


#: the default policy's shape with millisecond delays, so unit tests do not sleep
FAST = RetryPolicy(initial_delay=0.001, max_delay=0.004)
