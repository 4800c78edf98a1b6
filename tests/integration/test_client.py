"""The core client against real Airflow 3.3.2 and 2.10.5, through both drivers (sync and async)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from kestra_airflow_sdk import AirflowClient, DagRunState, TaskInstanceState
from kestra_airflow_sdk.airflow import (
    AuthenticationError,
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    WaitTimeoutError,
)
from tests.airflow_servers import AirflowServer
from tests.clients import open_client

WAIT = {"poll_frequency": 0.5, "timeout": 180.0}


def _run_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def test_detects_version(client: Any, airflow: AirflowServer) -> None:
    info = client.get_version()
    assert info.api_version == airflow.api_version
    assert client.api_version == airflow.api_version
    airflow.release()  # the release the server was started with (a reused one: asked)
    assert info.version == airflow.version and info.version.startswith(f"{airflow.major}.")
    assert client.server_version == info.version


def test_hello_world_end_to_end(client: Any) -> None:
    conf = {"source": "sdk-test", "marker": uuid.uuid4().hex}
    run = client.trigger_dag_run(
        "hello_world_dag", conf=conf, dag_run_id=_run_id("e2e"), note="from the tests"
    )
    assert run.dag_id == "hello_world_dag"
    assert run.state in (DagRunState.QUEUED, DagRunState.RUNNING)
    assert run.conf == conf

    final = client.wait_for_dag_run(run.dag_id, run.dag_run_id, **WAIT)
    assert final.state == DagRunState.SUCCESS
    assert final.start_date is not None and final.start_date.tzinfo is not None
    assert final.duration is not None and final.duration > timedelta(0)
    assert final.note == "from the tests"

    tis = client.list_task_instances(run.dag_id, run.dag_run_id)
    assert sorted(ti.task_id for ti in tis) == ["print_conf", "say_hello", "sleep_a_bit"]
    assert all(ti.state == TaskInstanceState.SUCCESS for ti in tis)
    assert all(ti.try_number >= 1 for ti in tis)

    log = client.get_task_log(run.dag_id, run.dag_run_id, "print_conf")
    assert conf["marker"] in log
    assert "dag_run.conf" in log

    runs = client.list_dag_runs("hello_world_dag", state="success")
    assert run.dag_run_id in {r.dag_run_id for r in runs}


def test_failing_dag_ends_failed(client: Any) -> None:
    run = client.trigger_dag_run("failing_dag", dag_run_id=_run_id("fail"))
    final = client.wait_for_dag_run(run.dag_id, run.dag_run_id, **WAIT)
    assert final.state == DagRunState.FAILED
    (ti,) = client.list_task_instances(run.dag_id, run.dag_run_id)
    assert ti.state == TaskInstanceState.FAILED
    assert "intentional failure" in client.get_task_log(run.dag_id, run.dag_run_id, "boom")


def test_missing_dag_raises_not_found(client: Any) -> None:
    with pytest.raises(NotFoundError) as err:
        client.get_dag("no_such_dag")
    assert err.value.status == 404
    assert "no_such_dag" in str(err.value)
    with pytest.raises(NotFoundError):
        client.trigger_dag_run("no_such_dag")
    with pytest.raises(NotFoundError):
        client.get_dag_run("hello_world_dag", "no_such_run")


def test_wrong_password_raises_authentication_error(airflow: AirflowServer) -> None:
    """Every release: 401 (2.10, 3.x) or 403 (2.11, told apart from a missing permission on the login page)."""
    secret = f"wrong-{uuid.uuid4().hex}"
    status = 403 if airflow.major == "2" and airflow.release() >= (2, 11) else 401
    for mode in ("sync", "async"):
        with open_client(mode, airflow.base_url, username="admin", password=secret) as c:
            with pytest.raises(AuthenticationError) as err:
                c.get_dag("hello_world_dag")
            assert err.value.status == status
            assert secret not in str(err.value)
            assert secret not in repr(err.value)
            assert secret not in repr(c)


def test_duplicate_run_id_raises_conflict(client: Any) -> None:
    run_id = _run_id("dup")
    client.pause_dag("slow_dag")
    try:
        client.trigger_dag_run("slow_dag", dag_run_id=run_id)
        with pytest.raises(ConflictError) as err:
            client.trigger_dag_run("slow_dag", dag_run_id=run_id)
        assert err.value.status == 409
    finally:
        client.set_dag_run_state("slow_dag", run_id, "failed")
        client.unpause_dag("slow_dag")


def test_pause_unpause_and_paused_run_stays_queued(client: Any) -> None:
    dag = client.pause_dag("slow_dag")
    assert dag.is_paused is True
    try:
        run = client.trigger_dag_run("slow_dag", dag_run_id=_run_id("paused"))
        with pytest.raises(WaitTimeoutError) as err:
            client.wait_for_dag_run(run.dag_id, run.dag_run_id, poll_frequency=0.5, timeout=2.0)
        assert err.value.last_state == "queued"
        assert "queued" in str(err.value)
        marked = client.set_dag_run_state(run.dag_id, run.dag_run_id, "failed")
        assert marked.state == DagRunState.FAILED
    finally:
        assert client.unpause_dag("slow_dag").is_paused is False


def test_clear_reruns_a_failed_run(client: Any) -> None:
    run = client.trigger_dag_run("failing_dag", dag_run_id=_run_id("clear"))
    client.wait_for_dag_run(run.dag_id, run.dag_run_id, **WAIT)
    cleared = client.clear_dag_run(run.dag_id, run.dag_run_id)
    assert cleared.state in (DagRunState.QUEUED, DagRunState.RUNNING, DagRunState.FAILED)
    final = client.wait_for_dag_run(run.dag_id, run.dag_run_id, **WAIT)
    assert final.state == DagRunState.FAILED
    (ti,) = client.list_task_instances(run.dag_id, run.dag_run_id)
    assert ti.try_number == 2  # the clear really ran the task again (dry_run was false)


def test_logical_date_and_pagination(client: Any, airflow: AirflowServer) -> None:
    """Explicit logical dates round-trip, and listing crosses pages (page size forced small)."""
    client.pause_dag("slow_dag")
    base = datetime(2020, 1, 1, tzinfo=timezone.utc) + timedelta(days=uuid.uuid4().int % 100000)
    created = []
    try:
        for i in range(5):
            run = client.trigger_dag_run(
                "slow_dag", dag_run_id=_run_id(f"page{i}"), logical_date=base + timedelta(hours=i)
            )
            assert run.logical_date == base + timedelta(hours=i)
            created.append(run.dag_run_id)
        import kestra_airflow_sdk.airflow.pagination as pagination

        old = pagination.PAGE_SIZE
        pagination.PAGE_SIZE = 2
        try:
            listed = client.list_dag_runs("slow_dag", state="queued")
            limited = client.list_dag_runs("slow_dag", state=["queued"], limit=3)
        finally:
            pagination.PAGE_SIZE = old
        assert set(created) <= {r.dag_run_id for r in listed}
        assert len({r.dag_run_id for r in listed}) == len(listed)
        assert len(limited) == 3
        everything = client.list_dag_runs(None, state="queued")
        assert set(created) <= {r.dag_run_id for r in everything}
    finally:
        for run_id in created:
            client.set_dag_run_state("slow_dag", run_id, "failed")
        client.unpause_dag("slow_dag")


def test_bad_input_is_rejected_before_any_request(
    airflow: AirflowServer, credentials: dict[str, str]
) -> None:
    with AirflowClient(airflow.base_url, **credentials) as c:
        with pytest.raises(InvalidArgumentError, match="conf"):
            c.trigger_dag_run("hello_world_dag", conf={"when": object()})
        with pytest.raises(InvalidArgumentError, match="naive"):
            c.trigger_dag_run("hello_world_dag", logical_date=datetime(2024, 1, 1))
        assert c.api_version is None  # nothing was sent, not even the version probe


def test_forcing_the_wrong_api_version_is_a_clear_error(
    airflow: AirflowServer, credentials: dict[str, str]
) -> None:
    wrong = "v1" if airflow.api_version == "v2" else "v2"
    with (
        AirflowClient(airflow.base_url, api_version=wrong, **credentials) as c,  # type: ignore[arg-type]
        pytest.raises(InvalidArgumentError, match=f"api_version='{wrong}'"),
    ):
        c.list_dags()


def test_auth_scheme_per_version_and_rejected_token_relogin(
    airflow: AirflowServer, credentials: dict[str, str]
) -> None:
    """Airflow 2 gets basic auth on every request; Airflow 3 gets a JWT, and when the cached token is
    rejected (Airflow 3 answers 403 "Invalid JWT token"), the client logs in again once."""
    seen: list[tuple[str, str]] = []
    expire = [False]

    class Watching(httpx.BaseTransport):
        """The network, seen from the client: records each request; ``expire`` makes the next API
        request carry a token Airflow does not know (what an expired token gets)."""

        def __init__(self) -> None:
            self.network = httpx.HTTPTransport()

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if expire[0] and request.url.path.startswith("/api/"):
                expire[0] = False
                request.headers["authorization"] = "Bearer not-a-valid-jwt"
            seen.append((request.url.path, request.headers.get("authorization", "").split(" ")[0]))
            return self.network.handle_request(request)

        def close(self) -> None:
            self.network.close()

    with AirflowClient(airflow.base_url, **credentials, transport=Watching()) as c:
        c.get_dag("hello_world_dag")
        if airflow.major == "2":
            assert ("/api/v1/dags/hello_world_dag", "Basic") in seen
            assert all(path != "/auth/token" for path, _ in seen)
            return
        assert [p for p, _ in seen].count("/auth/token") == 1
        expire[0] = True
        assert c.get_dag("hello_world_dag").dag_id == "hello_world_dag"
        assert [p for p, _ in seen].count("/auth/token") == 2
        assert seen[-1] == ("/api/v2/dags/hello_world_dag", "Bearer")
