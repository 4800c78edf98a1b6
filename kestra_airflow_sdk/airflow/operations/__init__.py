"""The Airflow REST operations, one module per resource, each a mixin of sans-I/O operations."""

from .dag_runs import DagRunOperations
from .dags import DagOperations
from .hitl import HitlOperations
from .task_instances import TaskInstanceOperations
from .trigger import TriggerOperations, new_run_id
from .waiting import WaitOperations

__all__ = [
    "DagOperations",
    "DagRunOperations",
    "HitlOperations",
    "TaskInstanceOperations",
    "TriggerOperations",
    "WaitOperations",
    "new_run_id",
]
