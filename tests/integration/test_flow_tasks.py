"""Kestra core tasks around TriggerDagRun against real Airflow 3.3.2 and 2.10.5: ForEach over DAG
ids two at a time (checked on Airflow's side), If on a DAG run's state, errors that see the failed
DAG run through errorLogs(), finally, and a Subflow that triggers a DAG and returns its run id."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import pytest

from kestra_airflow_sdk import AirflowClient
from kestra_airflow_sdk.flows import Execution, ExecutionState, Flow, Observer, TaskRun
from tests.airflow_servers import AirflowServer

#: the connection every TriggerDagRun of these flows gets, through pluginDefaults
DEFAULTS = """
pluginDefaults:
  - type: io.kestra.plugin.airflow.dags.TriggerDagRun
    values:
      baseUrl: {base_url}
      wait: true
      pollFrequency: PT1S
      maxDuration: PT10M
      options:
        auth:
          type: BASIC
          username: "{{{{ secret('AIRFLOW_USERNAME') }}}}"
          password: "{{{{ secret('AIRFLOW_PASSWORD') }}}}"
"""

DAGS = ["core_sleep_1", "core_sleep_2", "core_sleep_3", "core_sleep_4"]

FOREACH = (
    """
id: foreach_dags
namespace: company.team
tasks:
  - id: each_dag
    type: io.kestra.plugin.core.flow.ForEach
    values: {dags}
    concurrencyLimit: 2
    tasks:
      - id: run_dag
        type: io.kestra.plugin.airflow.dags.TriggerDagRun
        dagId: "{{{{ taskrun.value }}}}"
        body:
          conf:
            dag: "{{{{ taskrun.value }}}}"
"""
    + DEFAULTS
)


def _flow(template: str, airflow: AirflowServer, **values: Any) -> Flow:
    return Flow.from_yaml(template.format(base_url=airflow.base_url, **values))


def _secrets(credentials: dict[str, str]) -> dict[str, str]:
    return {"AIRFLOW_USERNAME": credentials["username"], "AIRFLOW_PASSWORD": credentials["password"]}


class InFlight(Observer):
    """How many task runs of one task were running at once, at most (on the SDK's side)."""

    def __init__(self, task_id: str) -> None:
        self.task_id, self.running, self.peak = task_id, 0, 0

    def task_started(self, execution: Execution, task_run: TaskRun) -> None:
        if task_run.task_id == self.task_id:
            self.running += 1
            self.peak = max(self.peak, self.running)

    def task_ended(self, execution: Execution, task_run: TaskRun) -> None:
        if task_run.task_id == self.task_id:
            self.running -= 1


def test_foreach_over_dag_ids_two_at_a_time(airflow: AirflowServer, credentials: dict[str, str]) -> None:
    in_flight = InFlight("run_dag")
    execution = _flow(FOREACH, airflow, dags=json.dumps(DAGS)).run(
        secrets=_secrets(credentials), observers=[in_flight], progress=False
    )

    assert execution.state is ExecutionState.SUCCESS, execution.task_runs
    outputs = execution.outputs["run_dag"]  # keyed by the iteration value, as Kestra keys them
    assert sorted(outputs) == DAGS
    assert in_flight.peak == 2  # the first two DAG runs were triggered together
    with AirflowClient(airflow.base_url, **credentials) as client:
        runs = [client.get_dag_run(dag, outputs[dag]["dagRunId"]) for dag in DAGS]
    assert [str(r.state) for r in runs] == ["success"] * 4
    assert [r.conf for r in runs] == [{"dag": dag} for dag in DAGS]
    # on Airflow's side, at no moment were more than two of these runs going on: the most runs in
    # flight at once is reached at some run's start (the third and fourth were queued only after a
    # run of the first two had ended)
    spans = [(r.start_date, r.end_date) for r in runs]
    assert all(start is not None and end is not None for start, end in spans), spans
    in_flight_at_starts = [sum(1 for start, end in spans if start <= moment < end) for moment, _ in spans]
    assert max(in_flight_at_starts) <= 2, [(r.dag_id, r.start_date, r.end_date) for r in runs]
    assert all(r.queued_at is None or r.queued_at >= min(e for _, e in spans[:2]) for r in runs[2:])


IF_ERRORS_FINALLY = (
    """
id: if_errors_finally
namespace: company.team
tasks:
  - id: run_dag
    type: io.kestra.plugin.airflow.dags.TriggerDagRun
    dagId: hello_world_dag
  - id: check
    type: io.kestra.plugin.core.flow.If
    condition: "{{{{ outputs.run_dag.state == 'success' }}}}"
    then:
      - id: run_failing
        type: io.kestra.plugin.airflow.dags.TriggerDagRun
        dagId: failing_dag
    else:
      - id: not_expected
        type: io.kestra.plugin.core.log.Log
        message: "hello_world_dag ended {{{{ outputs.run_dag.state }}}}"
  - id: never
    type: io.kestra.plugin.core.log.Log
    message: not after a failure
errors:
  - id: report
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ errorLogs() }}}}"
finally:
  - id: cleanup
    type: io.kestra.plugin.core.log.Log
    message: "cleanup after {{{{ outputs.run_failing.dagRunId }}}}"
"""
    + DEFAULTS
)


@pytest.mark.skipif(
    importlib.util.find_spec("kestra_airflow_sdk.flows.pebble") is None,
    reason="the If condition uses ==, which needs the Pebble expression engine (flows/pebble)",
)
def test_if_on_the_dag_run_state_errors_and_finally(
    airflow: AirflowServer, credentials: dict[str, str]
) -> None:
    execution = _flow(IF_ERRORS_FINALLY, airflow).run(secrets=_secrets(credentials), progress=False)

    assert execution.state is ExecutionState.FAILED
    states = {r.task_id: r.state.value for r in execution.task_runs}
    assert states == {
        "run_dag": "SUCCESS",
        "check": "FAILED",
        "run_failing": "FAILED",
        "report": "SUCCESS",
        "cleanup": "SUCCESS",
    }
    assert execution.outputs["check"] == {"evaluationResult": True}
    failed_run = execution.outputs["run_failing"]["dagRunId"]
    errors = json.loads(execution.outputs["report"]["value"])
    assert [e["taskId"] for e in errors] == ["run_failing"]
    assert f"DAG run '{failed_run}' of DAG 'failing_dag' ended failed in Airflow" in errors[0]["message"]
    assert [e.message for e in execution.logs if e.task_id == "cleanup"] == [f"cleanup after {failed_run}"]
    with AirflowClient(airflow.base_url, **credentials) as client:
        assert str(client.get_dag_run("failing_dag", failed_run).state) == "failed"


CHILD = (
    """
id: trigger_child
namespace: company.team
inputs:
  - id: source
    type: STRING
tasks:
  - id: run_dag
    type: io.kestra.plugin.airflow.dags.TriggerDagRun
    dagId: hello_world_dag
    body:
      conf:
        source: "{{{{ inputs.source }}}}"
outputs:
  - id: dag_run_id
    type: STRING
    value: "{{{{ outputs.run_dag.dagRunId }}}}"
"""
    + DEFAULTS
)

PARENT = """
id: parent
namespace: company.team
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: trigger_child
    inputs:
      source: "{{ flow.id }}"
outputs:
  - id: run_id
    type: STRING
    value: "{{ outputs.call.outputs.dag_run_id }}"
"""


def test_subflow_triggers_a_dag_and_returns_its_run_id(
    airflow: AirflowServer, credentials: dict[str, str]
) -> None:
    child = _flow(CHILD, airflow)
    execution = Flow.from_yaml(PARENT).run(secrets=_secrets(credentials), flows=[child], progress=False)

    assert execution.state is ExecutionState.SUCCESS, execution.task_runs
    run_id = execution.flow_outputs["run_id"]
    call = execution.outputs["call"]
    assert call["state"] == "SUCCESS" and call["outputs"] == {"dag_run_id": run_id}
    sub = execution.subflows[call["executionId"]]
    assert sub.flow_id == "trigger_child" and sub.outputs["run_dag"]["dagRunId"] == run_id
    with AirflowClient(airflow.base_url, **credentials) as client:
        stored = client.get_dag_run("hello_world_dag", run_id)
    assert str(stored.state) == "success" and stored.conf == {"source": "parent"}
