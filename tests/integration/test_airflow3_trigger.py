"""Step 1 on Airflow 3 against the REAL Airflow 3.3.2: the flows ``flows_for_dags`` generates for an
Airflow 3 server call the ``airflow3_trigger_dag_run`` subflow (core HTTP tasks, no Airflow plugin),
and run locally to the outcomes TriggerDagRun has on the same DAGs: success, failure, a run that
outlives ``max_duration``, and a retried trigger that follows the run it started instead of a
second one. (Airflow 2 servers keep TriggerDagRun: nothing to prove there.)"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from kestra_airflow_sdk import AirflowClient, flows_for_dags
from kestra_airflow_sdk.flows import Execution, ExecutionState, Flow
from kestra_airflow_sdk.migration.airflow3 import SUBFLOW_ID
from tests.airflow_servers import AirflowServer

pytestmark = pytest.mark.parametrize("airflow", ["3"], indirect=True, ids=["airflow3"])
NAMESPACE = "company.airflow"


def _secrets(credentials: dict[str, str]) -> dict[str, str]:
    return {"AIRFLOW_USERNAME": credentials["username"], "AIRFLOW_PASSWORD": credentials["password"]}


def _both(
    client: AirflowClient, dag_id: str, credentials: dict[str, str], **options: Any
) -> tuple[Execution, Execution, Flow]:
    """The generated flow for ``dag_id`` run locally through the subflow, and with TriggerDagRun."""
    generated = flows_for_dags(client, dag_id, namespace=NAMESPACE, poll_frequency="PT1S", **options)
    plugin = flows_for_dags(
        client, dag_id, namespace=NAMESPACE, poll_frequency="PT1S", airflow3_trigger="plugin", **options
    )
    (subflow,) = generated.subflows
    through_subflow = generated.flow(dag_id).run(
        secrets=_secrets(credentials), flows=[subflow], progress=False
    )
    with_plugin = plugin.flow(dag_id).run(secrets=_secrets(credentials), progress=False)
    return through_subflow, with_plugin, subflow


def _runs_of(client: AirflowClient, dag_id: str, execution: Execution) -> list[Any]:
    return [r for r in client.list_dag_runs(dag_id) if r.conf.get("execution") == execution.id]


def test_a_successful_dag_run_through_the_subflow_as_with_trigger_dag_run(
    airflow: AirflowServer, credentials: dict[str, str]
) -> None:
    with AirflowClient(airflow.base_url, **credentials) as client:
        mine, theirs, _ = _both(client, "hello_world_dag", credentials)
        assert mine.state is theirs.state is ExecutionState.SUCCESS, mine.task_run("trigger_dag").error
        outputs = mine.outputs["trigger_dag"]["outputs"]  # the subflow's flow outputs
        plugin = theirs.outputs["trigger_dag"]
        assert outputs["dagId"] == plugin["dagId"] == "hello_world_dag"
        assert outputs["state"] == plugin["state"] == "success"
        assert outputs["dagRunId"] == f"kestra_{mine.id}_trigger_dag"
        assert outputs["started"] and outputs["ended"] >= outputs["started"]
        (run,) = _runs_of(client, "hello_world_dag", mine)  # one run, with the lineage conf
        assert run.dag_run_id == outputs["dagRunId"] and str(run.state) == "success"
        assert run.conf == {
            "source": "kestra",
            "namespace": NAMESPACE,
            "flow": "hello_world_dag",
            "task": "trigger_dag",
            "execution": mine.id,
        }


def test_a_failed_dag_run_fails_the_flow_as_with_trigger_dag_run(
    airflow: AirflowServer, credentials: dict[str, str]
) -> None:
    with AirflowClient(airflow.base_url, **credentials) as client:
        mine, theirs, _ = _both(client, "failing_dag", credentials)
        assert mine.state is theirs.state is ExecutionState.FAILED
        (run,) = _runs_of(client, "failing_dag", mine)
        assert str(run.state) == "failed"
        child = next(iter(mine.subflows.values()))
        assert child.state is ExecutionState.FAILED
        assert "ended failed" in (child.task_run("dag_run_failed").error or "")


def test_a_run_longer_than_max_duration_fails_the_flow_as_with_trigger_dag_run(
    airflow: AirflowServer, credentials: dict[str, str]
) -> None:
    with AirflowClient(airflow.base_url, **credentials) as client:
        mine, theirs, _ = _both(client, "slow_dag", credentials, max_duration="PT3S")
        try:
            assert mine.state is theirs.state is ExecutionState.FAILED
            child = next(iter(mine.subflows.values()))
            # maxDuration, or the iterations it allows (maxIterations: one poll per pollFrequency)
            assert "reached (failOnMaxReached)" in (child.task_run("poll_until_done").error or "")
        finally:  # the slow runs would hold the executor for two minutes
            for execution in (mine, theirs):
                for run in _runs_of(client, "slow_dag", execution):
                    if str(run.state) not in ("success", "failed"):
                        client.set_dag_run_state("slow_dag", run.dag_run_id, "failed")


def test_a_retried_trigger_follows_the_run_it_started(
    airflow: AirflowServer, credentials: dict[str, str]
) -> None:
    """The same ``dag_run_id`` twice (what a retried ``trigger_dag`` task sends: it comes from the
    execution and task ids): Airflow answers 409 to the second trigger, which follows the first run."""
    with AirflowClient(airflow.base_url, **credentials) as client:
        (subflow,) = flows_for_dags(
            client, "hello_world_dag", namespace=NAMESPACE, poll_frequency="PT1S"
        ).subflows
        assert subflow.id == SUBFLOW_ID
        run_id = f"kestra_retry_{uuid.uuid4().hex}"
        inputs = {
            "base_url": airflow.base_url,
            "dag_id": "hello_world_dag",
            "dag_run_id": run_id,
            "conf": {"try": 1},
        }
        first = subflow.run(inputs=inputs, secrets=_secrets(credentials), progress=False)
        again = subflow.run(
            inputs={**inputs, "conf": {"try": 2}}, secrets=_secrets(credentials), progress=False
        )
        assert first.state is again.state is ExecutionState.SUCCESS, again.task_run("trigger").error
        assert again.task_run("trigger").outputs["code"] == 409
        runs = [r for r in client.list_dag_runs("hello_world_dag") if r.dag_run_id == run_id]
        assert len(runs) == 1 and runs[0].conf == {"try": 1}  # one run: the first trigger's
        assert first.flow_outputs["state"] == again.flow_outputs["state"] == "success"
