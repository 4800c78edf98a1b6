"""DAGs for the core-task flow tests (ForEach over DAG ids): each sleeps a few seconds, so runs that
overlap in time show in their start and end dates (works on Airflow 2.10 and 3.x)."""

from __future__ import annotations

from datetime import datetime

try:  # Airflow 3.x
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.x
    from airflow import DAG
    from airflow.operators.bash import BashOperator

for _dag_id in ("core_sleep_1", "core_sleep_2", "core_sleep_3", "core_sleep_4"):
    with DAG(
        dag_id=_dag_id,
        schedule=None,
        start_date=datetime(2024, 1, 1),
        catchup=False,
        is_paused_upon_creation=False,
        tags=["sdk-test", "core-tasks"],
    ):
        BashOperator(task_id="sleep", bash_command="sleep 3")
