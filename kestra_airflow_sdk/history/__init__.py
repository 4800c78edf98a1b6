"""Airflow run history as pandas DataFrames: views, exploration helpers, incremental cache, batched waits.

The operations (``dags``, ``dag_runs``, ``task_instances``, ``run_history``, ``wait_for_dag_runs``)
are methods of both clients; importing this package registers the ``df.airflow`` accessor.
"""

from .accessor import AirflowAccessor
from .schemas import DAG_RUNS, DAGS, TASK_INSTANCES, Column, Schema

__all__ = ["DAGS", "DAG_RUNS", "TASK_INSTANCES", "AirflowAccessor", "Column", "Schema"]
