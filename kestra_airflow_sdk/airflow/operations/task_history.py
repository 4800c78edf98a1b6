"""Operations on what happened to tasks: the tries of a task instance, and Airflow's event log.

* ``GET .../taskInstances/{task_id}[/{map_index}]/tries``: every try of one task instance (Airflow
  2.10.0 added it to ``/api/v1``; ``/api/v2`` has it from Airflow 3.0.0).
* ``GET /eventLogs``: the audit log (both API generations; the ``before``/``after`` filters need
  Airflow 2.8 on ``/api/v1``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...transport.effects import Op
from ...transport.operation import operation
from ..arguments import aware, iso, segment
from ..arguments import limit as checked_limit
from ..errors import InvalidArgumentError
from ..event_log_models import EventLog
from ..features import Feature, require
from ..models import TaskInstance
from ..pagination import pages, parse_rows
from ..session import Session
from ..versions import ApiVersion

__all__ = ["TASK_TRIES", "TaskHistoryOperations"]

#: the tries of a task instance (``.../tries``; Airflow 2.10.0 on /api/v1)
TASK_TRIES = Feature("task-instance tries", "2.10.0")


def _text(value: str | None, name: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise InvalidArgumentError(f"{name}: expected a non-empty string or None, got {value!r}")
    return value


class TaskHistoryOperations(Session):
    """Task tries and event logs, for both clients."""

    @operation
    def list_task_tries(
        self, dag_id: str, dag_run_id: str, task_id: str, *, map_index: int = -1
    ) -> Op[list[TaskInstance]]:
        """Every try of one task instance, oldest first (the latest, current one included):
        ``try_number``, state, start, end, duration, host of each (Airflow 2.10.0+).

        Args:
            map_index: the map index of a mapped task instance (-1: the task is not mapped).
        """
        if isinstance(map_index, bool) or not isinstance(map_index, int) or map_index < -1:
            raise InvalidArgumentError(
                f"map_index: expected an integer >= -1 (-1: not mapped), got {map_index!r}"
            )
        path = (
            f"/dags/{segment(dag_id, 'dag_id')}/dagRuns/{segment(dag_run_id, 'dag_run_id')}"
            f"/taskInstances/{segment(task_id, 'task_id')}"
        )
        yield from require(self, TASK_TRIES)
        dialect = yield from self._dialect()
        params: dict[str, Any] = {}
        if map_index >= 0 and dialect.version is ApiVersion.V1:
            path += f"/{map_index}"  # Airflow 2 answers 404 for /-1/tries: unmapped ones have no index
        elif map_index >= 0:
            params["map_index"] = map_index
        rows = yield from pages(
            self,
            f"{path}/tries",
            "task_instances",
            action=f"Listing the tries of task {task_id!r} (map index {map_index}) in DAG run {dag_run_id!r}",
            params=params,
            limit=None,
        )
        tries = parse_rows(TaskInstance, rows)
        return sorted(tries, key=lambda ti: ti.try_number)

    @operation
    def list_event_logs(
        self,
        dag_id: str | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        event: str | None = None,
        dag_run_id: str | None = None,
        task_id: str | None = None,
        limit: int | None = None,
    ) -> Op[list[EventLog]]:
        """Entries of Airflow's event log (its audit log), oldest first, all pages fetched.

        Args:
            dag_id: only the entries of this DAG.
            since: only entries at or after this timezone-aware time.
            until: only entries at or before this timezone-aware time.
            event: only entries of this event (e.g. ``"trigger_dag_run"``, ``"success"``).
            dag_run_id: only the entries of this run.
            task_id: only the entries of this task.
            limit: stop after this many entries.
        """
        checked_limit(limit)
        params: dict[str, Any] = {
            "dag_id": _text(dag_id, "dag_id"),
            "run_id": _text(dag_run_id, "dag_run_id"),
            "task_id": _text(task_id, "task_id"),
            "event": _text(event, "event"),
            "after": iso(aware(since, "since")),
            "before": iso(aware(until, "until")),
            "order_by": "event_log_id",
        }
        rows = yield from pages(
            self,
            "/eventLogs",
            "event_logs",
            action=f"Listing the event log of DAG {dag_id!r}" if dag_id else "Listing the event log",
            params=params,
            limit=limit,
        )
        return parse_rows(EventLog, rows)
