"""KestraServer with an in-memory Kestra (httpx.MockTransport): the wait loop, inputs, errors,
bad input before any request, secrets, and ``flow.run(on=server)``. The requests' conformance to
Kestra's spec is checked in test_contract.py."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from kestra_airflow_sdk import Flow, KestraServer
from kestra_airflow_sdk.flows import ExecutionState, FlowValidationError, Log, Observer
from kestra_airflow_sdk.kestra import KestraApiError, KestraConnectionError, KestraError
from tests.virtual_time import VirtualTimeKestraServer

PASSWORD = "s3cr3t-Pa55word"


def _state(current: str, start: str = "2026-11-24T10:00:00Z", end: str | None = None) -> dict[str, Any]:
    return {"current": current, "startDate": start, "endDate": end, "histories": []}


def _execution(current: str, task_states: list[str]) -> dict[str, Any]:
    return {
        "id": "exec1",
        "namespace": "company.team",
        "flowId": "hello",
        "labels": [{"key": "team", "value": "data"}],
        "inputs": {"day": "2026-11-24"},
        "state": _state(current, end="2026-11-24T10:00:05Z"),
        "taskRunList": [
            {
                "id": f"tr{i}",
                "taskId": f"t{i}",
                "executionId": "exec1",
                "namespace": "company.team",
                "flowId": "hello",
                "state": _state(s, end="2026-11-24T10:00:04Z"),
                "attempts": [{"state": _state(s)}],
                "outputs": {"value": i},
            }
            for i, s in enumerate(task_states)
        ],
    }


# Kestra's log API answer (OpenAPI 2.0 ``LogEntry``): attemptNumber counts from 0
LOGS = [
    {
        "namespace": "company.team",
        "flowId": "hello",
        "taskId": f"t{i}",
        "executionId": "exec1",
        "taskRunId": f"tr{i}",
        "attemptNumber": 0,
        "timestamp": f"2026-11-24T10:00:0{i + 1}.123Z",
        "level": "INFO",
        "thread": "worker-1",
        "message": message,
    }
    for i, message in enumerate(["a", "b"])
]


class FakeKestra:
    def __init__(self, polls: list[dict[str, Any]]) -> None:
        self.polls = polls
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/api/v1/configs":  # a Kestra 1.3: task run outputs inline in the execution
            return httpx.Response(200, json={"version": "1.3.5", "edition": "OSS"})
        if path.endswith("/flows/bulk"):
            return httpx.Response(200, json=[{"id": "hello", "namespace": "company.team", "revision": 3}])
        if request.method == "POST" and "/executions/" in path:
            return httpx.Response(200, json=_execution("CREATED", []))
        if path.endswith("/executions/exec1"):
            return httpx.Response(200, json=self.polls.pop(0) if len(self.polls) > 1 else self.polls[0])
        if path.endswith("/logs/exec1"):
            return httpx.Response(200, json=LOGS)
        return httpx.Response(404, json={"message": f"Not Found: {path}"})


def _server(fake: Any, **kwargs: Any) -> VirtualTimeKestraServer:
    kwargs.setdefault("username", "admin@kestra.io")
    kwargs.setdefault("password", PASSWORD)
    return VirtualTimeKestraServer("http://kestra.test:8080", transport=httpx.MockTransport(fake), **kwargs)


class Events(Observer):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def execution_started(self, execution: Any) -> None:
        self.seen.append(("started", execution.id))

    def task_started(self, execution: Any, task_run: Any) -> None:
        self.seen.append(("task_started", task_run.task_id))

    def task_ended(self, execution: Any, task_run: Any) -> None:
        self.seen.append(("task_ended", f"{task_run.task_id}:{task_run.state}"))

    def execution_ended(self, execution: Any) -> None:
        self.seen.append(("ended", str(execution.state)))


def test_run_waits_until_terminal_and_returns_an_execution() -> None:
    fake = FakeKestra(
        [
            _execution("RUNNING", ["RUNNING"]),
            _execution("RUNNING", ["SUCCESS", "RUNNING"]),
            _execution("SUCCESS", ["SUCCESS", "SUCCESS"]),
        ]
    )
    events = Events()
    flow = (
        Flow(id="hello", namespace="company.team")
        .task(Log(id="t0", message="a"))
        .task(Log(id="t1", message="b"))
    )
    with _server(fake) as server:
        execution = server.run(flow, inputs={"day": "2026-11-24"}, poll_interval=5, observers=[events])
    assert execution.state is ExecutionState.SUCCESS and execution.id == "exec1"
    assert [(r.task_id, r.state, r.type) for r in execution.task_runs] == [
        ("t0", ExecutionState.SUCCESS, "io.kestra.plugin.core.log.Log"),
        ("t1", ExecutionState.SUCCESS, "io.kestra.plugin.core.log.Log"),
    ]
    assert execution.outputs == {"t0": {"value": 0}, "t1": {"value": 1}}
    assert execution.labels == {"team": "data"} and execution.duration is not None
    assert events.seen == [
        ("started", "exec1"),
        ("task_started", "t0"),
        ("task_ended", "t0:SUCCESS"),
        ("task_started", "t1"),
        ("task_ended", "t1:SUCCESS"),
        ("ended", "SUCCESS"),
    ]
    create = fake.requests[0]
    assert create.headers["content-type"].startswith("multipart/form-data")
    assert b'name="day"' in create.content and b"2026-11-24" in create.content


@pytest.mark.parametrize(
    ("kestra", "state"),
    [
        ("FAILED", ExecutionState.FAILED),
        ("KILLED", ExecutionState.KILLED),
        ("CANCELLED", ExecutionState.KILLED),
        ("WARNING", ExecutionState.WARNING),
        (
            "SKIPPED",
            ExecutionState.SKIPPED,
        ),  # a skipped execution (concurrency SKIP) or task run (runIf false)
    ],
)
def test_terminal_states_map_to_the_runner_states(kestra: str, state: ExecutionState) -> None:
    with _server(FakeKestra([_execution(kestra, [kestra])])) as server:
        execution = server.run(("company.team", "hello"), poll_interval=5)
    assert execution.state is state and execution.task_runs[0].state is state


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (
            401,
            {"message": "Unauthorized"},
            "401 Unauthorized to POST /api/v1/main/flows/bulk (check username/password",
        ),
        (404, {"message": "Flow not found"}, "404 Not Found to POST /api/v1/main/flows/bulk: Flow not found"),
        (422, {"message": "Invalid entity: tasks must not be empty"}, "422 Unprocessable Entity"),
    ],
)
def test_http_errors_say_which_call_and_what_kestra_said(
    status: int, body: dict[str, str], says: str
) -> None:
    fake = lambda request: httpx.Response(status, json=body)  # noqa: E731
    with _server(fake) as server, pytest.raises(KestraApiError) as info:
        server.deploy(Flow(id="f", namespace="n").task(Log(id="l", message="m")))
    assert says in str(info.value) and info.value.status == status
    assert PASSWORD not in str(info.value)


def test_an_unreachable_server_names_the_url_not_the_password() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with (
        _server(refuse) as server,
        pytest.raises(KestraConnectionError, match=re.escape("http://kestra.test:8080")) as info,
    ):
        server.logs("exec1")
    assert PASSWORD not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"url": "kestra:8080"}, "url: expected an http(s) URL"),
        ({"url": "http://admin:pw@kestra:8080"}, "credentials inside the URL"),
        ({"tenant": "../main"}, "tenant:"),
        ({"username": "a"}, "go together"),
        ({"token": "t", "username": "a", "password": "p"}, "either token="),
    ],
)
def test_bad_input_is_refused_before_any_request(kwargs: dict[str, Any], says: str) -> None:
    url = kwargs.pop("url", "http://kestra.test:8080")
    with pytest.raises(KestraError, match=says.replace("(", r"\(").replace(")", r"\)")):
        KestraServer(url, **kwargs)


def test_bad_arguments_are_refused_before_any_request() -> None:
    fake = FakeKestra([_execution("SUCCESS", [])])
    with _server(fake) as server:
        with pytest.raises(KestraError, match="expected one or more Flow objects"):
            server.deploy(["id: x"])  # type: ignore[list-item]
        with pytest.raises(KestraError, match="a Flow or a \\(namespace, flow_id\\) pair"):
            server.run("company.team.hello")  # type: ignore[arg-type]
        with pytest.raises(FlowValidationError, match="tasks: a flow needs at least one task"):
            server.validate(Flow(id="empty", namespace="n"))
    assert fake.requests == []


def test_secrets_never_show() -> None:
    server = _server(FakeKestra([]))
    token_server = KestraServer("http://kestra.test", token="tok-" + PASSWORD)
    for text in (repr(server), str(server), repr(vars(server)), repr(token_server), repr(vars(token_server))):
        assert PASSWORD not in text


def test_flow_run_on_a_server_deploys_then_runs() -> None:
    fake = FakeKestra([_execution("SUCCESS", ["SUCCESS"])])
    flow = Flow(id="hello", namespace="company.team").task(Log(id="t0", message="hi"))
    with _server(fake) as server:
        execution = flow.run(on=server, progress=False)
        with pytest.raises(KestraError, match="do not pass secrets= with on="):
            flow.run({"x": 1}, {"A": "b"}, on=server)
    assert execution.state is ExecutionState.SUCCESS
    requests = [(r.method, r.url.path) for r in fake.requests]
    log_stream = ("GET", "/api/v1/main/logs/exec1/follow")  # opened beside the states' stream (any order)
    assert requests.count(log_stream) == 1
    assert [r for r in requests if r != log_stream] == [
        ("POST", "/api/v1/main/flows/bulk"),
        ("POST", "/api/v1/main/executions/company.team/hello"),
        ("GET", "/api/v1/main/executions/exec1/follow"),  # no event stream here (404): polled
        ("GET", "/api/v1/main/executions/exec1"),
        ("GET", "/api/v1/configs"),  # the version, asked once: 1.3 sends the outputs in the execution
        ("GET", "/api/v1/main/logs/exec1"),  # the ended execution's log lines
    ]
    assert fake.requests[0].url.params["delete"] == "false"
    assert "id: hello" in fake.requests[0].content.decode()
    assert json.loads(json.dumps(execution.outputs)) == {"t0": {"value": 0}}


def test_flow_run_on_a_server_shows_the_same_progress_display() -> None:
    """The Airflow runs that TriggerDagRun task runs report in their outputs feed the same
    RunProgress table as a local run."""
    from kestra_airflow_sdk.display import RunProgress

    running = _execution("RUNNING", ["RUNNING"])
    running["taskRunList"][0]["outputs"] = {
        "dagId": "etl",
        "dagRunId": "kestra__exec1__t0__1",
        "state": "running",
    }
    done = _execution("SUCCESS", ["SUCCESS"])
    done["taskRunList"][0]["outputs"] = {
        "dagId": "etl",
        "dagRunId": "kestra__exec1__t0__1",
        "state": "success",
    }
    fake = FakeKestra([running, done])
    progress = RunProgress("off")
    flow = Flow(id="hello", namespace="company.team").task(Log(id="t0", message="hi"))
    with _server(fake) as server:
        execution = flow.run(on=server, progress=progress)
    assert execution.state is ExecutionState.SUCCESS
    [snapshot] = progress.snapshots
    assert (snapshot.dag_id, snapshot.dag_run_id, snapshot.state) == (
        "etl",
        "kestra__exec1__t0__1",
        "success",
    )
    assert progress.closed


def test_a_followed_execution_has_kestras_log_lines_and_observers_see_them() -> None:
    fake = FakeKestra([_execution("SUCCESS", ["SUCCESS", "SUCCESS"])])
    lines: list[tuple[str, str]] = []

    class Logs(Observer):
        def log_written(self, execution: Any, entry: Any) -> None:
            lines.append((entry.task_id, entry.message))

    flow = (
        Flow(id="hello", namespace="company.team")
        .task(Log(id="t0", message="a"))
        .task(Log(id="t1", message="b"))
    )
    with _server(fake) as server:
        execution = server.run(flow, poll_interval=5, observers=[Logs()])
    assert [(e.task_id, e.task_run_id, e.attempt, e.level, e.message) for e in execution.logs] == [
        ("t0", "tr0", 1, "INFO", "a"),
        ("t1", "tr1", 1, "INFO", "b"),
    ]
    assert execution.logs[0].timestamp.isoformat() == "2026-11-24T10:00:01.123000+00:00"
    assert lines == [("t0", "a"), ("t1", "b")]
    assert list(execution.logs_frame()["task_run_id"]) == ["tr0", "tr1"]


def test_logs_that_cannot_be_read_do_not_lose_the_execution(caplog: pytest.LogCaptureFixture) -> None:
    class NoLogs(FakeKestra):
        def __call__(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/logs/exec1"):
                self.requests.append(request)
                return httpx.Response(403, json={"message": "Forbidden"})
            return super().__call__(request)

    fake = NoLogs([_execution("SUCCESS", ["SUCCESS"])])
    with _server(fake) as server:
        execution = server.run(("company.team", "hello"), poll_interval=5)
    assert execution.state is ExecutionState.SUCCESS and execution.logs == []
    assert "its logs could not be read" in caplog.text
