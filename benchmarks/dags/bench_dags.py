"""Paused DAGs for the history benchmark (20, or ``BENCH_DAG_COUNT``): triggered runs stay queued, nothing executes."""

from __future__ import annotations

import os
from datetime import datetime

try:  # Airflow 3.x
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.x
    from airflow import DAG
    from airflow.operators.bash import BashOperator

for _i in range(int(os.environ.get("BENCH_DAG_COUNT", "20"))):
    with DAG(
        dag_id=f"bench_dag_{_i:02d}",
        schedule=None,
        start_date=datetime(2024, 1, 1),
        catchup=False,
        is_paused_upon_creation=True,
        tags=["benchmark"],
    ):
        BashOperator(task_id="noop", bash_command="true")
