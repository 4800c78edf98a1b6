"""Progress observers of the runner: a text reporter and a broadcast to several (the live display of
``progress=`` comes from the runtime, see :mod:`.runtime`; the
:class:`~kestra_airflow_sdk.flows.observer.Observer` interface itself is in the flow model, beside
the :class:`Execution` it reports on)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..flows.observer import Observer

if TYPE_CHECKING:
    from ..airflow.models import DagRun, TaskInstance
    from ..flows.execution import Execution, LogEntry, TaskRun

__all__ = ["Broadcast", "TextReporter"]

logger = logging.getLogger("kestra_airflow_sdk.runner")


class TextReporter(Observer):
    """One line per event: to the ``kestra_airflow_sdk.runner`` logger, or to ``write`` (e.g. a
    terminal). Every line about a task starts with its flow task id in brackets; a DAG run gets one
    line each time its state or its number of finished task instances changes, e.g.
    ``[run_dag] Airflow run hello_world_dag/manual__…: running, 1/3 tasks done``. The execution's log
    lines at ``log_level`` and up are written as they come, e.g.
    ``2026-11-30T17:02:03Z INFO  [hello] message``."""

    wants_task_instances = True

    def __init__(self, write: Callable[[str], None] | None = None, log_level: str = "INFO") -> None:
        self._write = write
        self.log_level = log_level
        self._last: dict[str, str] = {}

    def _emit(self, text: str, level: int = logging.INFO) -> None:
        if self._write is not None:
            self._write(text)
        else:
            logger.log(level, "%s", text)

    def execution_started(self, execution: Execution) -> None:
        self._emit(f"execution {execution.id} of {execution.namespace}.{execution.flow_id} started")

    def task_started(self, execution: Execution, task_run: TaskRun) -> None:
        self._emit(f"[{task_run.task_id}] started ({task_run.type.rsplit('.', 1)[-1]})")

    def dag_run_polled(
        self,
        execution: Execution,
        task_run: TaskRun,
        dag_run: DagRun,
        task_instances: list[TaskInstance] | None,
    ) -> None:
        status = str(dag_run.state)
        if task_instances:
            done = sum(1 for ti in task_instances if getattr(ti.state, "is_final", False))
            status += f", {done}/{len(task_instances)} tasks done"
        key = f"{dag_run.dag_run_id} {status}"
        if self._last.get(task_run.id) != key:
            self._last[task_run.id] = key
            self._emit(f"[{task_run.task_id}] Airflow run {dag_run.dag_id}/{dag_run.dag_run_id}: {status}")

    def task_paused(self, execution: Execution, task_run: TaskRun) -> None:
        self._emit(f"[{task_run.task_id}] PAUSED: waiting to be resumed")

    def task_resumed(self, execution: Execution, task_run: TaskRun) -> None:
        self._emit(f"[{task_run.task_id}] resumed")

    def task_ended(self, execution: Execution, task_run: TaskRun) -> None:
        error = f": {task_run.error}" if task_run.error else ""
        level = logging.WARNING if task_run.state.is_failed else logging.INFO
        self._emit(f"[{task_run.task_id}] {task_run.state} (attempt {task_run.attempt}){error}", level)

    def log_written(self, execution: Execution, entry: LogEntry) -> None:
        if entry.at_least(self.log_level):
            self._emit(entry.line(), logging.WARNING if entry.at_least("WARN") else logging.INFO)

    def execution_ended(self, execution: Execution) -> None:
        self._emit(f"execution {execution.id} ended {execution.state} after {execution.duration}")


_EVENTS = (
    "execution_started",
    "task_started",
    "dag_run_polled",
    "dag_run_waiting",
    "log_written",
    "task_paused",
    "task_resumed",
    "task_ended",
    "execution_ended",
)


class Broadcast(Observer):
    """Forward every event to several observers; one that raises is logged and skipped."""

    def __init__(self, observers: list[Observer]) -> None:
        self.observers = list(observers)
        self.wants_task_instances = any(o.wants_task_instances for o in self.observers)
        for event in _EVENTS:
            setattr(self, event, functools.partial(self._each, event))

    def _each(self, event: str, *args: object) -> None:
        for observer in self.observers:
            try:
                getattr(observer, event)(*args)
            except Exception:
                logger.warning("progress observer %r failed in %s", observer, event, exc_info=True)
