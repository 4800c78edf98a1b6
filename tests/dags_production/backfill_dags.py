"""DAGs for the backfill tests and docs (Airflow 3 backfills; the file loads on Airflow 2.10 and 3.x alike).

Daily schedules that start and end in the past, with ``catchup=False``: the scheduler makes no run of
its own, so every run of these DAGs is one a backfill created (of a day in 2024).

* ``backfill_dag`` (docs/backfills.md), ``backfill_sync_dag`` and ``backfill_async_dag`` (the
  integration tests, one per client, since Airflow runs one backfill per DAG at a time): one fast task.
* ``backfill_notebook_dag``: notebooks/airflow3.ipynb's backfill (one fast task).
* ``backfill_slow_dag`` (docs), ``backfill_slow_sync_dag`` and ``backfill_slow_async_dag``: one task
  of a few seconds, to pause, unpause and cancel a backfill while its runs are still queued.
"""

from __future__ import annotations

from datetime import datetime

try:  # Airflow 3.x
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.x
    from airflow import DAG
    from airflow.operators.bash import BashOperator


def _daily(dag_id: str) -> DAG:
    return DAG(
        dag_id=dag_id,
        schedule="@daily",
        start_date=datetime(2024, 1, 1),
        end_date=datetime(2024, 12, 31),
        catchup=False,
        tags=["sdk-test", "backfill"],
    )


# one literal task per DAG, each id once in the file: the native migration (tests/integration/test_native.py)
# reads the tasks from this source
with _daily("backfill_dag"):
    BashOperator(task_id="process_day", bash_command="echo processing a day")
with _daily("backfill_sync_dag"):
    BashOperator(task_id="process_day_sync", bash_command="echo processing a day")
with _daily("backfill_async_dag"):
    BashOperator(task_id="process_day_async", bash_command="echo processing a day")
with _daily("backfill_notebook_dag"):
    BashOperator(task_id="process_day_notebook", bash_command="echo processing a day")
with _daily("backfill_slow_dag"):
    BashOperator(task_id="slow_day", bash_command="sleep 3")
with _daily("backfill_slow_sync_dag"):
    BashOperator(task_id="slow_day_sync", bash_command="sleep 3")
with _daily("backfill_slow_async_dag"):
    BashOperator(task_id="slow_day_async", bash_command="sleep 3")
