"""``TaskInstances``: a list of task instances that displays itself as a table."""

from __future__ import annotations

from collections import Counter

from ..airflow.models import TaskInstance
from .html import task_instances_html
from .text import task_instances_repr

__all__ = ["TaskInstances"]


class TaskInstances(list[TaskInstance]):
    """A plain ``list`` of :class:`~kestra_airflow_sdk.airflow.TaskInstance` with a table as its display.

    Example:
        >>> TaskInstances(client.list_task_instances("hello_world_dag", run_id))  # shows a table
    """

    def states(self) -> dict[str, int]:
        """How many task instances are in each state (``"none"`` for no state yet)."""
        return dict(Counter("none" if ti.state is None else str(ti.state) for ti in self))

    def _repr_html_(self) -> str:
        return task_instances_html(self)

    def __repr__(self) -> str:
        return task_instances_repr(self)
