"""Flows against real Airflow 3.3.2 and 2.10.5: the issue's YAML, the same flow built in Python,
Parallel, failures, cancellation and the command line."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kestra_airflow_sdk import AirflowClient
from kestra_airflow_sdk.flows import (
    BasicAuthOption,
    Execution,
    ExecutionState,
    Flow,
    HttpOptions,
    Parallel,
    TriggerDagRun,
)
from tests.airflow_servers import AirflowServer
from tests.flows.conftest import ISSUE_FLOW
from tests.runner.core_flows import cancel_when

#: generous: the test machine is small and shared
MAX_DURATION = "PT10M"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _stored_run(airflow: AirflowServer, credentials: dict[str, str], outputs: dict[str, Any]) -> Any:
    with AirflowClient(airflow.base_url, **credentials) as client:
        return client.get_dag_run(outputs["dagId"], outputs["dagRunId"])


def _expected_conf(execution: Execution) -> dict[str, str]:
    return {
        "source": "kestra",
        "namespace": "company.team",
        "flow": "airflow",
        "task": "run_dag",
        "execution": execution.id,
    }


def _trigger(airflow: AirflowServer, task_id: str, dag_id: str, **kw: Any) -> TriggerDagRun:
    return TriggerDagRun(
        id=task_id,
        base_url=airflow.base_url + "/",  # a trailing slash is harmless
        dag_id=dag_id,
        wait=True,
        poll_frequency="PT1S",
        max_duration=MAX_DURATION,
        options=HttpOptions(
            auth=BasicAuthOption(
                username="{{ secret('AIRFLOW_USERNAME') }}", password="{{ secret('AIRFLOW_PASSWORD') }}"
            )
        ),
        **kw,
    )


def test_failing_dag_fails_the_execution_unless_allowed(
    airflow: AirflowServer, credentials: dict[str, str]
) -> None:
    # first on each server: a fresh Airflow 3 is slow to serve its first task (its execution API
    # warms up), which this short failing DAG absorbs whatever happens
    secrets = {"AIRFLOW_USERNAME": "admin", "AIRFLOW_PASSWORD": credentials["password"]}
    failing = Flow("failing", "company.team").task(_trigger(airflow, "boom", "failing_dag"))
    execution = failing.run(secrets=secrets)
    assert execution.state is ExecutionState.FAILED
    assert execution.outputs["boom"]["state"] == "failed"
    assert "ended failed in Airflow" in (execution.task_run("boom").error or "")
    assert "boom" in (execution.task_run("boom").error or "")  # names the failed Airflow task

    allowed = Flow("failing", "company.team").task(
        _trigger(airflow, "boom", "failing_dag", allow_failure=True)
    )
    execution = allowed.run(secrets=secrets)
    assert execution.state is ExecutionState.WARNING
    assert execution.outputs["boom"]["state"] == "failed"


def test_issue_yaml_runs_to_success(
    airflow: AirflowServer, credentials: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_AIRFLOW_USERNAME", _b64(credentials["username"]))
    monkeypatch.setenv("SECRET_AIRFLOW_PASSWORD", _b64(credentials["password"]))
    text = ISSUE_FLOW.replace("http://host.docker.internal:8080", airflow.base_url)
    flow = Flow.from_yaml(text)
    assert flow.to_yaml() == text

    execution = flow.run()

    assert execution.state is ExecutionState.SUCCESS, execution.task_runs
    outputs = execution.outputs["run_dag"]
    assert outputs["state"] == "success" and outputs["dagId"] == "hello_world_dag"
    stored = _stored_run(airflow, credentials, outputs)
    assert stored.conf == _expected_conf(execution)
    assert str(stored.state) == "success"
    assert outputs["started"] == stored.start_date and outputs["ended"] == stored.end_date
    rows = outputs["taskInstances"]
    assert sorted(r["task_id"] for r in rows) == ["print_conf", "say_hello", "sleep_a_bit"]
    assert {r["state"] for r in rows} == {"success"}


def test_fluent_flow_from_inside_a_running_loop(airflow: AirflowServer, credentials: dict[str, str]) -> None:
    flow = Flow("airflow", "company.team").task(
        _trigger(
            airflow,
            "run_dag",
            "hello_world_dag",
            body={
                "conf": {
                    "source": "kestra",
                    "namespace": "{{ flow.namespace }}",
                    "flow": "{{ flow.id }}",
                    "task": "{{ task.id }}",
                    "execution": "{{ execution.id }}",
                }
            },
        )
    )
    assert Flow.from_yaml(flow.to_yaml()) == flow
    secrets = {"airflow_username": credentials["username"], "AIRFLOW_PASSWORD": credentials["password"]}

    async def notebook_cell() -> Execution:
        asyncio.get_running_loop()  # a loop is running, as in Jupyter
        return flow.run(secrets=secrets)

    execution = asyncio.run(notebook_cell())

    assert execution.state is ExecutionState.SUCCESS, execution.task_runs
    assert _stored_run(airflow, credentials, execution.outputs["run_dag"]).conf == _expected_conf(execution)


def test_parallel_dag_runs_overlap(airflow: AirflowServer, credentials: dict[str, str]) -> None:
    flow = Flow("parallel", "company.team").task(
        # a one-task DAG (sleep 3 s): Airflow 2's SequentialExecutor runs every task of the three
        # runs one after the other, so hello_world_dag's three tasks would triple the wait
        Parallel(id="fan_out", tasks=[_trigger(airflow, f"run_{i}", "core_sleep_1") for i in range(3)])
    )
    execution = flow.run(secrets={"AIRFLOW_USERNAME": "admin", "AIRFLOW_PASSWORD": credentials["password"]})

    assert execution.state is ExecutionState.SUCCESS, execution.task_runs
    runs = [_stored_run(airflow, credentials, execution.outputs[f"run_{i}"]) for i in range(3)]
    starts = [r.start_date for r in runs]
    ends = [r.end_date for r in runs]
    # all three were running at the same time: the last one started before the first one ended ...
    assert max(starts) < min(ends)
    # ... so the whole fan-out took less than the runs one after the other would have
    one_after_the_other = sum((e - s for s, e in zip(starts, ends, strict=True)), timedelta(0))
    assert max(ends) - min(starts) < one_after_the_other


def test_cancel_marks_the_airflow_run_failed(airflow: AirflowServer, credentials: dict[str, str]) -> None:
    flow = Flow("slow", "company.team").task(_trigger(airflow, "slow", "slow_dag"))
    secrets = {"AIRFLOW_USERNAME": "admin", "AIRFLOW_PASSWORD": credentials["password"]}

    def running(runner: Any) -> bool:
        return bool(runner.execution and runner.execution.outputs.get("slow", {}).get("state") == "running")

    runner = flow.runner(secrets=secrets, cancel_airflow_runs=True)
    execution = asyncio.run(cancel_when(runner, running, poll=0.2, timeout=120.0))
    assert execution is not None and execution.state is ExecutionState.KILLED
    stored = _stored_run(airflow, credentials, execution.outputs["slow"])
    assert str(stored.state) == "failed"


def test_command_line_runs_and_validates(
    airflow: AirflowServer, credentials: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "failing.yaml"
    path.write_text(
        ISSUE_FLOW.replace("http://host.docker.internal:8080", airflow.base_url).replace(
            "dagId: hello_world_dag", "dagId: failing_dag"
        )
    )
    command = [sys.executable, "-m", "kestra_airflow_sdk.cli"]
    checked = subprocess.run([*command, "validate", str(path)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and "valid flow company.team.airflow" in checked.stdout
    secret_args = [
        "--secret",
        "AIRFLOW_USERNAME=admin",
        "--secret",
        f"AIRFLOW_PASSWORD={credentials['password']}",
    ]
    ran = subprocess.run(
        [*command, "run", str(path), *secret_args], capture_output=True, text=True, timeout=900
    )
    assert ran.returncode == 1, ran.stderr
    assert "state: FAILED" in ran.stdout and "state: failed" in ran.stdout
    assert "[run_dag] FAILED" in ran.stderr
