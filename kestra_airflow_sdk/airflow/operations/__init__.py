"""The Airflow REST operations, one module per resource, each a mixin of sans-I/O operations."""

from .dag_details import DagDetailOperations, DagDetails
from .dag_runs import DagRunOperations
from .dags import DagOperations
from .task_instances import TaskInstanceOperations
from .trigger import TriggerOperations, new_run_id
from .waiting import WaitOperations

__all__ = [
    "DagDetailOperations",
    "DagDetails",
    "DagOperations",
    "DagRunOperations",
    "TaskInstanceOperations",
    "TriggerOperations",
    "WaitOperations",
    "new_run_id",
]
