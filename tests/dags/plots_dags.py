"""DAGs for the plot tests (Airflow 2.10 and 3.x): ``retried_dag`` has a task that fails its first
try and succeeds on its second, so a Gantt chart of one run has two bars on that task's row."""

from __future__ import annotations

from datetime import datetime, timedelta

try:  # Airflow 3.x
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task


@dag(
    dag_id="retried_dag",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["sdk-test", "plots"],
)
def retried_dag():
    @task(task_id="prepare")
    def prepare():
        return "ready"

    @task(task_id="flaky", retries=2, retry_delay=timedelta(seconds=1))
    def flaky(ready, **context):
        if context["ti"].try_number < 2:
            raise RuntimeError("first try fails on purpose: the plot tests need a retried task")
        return "second try"

    flaky(prepare())


retried_dag()
