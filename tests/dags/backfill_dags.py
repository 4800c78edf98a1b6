"""DAGs for the backfill tests (Airflow 3 backfills; the file loads on Airflow 2.10 and 3.x alike).

Daily schedules with a start date in the past and ``catchup=False``: the scheduler makes at most the
latest run itself, so the runs of earlier days exist only when a test backfills them.

* ``backfill_dag``: one fast task; a backfill of a few days is followed to its end.
* ``backfill_slow_dag``: one task of a few seconds, for pausing, unpausing and cancelling a backfill
  while its runs are still queued.
"""

from __future__ import annotations

from datetime import datetime

try:  # Airflow 3.x
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.x
    from airflow import DAG
    from airflow.operators.bash import BashOperator

with DAG(
    dag_id="backfill_dag",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["sdk-test", "backfill"],
):
    BashOperator(task_id="process_day", bash_command="echo processing a day")

with DAG(
    dag_id="backfill_slow_dag",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["sdk-test", "backfill"],
):
    BashOperator(task_id="slow_day", bash_command="sleep 3")
