"""DAGs for the reliability tests (Airflow 2.10 and 3.x): paused at creation, so triggered runs stay
queued and cost nothing; the tests settle them with set_dag_run_state."""

from __future__ import annotations

from datetime import datetime

try:  # Airflow 3.x
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import dag
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag
    from airflow.operators.bash import BashOperator


@dag(
    dag_id="reliability_paused_dag",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    is_paused_upon_creation=True,
    tags=["sdk-test"],
)
def reliability_paused_dag():
    BashOperator(task_id="never_runs", bash_command="echo 'unpaused by mistake'")


reliability_paused_dag()
