"""DAGs only the production-profile server has (tests/integration/test_production.py), beside the
project's test DAGs of tests/dags (Airflow 3 only: the production profile is Airflow 3.3.2)."""

from __future__ import annotations

import time
from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task

#: 20 DAGs that never run anything: the 1,000 concurrent waits are on their (queued) runs
for _number in range(20):
    with DAG(
        dag_id=f"production_paused_{_number:02d}",
        schedule=None,
        start_date=datetime(2024, 1, 1),
        catchup=False,
        is_paused_upon_creation=True,
        tags=["sdk-test"],
    ):
        BashOperator(task_id="never_runs", bash_command="echo 'unpaused by mistake'")

#: one long task, for a Celery worker to be killed while it runs it
with DAG(
    dag_id="production_kill_dag",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    is_paused_upon_creation=False,
    tags=["sdk-test"],
):

    @task(task_id="sleep_long", retries=0)
    def sleep_long() -> None:
        time.sleep(600)

    sleep_long()
