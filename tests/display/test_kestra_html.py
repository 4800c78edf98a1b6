"""Rich displays of flows and executions."""

from __future__ import annotations

from kestra_airflow_sdk.display.html import STATE_COLOURS
from kestra_airflow_sdk.flows import Flow, Log
from kestra_airflow_sdk.flows.execution import ExecutionState
from kestra_airflow_sdk.kestra.executions import execution_from_kestra
from kestra_airflow_sdk.runner.observer import TextReporter
from tests.runner.fake_airflow import FakeAirflow
from tests.runner.test_engine import SECRETS, trigger


def test_execution_html_shows_state_task_runs_and_outputs(fake_airflow: FakeAirflow) -> None:
    flow = Flow("f", "n").task(trigger("a")).task(trigger("b", "fails", allow_failure=True))
    execution = flow.run(secrets=SECRETS, progress=False)
    html = execution._repr_html_()
    assert f"<code>{execution.id}</code>" in html
    assert 'data-state="WARNING"' in html  # the execution's badge
    assert html.count('data-state="SUCCESS"') == 1  # task a
    assert "ended failed in Airflow" in html  # task b's error, allowed to fail
    (run_a,) = [r for r in execution.task_runs if r.task_id == "a"]
    assert run_a.outputs["dagRunId"] in html
    assert repr(execution).startswith(f"Execution(id='{execution.id}'")


def test_flow_html_and_repr() -> None:
    flow = (
        Flow("airflow", "company.team", description="<b>demo</b>")
        .task(trigger("run_dag"))
        .task(Log(id="done", message="{{ outputs.run_dag.state }}"))
    )
    html = flow._repr_html_()
    assert "&lt;b&gt;demo&lt;/b&gt;" in html  # escaped
    assert "io.kestra.plugin.airflow.dags.TriggerDagRun" in html and "io.kestra.plugin.core.log.Log" in html
    assert "{{ secret(&#x27;AIRFLOW_PASSWORD&#x27;) }}" in html  # the YAML keeps the expression
    assert repr(flow) == "Flow(id='airflow', namespace='company.team', tasks=['run_dag', 'done'])"


def test_skipped_task_runs_show_a_skipped_badge() -> None:
    flow = (
        Flow("f", "n")
        .task(Log(id="ran", message="hello"))
        .task(Log(id="not_today", message="never", run_if="{{ 1 == 2 }}"))
    )
    lines: list[str] = []
    execution = flow.run(observers=[TextReporter(lines.append)], progress=False)
    assert execution.task_run("not_today").state is ExecutionState.SKIPPED
    assert any(line.startswith("[not_today] SKIPPED") for line in lines), lines
    html = execution._repr_html_()
    assert 'data-state="SKIPPED"' in html and f"background:{STATE_COLOURS['skipped']}" in html
    assert 'data-state="SUCCESS"' in html  # the execution and the task that ran


def test_a_skipped_kestra_execution_is_displayed_skipped() -> None:
    body = {
        "id": "e1",
        "namespace": "n",
        "flowId": "f",
        "state": {
            "current": "SKIPPED",
            "startDate": "2026-11-24T10:00:00Z",
            "endDate": "2026-11-24T10:00:01Z",
        },
        "taskRunList": [
            {"id": "r1", "taskId": "t", "state": {"current": "SKIPPED", "startDate": "2026-11-24T10:00:00Z"}}
        ],
    }
    execution = execution_from_kestra(body)
    assert execution.state is ExecutionState.SKIPPED and execution.state.is_terminal
    assert execution.task_runs[0].state is ExecutionState.SKIPPED
    assert execution.raise_for_state() is execution  # SKIPPED is not a failure
    html = execution._repr_html_()
    assert html.count('data-state="SKIPPED"') == 2
    assert f"background:{STATE_COLOURS['skipped']}" in html
