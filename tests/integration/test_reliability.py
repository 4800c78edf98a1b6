"""Reliability against the REAL Airflow 3.3.2 and 2.10.5: faults injected by a proxy, an API server
restart in the middle of a wait, token expiry, secrets that never leak, 200 waits in one event loop.

Every trigger is checked on the Airflow side: exactly one run with the run id the client returned.
Runs go to ``reliability_paused_dag`` (paused at creation: runs stay queued and cost nothing) and
are settled with ``set_dag_run_state``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from kestra_airflow_sdk import AirflowClient, AsyncAirflowClient, DagRunState, RetryPolicy
from kestra_airflow_sdk.airflow import AuthenticationError, WaitTimeoutError
from tests.airflow_servers import REPO, USERNAME, AirflowServer
from tests.clients import open_client
from tests.faults.proxy import Fault, FaultProxy

DAG = "reliability_paused_dag"
#: quick retries so the tests stay short; the shape of the default policy
QUICK = RetryPolicy(max_attempts=6, initial_delay=0.2, max_delay=2.0)
#: the JWT secret scripts/airflow.sh gives the test Airflow 3 (to forge an expired token)
JWT_SECRET = "sdk-test-jwt-secret-not-for-production"


@pytest.fixture
def direct(airflow: AirflowServer, credentials: dict[str, str]) -> Iterator[AirflowClient]:
    """A client without proxy, to look at what Airflow really has."""
    with AirflowClient(airflow.base_url, retry=QUICK, **credentials) as client:
        client.pause_dag(DAG)  # paused at creation; make sure
        yield client


@pytest.fixture
def proxy(airflow: AirflowServer) -> Iterator[FaultProxy]:
    with FaultProxy(airflow.base_url) as p:
        yield p


def runs_with_id(client: AirflowClient, run_id: str) -> list[str]:
    return [r.dag_run_id for r in client.list_dag_runs(DAG) if r.dag_run_id == run_id]


class Network(httpx.BaseTransport):
    """The network as the client sees it (``transport=``): records the bearer tokens sent, and can
    put another token on the next API request (what a client whose cached token went stale sends)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.bearers: set[str] = set()
        self.next_token: str | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.next_token is not None and request.url.path.startswith("/api/"):
            request.headers["authorization"] = f"Bearer {self.next_token}"
            self.next_token = None
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme == "Bearer":
            self.bearers.add(value)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def _later(seconds: float, fn: Any) -> threading.Timer:
    timer = threading.Timer(seconds, fn)
    timer.start()
    return timer


TRIGGER_FAULTS = {
    "drop_before_x2": [Fault("drop_before", "POST", "/dagRuns", times=2)],
    "drop_after": [Fault("drop_after", "POST", "/dagRuns")],
    "500_then_503": [
        Fault("status", "POST", "/dagRuns", status=500),
        Fault("status", "POST", "/dagRuns", status=503),
    ],
    "429_retry_after": [Fault("status", "POST", "/dagRuns", status=429, retry_after="1")],
    "slow_then_read_timeout": [Fault("delay", "POST", "/dagRuns", seconds=4.0)],
    "drop_after_and_settle_get_503": [
        Fault("drop_after", "POST", "/dagRuns"),
        Fault("status", "GET", "/dagRuns/", status=503),
    ],
}


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("faults", list(TRIGGER_FAULTS), ids=list(TRIGGER_FAULTS))
def test_trigger_through_faults_creates_exactly_one_run(
    airflow: AirflowServer,
    credentials: dict[str, str],
    direct: AirflowClient,
    proxy: FaultProxy,
    faults: str,
    mode: str,
) -> None:
    with open_client(mode, proxy.url, retry=QUICK, timeout=2.0, **credentials) as client:
        client.get_version()  # log in before the faults (the login is not what is tested here)
        for fault in TRIGGER_FAULTS[faults]:
            proxy.add(
                Fault(
                    fault.action,
                    fault.method,
                    fault.path_contains,
                    fault.times,
                    fault.status,
                    fault.retry_after,
                    fault.seconds,
                )
            )
        run = client.trigger_dag_run(DAG, conf={"fault": faults}, if_paused="ignore")
    assert all(f.applied == f.times for f in proxy.faults), proxy.seen
    assert run.conf == {"fault": faults}
    assert run.dag_run_id.startswith("manual__")
    if faults == "slow_then_read_timeout":
        time.sleep(4.5)  # the delayed first POST reaches Airflow only now: it must create nothing more
    assert runs_with_id(direct, run.dag_run_id) == [run.dag_run_id]
    assert direct.get_dag_run(DAG, run.dag_run_id).conf == {"fault": faults}
    direct.set_dag_run_state(DAG, run.dag_run_id, "failed")


def test_trigger_while_the_proxy_restarts(
    credentials: dict[str, str], direct: AirflowClient, proxy: FaultProxy
) -> None:
    with AirflowClient(proxy.url, retry=QUICK, **credentials) as client:
        client.get_version()
        proxy.stop_listening()
        timer = _later(1.0, proxy.start_listening)
        run = client.trigger_dag_run(DAG, if_paused="ignore")
        timer.join()
    assert runs_with_id(direct, run.dag_run_id) == [run.dag_run_id]
    direct.set_dag_run_state(DAG, run.dag_run_id, "failed")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_wait_through_faults_ends_in_success(
    credentials: dict[str, str], direct: AirflowClient, proxy: FaultProxy, mode: str
) -> None:
    run = direct.trigger_dag_run(DAG, if_paused="ignore")
    path = "/dagRuns/"
    for fault in (
        Fault("status", "GET", path, status=503, times=2),
        Fault("drop_after", "GET", path),
        Fault("status", "GET", path, status=429, retry_after="1"),
        Fault("drop_before", "GET", path),
        Fault("status", "GET", path, status=502),
    ):
        proxy.add(fault)
    with open_client(mode, proxy.url, retry=QUICK, timeout=5.0, **credentials) as client:
        timer = _later(4.0, lambda: direct.set_dag_run_state(DAG, run.dag_run_id, "success"))
        final = client.wait_for_dag_run(
            DAG, run.dag_run_id, poll_frequency=0.3, timeout=120, if_paused="ignore"
        )
        timer.join()
    assert final.state == DagRunState.SUCCESS
    assert all(f.applied == f.times for f in proxy.faults), proxy.seen


def test_wait_survives_a_proxy_outage(
    credentials: dict[str, str], direct: AirflowClient, proxy: FaultProxy
) -> None:
    run = direct.trigger_dag_run(DAG, if_paused="ignore")
    with AirflowClient(proxy.url, retry=QUICK, **credentials) as client:
        client.get_version()
        proxy.stop_listening()  # connection refused for 5 s: longer than the retry budget of one poll
        reopen = _later(5.0, proxy.start_listening)
        settle = _later(6.0, lambda: direct.set_dag_run_state(DAG, run.dag_run_id, "success"))
        final = client.wait_for_dag_run(
            DAG, run.dag_run_id, poll_frequency=0.3, timeout=120, if_paused="ignore"
        )
        reopen.join()
        settle.join()
    assert final.state == DagRunState.SUCCESS


def test_wait_survives_an_api_server_restart(
    airflow: AirflowServer,
    credentials: dict[str, str],
    direct: AirflowClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if airflow.home is None:
        pytest.fail("this test restarts the API server: it needs a server with a known home (start one)")
    run = direct.trigger_dag_run(DAG, if_paused="ignore")
    outcome: dict[str, Any] = {}

    def wait() -> None:
        with AirflowClient(airflow.base_url, retry=QUICK, **credentials) as client:
            try:
                outcome["run"] = client.wait_for_dag_run(DAG, run.dag_run_id, poll_frequency=0.3, timeout=300)
            except Exception as exc:  # reported below
                outcome["error"] = exc

    caplog.set_level(logging.WARNING, logger="kestra_airflow_sdk")
    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(1.0)
    airflow.restart_api()
    assert waiter.is_alive(), outcome  # the wait went on through the restart
    direct.set_dag_run_state(DAG, run.dag_run_id, "success")
    waiter.join(120)
    assert "error" not in outcome, outcome
    assert outcome["run"].state == DagRunState.SUCCESS
    kept_trying = [r for r in caplog.records if "will keep trying" in r.getMessage()]
    assert kept_trying, "the restart was not noticed by the wait"


def _jwt(*, expired: bool, secret: str = JWT_SECRET) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    now = int(time.time())
    start, end = (now - 7200, now - 3600) if expired else (now - 60, now + 3600)
    claims = {
        "sub": USERNAME,
        "role": "admin",
        "aud": "apache-airflow",
        "iat": start,
        "nbf": start,
        "exp": end,
    }
    header = b64(json.dumps({"alg": "HS512", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha512).digest()
    return f"{header}.{payload}.{b64(signature)}"


# what Airflow 3.3.2 really answers (checked first in the test): an expired token → 401 "Token
# Expired"; a token it cannot verify (its JWT secret changed) → 403 "Invalid JWT token"
REJECTED_TOKENS = {
    "expired": (lambda: _jwt(expired=True), 401, "Token Expired"),
    "bad_signature": (lambda: _jwt(expired=False, secret="another-secret"), 403, "Invalid JWT token"),
}


@pytest.mark.parametrize("case", list(REJECTED_TOKENS))
def test_rejected_token_during_a_wait_logs_in_again_once(
    airflow: AirflowServer, credentials: dict[str, str], direct: AirflowClient, proxy: FaultProxy, case: str
) -> None:
    if airflow.major != "3":
        pytest.skip("Airflow 2 uses HTTP basic auth: no token to expire")
    make, status, detail = REJECTED_TOKENS[case]
    token = make()
    answer = httpx.get(f"{airflow.base_url}/api/v2/dags/{DAG}", headers={"Authorization": f"Bearer {token}"})
    assert (answer.status_code, answer.json()) == (status, {"detail": detail})
    run = direct.trigger_dag_run(DAG, if_paused="ignore")
    network = Network()
    with AirflowClient(proxy.url, retry=QUICK, transport=network, **credentials) as client:
        client.get_dag(DAG)
        assert len(proxy.requests("POST", "/auth/token")) == 1
        network.next_token = token
        timer = _later(2.0, lambda: direct.set_dag_run_state(DAG, run.dag_run_id, "success"))
        final = client.wait_for_dag_run(DAG, run.dag_run_id, poll_frequency=0.3, timeout=120)
        timer.join()
        assert final.state == DagRunState.SUCCESS
        assert len(proxy.requests("POST", "/auth/token")) == 2  # one login again, then the new token works


def test_no_secret_in_any_log_repr_or_error(
    airflow: AirflowServer,
    direct: AirflowClient,
    unique_user: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    username, password = unique_user
    caplog.set_level(logging.DEBUG)  # every logger: kestra_airflow_sdk, httpx, httpcore, ...
    for name in ("httpx", "httpcore", "kestra_airflow_sdk"):
        caplog.set_level(logging.DEBUG, logger=name)  # restored after the test
    texts: list[str] = []

    def capture_error(exc: BaseException) -> None:
        texts.extend([str(exc), repr(exc), "".join(traceback.format_exception(exc))])

    secret_values = {password, base64.b64encode(f"{username}:{password}".encode()).decode()}
    network = Network()
    with AirflowClient(
        airflow.base_url, username=username, password=SecretStr(password), retry=QUICK, transport=network
    ) as client:
        client.get_version()
        client.get_dag(DAG)
        run = client.trigger_dag_run(DAG, conf={"x": 1})  # paused: also warns
        client.get_dag_run(DAG, run.dag_run_id)
        try:
            client.wait_for_dag_run(DAG, run.dag_run_id, poll_frequency=0.2, timeout=0.5)
        except WaitTimeoutError as exc:
            capture_error(exc)
        secret_values.update(network.bearers)  # the JWTs Airflow 3 issued to this client
        texts.extend([repr(client), str(client), repr(vars(client))])
    direct.set_dag_run_state(DAG, run.dag_run_id, "failed")

    async def use_async() -> None:
        async with AsyncAirflowClient(airflow.base_url, username=username, password=password) as aclient:
            await aclient.get_dag(DAG)
            texts.extend([repr(aclient), repr(vars(aclient))])

    asyncio.run(use_async())
    wrong = f"{password}-wrong"
    secret_values.add(wrong)
    with AirflowClient(airflow.base_url, username=username, password=wrong, retry=QUICK) as bad:
        try:
            bad.get_dag(DAG)
        except AuthenticationError as exc:
            capture_error(exc)
        else:
            pytest.fail("a wrong password was accepted")
        texts.append(repr(bad))
    if airflow.major == "3":
        with AirflowClient(airflow.base_url, token=password, retry=QUICK) as by_token:  # a rejected token
            try:
                by_token.get_dag(DAG)
            except AuthenticationError as exc:
                capture_error(exc)
            texts.extend([repr(by_token), repr(vars(by_token))])

    for record in caplog.records:
        texts.append(record.getMessage())
        texts.append(repr(record.args))
        if record.exc_info and record.exc_info[1] is not None:
            capture_error(record.exc_info[1])
    texts.append(caplog.text)
    assert len(caplog.records) > 20  # httpx/httpcore debug logs were captured
    everything = "\n".join(texts)
    for value in secret_values:
        assert value not in everything


def test_200_waits_in_one_event_loop_with_stable_memory(
    airflow: AirflowServer, credentials: dict[str, str]
) -> None:
    """Three rounds of 200 concurrent waits; the third must not grow the memory the first two left
    (measured in a process of its own: tests/integration/memory_load.py)."""
    if airflow.major != "3":
        pytest.skip(
            "the load test runs against Airflow 3 (Airflow 2's SQLite/Sequential setup is single-writer)"
        )
    count = 200
    env = {
        **os.environ,
        "KAS_LOAD_USERNAME": credentials["username"],
        "KAS_LOAD_PASSWORD": credentials["password"],
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.memory_load", airflow.base_url, str(count)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(result["rounds"]) == 3
    for states in result["rounds"]:
        assert states.count("success") == count // 2
        assert states.count("failed") == count // 2
    growth, peak = result["growth"], result["peak"]
    assert growth < 512 * 1024, (
        f"the third round of {count} waits kept {growth} more bytes; most of it:\n{result['where']}"
    )
    assert peak < 64 * 1024 * 1024, f"peak {peak} bytes above the baseline while waiting"
