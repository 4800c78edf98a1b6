"""The Airflow REST operations, one module per resource, each a mixin of sans-I/O operations."""

from .assets import AssetOperations
from .backfills import BackfillOperations
from .dag_details import DagDetailOperations, DagDetails
from .dag_runs import DagRunOperations
from .dags import DagOperations
from .hitl import HitlOperations
from .task_history import TaskHistoryOperations
from .task_instances import TaskInstanceOperations
from .trigger import TriggerOperations, new_run_id
from .waiting import WaitOperations
from .xcoms import XComOperations

__all__ = [
    "AssetOperations",
    "BackfillOperations",
    "DagDetailOperations",
    "DagDetails",
    "DagOperations",
    "DagRunOperations",
    "HitlOperations",
    "TaskHistoryOperations",
    "TaskInstanceOperations",
    "TriggerOperations",
    "WaitOperations",
    "XComOperations",
    "new_run_id",
]
