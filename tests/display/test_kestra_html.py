"""Rich displays of flows and executions."""

from __future__ import annotations

from kestra_airflow_sdk.flows import Flow, Log
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
