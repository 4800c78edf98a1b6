"""A script's output becomes a DAG run's conf, against real Airflow 3.3.2 and 2.10.5: a Python script
task using Kestra's own PyPI package (``Kestra.outputs``, which prints ``::{"outputs": ...}::``) feeds
a TriggerDagRun's ``body.conf``; the DAG run Airflow stored is read back over its REST API (plain
HTTP, not the SDK's client) and holds that conf."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kestra_airflow_sdk.flows import ExecutionState, Flow
from tests.airflow_servers import AirflowServer

pytest.importorskip("kestra", reason="the dev extra installs Kestra's PyPI package 'kestra'")

FLOW = """
id: script_to_dag_run
namespace: company.team
inputs:
  - id: table
    type: STRING
    defaults: sales
tasks:
  - id: extract
    type: io.kestra.plugin.scripts.python.Script
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    script: |
      from kestra import Kestra
      rows = [{{"id": i}} for i in range(3)]
      Kestra.outputs({{"table": "{{{{ inputs.table }}}}", "rows": len(rows), "tags": ["daily", "eu"]}})
  - id: run_dag
    type: io.kestra.plugin.airflow.dags.TriggerDagRun
    baseUrl: {base_url}
    dagId: hello_world_dag
    wait: true
    pollFrequency: PT1S
    maxDuration: PT10M
    options:
      auth:
        type: BASIC
        username: "{{{{ secret('AIRFLOW_USERNAME') }}}}"
        password: "{{{{ secret('AIRFLOW_PASSWORD') }}}}"
    body:
      conf:
        table: "{{{{ outputs.extract.vars.table }}}}"
        rows: "{{{{ outputs.extract.vars.rows }}}}"
        tags: "{{{{ outputs.extract.vars.tags }}}}"
        execution: "{{{{ execution.id }}}}"
"""


def _dag_run(airflow: AirflowServer, credentials: dict[str, str], dag_id: str, run_id: str) -> Any:
    """The DAG run as Airflow's REST API gives it (Airflow 3: a JWT from /auth/token; 2: basic auth)."""
    path = f"{airflow.base_url}/api/{airflow.api_version}/dags/{dag_id}/dagRuns/{run_id}"
    if airflow.major == "3":
        token = httpx.post(f"{airflow.base_url}/auth/token", json=credentials, timeout=60)
        token.raise_for_status()
        answer = httpx.get(
            path, headers={"Authorization": f"Bearer {token.json()['access_token']}"}, timeout=60
        )
    else:
        answer = httpx.get(path, auth=(credentials["username"], credentials["password"]), timeout=60)
    answer.raise_for_status()
    return answer.json()


def test_a_scripts_outputs_become_the_dag_runs_conf(
    airflow: AirflowServer, credentials: dict[str, str]
) -> None:
    flow = Flow.from_yaml(FLOW.format(base_url=airflow.base_url))
    execution = flow.run(
        inputs={"table": "orders"},
        secrets={"AIRFLOW_USERNAME": credentials["username"], "AIRFLOW_PASSWORD": credentials["password"]},
        progress=False,
    )
    assert execution.state is ExecutionState.SUCCESS, [(r.task_id, r.error) for r in execution.task_runs]
    assert execution.outputs["extract"]["vars"] == {"table": "orders", "rows": 3, "tags": ["daily", "eu"]}
    run_id = execution.outputs["run_dag"]["dagRunId"]
    stored = _dag_run(airflow, credentials, "hello_world_dag", run_id)
    # as Kestra renders them: every conf value is the text of its expression
    assert stored["conf"] == {
        "table": "orders",
        "rows": "3",
        "tags": '["daily","eu"]',
        "execution": execution.id,
    }
    assert stored["state"] == "success"
    assert execution.outputs["run_dag"]["state"] == "success"
