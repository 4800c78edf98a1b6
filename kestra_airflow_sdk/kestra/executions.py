"""A Kestra execution (``GET /api/v1/{tenant}/executions/{id}``) as the SDK's :class:`Execution`,
the same type the local runner returns."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..airflow.models import DagRun
from ..flows.execution import LOG_LEVELS, Execution, ExecutionState, LogEntry, TaskRun

if TYPE_CHECKING:
    import pandas as pd

    from ..flows.observer import Observer
    from ..history.schemas import Schema
    from . import models

__all__ = [
    "KESTRA_STATES",
    "TERMINAL",
    "ReportedProgress",
    "dag_run_of",
    "execution_from_kestra",
    "execution_row",
    "executions_frame",
    "executions_schema",
    "kestra_state",
    "log_entry_from_kestra",
    "parse_date",
    "with_outputs",
]

#: Kestra states after which an execution never changes again
TERMINAL = frozenset({"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "RETRIED", "SKIPPED"})
_STATES = {
    "SUCCESS": ExecutionState.SUCCESS,
    "SKIPPED": ExecutionState.SKIPPED,
    "WARNING": ExecutionState.WARNING,
    "FAILED": ExecutionState.FAILED,
    "RETRIED": ExecutionState.FAILED,
    "KILLED": ExecutionState.KILLED,
    "CANCELLED": ExecutionState.KILLED,
    "CREATED": ExecutionState.CREATED,
    "SUBMITTED": ExecutionState.CREATED,
    "QUEUED": ExecutionState.CREATED,
    "RESTARTED": ExecutionState.CREATED,
    "RESUBMITTED": ExecutionState.CREATED,
}


#: every state Kestra 1.3 and 2.0 give an execution (the categories of the search frame's ``state``)
KESTRA_STATES = (
    "CREATED",
    "SUBMITTED",
    "QUEUED",
    "RUNNING",
    "PAUSED",
    "RESTARTED",
    "RESUBMITTED",
    "BREAKPOINT",
    "RETRYING",
    "KILLING",
    "SUCCESS",
    "WARNING",
    "FAILED",
    "RETRIED",
    "KILLED",
    "CANCELLED",
    "SKIPPED",
)


@functools.cache
def executions_schema() -> Schema:
    """The columns and dtypes of :meth:`KestraServer.executions` (one row per execution); built on
    first use, so importing the Kestra client loads no pandas."""
    from ..history.schemas import Column, Schema
    from .accessor import register_kestra_accessor

    register_kestra_accessor()  # its frames have df.kestra

    return Schema(
        "kestra_executions",
        (
            Column("id", "str"),
            Column("namespace", "str"),
            Column("flow_id", "str"),
            Column("flow_revision", "int"),
            Column("state", "category", KESTRA_STATES),
            Column("start_date", "datetime"),
            Column("end_date", "datetime"),
            Column("duration", "duration"),
            Column("labels", "object"),
        ),
    )


def executions_frame(items: list[Any]) -> pd.DataFrame:
    """Kestra's execution search results as a typed frame (:func:`executions_schema`: ``string`` ids,
    ``Int64`` revision, Kestra's own state as a category, UTC datetimes, ``timedelta64[us]``
    duration of ended executions, labels as dicts); no results, an empty frame of those dtypes."""
    return executions_schema().frame([row for row in map(execution_row, items) if row is not None])


def execution_row(item: Any) -> dict[str, Any] | None:
    """One execution search result as a row of :func:`executions_schema` (None: not an execution)."""
    if not isinstance(item, dict) or not item.get("id"):
        return None
    current = kestra_state(item)
    start = parse_date(item, "startDate")
    end = parse_date(item, "endDate") if current in TERMINAL else None
    revision = item.get("flowRevision")
    return {
        "id": str(item["id"]),
        "namespace": item.get("namespace"),
        "flow_id": item.get("flowId"),
        "flow_revision": revision if isinstance(revision, int) and not isinstance(revision, bool) else None,
        "state": current or None,
        "start_date": start.isoformat() if start else None,
        "end_date": end.isoformat() if end else None,
        "duration": end - start if start and end else None,
        "labels": _labels(item.get("labels")),
    }


def kestra_state(body: Any) -> str:
    """The ``state.current`` of an execution or task run body (``""`` when absent)."""
    state = body.get("state") if isinstance(body, dict) else None
    return str(state.get("current") or "") if isinstance(state, dict) else ""


def _state(current: str) -> ExecutionState:
    """Kestra's many states in the runner's seven (RUNNING, PAUSED, KILLING, RETRYING... run)."""
    return _STATES.get(current, ExecutionState.RUNNING)


def parse_date(body: Any, key: str) -> datetime | None:
    """``state.<key>`` of an execution or task run body as a datetime (None when absent or invalid)."""
    state = body.get("state") if isinstance(body, dict) else None
    value = state.get(key) if isinstance(state, dict) else None
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _labels(value: Any) -> dict[str, str]:
    if isinstance(value, list):
        return {str(x.get("key")): str(x.get("value")) for x in value if isinstance(x, dict)}
    return {str(k): str(v) for k, v in (value or {}).items()} if isinstance(value, dict) else {}


def execution_from_kestra(body: dict[str, Any], task_types: dict[str, str] | None = None) -> Execution:
    """Build an :class:`Execution` from Kestra's execution JSON.

    ``task_types`` (task id → type, e.g. from the flow that ran) fills :attr:`TaskRun.type`, which
    Kestra's task runs do not carry.
    """
    runs = []
    for item in body.get("taskRunList") or []:
        if not isinstance(item, dict):
            continue
        current = kestra_state(item)
        attempts = item.get("attempts") or []
        runs.append(
            TaskRun(
                id=str(item.get("id") or ""),
                task_id=str(item.get("taskId") or ""),
                type=(task_types or {}).get(str(item.get("taskId")), ""),
                state=_state(current),
                attempt=max(len(attempts), 1 if current else 0),
                start_date=parse_date(item, "startDate"),
                end_date=parse_date(item, "endDate") if current in TERMINAL else None,
                outputs=dict(item.get("outputs") or {}),
                parent_id=item.get("parentTaskRunId"),
            )
        )
    current = kestra_state(body)
    return Execution(
        id=str(body.get("id") or ""),
        namespace=str(body.get("namespace") or ""),
        flow_id=str(body.get("flowId") or ""),
        state=_state(current),
        start_date=parse_date(body, "startDate"),
        end_date=parse_date(body, "endDate") if current in TERMINAL else None,
        inputs=dict(body.get("inputs") or {}),
        labels=_labels(body.get("labels")),
        task_runs=runs,
    )


def with_outputs(body: dict[str, Any], outputs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """An execution body whose task runs carry ``outputs`` (task run id → outputs).

    Kestra 2.0 answers executions without their task runs' outputs (read separately from
    ``GET /outputs/...``); this puts them back where Kestra 1.3 had them, so one parser reads both.
    A task run absent from ``outputs`` keeps what the body had.
    """
    runs = [
        {**item, "outputs": dict(outputs[item["id"]])}
        if isinstance(item, dict) and item.get("id") in outputs
        else item
        for item in body.get("taskRunList") or []
    ]
    return {**body, "taskRunList": runs}


def log_entry_from_kestra(entry: models.KestraLogEntry) -> LogEntry:
    """One line of Kestra's log API as the :class:`LogEntry` a local run writes.

    Kestra counts ``attemptNumber`` from 0 (the number of attempts a task run had when the line was
    written); :attr:`LogEntry.attempt` counts from 1, as :attr:`TaskRun.attempt` does.
    """
    level = (entry.level or "INFO").upper()
    return LogEntry(
        timestamp=entry.timestamp or datetime.fromtimestamp(0, timezone.utc),
        level=level if level in LOG_LEVELS else "INFO",
        message=entry.message or "",
        task_id=entry.task_id,
        task_run_id=entry.task_run_id,
        attempt=None if entry.attempt_number is None else entry.attempt_number + 1,
    )


class ReportedProgress:
    """Feeds observers from successive snapshots of a remote execution (each task run started and
    ended once, the Airflow runs TriggerDagRun task runs report, the log lines)."""

    def __init__(self, observers: list[Observer]) -> None:
        self.observers, self.started, self.ended, self.opened = observers, set[str](), set[str](), False

    def update(self, execution: Execution) -> None:
        if not self.opened:
            self.opened = True
            for observer in self.observers:
                observer.execution_started(execution)
        for task_run in execution.task_runs:
            if task_run.id not in self.started:
                self.started.add(task_run.id)
                for observer in self.observers:
                    observer.task_started(execution, task_run)
            dag_run = dag_run_of(task_run.outputs)
            if dag_run is not None:  # a TriggerDagRun's outputs: the Airflow run it follows
                for observer in self.observers:
                    observer.dag_run_polled(execution, task_run, dag_run, None)
            if task_run.state.is_terminal and task_run.id not in self.ended:
                self.ended.add(task_run.id)
                for observer in self.observers:
                    observer.task_ended(execution, task_run)

    def log(self, execution: Execution, entry: LogEntry) -> None:
        for observer in self.observers:
            observer.log_written(execution, entry)

    def end(self, execution: Execution) -> None:
        for observer in self.observers:
            observer.execution_ended(execution)


def dag_run_of(outputs: Mapping[str, Any]) -> DagRun | None:
    """The Airflow run a TriggerDagRun task run reports in its outputs (``dagId``, ``dagRunId``, ``state``)."""
    if not isinstance(outputs.get("dagId"), str) or not isinstance(outputs.get("dagRunId"), str):
        return None
    try:
        return DagRun.model_validate(
            {"dag_id": outputs["dagId"], "dag_run_id": outputs["dagRunId"], "state": outputs.get("state")}
        )
    except ValidationError:
        return None
