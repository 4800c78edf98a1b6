"""``Flow.plan()`` and ``kestra-airflow validate`` list what a flow would do on this machine before it
runs: the processes it would start, the URLs it would call, what it would install, the files it
would write."""

from __future__ import annotations

from pathlib import Path

import pytest

from kestra_airflow_sdk.cli import main
from kestra_airflow_sdk.flows import Flow
from kestra_airflow_sdk.flows.plan import PlannedAction

PLAN_FLOW = """
id: plan_demo
namespace: company.team
pluginDefaults:
  - type: io.kestra.plugin.core.http.Request
    values:
      method: POST
tasks:
  - id: py
    type: io.kestra.plugin.scripts.python.Script
    dependencies: [six]
    outputFiles: ["*.csv"]
    script: |
      print(1)
      print(2)
  - id: branch
    type: io.kestra.plugin.core.flow.If
    condition: "{{ true }}"
    then:
      - id: sh
        type: io.kestra.plugin.scripts.shell.Commands
        taskRunner:
          type: io.kestra.plugin.core.runner.Process
        beforeCommands: [cd /tmp]
        commands:
          - echo hi
  - id: call
    type: io.kestra.plugin.core.http.Request
    uri: "https://example.com/api/{{ inputs.what }}"
  - id: dag
    type: io.kestra.plugin.airflow.dags.TriggerDagRun
    baseUrl: http://localhost:8080
    dagId: hello
  - id: fetch
    type: io.kestra.plugin.core.log.Fetch
  - id: child
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: other
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: nothing outside the execution
"""


def test_the_plan_lists_processes_urls_installs_and_files_in_task_order() -> None:
    plan = Flow.from_yaml(PLAN_FLOW).plan()
    assert all(isinstance(action, PlannedAction) for action in plan)
    assert [(a.task_id, a.kind) for a in plan] == [
        ("py", "install"),
        ("py", "process"),
        ("py", "file"),
        ("py", "file"),
        ("sh", "process"),
        ("sh", "file"),
        ("call", "url"),
        ("dag", "url"),
        ("fetch", "file"),
        ("child", "flow"),
    ]
    by_task = {(a.task_id, a.kind): a.detail for a in plan}
    assert by_task[("py", "install")].startswith("six into a cached virtual environment of the flow")
    assert by_task[("py", "process")].startswith("/bin/sh -c 'python <inline script, 2 line(s)>'")
    assert "image python:3.13-slim" in by_task[("py", "process")]  # Kestra's default image, said
    assert by_task[("sh", "process")] == "/bin/sh -c 'cd /tmp; echo hi'"  # the Process runner: no note
    assert by_task[("call", "url")] == "POST https://example.com/api/{{ inputs.what }}"  # plugin default
    assert by_task[("dag", "url")] == "http://localhost:8080 (Airflow REST API: triggers DAG hello)"
    assert str(plan[6]) == "task 'call' (Request): url: POST https://example.com/api/{{ inputs.what }}"


def test_a_flow_of_only_core_tasks_plans_nothing_outside_the_execution() -> None:
    flow = Flow.from_yaml(
        "id: f\nnamespace: n\ntasks:\n  - id: l\n    type: io.kestra.plugin.core.log.Log\n    message: x\n"
    )
    assert flow.plan() == []


def test_validate_prints_the_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(PLAN_FLOW, encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "  what it would do on this machine (10):\n" in out
    assert (
        "    task 'dag' (TriggerDagRun): url: http://localhost:8080 (Airflow REST API: triggers DAG hello)\n"
        in out
    )
    assert "    task 'sh' (Commands): process: /bin/sh -c 'cd /tmp; echo hi'\n" in out
