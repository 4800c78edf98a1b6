"""DAGs for the run-history tests (works on Airflow 2.10 and 3.x).

They are paused from creation on, so triggered runs stay ``queued`` until a test marks them
``success`` or ``failed``: the tests get many runs in any state without running a task.
"""

from __future__ import annotations

from datetime import datetime

try:  # Airflow 3.x
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.x
    from airflow import DAG
    from airflow.operators.bash import BashOperator

for _dag_id in ("history_dag_a", "history_dag_b"):
    with DAG(
        dag_id=_dag_id,
        schedule=None,
        start_date=datetime(2024, 1, 1),
        catchup=False,
        is_paused_upon_creation=True,
        tags=["sdk-test", "history"],
    ):
        BashOperator(task_id="noop", bash_command="true")
