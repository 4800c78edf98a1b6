"""The progress seam: a run tells :class:`Observer` objects what happens, as it happens.

A notebook widget, a terminal display or a test recorder subclasses :class:`Observer` and
overrides what it needs. Methods run on the runner's event loop: they must be quick and must not
block. An observer that raises is logged and otherwise ignored; it never fails an execution.
DAG runs given to :meth:`Observer.dag_run_polled` have secret ``conf`` values masked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..airflow.hitl_models import HitlRequest
    from ..airflow.models import DagRun, TaskInstance
    from .execution import Execution, LogEntry, TaskRun

__all__ = ["Observer"]


class Observer:
    """Receives an execution's progress. Every method does nothing by default."""

    #: ask the runner to fetch the task instances of waited-for DAG runs on every poll
    wants_task_instances: bool = False

    def execution_started(self, execution: Execution) -> None:
        """The execution is RUNNING; no task has started yet."""

    def task_started(self, execution: Execution, task_run: TaskRun) -> None:
        """A task run is RUNNING (called once per task run, before its first attempt)."""

    def dag_run_polled(
        self,
        execution: Execution,
        task_run: TaskRun,
        dag_run: DagRun,
        task_instances: list[TaskInstance] | None,
    ) -> None:
        """A TriggerDagRun task triggered or polled its Airflow run (``task_instances`` is None
        unless :attr:`wants_task_instances`)."""

    def dag_run_waiting(
        self, execution: Execution, task_run: TaskRun, dag_run: DagRun, request: HitlRequest | None
    ) -> None:
        """The DAG run a TriggerDagRun task follows started waiting for a person (``request``: the
        human-in-the-loop request it waits on), waits on another request, or no longer waits
        (``request`` None). Said before the :meth:`dag_run_polled` of the poll that saw it, only
        when it changes, and only for polls that read the task instances (see
        :attr:`wants_task_instances`)."""

    def log_written(self, execution: Execution, entry: LogEntry) -> None:
        """A log line was added to ``execution.logs`` (secrets already masked)."""

    def task_paused(self, execution: Execution, task_run: TaskRun) -> None:
        """A ``Pause`` or ``Approval`` task run is PAUSED (and its execution): it waits to be
        resumed, e.g. by ``execution.resume()`` / ``approve()`` / ``deny()``."""

    def task_resumed(self, execution: Execution, task_run: TaskRun) -> None:
        """A PAUSED task run goes on (resumed, decided, or its time is up)."""

    def task_ended(self, execution: Execution, task_run: TaskRun) -> None:
        """A task run reached SUCCESS, WARNING, FAILED, KILLED or CANCELLED (or SKIPPED)."""

    def execution_ended(self, execution: Execution) -> None:
        """The execution reached SUCCESS, WARNING, FAILED, KILLED or CANCELLED."""
