"""Logs, inputs and system labels around a real DAG run (Airflow 3.3.2 and 2.10.5): Log tasks
before and after a TriggerDagRun, a SECRET input sent in the DAG run's conf, the log lines in
order with their task ids, the secret masked everywhere the SDK shows something (Kestra masks a
secret in a log line by as many ``*`` as it has characters), and the command line printing the
log lines."""

from __future__ import annotations

import logging
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from kestra_airflow_sdk import AirflowClient
from kestra_airflow_sdk.flows import ExecutionState, Flow
from tests.airflow_servers import AirflowServer

FLOW = """\
id: logs_inputs
namespace: company.team
inputs:
  - id: api_token
    type: SECRET
  - id: dag
    type: STRING
    defaults: hello_world_dag
    validator: "[a-z_]+"
tasks:
  - id: before
    type: io.kestra.plugin.core.log.Log
    message: "triggering {{ inputs.dag }} with token {{ inputs.api_token }} for {{ labels.system.correlationId }}"
  - id: run_dag
    type: io.kestra.plugin.airflow.dags.TriggerDagRun
    baseUrl: BASE_URL
    dagId: "{{ inputs.dag }}"
    wait: true
    pollFrequency: PT1S
    maxDuration: PT10M
    options:
      auth:
        type: BASIC
        username: "{{ secret('AIRFLOW_USERNAME') }}"
        password: "{{ secret('AIRFLOW_PASSWORD') }}"
    body:
      conf:
        token: "{{ inputs.api_token }}"
        execution: "{{ execution.id }}"
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: "run {{ outputs.run_dag.dagRunId }} ended {{ outputs.run_dag.state }}"
"""


def _flow_text(airflow: AirflowServer) -> str:
    return FLOW.replace("BASE_URL", airflow.base_url)


def test_logs_inputs_and_labels_around_a_real_dag_run(
    airflow: AirflowServer,
    credentials: dict[str, str],
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = "tok-" + secrets.token_hex(8)
    flow = Flow.from_yaml(_flow_text(airflow))
    with caplog.at_level(logging.DEBUG):
        execution = flow.run(
            inputs={"api_token": token},
            secrets={
                "AIRFLOW_USERNAME": credentials["username"],
                "AIRFLOW_PASSWORD": credentials["password"],
            },
            progress="text",
        )
    assert execution.state is ExecutionState.SUCCESS, execution.task_runs
    outputs = execution.outputs["run_dag"]
    masked = "*" * len(token)
    assert [(e.task_id, e.level, e.message) for e in execution.logs] == [
        ("before", "INFO", f"triggering hello_world_dag with token {masked} for {execution.id}"),
        ("after", "INFO", f"run {outputs['dagRunId']} ended success"),
    ]
    assert execution.labels["system.correlationId"] == execution.id
    # the real value did go to Airflow, in the DAG run's conf
    with AirflowClient(airflow.base_url, **credentials) as client:
        stored = client.get_dag_run(outputs["dagId"], outputs["dagRunId"])
    assert stored.conf == {"token": token, "execution": execution.id}
    printed = capfd.readouterr().err
    assert f"INFO  [before] triggering hello_world_dag with token {masked}" in printed
    assert f"INFO  [after] run {outputs['dagRunId']} ended success" in printed
    shown = [
        printed,
        caplog.text,
        repr(execution),
        repr(execution.inputs),
        str(execution.outputs),
        execution._repr_html_(),
        execution.logs_frame().to_string(),
        execution.to_pandas().to_string(),
    ]
    assert not [text for text in shown if token in text]


def test_command_line_prints_log_lines_and_refuses_bad_inputs(
    airflow: AirflowServer, credentials: dict[str, str], tmp_path: Path
) -> None:
    token = "tok-" + secrets.token_hex(8)
    path = tmp_path / "logs_inputs.yaml"
    path.write_text(_flow_text(airflow))
    command = [sys.executable, "-m", "kestra_airflow_sdk.cli", "run", str(path)]
    secret_args = [
        "--secret",
        f"AIRFLOW_USERNAME={credentials['username']}",
        "--secret",
        f"AIRFLOW_PASSWORD={credentials['password']}",
    ]
    refused = subprocess.run(
        [*command, *secret_args, "--input", "dag=Not-A-Dag"], capture_output=True, text=True, timeout=120
    )
    assert refused.returncode == 2, refused.stderr
    assert "inputs.api_token: required input (SECRET)" in refused.stderr
    assert (
        "inputs.dag (STRING): it must match the pattern `[a-z_]+`, but received `Not-A-Dag`" in refused.stderr
    )
    ran = subprocess.run(
        [*command, *secret_args, "--input", f"api_token={token}"], capture_output=True, text=True, timeout=900
    )
    assert ran.returncode == 0, ran.stderr
    assert "state: SUCCESS" in ran.stdout
    assert f"INFO  [before] triggering hello_world_dag with token {'*' * len(token)}" in ran.stderr
    assert "INFO  [after] run " in ran.stderr and " ended success" in ran.stderr
    assert ran.stderr.index("[before] triggering") < ran.stderr.index("[after] run ")
    assert token not in ran.stdout + ran.stderr
