from __future__ import annotations

from pathlib import Path

import pytest

#: the flow of issue 3, as a user writes it for Kestra
ISSUE_FLOW = """\
id: airflow
namespace: company.team
tasks:
  - id: run_dag
    type: io.kestra.plugin.airflow.dags.TriggerDagRun
    baseUrl: http://host.docker.internal:8080
    dagId: hello_world_dag
    wait: true
    pollFrequency: PT1S
    options:
      basicAuthUser: "{{ secret('AIRFLOW_USERNAME') }}"
      basicAuthPassword: "{{ secret('AIRFLOW_PASSWORD') }}"
    body:
      conf:
        source: kestra
        namespace: "{{ flow.namespace }}"
        flow: "{{ flow.id }}"
        task: "{{ task.id }}"
        execution: "{{ execution.id }}"
"""


@pytest.fixture
def issue_flow_text() -> str:
    return ISSUE_FLOW


@pytest.fixture
def issue_flow_file(tmp_path: Path) -> Path:
    path = tmp_path / "airflow.yaml"
    path.write_text(ISSUE_FLOW)
    return path
