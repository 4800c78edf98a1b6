"""``kestra-airflow`` without a server: validate, upgrade, errors and a run on the in-memory Airflow."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kestra_airflow_sdk.cli import main
from tests.flows.conftest import ISSUE_FLOW
from tests.runner.fake_airflow import FakeAirflow


def test_validate_and_upgrade(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(ISSUE_FLOW)
    assert main(["validate", str(path)]) == 0
    assert "valid flow company.team.airflow with 1 task(s)" in capsys.readouterr().out
    assert main(["validate", "--upgrade", str(path)]) == 0
    document = yaml.safe_load(capsys.readouterr().out.split("\n", 1)[1])
    assert document["tasks"][0]["options"]["auth"]["type"] == "BASIC"


def test_invalid_flow_exits_2_with_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: f\nnamespace: Bad\ntasks: [\n")
    assert main(["validate", str(path)]) == 2
    assert "not valid YAML at line" in capsys.readouterr().err


def test_run_prints_outputs(
    fake_airflow: FakeAirflow, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(
        ISSUE_FLOW.replace("http://host.docker.internal:8080", "http://fake-airflow").replace(
            "dagId: hello_world_dag", "dagId: ok"
        )
    )
    code = main(
        ["run", str(path), "--secret", "AIRFLOW_USERNAME=admin", "--secret", "AIRFLOW_PASSWORD=admin"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = yaml.safe_load(out)
    assert summary["state"] == "SUCCESS"
    assert summary["outputs"]["run_dag"]["state"] == "success"
    assert "[run_dag] SUCCESS" in err


def test_malformed_secret_pair(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(ISSUE_FLOW)
    with pytest.raises(SystemExit, match="--secret expects NAME=VALUE"):
        main(["run", str(path), "--secret", "NOVALUE"])


def test_validate_notes_what_the_runner_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """validate lists the refusals of the runner's check(), from the same code path: properties of
    known tasks (also set by pluginDefaults) and functions only a Kestra server can run."""
    path = tmp_path / "flow.yaml"
    path.write_text(
        """
id: f
namespace: company.team
tasks:
  - id: seq
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: call
        type: io.kestra.plugin.core.flow.Subflow
        namespace: company.team
        flowId: child
        revision: 3
      - id: stored
        type: io.kestra.plugin.core.log.Log
        message: "{{ kv('LAST_RUN') }}"
pluginDefaults:
  - type: io.kestra.plugin.core.flow.Sequential
    values:
      retry:
        type: constant
        interval: PT1S
        maxAttempts: 2
"""
    )
    assert main(["validate", str(path)]) == 0  # valid for Kestra: notes, not errors
    notes = [line.strip() for line in capsys.readouterr().out.splitlines() if "note:" in line]
    assert notes == [
        "note: cannot run locally as Kestra would: task 'seq' (Sequential): retry on a flowable task is "
        "not supported locally",
        "note: cannot run locally as Kestra would: task 'call' (Subflow): revision is not supported "
        "locally (flows have no revisions here)",
        "note: cannot run locally as Kestra would: tasks[0].tasks[1].message (task 'stored'): function "
        "kv() is not supported by the local runner",
    ]
    # run refuses the same flow before anything runs, with the same lines
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    for note in notes:
        assert note.removeprefix("note: cannot run locally as Kestra would: ") in err


def test_validate_of_a_flow_the_runner_accepts_has_no_notes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(ISSUE_FLOW)
    assert main(["validate", str(path)]) == 0
    assert "note:" not in capsys.readouterr().out
