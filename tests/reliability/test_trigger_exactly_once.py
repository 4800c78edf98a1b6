"""Exactly one DAG run per trigger, whatever fails: settling by run id, blind retry only when unsent."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from kestra_airflow_sdk import RetryPolicy
from kestra_airflow_sdk.airflow import NO_RETRY, AirflowConnectionError, ApiError, ConflictError
from kestra_airflow_sdk.airflow.operations import new_run_id
from tests.fake_airflow import (
    FakeAirflow,
    after_forwarding,
    answering,
    fake_async_client,
    fake_client,
    raising,
)

RUNS = "/dagRuns"


def test_generated_run_id_is_manual_style_and_unique() -> None:
    ids = {new_run_id() for _ in range(1000)}
    assert len(ids) == 1000
    for run_id in list(ids)[:20]:
        assert re.fullmatch(r"manual__\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00_[0-9a-f]{8}", run_id)
        assert re.fullmatch(r"[A-Za-z0-9_.~:+-]+", run_id)  # Airflow's allowed_run_id_pattern


def test_client_chooses_the_run_id_when_none_is_given() -> None:
    fake = FakeAirflow(api="v1")
    with fake_client(fake) as client:
        run = client.trigger_dag_run("d", conf={"a": 1})
    assert run.dag_run_id.startswith("manual__")
    assert list(fake.runs) == [run.dag_run_id]


@pytest.mark.parametrize("exc", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_unsent_post_is_retried_blindly(exc: type[httpx.TransportError]) -> None:
    fake = FakeAirflow(api="v1")
    fake.fault("POST", RUNS, raising(exc))
    fake.fault("POST", RUNS, raising(exc))
    with fake_client(fake) as client:
        run = client.trigger_dag_run("d", if_paused="ignore")
    assert fake.count("POST", RUNS) == 3
    assert fake.count("GET", RUNS) == 0  # nothing to settle: Airflow never saw the request
    assert list(fake.runs) == [run.dag_run_id]


@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError])
def test_ambiguous_failure_that_created_the_run_returns_it(exc: type[httpx.TransportError]) -> None:
    fake = FakeAirflow(api="v1")
    fake.fault("POST", RUNS, after_forwarding(fake, exc))
    with fake_client(fake) as client:
        run = client.trigger_dag_run("d", conf={"k": "v"}, if_paused="ignore")
    assert fake.count("POST", RUNS) == 1  # settled by the GET, never posted again
    assert fake.count("GET", run.dag_run_id) == 1
    assert list(fake.runs) == [run.dag_run_id]
    assert run.conf == {"k": "v"}


@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.RemoteProtocolError])
def test_ambiguous_failure_that_created_nothing_posts_again(exc: type[httpx.TransportError]) -> None:
    fake = FakeAirflow(api="v1")
    fake.fault("POST", RUNS, raising(exc))
    with fake_client(fake) as client:
        run = client.trigger_dag_run("d", if_paused="ignore")
    assert fake.count("POST", RUNS) == 2
    assert list(fake.runs) == [run.dag_run_id]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_settled_then_retried(status: int) -> None:
    """Airflow 3 on SQLite answers 500 "database is locked" and creates nothing."""
    fake = FakeAirflow(api="v1")
    fake.fault("POST", RUNS, answering(status))
    fake.fault("POST", RUNS, answering(status))
    with fake_client(fake) as client:
        run = client.trigger_dag_run("d", if_paused="ignore")
    assert fake.count("POST", RUNS) == 3
    assert fake.count("GET", run.dag_run_id) == 2
    assert list(fake.runs) == [run.dag_run_id]


def test_5xx_after_creating_the_run_is_not_a_failure() -> None:
    fake = FakeAirflow(api="v1")

    def created_then_500(request: httpx.Request) -> httpx.Response:
        fake.answer(request)
        return httpx.Response(500, json={"detail": "oops"})

    fake.fault("POST", RUNS, created_then_500)
    with fake_client(fake) as client:
        run = client.trigger_dag_run("d", if_paused="ignore")
    assert fake.count("POST", RUNS) == 1
    assert list(fake.runs) == [run.dag_run_id]


def test_409_on_our_own_retry_returns_the_existing_run() -> None:
    """Read timeout, the settle GET misses the run (still being written), the retry gets 409."""
    fake = FakeAirflow(api="v1")
    state: dict[str, httpx.Request] = {}

    def slow_commit(request: httpx.Request) -> None:
        state["post"] = request
        raise httpx.ReadTimeout("injected", request=request)

    def commit_then_404(request: httpx.Request) -> httpx.Response:
        fake.answer(state["post"])  # the first POST lands only now
        return httpx.Response(404, json={"detail": "not yet"})

    fake.fault("POST", RUNS, slow_commit)
    fake.fault("GET", "manual__", commit_then_404)
    with fake_client(fake) as client:
        run = client.trigger_dag_run("d", if_paused="ignore")
    assert fake.count("POST", RUNS) == 2  # the second one got 409
    assert list(fake.runs) == [run.dag_run_id]


def test_409_for_a_run_id_the_user_gave_is_a_conflict() -> None:
    fake = FakeAirflow(api="v1")
    with fake_client(fake) as client:
        client.trigger_dag_run("d", dag_run_id="mine", if_paused="ignore")
        with pytest.raises(ConflictError, match="mine"):
            client.trigger_dag_run("d", dag_run_id="mine", if_paused="ignore")
    assert fake.count("POST", RUNS) == 2
    assert list(fake.runs) == ["mine"]


def test_user_run_id_is_settled_after_an_ambiguous_failure() -> None:
    fake = FakeAirflow(api="v1")
    fake.fault("POST", RUNS, after_forwarding(fake, httpx.ReadTimeout))
    with fake_client(fake) as client:
        run = client.trigger_dag_run("d", dag_run_id="mine", if_paused="ignore")
    assert run.dag_run_id == "mine"
    assert list(fake.runs) == ["mine"]


def test_client_errors_are_not_retried() -> None:
    fake = FakeAirflow(api="v1")
    fake.fault("POST", RUNS, answering(400))
    with fake_client(fake) as client, pytest.raises(ApiError) as info:
        client.trigger_dag_run("d", if_paused="ignore")
    assert info.value.status == 400
    assert fake.count("POST", RUNS) == 1
    assert fake.count("GET", RUNS) == 0


def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    fake = FakeAirflow(api="v1")
    for _ in range(10):
        fake.fault("POST", RUNS, answering(503))
    policy = RetryPolicy(max_attempts=3, initial_delay=0.001, max_delay=0.001)
    with fake_client(fake, retry=policy) as client, pytest.raises(ApiError) as info:
        client.trigger_dag_run("d", if_paused="ignore")
    assert info.value.status == 503
    assert fake.count("POST", RUNS) == 3
    assert fake.runs == {}


def test_no_retry_still_settles_an_ambiguous_failure() -> None:
    """Nothing fails that succeeded, even without retries."""
    fake = FakeAirflow(api="v1")
    fake.fault("POST", RUNS, after_forwarding(fake, httpx.ReadTimeout))
    with fake_client(fake, retry=NO_RETRY) as client:
        run = client.trigger_dag_run("d", if_paused="ignore")
    assert list(fake.runs) == [run.dag_run_id]


def test_unknown_outcome_when_the_lookup_fails_too() -> None:
    fake = FakeAirflow(api="v1")
    fake.fault("POST", RUNS, raising(httpx.ReadTimeout))
    for _ in range(5):
        fake.fault("GET", "manual__", raising(httpx.ConnectError))
    with (
        fake_client(fake) as client,
        pytest.raises(AirflowConnectionError, match="outcome is unknown") as info,
    ):
        client.trigger_dag_run("d", if_paused="ignore")
    assert "get_dag_run('d', 'manual__" in str(info.value)
    assert fake.count("POST", RUNS) == 1


def test_429_honours_retry_after_and_posts_again() -> None:
    fake = FakeAirflow(api="v1")
    fake.fault("POST", RUNS, answering(429, {"Retry-After": "0"}))
    with fake_client(fake) as client:
        run = client.trigger_dag_run("d", if_paused="ignore")
    assert fake.count("POST", RUNS) == 2
    assert fake.count("GET", RUNS) == 0  # 429 means "not processed": nothing to settle
    assert list(fake.runs) == [run.dag_run_id]


def test_async_driver_settles_the_same_way() -> None:
    fake = FakeAirflow(api="v1")
    fake.fault("POST", RUNS, after_forwarding(fake, httpx.RemoteProtocolError))
    fake.fault("POST", RUNS, answering(500))

    async def main() -> str:
        async with fake_async_client(fake) as client:
            first = await client.trigger_dag_run("d", if_paused="ignore")
            second = await client.trigger_dag_run("d", if_paused="ignore")
            return f"{first.dag_run_id} {second.dag_run_id}"

    ids = asyncio.run(main()).split()
    assert sorted(fake.runs) == sorted(ids)
    assert fake.count("POST", RUNS) == 3
