"""Kestra 1.3 and 2.0 answer differently: the recorded bodies of tests/kestra/samples (see its
README for the sources of their shapes) served by ``httpx.MockTransport``.

Prism invents answers from the 2.0 schema, so it cannot notice that a real 2.0 server sends an
execution without its task runs' outputs; here the 2.0 Kestra does exactly that, and answers the
1.3 paths with 404 (and the 1.3 Kestra the 2.0 paths), as the real servers would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from kestra_airflow_sdk import AsyncKestraServer, Flow, KestraServer
from kestra_airflow_sdk.flows import ExecutionState, Log, Return
from kestra_airflow_sdk.kestra import KestraApiError, KestraError
from kestra_airflow_sdk.kestra.models import KestraVersion
from tests.virtual_time import VirtualTimeKestraServer, run_virtual

SAMPLES = Path(__file__).resolve().parent / "samples"
EXECUTION_ID = "1KWLxLeaXEXNDaXWP7YSKA"
TASK_RUN_ID = "4536yghIDGnPRNpwhmgQhY"
VERSIONS = ["1.3", "2.0"]
FLOW = (
    Flow(id="myflow", namespace="company.team")
    .task(Return(id="mytask", format="hello from kestra"))
    .task(Log(id="log", message="{{ outputs.mytask.value }}"))
)


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


class RecordedKestra:
    """A Kestra 1.3 or 2.0 answering with the recorded bodies; anything else is 404."""

    def __init__(self, version: str, *, conflict: bool = False) -> None:
        self.version, self.conflict = version, conflict
        self.requests: list[httpx.Request] = []
        actions = "actions/" if version == "2.0" else ""
        ex = f"/api/v1/main/executions/{EXECUTION_ID}"
        self.routes: dict[tuple[str, str], Callable[[], httpx.Response]] = {
            ("GET", "/api/v1/configs"): lambda: self._json(f"configs-{version}.json"),
            ("POST", "/api/v1/main/flows/bulk"): lambda: httpx.Response(
                200, json=[{"id": "myflow", "namespace": "company.team", "revision": 1}]
            ),
            ("POST", "/api/v1/main/executions/company.team/myflow"): lambda: self._json("created.json"),
            ("GET", ex): lambda: self._json(f"execution-{version}.json"),
            ("GET", f"/api/v1/main/logs/{EXECUTION_ID}"): lambda: httpx.Response(200, json=[]),
            ("GET", "/api/v1/main/executions/search"): lambda: self._json(f"search-{version}.json"),
            ("DELETE", f"{ex}/{actions}kill"): lambda: self._empty(202),
            ("POST", f"{ex}/{actions}pause"): lambda: self._empty(204),
            ("POST", f"{ex}/{actions}resume"): lambda: self._empty(204),
            ("POST", f"{ex}/{actions}restart"): lambda: self._json(f"execution-{version}.json"),
            ("POST", f"{ex}/{actions}replay"): lambda: self._json("created.json", id="5ReplayedExecution"),
            ("POST", f"{ex}/{actions}replay-with-inputs"): lambda: self._json(
                "created.json", id="6ReplayedWithInputs"
            ),
        }
        if version == "2.0":
            self.routes[("GET", f"/api/v1/main/outputs/{EXECUTION_ID}")] = lambda: self._json(
                "outputs-2.0.json"
            )
            self.routes[("GET", f"/api/v1/main/outputs/{EXECUTION_ID}/{TASK_RUN_ID}")] = lambda: self._json(
                "outputs-2.0-taskrun.json"
            )

    def _json(self, name: str, **changes: Any) -> httpx.Response:
        return httpx.Response(200, json={**sample(name), **changes} if changes else sample(name))

    def _empty(self, status: int) -> httpx.Response:
        if self.conflict:
            return httpx.Response(409, json={"message": "Execution is already finished"})
        return httpx.Response(status)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get((request.method, request.url.path))
        if route is None:
            return httpx.Response(404, json={"message": f"Not Found: {request.method} {request.url.path}"})
        return route()

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


def _server(fake: RecordedKestra, **kwargs: Any) -> VirtualTimeKestraServer:
    return VirtualTimeKestraServer(
        "http://kestra.test:8080",
        username="admin@kestra.io",
        password="pw",
        transport=httpx.MockTransport(fake),
        **kwargs,
    )


def _on(mode: str, fake: RecordedKestra, call: Callable[[Any], Any], **kwargs: Any) -> Any:
    """``call(server)`` on the sync server, or awaited on the async one (a virtual-time loop)."""
    if mode == "sync":
        with _server(fake, **kwargs) as server:
            return call(server)

    async def main() -> Any:
        async with AsyncKestraServer(
            "http://kestra.test:8080",
            username="admin@kestra.io",
            password="pw",
            transport=httpx.MockTransport(fake),
            **kwargs,
        ) as server:
            return await call(server)

    return run_virtual(main())


MODES = pytest.mark.parametrize("mode", ["sync", "async"])


def test_the_samples_differ_as_the_versions_do() -> None:
    """The 2.0 execution is the 1.3 one without its task runs' outputs (and their execution fields)."""
    old, new = sample("execution-1.3.json"), sample("execution-2.0.json")
    assert [run.get("outputs") for run in old["taskRunList"]] == [{"value": "hello from kestra"}, None]
    assert all(
        set(run) & {"outputs", "executionId", "namespace", "flowId"} == set() for run in new["taskRunList"]
    )
    assert [run["id"] for run in old["taskRunList"]] == [run["id"] for run in new["taskRunList"]]
    assert all("taskRunList" not in item for item in sample("search-2.0.json")["results"])


@pytest.mark.parametrize("version", VERSIONS)
def test_flow_run_on_a_server_returns_the_task_outputs(version: str) -> None:
    fake = RecordedKestra(version)
    with _server(fake) as server:
        execution = FLOW.run(on=server, progress=False)
        assert server.version() is KestraVersion(version)
        assert server.server_version == sample(f"configs-{version}.json")["version"]
    assert execution.state is ExecutionState.SUCCESS and execution.id == EXECUTION_ID
    assert execution.outputs == {"mytask": {"value": "hello from kestra"}}
    assert [(r.task_id, r.type) for r in execution.task_runs] == [
        ("mytask", "io.kestra.plugin.core.debug.Return"),
        ("log", "io.kestra.plugin.core.log.Log"),
    ]
    asked = [p for p in fake.paths() if "/outputs/" in p or "/configs" in p]
    if version == "2.0":  # one listing, then the one task run that has outputs
        assert asked == [
            "GET /api/v1/configs",
            f"GET /api/v1/main/outputs/{EXECUTION_ID}",
            f"GET /api/v1/main/outputs/{EXECUTION_ID}/{TASK_RUN_ID}",
        ]
    else:
        assert asked == ["GET /api/v1/configs"]


def test_a_2_0_server_read_as_1_3_loses_the_outputs() -> None:
    """A control: the version matters, so the test above can fail."""
    with _server(RecordedKestra("2.0"), version="1.3") as server:
        execution = FLOW.run(on=server, progress=False)
    assert execution.state is ExecutionState.SUCCESS and execution.outputs == {}


@MODES
@pytest.mark.parametrize("version", VERSIONS)
def test_execution_and_outputs_on_both_versions(mode: str, version: str) -> None:
    fake = RecordedKestra(version)
    execution = _on(mode, fake, lambda s: s.execution(EXECUTION_ID))
    outputs = _on(mode, fake, lambda s: s.outputs(EXECUTION_ID))
    assert execution.outputs == {"mytask": {"value": "hello from kestra"}}
    assert outputs == {TASK_RUN_ID: {"value": "hello from kestra"}}


def test_the_version_is_asked_once_per_server_and_never_when_forced() -> None:
    fake = RecordedKestra("2.0")
    with _server(fake) as server:
        assert repr(server).endswith("version='auto')")
        server.execution(EXECUTION_ID)
        server.execution(EXECUTION_ID)
        assert repr(server).endswith("version='2.0')")
    assert fake.paths().count("GET /api/v1/configs") == 1
    forced = RecordedKestra("2.0")
    with _server(forced, version="2.0") as server:
        server.execution(EXECUTION_ID)
    assert "GET /api/v1/configs" not in forced.paths()
    with _server(RecordedKestra("2.0")) as other:  # a new server object asks again
        assert other.version() is KestraVersion.V2_0


@MODES
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("call", "request_line", "new_id"),
    [
        (lambda s: s.kill(EXECUTION_ID), "DELETE {ex}/{a}kill", None),
        (lambda s: s.pause(EXECUTION_ID), "POST {ex}/{a}pause", None),
        (lambda s: s.resume(EXECUTION_ID, {"approved": True}), "POST {ex}/{a}resume", None),
        (lambda s: s.restart(EXECUTION_ID, revision=1), "POST {ex}/{a}restart", None),
        (
            lambda s: s.replay(EXECUTION_ID, task_run_id=TASK_RUN_ID),
            "POST {ex}/{a}replay",
            "5ReplayedExecution",
        ),
        (
            lambda s: s.replay(EXECUTION_ID, inputs={"day": "2026-11-25"}),
            "POST {ex}/{a}replay-with-inputs",
            "6ReplayedWithInputs",
        ),
    ],
)
def test_actions_on_both_versions(
    mode: str, version: str, call: Callable[[Any], Any], request_line: str, new_id: str | None
) -> None:
    fake = RecordedKestra(version)
    execution = _on(mode, fake, call, version=version)
    expected = request_line.format(
        ex=f"/api/v1/main/executions/{EXECUTION_ID}", a="actions/" if version == "2.0" else ""
    )
    assert fake.paths()[0] == expected
    if new_id is not None:  # a replay is a new execution
        assert execution.id == new_id
        return
    assert execution.id == EXECUTION_ID
    action = fake.requests[0]
    if action.method == "POST" and "resume" in action.url.path:
        assert b'name="approved"' in action.content and b"True" in action.content
    if "restart" not in expected:  # 202/204 without a body: the execution is read again
        assert fake.paths()[1:] == [f"GET /api/v1/main/executions/{EXECUTION_ID}"]
    # as Kestra answers it: on 2.0 without the task runs' outputs (read them with outputs())
    assert execution.outputs == ({"mytask": {"value": "hello from kestra"}} if version == "1.3" else {})


@pytest.mark.parametrize("version", VERSIONS)
def test_an_action_refused_names_the_version(version: str) -> None:
    release = sample(f"configs-{version}.json")["version"]
    with _server(RecordedKestra(version, conflict=True)) as server, pytest.raises(KestraApiError) as info:
        server.kill(EXECUTION_ID)
    assert info.value.status == 409
    assert f"Kill of execution {EXECUTION_ID} (Kestra {release}) failed" in str(info.value)
    assert "Execution is already finished" in str(info.value)
    with (
        _server(RecordedKestra(version, conflict=True), version=version) as server,
        pytest.raises(KestraApiError, match=re.escape(f"(Kestra {version} API)")),
    ):
        server.pause(EXECUTION_ID)


@MODES
@pytest.mark.parametrize("version", VERSIONS)
def test_searching_executions_on_both_versions(mode: str, version: str) -> None:
    fake = RecordedKestra(version)
    found = _on(mode, fake, lambda s: s.executions("company.team", "myflow", state="SUCCESS"))
    assert found.to_dict("records") == [
        {
            "id": EXECUTION_ID,
            "namespace": "company.team",
            "flow_id": "myflow",
            "flow_revision": 1,
            "state": "SUCCESS",
            "start_date": pd.Timestamp("2026-11-24T05:07:28.447Z"),
            "end_date": pd.Timestamp("2026-11-24T05:07:28.831Z"),
            "duration": pd.Timedelta(milliseconds=384),
            "labels": {"system.correlationId": EXECUTION_ID},
        }
    ]
    assert {name: str(dtype) for name, dtype in found.dtypes.items()} == {
        "id": "string",
        "namespace": "string",
        "flow_id": "string",
        "flow_revision": "Int64",
        "state": "category",
        "start_date": "datetime64[us, UTC]",
        "end_date": "datetime64[us, UTC]",
        "duration": "timedelta64[us]",
        "labels": "object",
    }
    assert "RUNNING" in found["state"].cat.categories  # Kestra's states, not only those present
    [request] = fake.requests
    assert request.url.params["filters[flowId][EQUALS]"] == "myflow"


def test_an_empty_search_is_an_empty_frame_of_the_same_dtypes() -> None:
    fake = RecordedKestra("2.0")
    fake.routes[("GET", "/api/v1/main/executions/search")] = lambda: httpx.Response(
        200, json={"results": [], "total": 0}
    )
    with _server(fake) as server:
        empty = server.executions(flow_id="nothing")
        full = _on("sync", RecordedKestra("2.0"), lambda s: s.executions())
    assert empty.empty and list(empty.columns) == list(full.columns)
    assert empty.dtypes.astype(str).tolist() == full.dtypes.astype(str).tolist()


def test_bad_version_arguments_and_answers_are_clear_errors() -> None:
    with pytest.raises(KestraError, match=r"version: expected one of 'auto', '1.3', '2.0', got '3'"):
        KestraServer("http://kestra.test:8080", version="3")
    not_kestra = httpx.MockTransport(lambda request: httpx.Response(200, json={"version": "unknown"}))
    with (
        KestraServer("http://kestra.test:8080", transport=not_kestra) as server,
        pytest.raises(KestraError, match=r"answered version='unknown'.*pass version='1.3' or version='2.0'"),
    ):
        server.execution(EXECUTION_ID)
    missing = httpx.MockTransport(lambda request: httpx.Response(404, json={"message": "Not Found"}))
    with (
        KestraServer("http://kestra.test:8080", transport=missing, retry=None) as server,
        pytest.raises(
            KestraApiError,
            match=r"Detecting the Kestra version failed: Kestra answered 404 to GET /api/v1/configs",
        ),
    ):
        server.version()
    with (
        _server(RecordedKestra("2.0")) as server,
        pytest.raises(KestraError, match="page: expected an integer"),
    ):
        server.executions(page=0)


def test_outputs_that_cannot_be_read_after_a_run_say_how_the_execution_ended() -> None:
    fake = RecordedKestra("2.0")
    del fake.routes[("GET", f"/api/v1/main/outputs/{EXECUTION_ID}/{TASK_RUN_ID}")]
    with _server(fake) as server, pytest.raises(KestraError) as info:
        server.run(FLOW)
    message = str(info.value)
    assert message.startswith(f"Execution {EXECUTION_ID} of company.team.myflow ended SUCCESS")
    assert f"Reading the outputs of task run {TASK_RUN_ID} (mytask) (Kestra 2.0.3) failed" in message
    assert "404" in message


def test_a_configs_answer_refused_says_why() -> None:
    refused = httpx.MockTransport(lambda request: httpx.Response(401, json={"message": "Unauthorized"}))
    with (
        KestraServer("http://kestra.test:8080", token="t0ken", transport=refused) as server,
        pytest.raises(
            KestraApiError, match=r"answered 401 to GET /api/v1/configs \(check username/password or token\)"
        ) as info,
    ):
        server.version()
    assert "t0ken" not in str(info.value)
