"""The test servers clean up after themselves: stopping one (also after a failed start) deletes its
Airflow home - database, logs, the password file - from the temporary folder. Checked with a stand-in
for scripts/airflow.sh that records how it was called, so no Airflow is needed."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

from tests import airflow_servers
from tests.airflow_servers import AirflowServer, ProductionServer, start_server

FAKE_SCRIPT = """#!/usr/bin/env bash
# stands in for scripts/airflow.sh: logs "<major> <command> <AIRFLOW_HOME>", then acts as told
echo "$1 $2 $AIRFLOW_HOME" >> "{calls}"
if [ "$2" = start ]; then
  echo '{{"admin": "admin"}}' > "$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
  echo "scheduler died" >&2
  exit 1
fi
exit "${{FAKE_STOP_EXIT:-0}}"
"""


@pytest.fixture
def calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Replace scripts/airflow.sh by the stand-in; returns the file where it logs its calls."""
    log = tmp_path / "calls.log"
    script = tmp_path / "airflow.sh"
    script.write_text(FAKE_SCRIPT.format(calls=log))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(airflow_servers, "SCRIPT", script)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return log


def a_home(parent: Path, name: str = "kas-airflow3-abc") -> Path:
    home = parent / name
    (home / "logs").mkdir(parents=True)
    (home / "simple_auth_manager_passwords.json.generated").write_text('{"admin": "admin"}')
    (home / "airflow.db").write_text("")
    return home


@pytest.mark.parametrize("stop_exit", ["0", "1"])
def test_stopping_a_server_deletes_its_home_even_when_stopping_fails(
    tmp_path: Path, calls: Path, monkeypatch: pytest.MonkeyPatch, stop_exit: str
) -> None:
    monkeypatch.setenv("FAKE_STOP_EXIT", stop_exit)
    home = a_home(tmp_path)
    server = AirflowServer("3", "http://127.0.0.1:1", "v2", home, 1)
    server.stop()
    assert calls.read_text().split() == ["3", "stop", str(home)]
    assert not home.exists()
    server.stop()  # a second stop (the session's, after the fixture's) does nothing
    assert len(calls.read_text().splitlines()) == 1


def test_a_server_this_session_did_not_start_is_left_alone(tmp_path: Path, calls: Path) -> None:
    home = a_home(tmp_path)
    AirflowServer("3", "http://127.0.0.1:1", "v2", home, 1, owned=False).stop()
    assert home.exists() and not calls.exists()


def test_a_server_that_fails_to_start_is_stopped_and_its_home_deleted(tmp_path: Path, calls: Path) -> None:
    with pytest.raises(RuntimeError, match=r"(?s)scripts/airflow\.sh 3 start failed.*scheduler died"):
        start_server("3")
    started, stopped = (line.split() for line in calls.read_text().splitlines())
    assert started[:2] == ["3", "start"] and stopped[:2] == ["3", "stop"]
    home = Path(started[2])
    assert home.parent == tmp_path / "tmp" and home.name.startswith("kas-airflow3-")
    assert stopped[2] == started[2] and not home.exists()
    assert os.listdir(tmp_path / "tmp") == []


def test_stopping_a_production_server_deletes_its_home_cluster_and_dags(tmp_path: Path, calls: Path) -> None:
    home = a_home(tmp_path, "kas-airflow3-production-abc")
    cluster = tmp_path / "kas-postgres-abc"  # where the cluster lives when its owner cannot reach the home
    (cluster / "base").mkdir(parents=True)
    (home / "postgres").symlink_to(cluster)
    dags = tmp_path / "kas-airflow3-production-dags-abc"
    dags.mkdir()
    (dags / "hello.py").write_text("")
    server = ProductionServer(
        "3", "http://127.0.0.1:1", "v2", home, 1, extra_env={"AIRFLOW_DAGS_DIR": str(dags)}
    )
    server.stop()
    assert calls.read_text().split()[:2] == ["3", "stop"]
    assert not home.exists() and not cluster.exists() and not dags.exists()
