"""wait_for_dag_run keeps going through transient failures, until its timeout, and says why it stopped.

The sync fake client runs on virtual time (tests/virtual_time.py): polls every 5 s and 60 s timeouts
cost no real time, and how many polls fit in a timeout is exact.
"""

from __future__ import annotations

import httpx
import pytest

from kestra_airflow_sdk import DagRunState
from kestra_airflow_sdk.airflow import (
    AuthenticationError,
    DagPausedError,
    DagPausedWarning,
    InvalidArgumentError,
    WaitTimeoutError,
)
from tests.fake_airflow import FakeAirflow, answering, fake_client, raising

FAST_WAIT = {"poll_frequency": 5.0, "timeout": 600.0}


def _fake_with_run(*states: str, paused: bool = False) -> FakeAirflow:
    fake = FakeAirflow(api="v1", paused=paused)
    fake.add_run("d", "r", "queued", *states)
    return fake


def test_wait_survives_a_long_outage_beyond_the_retry_budget() -> None:
    fake = _fake_with_run("running", "success")
    for _ in range(12):  # more failures in a row than max_attempts: the wait is bounded by time only
        fake.fault("GET", "/dagRuns/r", raising(httpx.ConnectError))
    for status in (502, 503, 504, 500, 429):
        fake.fault("GET", "/dagRuns/r", answering(status))
    fake.fault("GET", "/dagRuns/r", raising(httpx.ReadTimeout))
    with fake_client(fake) as client:
        run = client.wait_for_dag_run("d", "r", **FAST_WAIT)
    assert run.state == DagRunState.SUCCESS


def test_timeout_message_says_how_long_and_last_state() -> None:
    fake = _fake_with_run("running")
    with fake_client(fake) as client, pytest.raises(WaitTimeoutError) as info:
        client.wait_for_dag_run("d", "r", poll_frequency=5.0, timeout=60)
    message = str(info.value)
    assert "'r' of DAG 'd' did not finish within 60s: waited 60.0s" in message
    assert "last state seen running" in message
    assert info.value.last_state == "running"
    assert info.value.waited == 60.0
    assert fake.count("GET", "/dagRuns/r") == 13  # at 0, 5, ..., 60 s


def test_timeout_during_an_outage_names_the_last_error() -> None:
    fake = _fake_with_run("running")
    fake.fault("GET", "/dagRuns/r", lambda request: None)  # the first poll succeeds
    fake.faults.extend(("GET", "/dagRuns/r", raising(httpx.ConnectError)) for _ in range(10_000))
    with fake_client(fake) as client, pytest.raises(WaitTimeoutError) as info:
        client.wait_for_dag_run("d", "r", poll_frequency=5.0, timeout=60)
    assert "last poll failed: Could not reach Airflow at http://airflow.test/api/v1/dags/d/dagRuns/r" in str(
        info.value
    )
    assert "last state seen running" in str(info.value)


def test_timeout_without_any_successful_poll() -> None:
    fake = _fake_with_run("running")
    fake.faults.extend(("GET", "/dagRuns/r", answering(503)) for _ in range(10_000))
    with fake_client(fake) as client, pytest.raises(WaitTimeoutError, match="no state seen") as info:
        client.wait_for_dag_run("d", "r", poll_frequency=5.0, timeout=60)
    assert info.value.last_state is None
    assert "503" in str(info.value)


def test_a_permanent_error_ends_the_wait_at_once() -> None:
    fake = _fake_with_run("running")
    fake.fault("GET", "/dagRuns/r", answering(401))
    with fake_client(fake) as client, pytest.raises(AuthenticationError):
        client.wait_for_dag_run("d", "r", **FAST_WAIT)
    assert fake.count("GET", "/dagRuns/r") == 1


def test_waiting_on_a_paused_dag_warns_once_and_the_timeout_says_it() -> None:
    fake = _fake_with_run("queued", paused=True)
    with (
        fake_client(fake) as client,
        pytest.warns(DagPausedWarning, match="DAG 'd' is paused") as record,
        pytest.raises(WaitTimeoutError) as info,
    ):
        client.wait_for_dag_run("d", "r", poll_frequency=5.0, timeout=300)
    assert len(record) == 1
    # checked 15 s into the wait, then every 60 s while the run stays queued: 15, 75, ..., 255 s
    assert fake.count("GET", "/dags/d") - fake.count("GET", "/dags/d/dagRuns/r") == 5
    assert "DAG 'd' is paused, so the run stays queued until it is unpaused" in str(info.value)


def test_waiting_on_a_paused_dag_can_raise() -> None:
    fake = _fake_with_run("queued", paused=True)
    with fake_client(fake) as client, pytest.raises(DagPausedError, match=r"unpause_dag\('d'\)"):
        client.wait_for_dag_run("d", "r", if_paused="raise", **FAST_WAIT)


def test_no_paused_check_in_the_first_seconds_of_a_wait() -> None:
    fake = _fake_with_run("queued", "success", paused=True)
    with fake_client(fake) as client:
        client.wait_for_dag_run("d", "r", **FAST_WAIT)
    assert fake.count("GET", "/dags/d") == fake.count("GET", "/dags/d/dagRuns/r")  # no DAG lookup


def test_triggering_a_paused_dag_warns_or_raises_before_posting() -> None:
    fake = FakeAirflow(api="v1", paused=True)
    with fake_client(fake) as client:
        with pytest.raises(DagPausedError):
            client.trigger_dag_run("d", if_paused="raise")
        assert fake.count("POST") == 0
        with pytest.warns(DagPausedWarning):
            client.trigger_dag_run("d", if_paused="warn")
        assert fake.count("POST") == 1
        client.trigger_dag_run("d")  # default: no lookup, no warning
        assert fake.count("GET", "/dags/d") == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"poll_frequency": 0}, "poll_frequency"),
        ({"timeout": -1}, "timeout"),
        ({"if_paused": "maybe"}, "if_paused"),
    ],
)
def test_bad_wait_arguments_fail_before_any_request(kwargs: dict[str, object], field: str) -> None:
    fake = FakeAirflow(api="v1")
    with fake_client(fake) as client, pytest.raises(InvalidArgumentError, match=field):
        client.wait_for_dag_run("d", "r", **kwargs)
    assert fake.log == []
