"""What the native migration reads from Airflow over REST: a DAG's definition (details, tasks, source
file) and the return values (XCom ``return_value``) of a run's tasks, through the client's public
operations (:mod:`kestra_airflow_sdk.airflow.operations.dag_details`), as the translation's types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..airflow.core import ClientCore
from ..airflow.errors import NotFoundError
from ..airflow.models import AirflowDag
from ..airflow.operations import DagDetails
from ..transport.effects import Op

__all__ = ["DagDefinition", "DefinedTask", "read_dag_definition", "read_return_value"]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _seconds(delta: Any) -> float | None:
    """Seconds of Airflow's serialized ``TimeDelta`` (``{"days", "seconds", "microseconds"}``)."""
    if not isinstance(delta, dict):
        return None
    days, seconds, micros = (_number(delta.get(k)) or 0.0 for k in ("days", "seconds", "microseconds"))
    return days * 86400 + seconds + micros / 1e6


@dataclass(frozen=True)
class DefinedTask:
    """One task as ``/dags/{id}/tasks`` describes it (the fields the translation uses)."""

    task_id: str
    operator: str
    downstream: tuple[str, ...] = ()
    retries: int = 0
    retry_delay: float | None = None
    exponential_backoff: bool = False
    trigger_rule: str = "all_success"
    timeout: float | None = None
    is_mapped: bool = False

    @classmethod
    def from_rest(cls, row: dict[str, Any]) -> DefinedTask:
        """From one row of the ``tasks`` list (v1 or v2)."""
        class_ref = row.get("class_ref") or {}
        return cls(
            task_id=str(row["task_id"]),
            operator=str(row.get("operator_name") or class_ref.get("class_name") or "unknown"),
            downstream=tuple(str(t) for t in row.get("downstream_task_ids") or ()),
            retries=int(_number(row.get("retries")) or 0),
            retry_delay=_seconds(row.get("retry_delay")),
            exponential_backoff=bool(row.get("retry_exponential_backoff")),
            trigger_rule=str(row.get("trigger_rule") or "all_success"),
            timeout=_seconds(row.get("execution_timeout")),
            is_mapped=bool(row.get("is_mapped")),
        )


@dataclass(frozen=True)
class DagDefinition:
    """A DAG's definition as Airflow serves it: the DAG, its params, its tasks, its source text."""

    dag: AirflowDag
    tasks: tuple[DefinedTask, ...]
    source: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def upstream(self) -> dict[str, list[str]]:
        """Task id → the ids of its upstream tasks (in the order of the task list)."""
        found: dict[str, list[str]] = {task.task_id: [] for task in self.tasks}
        for task in self.tasks:
            for child in task.downstream:
                found.setdefault(child, []).append(task.task_id)
        return found


def read_dag_definition(client: ClientCore, dag_id: str) -> Op[DagDefinition]:
    """Operation: the details, the tasks and the source file of DAG ``dag_id`` (three requests)."""
    details: DagDetails = yield from ClientCore.get_dag_details.fn(client, dag_id)
    rows: list[dict[str, Any]] = yield from ClientCore.get_dag_tasks.fn(client, dag_id)
    source: str = yield from ClientCore.get_dag_source.fn(client, dag_id, file_token=details.file_token)
    return DagDefinition(
        dag=details.dag,
        tasks=tuple(DefinedTask.from_rest(row) for row in rows),
        source=source,
        params=details.params,
    )


def read_return_value(
    client: ClientCore, dag_id: str, dag_run_id: str, task_id: str, map_index: int = -1
) -> Op[tuple[bool, Any]]:
    """Operation: ``(True, value)`` for the task's XCom ``return_value`` in that run (of one map index
    of a mapped task), ``(False, None)`` when it pushed none."""
    try:
        entry = yield from ClientCore.get_xcom.fn(client, dag_id, dag_run_id, task_id, map_index=map_index)
        value = entry.value
    except NotFoundError:
        return False, None
    return True, value
