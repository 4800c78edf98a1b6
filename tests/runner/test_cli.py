"""``kestra-airflow`` without a server: validate, upgrade, errors and a run on the in-memory Airflow."""

from __future__ import annotations

import getpass
import io
from pathlib import Path

import pytest
import yaml

from kestra_airflow_sdk import cli
from kestra_airflow_sdk.cli import main
from tests.airflow_servers import PASSWORD, USERNAME, AirflowServer
from tests.flows.conftest import ISSUE_FLOW
from tests.runner.fake_airflow import FakeAirflow


def test_validate_and_upgrade(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(ISSUE_FLOW)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "valid flow company.team.airflow with 1 task(s)" in out
    assert (
        f"note: task 'run_dag' uses the legacy options basicAuthUser, basicAuthPassword (Kestra 2 reads "
        f"options.auth and options.timeout); `kestra-airflow validate --upgrade {path}` prints the flow "
        "with them rewritten"
    ) in out
    assert main(["validate", "--upgrade", str(path)]) == 0
    out = capsys.readouterr().out
    assert "legacy" not in out  # the upgraded flow has none left
    document = yaml.safe_load(out.split("\n", 1)[1])
    assert document["tasks"][0]["options"]["auth"]["type"] == "BASIC"


def test_validate_says_nothing_about_legacy_options_a_flow_does_not_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(
        ISSUE_FLOW.replace('basicAuthUser: "', 'auth:\n        type: BASIC\n        username: "').replace(
            'basicAuthPassword: "', '  password: "'
        )
    )
    assert main(["validate", str(path)]) == 0
    assert "legacy" not in capsys.readouterr().out


def test_invalid_flow_exits_2_with_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: f\nnamespace: Bad\ntasks: [\n")
    assert main(["validate", str(path)]) == 2
    assert "not valid YAML at line" in capsys.readouterr().err


def _fake_flow(tmp_path: Path) -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text(
        ISSUE_FLOW.replace("http://host.docker.internal:8080", "http://fake-airflow").replace(
            "dagId: hello_world_dag", "dagId: ok"
        )
    )
    return path


def test_run_prints_outputs_and_one_progress_style(
    fake_airflow: FakeAirflow,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW_USERNAME", "admin")
    monkeypatch.setenv("AIRFLOW_PASSWORD", "admin")
    code = main(
        ["run", str(_fake_flow(tmp_path)), "--secret", "AIRFLOW_USERNAME", "--secret", "AIRFLOW_PASSWORD"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = yaml.safe_load(out)
    assert summary["state"] == "SUCCESS"
    assert summary["outputs"]["run_dag"]["state"] == "success"
    lines = err.splitlines()
    assert "WARNING" not in err
    # one style: the execution's first and last lines, every other line about the task run_dag
    assert lines[0].startswith("execution ") and lines[-1].split(" after ")[0].endswith("ended SUCCESS")
    assert lines[1:-1] and all(line.startswith("[run_dag] ") for line in lines[1:-1]), lines
    polls = [line for line in lines if "Airflow run ok/" in line]
    assert polls[-1].endswith(": success, 1/1 tasks done")
    assert len(polls) == len(set(polls))  # a line per change, never the same line twice
    assert lines[-2] == "[run_dag] SUCCESS (attempt 1)"


def test_secret_name_value_still_works_but_warns(
    fake_airflow: FakeAirflow, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "run",
            str(_fake_flow(tmp_path)),
            "--secret",
            "AIRFLOW_USERNAME=admin",
            "--secret",
            "AIRFLOW_PASSWORD=admin",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert (
        "kestra-airflow: WARNING: --secret AIRFLOW_PASSWORD=... puts the value of AIRFLOW_PASSWORD in the "
        "process list and the shell history; use --secret AIRFLOW_PASSWORD"
    ) in err
    assert "admin" not in err and "admin" not in out


def test_secrets_file(
    fake_airflow: FakeAirflow,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text("# Airflow login\nAIRFLOW_USERNAME=admin\nexport AIRFLOW_PASSWORD='s3cr3t value'\n")
    fake_airflow.password = "s3cr3t value"
    code = main(["run", str(_fake_flow(tmp_path)), "--secrets-file", str(secrets)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert yaml.safe_load(out)["state"] == "SUCCESS"
    assert "s3cr3t" not in out + err and "WARNING" not in err


def test_secret_asked_for_on_a_terminal_without_echo(
    fake_airflow: FakeAirflow,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AIRFLOW_USERNAME", raising=False)
    monkeypatch.setenv("AIRFLOW_PASSWORD", "admin")
    prompts: list[str] = []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    def hidden_prompt(prompt: str = "Password: ", stream: object = None) -> str:
        prompts.append(prompt)
        return "admin"

    monkeypatch.setattr(cli.sys, "stdin", Terminal())
    monkeypatch.setattr(getpass, "getpass", hidden_prompt)
    code = main(
        ["run", str(_fake_flow(tmp_path)), "--secret", "AIRFLOW_USERNAME", "--secret", "AIRFLOW_PASSWORD"]
    )
    assert code == 0, capsys.readouterr().err
    assert prompts == ["secret AIRFLOW_USERNAME: "]  # the other one came from the environment


def test_missing_secret_without_a_terminal_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_PASSWORD", raising=False)
    monkeypatch.setenv("AIRFLOW_USERNAME", "admin")
    monkeypatch.setattr(cli.sys, "stdin", io.StringIO())
    path = str(_fake_flow(tmp_path))
    assert main(["run", path, "--secret", "AIRFLOW_USERNAME", "--secret", "AIRFLOW_PASSWORD"]) == 2
    assert capsys.readouterr().err.strip() == (
        "kestra-airflow: --secret AIRFLOW_PASSWORD: the environment variable AIRFLOW_PASSWORD is not set and "
        "stdin is not a terminal to ask for it; export AIRFLOW_PASSWORD=... before running, or put "
        "AIRFLOW_PASSWORD=... in a file given with --secrets-file"
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "--secrets-file: no such file: "),
        ("AIRFLOW_PASSWORD\n", "'AIRFLOW_PASSWORD' has no value (expected NAME=VALUE)"),
    ],
)
def test_bad_secrets_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, expected: str
) -> None:
    secrets = tmp_path / "secrets.env"
    if content is not None:
        secrets.write_text(content)
    assert main(["run", str(_fake_flow(tmp_path)), "--secrets-file", str(secrets)]) == 2
    assert expected in capsys.readouterr().err


def test_malformed_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(_fake_flow(tmp_path)), "--secret", "=oops"]) == 2
    assert "--secret expects NAME (or NAME=VALUE)" in capsys.readouterr().err


@pytest.mark.parametrize("airflow", ["3"], indirect=True, ids=["airflow3"])
def test_run_on_real_airflow_shows_one_progress_style(
    airflow: AirflowServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(ISSUE_FLOW.replace("http://host.docker.internal:8080", airflow.base_url))
    secrets = tmp_path / "airflow.env"
    secrets.write_text(f"AIRFLOW_PASSWORD={PASSWORD}\n")
    monkeypatch.setenv("AIRFLOW_USERNAME", USERNAME)
    code = main(["run", str(path), "--secret", "AIRFLOW_USERNAME", "--secrets-file", str(secrets)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert yaml.safe_load(out)["outputs"]["run_dag"]["state"] == "success"
    lines = err.splitlines()
    assert all(line.startswith("[run_dag] ") for line in lines[1:-1]), lines
    polls = [line for line in lines if "] Airflow run hello_world_dag/" in line]
    assert polls[-1].endswith(": success, 3/3 tasks done"), polls
    assert len(polls) == len(set(polls))
    assert not [line for line in lines if "tasks done (" in line]  # not the display's second style


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
        message: "{{ decrypt('KEY', 'LAST_RUN') }}"
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
        "decrypt() is not supported by the local runner",
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
    assert "cannot run locally" not in capsys.readouterr().out
