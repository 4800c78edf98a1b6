"""The core client replayed from vcrpy cassettes recorded from real Airflow 3.3.2 and 2.10.5.

Fast and needs no Airflow. Re-record (starts fresh servers, overwrites tests/cassettes/):

    scripts/record-cassettes.sh

Credentials never reach a cassette: auth headers are dropped, the login body and the JWT in the
login response are replaced before anything is written (``test_cassettes_hold_no_credentials``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kestra_airflow_sdk import DagRunState, TaskInstanceState
from kestra_airflow_sdk.airflow import AuthenticationError, NotFoundError
from tests.airflow_servers import AirflowServer, start_server
from tests.cassette_config import FILTERED
from tests.cassette_config import recorder as cassette_recorder
from tests.clients import open_client

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
RECORDING = os.environ.get("KAS_RECORD_CASSETTES") == "1"
CONF = {"source": "cassette", "greeting": "hello from a recording"}


recorder = cassette_recorder(CASSETTES, record=RECORDING)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, AirflowServer]]:
    """Real servers when recording (with a one-off password); nothing when replaying."""
    if not RECORDING:
        yield {}
        return
    os.environ["AIRFLOW_PASSWORD"] = f"rec-{uuid.uuid4().hex}"
    started = {major: start_server(major) for major in ("3", "2")}
    yield started
    for server in started.values():
        server.stop()
    del os.environ["AIRFLOW_PASSWORD"]


def _target(servers: dict[str, AirflowServer], major: str) -> tuple[str, str]:
    if RECORDING:
        return servers[major].base_url, os.environ["AIRFLOW_PASSWORD"]
    return "http://airflow.recorded", "replayed-password"


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("major", ["3", "2"])
def test_replay_trigger_wait_tasks_log(servers: dict[str, AirflowServer], major: str, mode: str) -> None:
    base_url, password = _target(servers, major)
    run_id = f"cassette_{mode}"
    with (
        recorder.use_cassette(f"airflow{major}-{mode}-hello-world.yaml"),
        # the cassettes hold polled waits (a streamed one is covered by tests/integration/test_wait_stream.py)
        open_client(mode, base_url, username="admin", password=password, wait_streams=0) as client,
    ):
        info = client.get_version()
        assert info.api_version == ("v2" if major == "3" else "v1")
        run = client.trigger_dag_run("hello_world_dag", conf=CONF, dag_run_id=run_id)
        assert run.dag_run_id == run_id and run.conf == CONF
        final = client.wait_for_dag_run(
            "hello_world_dag", run_id, poll_frequency=0.5 if RECORDING else 0.001, timeout=300
        )
        assert final.state is DagRunState.SUCCESS
        assert final.duration is not None
        tis = client.list_task_instances("hello_world_dag", run_id)
        assert sorted(ti.task_id for ti in tis) == ["print_conf", "say_hello", "sleep_a_bit"]
        assert {ti.state for ti in tis} == {TaskInstanceState.SUCCESS}
        log = client.get_task_log("hello_world_dag", run_id, "print_conf")
        assert "hello from a recording" in log
        runs = client.list_dag_runs("hello_world_dag", state="success")
        assert run_id in {r.dag_run_id for r in runs}
        with pytest.raises(NotFoundError, match="no_such_dag"):
            client.get_dag("no_such_dag")


@pytest.mark.parametrize("major", ["3", "2"])
def test_replay_wrong_password(servers: dict[str, AirflowServer], major: str) -> None:
    base_url, _ = _target(servers, major)
    wrong = f"wrong-{uuid.uuid4().hex}"
    with (
        recorder.use_cassette(f"airflow{major}-wrong-password.yaml"),
        open_client("sync", base_url, username="admin", password=wrong) as client,
        pytest.raises(AuthenticationError) as err,
    ):
        client.list_dags()
    assert err.value.status == 401
    assert wrong not in str(err.value)


def test_cassettes_hold_no_credentials() -> None:
    files = sorted(CASSETTES.glob("*.yaml"))
    assert len(files) == 6
    for path in files:
        text = path.read_text()
        lowered = text.lower()
        assert "authorization" not in lowered, path.name
        assert "bearer " not in lowered and "basic " not in lowered, path.name
        assert "rec-" not in text and "wrong-" not in text, path.name  # the recording passwords
        for line in text.splitlines():
            if "access_token" in line:
                assert FILTERED in line, path.name
