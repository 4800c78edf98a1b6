"""DAGs for the migration tests (inventory, flows from DAGs); they work on Airflow 2.10 and 3.x.

* ``migration_cron_dag``: a cron schedule, tags, owners, a description, two operators;
* ``migration_daily_dag``: the ``@daily`` preset;
* ``migration_asset_dag``: scheduled by a dataset (Airflow 2) / asset (Airflow 3): no cron exists.

All are paused from creation on and never catch up, so nothing runs unless a test triggers a run
and unpauses the DAG.
"""

from __future__ import annotations

from datetime import datetime

try:  # Airflow 3.x
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG
    from airflow.sdk import Asset as _Asset
except ImportError:  # Airflow 2.x
    from airflow import DAG
    from airflow.datasets import Dataset as _Asset
    from airflow.operators.bash import BashOperator
    from airflow.operators.empty import EmptyOperator

_COMMON = {
    "start_date": datetime(2024, 1, 1),
    "catchup": False,
    "is_paused_upon_creation": True,
}

with DAG(
    dag_id="migration_cron_dag",
    schedule="30 6 * * 1-5",
    description="Loads the finance ledger every weekday morning",
    tags=["finance", "ledger"],
    default_args={"owner": "finance-team"},
    **_COMMON,
):
    EmptyOperator(task_id="start") >> BashOperator(task_id="load", bash_command="echo loading")

with DAG(
    dag_id="migration_daily_dag",
    schedule="@daily",
    description="Daily marketing export",
    tags=["marketing"],
    default_args={"owner": "marketing"},
    **_COMMON,
):
    BashOperator(task_id="export", bash_command="echo exporting")

with DAG(
    dag_id="migration_asset_dag",
    schedule=[_Asset("s3://sdk-test/ledger.parquet")],
    description="Runs when the ledger file is updated",
    tags=["finance"],
    default_args={"owner": "finance-team"},
    **_COMMON,
):
    EmptyOperator(task_id="react")
