"""KestraServer against a mock generated from Kestra's OpenAPI spec (Prism, ``--errors``): every
request the SDK sends must conform to the spec, and the SDK must parse the spec's answers.

The spec is Kestra 2.0's, so the servers here speak the 2.0 API (``version="2.0"``): Prism's
invented ``/api/v1/configs`` answer names no release to detect. The 1.3 API and real bodies of
both versions are tested in test_versions.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kestra_airflow_sdk import AsyncKestraServer, Flow, KestraServer
from kestra_airflow_sdk.flows import Execution, ExecutionState, Log, Schedule
from kestra_airflow_sdk.flows.execution import LOG_LEVELS
from kestra_airflow_sdk.kestra import (
    DeployedFlow,
    FlowValidation,
    KestraApiError,
    KestraError,
    KestraLogEntry,
)
from kestra_airflow_sdk.kestra.executions import executions_schema, log_entry_from_kestra
from kestra_airflow_sdk.transport.retry import DEFAULT_RETRY
from tests.virtual_time import VirtualTimeKestraServer, run_virtual


class Recording(httpx.HTTPTransport):
    """The real transport, keeping every request and response for the assertions."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        self.exchanges.append((request, response))
        return response


@pytest.fixture
def recording() -> Recording:
    return Recording()


class RecordingAsync(httpx.AsyncBaseTransport):
    """The async server's transport: each request goes to Prism through the :class:`Recording`.

    The HTTP exchange itself blocks the loop for its duration, so the virtual-time loop's clock
    moves only at the operations' sleeps (awaiting network I/O there would jump the clock to the
    read timeout's timer).
    """

    def __init__(self, recording: Recording) -> None:
        self.recording = recording

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sent = httpx.Request(
            request.method, request.url, headers=request.headers, content=await request.aread()
        )
        response = self.recording.handle_request(sent)
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-encoding"]
        return httpx.Response(response.status_code, headers=headers, content=response.content)


class Awaited:
    """An :class:`AsyncKestraServer` behind the sync API the tests call: each call is awaited on a
    virtual-time loop (tests/virtual_time.py) with a server opened on that loop."""

    def __init__(self, url: str, recording: Recording) -> None:
        self.url, self.recording = url, recording

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            async def main() -> Any:
                transport = RecordingAsync(self.recording)
                async with AsyncKestraServer(
                    self.url,
                    username="admin@kestra.io",
                    password="Admin1234",
                    transport=transport,
                    version="2.0",
                ) as server:
                    return await getattr(server, name)(*args, **kwargs)

            return run_virtual(main())

        return call


@pytest.fixture(params=["sync", "async"])
def server(request: pytest.FixtureRequest, prism_url: str, recording: Recording) -> Iterator[Any]:
    """The sync server on a virtual clock, or the async server on a virtual-time loop: a poll's count
    never depends on how fast Prism answers."""
    if request.param == "async":
        yield Awaited(prism_url, recording)
        return
    with VirtualTimeKestraServer(
        prism_url, username="admin@kestra.io", password="Admin1234", transport=recording, version="2.0"
    ) as s:
        yield s


def _conformant(recording: Recording, *, but_streams: bool = False) -> None:
    """Prism accepted every request: no error status, no violation reported (``but_streams``: the
    event streams' answers, which Prism cannot generate, are checked by their test)."""
    assert recording.exchanges
    for request, response in recording.exchanges:
        if but_streams and request.url.path.endswith("/follow"):
            continue
        assert response.status_code < 400, (request.method, request.url, response.text[:500])
        assert "sl-violations" not in response.headers, response.headers["sl-violations"]


FLOWS = [
    Flow(
        id="etl",
        namespace="company.airflow",
        triggers=[Schedule(id="schedule", cron="0 6 * * *", disabled=True)],
    ).task(Log(id="hello", message="hi {{ flow.id }}")),
    Flow(id="reports", namespace="company.airflow").task(Log(id="hello", message="hi")),
]


def test_validate_sends_yaml_and_parses_the_verdicts(server: KestraServer, recording: Recording) -> None:
    results = server.validate(FLOWS)
    _conformant(recording)
    assert results and all(isinstance(r, FlowValidation) for r in results)
    [(request, _)] = recording.exchanges
    assert (request.method, request.url.path) == ("POST", "/api/v1/main/flows/validate")
    assert request.headers["content-type"] == "application/x-yaml"
    assert request.content.decode().count("id: ") >= 4 and "---\n" in request.content.decode()


def test_deploy_upserts_without_deleting(server: KestraServer, recording: Recording) -> None:
    deployed = server.deploy(FLOWS)
    _conformant(recording)
    assert deployed and all(isinstance(d, DeployedFlow) for d in deployed)
    [(request, _)] = recording.exchanges
    assert request.url.path == "/api/v1/main/flows/bulk"
    assert request.url.params["delete"] == "false"  # never the default that deletes other flows


def test_run_without_waiting_parses_the_execution(server: KestraServer, recording: Recording) -> None:
    execution = server.run(FLOWS[0], labels={"team": "data", "source": "sdk"}, wait=False)
    _conformant(recording)
    assert isinstance(execution, Execution) and execution.id
    assert execution.state in set(ExecutionState)
    [(request, _)] = recording.exchanges
    assert request.url.path == "/api/v1/main/executions/company.airflow/etl"
    assert request.url.params.get_list("labels") == ["team:data", "source:sdk"]


def test_reading_an_execution_and_its_logs(server: KestraServer, recording: Recording) -> None:
    execution = server.execution("4SCXzZj2J6MgnG0QkscBMv")
    logs = server.logs(execution.id or "4SCXzZj2J6MgnG0QkscBMv")
    _conformant(recording)
    assert isinstance(execution, Execution)
    assert all(isinstance(task_run.state, ExecutionState) for task_run in execution.task_runs)
    assert logs and all(isinstance(entry, KestraLogEntry) for entry in logs)
    # the spec's answers map to the LogEntry lines a local run writes (what Execution.logs holds)
    lines = [log_entry_from_kestra(entry) for entry in logs]
    assert all(line.level in LOG_LEVELS and isinstance(line.message, str) for line in lines)
    assert all(line.timestamp.tzinfo is not None for line in lines)
    assert [line.task_run_id for line in lines] == [entry.task_run_id for entry in logs]
    paths = [r.url.path for r, _ in recording.exchanges]
    # 2.0: the execution, the list of its task runs with outputs, each one's outputs, then the logs
    assert paths[0] == "/api/v1/main/executions/4SCXzZj2J6MgnG0QkscBMv"
    assert paths[1] == f"/api/v1/main/outputs/{execution.id}"
    assert all(p.startswith(f"/api/v1/main/outputs/{execution.id}/") for p in paths[2:-1])
    assert paths[-1] == f"/api/v1/main/logs/{execution.id or '4SCXzZj2J6MgnG0QkscBMv'}"


def test_waiting_polls_with_conformant_requests_until_the_timeout(
    server: KestraServer, recording: Recording
) -> None:
    """The mock's execution stays in its example state (not terminal): the wait polls, then says so."""
    with pytest.raises(KestraError, match=r"did not end within 15s") as info:
        server.run(FLOWS[0], wait=True, poll_interval=5, timeout=15, stream=False)
    _conformant(recording)
    polls = [r for r, _ in recording.exchanges if r.method == "GET"]
    assert len(polls) == 3  # at 5, 10 and 15 s of the wait's (virtual) clock
    assert all(r.url.path.startswith("/api/v1/main/executions/") for r in polls)
    assert "last state:" in str(info.value)


def test_following_sends_conformant_stream_requests_then_polls(
    server: KestraServer, recording: Recording
) -> None:
    """The follow streams' requests match the spec; Prism cannot invent an event stream (it answers
    500 "Cannot serialise complex objects as text", no violation), which the follower takes for a
    broken stream: it reconnects as the retry policy says, then polls until the timeout."""
    with pytest.raises(KestraError, match=r"did not end within 60s"):
        server.follow("4SCXzZj2J6MgnG0QkscBMv", poll_interval=5, timeout=60)
    streams = [(r, a) for r, a in recording.exchanges if r.url.path.endswith("/follow")]
    followed = recording.exchanges[0][1].json()["id"]  # the id of the execution Prism answered
    assert {r.url.path for r, _ in streams} == {
        f"/api/v1/main/executions/{followed}/follow",
        f"/api/v1/main/logs/{followed}/follow",
    }
    for request, answer in streams:
        assert request.headers["Accept"] == "text/event-stream"
        assert answer.status_code == 500 and "Cannot serialise" in answer.text, answer.text[:300]
        assert "sl-violations" not in answer.headers
    states = [r for r, _ in streams if "/executions/" in r.url.path]
    assert len(states) == DEFAULT_RETRY.max_attempts  # then it gave up and polled
    _conformant(recording, but_streams=True)
    polls = [r for r, _ in recording.exchanges if r.url.path == f"/api/v1/main/executions/{followed}"]
    assert len(polls) >= 2  # polls once the streams were given up


def test_the_mock_does_reject_what_the_spec_does_not_allow(prism_url: str) -> None:
    """A control: the contract check can fail (wrong content type; no credentials)."""
    wrong = httpx.post(
        f"{prism_url}/api/v1/main/flows/validate", json={"id": "x"}, auth=("admin@kestra.io", "Admin1234")
    )
    assert wrong.status_code >= 400
    anonymous = httpx.post(
        f"{prism_url}/api/v1/main/flows/bulk",
        content=b"id: x",
        headers={"Content-Type": "application/x-yaml"},
    )
    assert anonymous.status_code == 401


def test_outputs_are_read_from_the_outputs_endpoints(server: KestraServer, recording: Recording) -> None:
    outputs = server.outputs("4SCXzZj2J6MgnG0QkscBMv")
    _conformant(recording)
    [listing, *each] = [r for r, _ in recording.exchanges]
    assert (listing.method, listing.url.path) == ("GET", "/api/v1/main/outputs/4SCXzZj2J6MgnG0QkscBMv")
    assert each and all(r.url.path.startswith("/api/v1/main/outputs/4SCXzZj2J6MgnG0QkscBMv/") for r in each)
    assert outputs and all(isinstance(v, dict) for v in outputs.values())


def test_searching_executions_sends_query_filters(server: KestraServer, recording: Recording) -> None:
    found = server.executions("company.airflow", "etl", state="FAILED", labels={"team": "data"}, size=5)
    _conformant(recording)
    assert list(found.columns) == executions_schema().names and len(found) >= 1
    assert found["id"].dtype == "string" and str(found["start_date"].dtype) == "datetime64[us, UTC]"
    [(request, _)] = recording.exchanges
    assert request.url.path == "/api/v1/main/executions/search"
    assert request.url.params["filters[flowId][EQUALS]"] == "etl"
    assert request.url.params["filters[namespace][EQUALS]"] == "company.airflow"
    assert request.url.params["filters[state][EQUALS]"] == "FAILED"
    assert request.url.params["filters[labels][EQUALS][team]"] == "data"
    assert request.url.params["size"] == "5"


@pytest.mark.parametrize(
    ("call", "method", "path"),
    [
        (lambda s: s.pause("E1"), "POST", "/api/v1/main/executions/E1/actions/pause"),
        (lambda s: s.restart("E1", revision=2), "POST", "/api/v1/main/executions/E1/actions/restart"),
        (lambda s: s.replay("E1", task_run_id="T1"), "POST", "/api/v1/main/executions/E1/actions/replay"),
    ],
)
def test_execution_actions_use_the_2_0_paths(
    server: KestraServer, recording: Recording, call: Any, method: str, path: str
) -> None:
    execution = call(server)
    _conformant(recording)
    assert isinstance(execution, Execution)
    request = recording.exchanges[0][0]
    assert (request.method, request.url.path) == (method, path)


@pytest.mark.parametrize(
    ("call", "path"),
    [
        (lambda s: s.resume("E1", {"ok": "yes"}), "/api/v1/main/executions/E1/actions/resume"),
        (lambda s: s.resume("E1"), "/api/v1/main/executions/E1/actions/resume"),
        (
            lambda s: s.replay("E1", inputs={"day": "2026-11-25"}),
            "/api/v1/main/executions/E1/actions/replay-with-inputs",
        ),
    ],
)
def test_multipart_actions_differ_from_the_spec_only_by_its_array_body(
    server: KestraServer, recording: Recording, call: Any, path: str
) -> None:
    """The spec types these multipart bodies as an array (as it does the execution inputs), which no
    form can be; Kestra reads one form field per input. Prism's only complaint is that one."""
    with pytest.raises(KestraApiError) as info:
        call(server)
    assert info.value.status == 422
    [(request, response)] = recording.exchanges
    assert (request.method, request.url.path) == ("POST", path)
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert [v["message"] for v in response.json()["validation"]] == ["Request body must be array"]


def test_kill_uses_the_2_0_path_and_accepts_text_json(server: KestraServer, recording: Recording) -> None:
    """The spec says kill answers ``text/json`` (an ``Accept: application/json`` alone gets 406).
    Prism validates the request, then cannot write a JSON object as text (its 500 names that): the
    request passed validation, which a violation would have answered 422 instead."""
    with pytest.raises(KestraApiError, match="Cannot serialise complex objects as text") as info:
        server.kill("E1")
    assert info.value.status == 500
    [(request, response)] = recording.exchanges
    assert "sl-violations" not in response.headers
    assert (request.method, request.url.path) == ("DELETE", "/api/v1/main/executions/E1/actions/kill")
    assert "text/json" in request.headers["accept"]


def test_version_detection_asks_the_configs_endpoint(prism_url: str, recording: Recording) -> None:
    """Detection sends a request the spec accepts; Prism's invented release is refused clearly."""
    with (
        VirtualTimeKestraServer(
            prism_url, username="admin@kestra.io", password="Admin1234", transport=recording
        ) as server,
        pytest.raises(KestraError, match=r"answered version='string'.*pass version='1.3' or version='2.0'"),
    ):
        server.version()
    _conformant(recording)
    [(request, _)] = recording.exchanges
    assert (request.method, request.url.path) == ("GET", "/api/v1/configs")
