"""Migration against the REAL Airflow 3.3.2 and 2.10.5: the inventory of the test DAGs
(tests/dags/migration_dags.py), flows generated from them, and one of them run locally."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from kestra_airflow_sdk import AirflowClient, AsyncAirflowClient, Flow, flows_for_dags, write_flows
from kestra_airflow_sdk.flows import ExecutionState, Schedule, Subflow, TriggerDagRun
from kestra_airflow_sdk.migration import INVENTORY
from kestra_airflow_sdk.migration.airflow3 import SUBFLOW_ID
from tests.airflow_servers import AirflowServer

CRON_DAG, DAILY_DAG, ASSET_DAG = "migration_cron_dag", "migration_daily_dag", "migration_asset_dag"
MIGRATION_DAGS = [CRON_DAG, DAILY_DAG, ASSET_DAG]


def _run_generated_flow(airflow: AirflowServer, credentials: dict[str, str], direct: AirflowClient) -> str:
    """Run the flow generated for the cron DAG locally (unpaused meanwhile); return its execution id."""
    # TriggerDagRun on both versions here; the Airflow 3 subflow's runs: test_airflow3_trigger.py
    generated = flows_for_dags(direct, CRON_DAG, namespace="company.airflow", airflow3_trigger="plugin")
    flow = generated.flow(CRON_DAG)
    task = flow.tasks[0]
    assert isinstance(task, TriggerDagRun)
    task.poll_frequency = "PT1S"  # the generated PT30S is for production
    direct.unpause_dag(CRON_DAG)
    try:
        execution = flow.run(
            secrets={
                "AIRFLOW_USERNAME": credentials["username"],
                "AIRFLOW_PASSWORD": credentials["password"],
            },
            progress=False,
        )
        assert execution.state is ExecutionState.SUCCESS, execution.task_run("trigger_dag").error
        # the scheduler may have started the latest cron interval on unpause: let it end too
        direct.wait_for_dag_runs(direct.list_dag_runs(CRON_DAG), poll_frequency=1.0, timeout=300)
    finally:
        direct.pause_dag(CRON_DAG)
    stored = direct.get_dag_run(CRON_DAG, execution.outputs["trigger_dag"]["dagRunId"])
    assert stored.conf == {
        "source": "kestra",
        "namespace": "company.airflow",
        "flow": flow.id,
        "task": "trigger_dag",
        "execution": execution.id,
    }
    return execution.id


def test_inventory_rows_and_values(airflow: AirflowServer, credentials: dict[str, str]) -> None:
    with AirflowClient(airflow.base_url, **credentials) as direct:
        _run_generated_flow(airflow, credentials, direct)
        since = datetime.now(timezone.utc) - timedelta(days=30)
        inventory = direct.inventory(MIGRATION_DAGS, since=since)
        everything = direct.inventory()
        dags = {dag.dag_id: dag for dag in direct.list_dags()}
        tasks = {dag_id: direct.list_dag_tasks(dag_id) for dag_id in MIGRATION_DAGS}
        runs = [r for r in direct.list_dag_runs(CRON_DAG) if r.run_after is None or r.run_after >= since]

    assert list(inventory.columns) == INVENTORY.names
    assert inventory.dtypes.to_dict() == INVENTORY.dtypes
    assert inventory["dag_id"].tolist() == sorted(MIGRATION_DAGS)
    assert set(everything["dag_id"]) == set(dags)  # every DAG of the server, one row each
    rows = inventory.set_index("dag_id")
    for dag_id in MIGRATION_DAGS:  # what the API says of each DAG
        dag, row = dags[dag_id], rows.loc[dag_id]
        assert row["description"] == dag.description and row["is_paused"] == dag.is_paused
        assert row["owners"] == dag.owners and row["tags"] == sorted(dag.tags)
        assert row["schedule"] == dag.schedule
        assert row["tasks"] == len(tasks[dag_id])
        assert row["operators"] == sorted({t.operator_name for t in tasks[dag_id] if t.operator_name})
    assert rows.loc[CRON_DAG, "cron"] == "30 6 * * 1-5"
    assert rows.loc[DAILY_DAG, "cron"] == "0 0 * * *"  # "@daily" on Airflow 2, its cron on Airflow 3
    assert pd.isna(rows.loc[ASSET_DAG, "cron"])
    assert rows.loc[CRON_DAG, "operators"] == ["BashOperator", "EmptyOperator"]
    assert rows.loc[CRON_DAG, "owners"] == ["finance-team"] and rows.loc[CRON_DAG, "tags"] == [
        "finance",
        "ledger",
    ]

    # window statistics of the cron DAG against its runs as the API lists them
    finished = [r for r in runs if str(r.state) in ("success", "failed")]
    latest = max(runs, key=lambda r: r.run_after or datetime.min.replace(tzinfo=timezone.utc))
    assert rows.loc[CRON_DAG, "runs"] == len(runs) >= 1
    assert rows.loc[CRON_DAG, "success_rate"] == pytest.approx(
        sum(str(r.state) == "success" for r in finished) / len(finished)
    )
    assert rows.loc[CRON_DAG, "last_run_state"] == str(latest.state)
    durations = sorted((r.end_date - r.start_date) for r in finished if r.end_date and r.start_date)
    assert rows.loc[CRON_DAG, "p50_duration"] == pd.Series(durations).quantile(0.5)
    assert rows.loc[ASSET_DAG, "runs"] == 0 and pd.isna(rows.loc[ASSET_DAG, "last_run_at"])


def test_generated_flows_load_back_equal_with_disabled_schedules(
    airflow: AirflowServer, credentials: dict[str, str], tmp_path: Path
) -> None:
    with AirflowClient(airflow.base_url, **credentials) as client:
        generated = flows_for_dags(client, MIGRATION_DAGS, namespace="company.airflow")

    async def generate_async() -> list[Flow]:
        async with AsyncAirflowClient(airflow.base_url, **credentials) as aclient:
            return (await flows_for_dags(aclient, MIGRATION_DAGS, namespace="company.airflow")).flows

    assert asyncio.run(generate_async()) == generated.flows  # the async client generates the same

    paths = write_flows(generated, tmp_path)
    subflows = [SUBFLOW_ID] if airflow.major == "3" else []  # Airflow 3: the trigger subflow beside them
    assert [f.id for f in generated.subflows] == subflows
    assert sorted(p.relative_to(tmp_path).as_posix() for p in paths) == sorted(
        f"company.airflow/{flow_id}.yaml" for flow_id in [*MIGRATION_DAGS, *subflows]
    )
    for path, flow in zip(paths, [*generated.subflows, *generated.flows], strict=True):
        text = path.read_text()
        assert Flow.from_yaml(path) == flow
        assert credentials["password"] not in text.replace("AIRFLOW_PASSWORD", "")
        logs_in = airflow.major == "2" or flow.id == SUBFLOW_ID  # on Airflow 3 the subflow logs in
        assert ("secret('AIRFLOW_PASSWORD')" in text) is logs_in

    def schedule_of(dag_id: str) -> Schedule | None:
        triggers = generated.flow(dag_id).triggers or []
        assert len(triggers) <= 1
        return triggers[0] if triggers and isinstance(triggers[0], Schedule) else None

    cron, daily = schedule_of(CRON_DAG), schedule_of(DAILY_DAG)
    assert cron is not None and cron.cron == "30 6 * * 1-5" and cron.disabled is True
    assert daily is not None and daily.cron == "0 0 * * *" and daily.disabled is True
    assert schedule_of(ASSET_DAG) is None
    assert [(note.dag_id, note.schedule) for note in generated.notes] == [
        (ASSET_DAG, "Asset" if airflow.major == "3" else "Dataset")
    ]
    assert "no cron" in generated.notes[0].reason
    flow = generated.flow(CRON_DAG)
    assert flow.description == "Loads the finance ledger every weekday morning"
    assert flow.label_map == {"airflow_dag_id": CRON_DAG, "finance": "true", "ledger": "true"}
    task = flow.tasks[0]
    if airflow.major == "3":
        assert isinstance(task, Subflow) and task.flow_id == SUBFLOW_ID and task.inputs is not None
        assert (task.inputs["dag_id"], task.inputs["base_url"]) == (CRON_DAG, airflow.base_url)
    else:
        assert isinstance(task, TriggerDagRun) and task.wait and task.dag_id == CRON_DAG
        assert task.base_url == airflow.base_url
