"""The Kestra server clients (sync and async, one implementation) ride through transient failures:
a call is retried with the Airflow client's RetryPolicy, and a wait whose poll fails transiently
(503, 429, a dropped connection) polls again on the next tick until its timeout. All on virtual
time (tests/virtual_time.py): no real sleep."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from kestra_airflow_sdk import AsyncKestraServer
from kestra_airflow_sdk.flows import Execution, ExecutionState
from kestra_airflow_sdk.kestra import KestraApiError, KestraConnectionError, KestraError
from tests.kestra.test_server import LOGS, _execution
from tests.virtual_time import VirtualTimeKestraServer, run_virtual_timed

Outcome = int | str | dict[str, Any]  # an error status, "drop" (connection dropped), or an execution


class Scripted:
    """A Kestra whose ``GET /executions/exec1`` answers follow a script (the last one repeats)."""

    def __init__(self, polls: list[Outcome], logs: list[Outcome] | None = None) -> None:
        self.polls, self.log_answers = polls, logs or [200]
        self.requests: list[httpx.Request] = []

    def _answer(self, request: httpx.Request, script: list[Outcome], ok: Callable[[], Any]) -> httpx.Response:
        outcome = script.pop(0) if len(script) > 1 else script[0]
        if outcome == "drop":
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if outcome == 429:
            return httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "Too Many Requests"})
        if isinstance(outcome, int) and outcome >= 400:
            return httpx.Response(outcome, json={"message": f"status {outcome}"})
        return httpx.Response(200, json=ok() if outcome == 200 else outcome)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/api/v1/configs":  # a Kestra 1.3: task run outputs inline in the execution
            return httpx.Response(200, json={"version": "1.3.5", "edition": "OSS"})
        if request.method == "POST":
            return httpx.Response(200, json=_execution("CREATED", []))
        if path.endswith("/executions/exec1"):
            return self._answer(request, self.polls, lambda: None)
        if path.endswith("/logs/exec1"):
            return self._answer(request, self.log_answers, lambda: LOGS)
        return httpx.Response(404, json={"message": f"Not Found: {path}"})

    def paths(self, suffix: str) -> int:
        return sum(1 for r in self.requests if r.url.path.endswith(suffix))


def _run(fake: Scripted, mode: str, call: Callable[[Any], Any]) -> tuple[Any, float]:
    """``call(server)`` on the sync server (virtual clock) or the async one (virtual-time loop);
    its result and the virtual seconds it took."""
    kwargs: dict[str, Any] = {"username": "admin@kestra.io", "password": "pw"}
    if mode == "sync":
        with VirtualTimeKestraServer(
            "http://kestra.test:8080", transport=httpx.MockTransport(fake), **kwargs
        ) as server:
            return call(server), server.clock.now

    async def main() -> Any:
        async with AsyncKestraServer(
            "http://kestra.test:8080", transport=httpx.MockTransport(fake), **kwargs
        ) as server:
            return await call(server)

    return run_virtual_timed(main())


MODES = pytest.mark.parametrize("mode", ["sync", "async"])


@MODES
def test_a_wait_rides_through_503_429_and_dropped_connections(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    running, done = _execution("RUNNING", ["RUNNING"]), _execution("SUCCESS", ["SUCCESS"])
    fake = Scripted([503, running, 429, "drop", 502, done])
    execution, took = _run(
        fake, mode, lambda s: s.run(("company.team", "hello"), poll_interval=5, timeout=600)
    )
    assert isinstance(execution, Execution) and execution.state is ExecutionState.SUCCESS
    assert fake.paths("/executions/exec1") == 6  # one poll per tick: every failed poll was tried again
    assert [e.message for e in execution.logs] == ["a", "b"]
    assert took >= 6 * 5  # six ticks of at least the poll interval, on the virtual clock
    warned = [r.getMessage() for r in caplog.records if "will keep trying" in r.getMessage()]
    assert (
        len(warned) == 4
        and any("503" in w for w in warned)
        and any("RemoteProtocolError" in w for w in warned)
    )


@MODES
def test_a_permanent_error_ends_the_wait_with_a_clear_message(mode: str) -> None:
    fake = Scripted([_execution("RUNNING", ["RUNNING"]), 503, 404])
    with pytest.raises(
        KestraError, match=r"Waiting for execution exec1 of company.team.hello stopped: .*404"
    ):
        _run(fake, mode, lambda s: s.run(("company.team", "hello"), poll_interval=5, timeout=600))
    assert fake.paths("/executions/exec1") == 3


@MODES
def test_a_wait_that_only_sees_failures_times_out_naming_the_last_one(mode: str) -> None:
    fake = Scripted([503])
    with pytest.raises(
        KestraError, match=r"did not end within 60s \(last state: CREATED\); last poll failed: .*503"
    ):
        _run(fake, mode, lambda s: s.run(("company.team", "hello"), poll_interval=5, timeout=60))
    assert 2 <= fake.paths("/executions/exec1") <= 12  # polls back off while they fail, within the timeout


@MODES
def test_a_call_is_retried_on_transient_errors_with_the_retry_policy(mode: str) -> None:
    fake = Scripted([503], logs=[503, "drop", 429, 200])
    entries, took = _run(fake, mode, lambda s: s.logs("exec1"))
    assert [e.message for e in entries] == ["a", "b"]
    assert fake.paths("/logs/exec1") == 4
    assert took >= 7  # the 429's Retry-After was honoured


@MODES
def test_a_call_that_keeps_failing_gives_up_with_a_kestra_error(mode: str) -> None:
    fake = Scripted([503], logs=["drop"])
    with pytest.raises(
        KestraConnectionError, match=r"could not reach Kestra at http://kestra.test:8080.*gave up after 5"
    ):
        _run(fake, mode, lambda s: s.logs("exec1"))
    fake = Scripted([503], logs=[401])
    with pytest.raises(KestraApiError, match=r"401 Unauthorized .*check username/password") as info:
        _run(fake, mode, lambda s: s.logs("exec1"))
    assert info.value.status == 401 and not info.value.transient and fake.paths("/logs/exec1") == 1


def test_the_async_server_has_the_same_api_awaited_and_a_clear_repr() -> None:
    server = AsyncKestraServer("http://kestra.test:8080", token="tok-secret")
    assert (
        repr(server)
        == "AsyncKestraServer(url='http://kestra.test:8080', tenant='main', auth='bearer', version='auto')"
    )
    assert "tok-secret" not in repr(vars(server))
    with pytest.raises(KestraError, match=r"transport: expected an httpx\.AsyncBaseTransport"):
        AsyncKestraServer("http://kestra.test:8080", transport=httpx.HTTPTransport())
