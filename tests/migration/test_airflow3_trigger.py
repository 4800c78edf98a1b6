"""Step 1 on Airflow 3 (kestra_airflow_sdk.migration.airflow3): the ``airflow3_trigger_dag_run``
subflow of core tasks, and the flows ``flows_for_dags`` generates for an Airflow 3 server (they call
it) or an Airflow 2 server (TriggerDagRun, as before). Generation against a DAG listing answered in
memory; the runs against real Airflow are in tests/integration/test_airflow3_trigger.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kestra_airflow_sdk import AirflowClient, Flow, flows_for_dags, write_flows
from kestra_airflow_sdk.airflow.errors import InvalidArgumentError
from kestra_airflow_sdk.flows import Subflow, TriggerDagRun
from kestra_airflow_sdk.flows.known_types import is_known_type
from kestra_airflow_sdk.flows.upgrade import check_kestra2
from kestra_airflow_sdk.migration.airflow3 import SUBFLOW_ID, trigger_subflow
from kestra_airflow_sdk.runner import FlowRunner
from kestra_airflow_sdk.runner.dispatch import core_tasks

DAG = {
    "dag_id": "etl",
    "description": "Loads the ledger",
    "is_paused": False,
    "tags": [{"name": "finance"}],
    "owners": ["finance-team"],
    "timetable_summary": "30 6 * * 1-5",
    "schedule_interval": {"__type": "CronExpression", "value": "30 6 * * 1-5"},
}


def _airflow(api: str) -> tuple[httpx.MockTransport, list[str]]:
    """An Airflow that lists one DAG on ``/api/<api>`` (and logs in on ``/auth/token`` for v2)."""
    paths: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        paths.append(f"{request.method} {request.url.path}")
        if request.url.path == "/auth/token":
            return httpx.Response(201, json={"access_token": "jwt"})
        if request.url.path == f"/api/{api}/version":
            return httpx.Response(200, json={"version": "3.3.2" if api == "v2" else "2.10.5"})
        if request.url.path == f"/api/{api}/dags":
            return httpx.Response(200, json={"dags": [DAG], "total_entries": 1})
        return httpx.Response(404, json={"detail": "not found"})

    return httpx.MockTransport(answer), paths


def _generate(api: str, **options: Any) -> Any:
    transport, _ = _airflow(api)
    with AirflowClient("http://airflow.test", username="u", password="p", transport=transport) as client:
        return flows_for_dags(client, namespace="company.airflow", **options)


def _types(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["type"]] if isinstance(node.get("type"), str) and "id" in node else []
        return found + [t for value in node.values() for t in _types(value)]
    if isinstance(node, list):
        return [t for value in node for t in _types(value)]
    return []


def test_the_subflow_is_a_kestra_2_flow_of_core_tasks_naming_secrets_only() -> None:
    flow = trigger_subflow("company.airflow")
    assert (flow.id, flow.namespace, flow.kestra) == (SUBFLOW_ID, "company.airflow", "2.0")
    document = yaml.safe_load(flow.to_yaml())
    assert check_kestra2(document) == []  # nothing Kestra 2.0 rejects or would break at run time
    task_types = _types(document["tasks"])
    assert task_types and all(t.startswith("io.kestra.plugin.core.") and is_known_type(t) for t in task_types)
    assert all(core_tasks().runs(task) for task in flow.walk())  # and the SDK runs each of them
    FlowRunner(flow, progress=False).check()  # its expressions are valid Kestra 2.0 Pebble
    assert not [t for t in task_types if "plugin.airflow" in t]
    assert [i["id"] for i in document["inputs"]] == [
        "base_url",
        "dag_id",
        "dag_run_id",
        "conf",
        "wait",
    ]
    assert [o["id"] for o in document["outputs"]] == ["dagId", "dagRunId", "state", "started", "ended"]
    text = flow.to_yaml()
    assert "secret('AIRFLOW_USERNAME')" in text and "secret('AIRFLOW_PASSWORD')" in text
    assert "/auth/token" in text and "/api/v2/dags/{{ inputs.dag_id }}/dagRuns" in text
    assert Flow.from_yaml(text) == flow  # it loads back as written


def test_a_bearer_subflow_sends_the_token_secret_and_does_not_log_in() -> None:
    text = trigger_subflow("company.airflow", auth="bearer", token_secret="MY_TOKEN").to_yaml()
    assert "/auth/token" not in text and "Bearer {{ secret('MY_TOKEN') }}" in text
    with pytest.raises(InvalidArgumentError, match="auth: expected 'basic' or 'bearer', got 'oauth'"):
        trigger_subflow("company.airflow", auth="oauth")  # type: ignore[arg-type]


def test_flows_for_an_airflow3_server_call_the_subflow_with_a_run_id_kept_across_retries(
    tmp_path: Path,
) -> None:
    generated = _generate("v2", poll_frequency="PT10S", max_duration="PT1H")
    assert [f.id for f in generated.subflows] == [SUBFLOW_ID]
    assert [f.id for f in generated] == [SUBFLOW_ID, "etl"] and len(generated) == 2
    flow = generated.flow("etl")
    task = flow.tasks[0]
    assert isinstance(task, Subflow)
    assert (task.namespace, task.flow_id, task.wait, task.transmit_failed) == (
        "company.airflow",
        SUBFLOW_ID,
        True,
        True,
    )
    assert task.inputs is not None
    assert task.inputs["dag_run_id"] == "kestra_{{ execution.id }}_{{ task.id }}"  # same on a retry
    loop = yaml.safe_load(generated.subflows[0].to_yaml())["tasks"][2]["then"][0]
    assert loop["type"] == "io.kestra.plugin.core.flow.LoopUntil" and loop["failOnMaxReached"] is True
    assert loop["checkFrequency"] == {"interval": "PT10S", "maxDuration": "PT1H", "maxIterations": 361}
    assert task.inputs["conf"]["execution"] == "{{ execution.id }}"  # the lineage, as TriggerDagRun's
    assert flow.triggers and flow.triggers[0].disabled is True  # the schedule, off until the cut-over
    paths = write_flows(generated, tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in paths) == [
        f"company.airflow/{SUBFLOW_ID}.yaml",
        "company.airflow/etl.yaml",
    ]
    assert Flow.from_yaml(tmp_path / "company.airflow" / f"{SUBFLOW_ID}.yaml") == generated.subflows[0]


def test_flows_for_an_airflow2_server_or_asked_for_keep_trigger_dag_run() -> None:
    v1 = _generate("v1")
    assert v1.subflows == [] and isinstance(v1.flow("etl").tasks[0], TriggerDagRun)
    plugin = _generate("v2", airflow3_trigger="plugin")
    assert plugin.subflows == [] and isinstance(plugin.flow("etl").tasks[0], TriggerDagRun)


def test_a_bad_airflow3_trigger_is_refused_before_any_request() -> None:
    transport, paths = _airflow("v2")
    client = AirflowClient("http://airflow.test", username="u", password="p", transport=transport)
    with (
        client,
        pytest.raises(InvalidArgumentError, match="airflow3_trigger: expected 'subflow' or 'plugin'"),
    ):
        flows_for_dags(client, namespace="company.airflow", airflow3_trigger="kestra")  # type: ignore[call-overload]
    assert paths == []
