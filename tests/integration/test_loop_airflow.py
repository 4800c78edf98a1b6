"""Kestra 2.0's ``Loop`` around a ``TriggerDagRun`` against real Airflow 3.3.2 and 2.10.5: one DAG run per
iteration, with the iteration's conf, at most ``concurrencyLimit`` in flight, checked on Airflow's side
from the DAG runs' start and end dates."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from kestra_airflow_sdk import AirflowClient
from kestra_airflow_sdk.flows import ExecutionState, Flow
from tests.airflow_servers import AirflowServer

VALUES = ["alpha", "beta", "gamma", "delta"]
DAG = "core_sleep_1"  # sleeps 3 s (tests/dags/core_tasks_dags.py)

LOOP = """
id: loop_dags
namespace: company.team
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: ["alpha", "beta", "gamma", "delta"]
    concurrencyLimit: 2
    outputs:
      - id: dagRunId
        type: STRING
        value: "{{{{ outputs.run_dag.dagRunId }}}}"
    tasks:
      - id: run_dag
        type: io.kestra.plugin.airflow.dags.TriggerDagRun
        baseUrl: {base_url}
        dagId: {dag}
        wait: true
        pollFrequency: PT1S
        maxDuration: PT10M
        body:
          conf:
            item: "{{{{ item.value }}}}"
            index: "{{{{ item.index }}}}"
            execution: "{{{{ execution.id }}}}"
        options:
          auth:
            type: BASIC
            username: "{{{{ secret('AIRFLOW_USERNAME') }}}}"
            password: "{{{{ secret('AIRFLOW_PASSWORD') }}}}"
  - id: run_ids
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ loopOutputs(outputs.loop.outputs, 'dagRunId') | join(',') }}}}"
"""


def test_loop_triggers_one_dag_run_per_iteration_two_at_a_time(
    airflow: AirflowServer, credentials: dict[str, str]
) -> None:
    secrets = {"AIRFLOW_USERNAME": credentials["username"], "AIRFLOW_PASSWORD": credentials["password"]}
    started = datetime.now(timezone.utc) - timedelta(minutes=1)
    flow = Flow.from_yaml(LOOP.format(base_url=airflow.base_url, dag=DAG))
    execution = flow.run(secrets=secrets, progress=False)

    assert execution.state is ExecutionState.SUCCESS, [
        (r.task_id, r.state, r.error) for r in execution.task_runs
    ]
    loop = execution.task_run("loop").outputs
    assert loop["iterationCount"] == 4
    assert loop["terminatedIterations"] == {"SUCCESS": 4}
    run_ids = execution.outputs["run_ids"]["value"].split(",")
    assert len(set(run_ids)) == 4

    with AirflowClient(airflow.base_url, **credentials) as client:
        ours = [
            run
            for run in client.list_dag_runs(DAG, since=started)
            if run.conf.get("execution") == execution.id
        ]
    # on Airflow's side: one DAG run per iteration, each with its iteration's conf, all succeeded
    assert sorted(r.dag_run_id for r in ours) == sorted(run_ids)
    assert sorted((r.conf["index"], r.conf["item"]) for r in ours) == [
        (str(i), v) for i, v in enumerate(VALUES)
    ]
    assert [str(r.state) for r in ours] == ["success"] * 4
    # at no instant were more than two of them running: the most runs in flight at once is reached
    # at some run's start
    spans = [(r.start_date, r.end_date) for r in ours]
    assert all(start is not None and end is not None for start, end in spans), spans
    in_flight_at_starts = [sum(1 for start, end in spans if start <= moment < end) for moment, _ in spans]
    assert max(in_flight_at_starts) <= 2, [(r.conf, r.start_date, r.end_date) for r in ours]
