"""Live progress of a flow execution: its Airflow DAG runs in the same table as ``watch_dag_runs``,
and its log lines (INFO and up) printed in a terminal or shown under the table in a notebook."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..flows.observer import Observer
from .progress import RunObserver, progress_observer

if TYPE_CHECKING:
    from ..airflow.hitl_models import HitlRequest
    from ..airflow.models import DagRun, TaskInstance
    from ..flows.execution import Execution, LogEntry, TaskRun
    from .waits import WaitControls

__all__ = ["ExecutionProgress", "execution_progress"]


class ExecutionProgress(Observer):
    """Runner observer that feeds every poll of a ``TriggerDagRun`` task's DAG run to a progress
    display (a :class:`~kestra_airflow_sdk.display.RunProgress` or any ``update``/``close`` object)
    and closes it, showing the final states, when the execution ends. A DAG run that waits for a
    person shows as "waiting for a person: <subject>" instead of "running" (the runner asks Airflow
    for the run's request only when a polled task instance awaits input). Log lines at
    ``log_level`` and above go to the display's ``log(line)`` when it has one (a RunProgress does)."""

    wants_task_instances = True

    def __init__(self, display: RunObserver, log_level: str = "INFO") -> None:
        self.display = display
        self.log_level = log_level
        #: the controls of the paused task runs shown in a notebook, by task run id
        self.controls: dict[str, WaitControls] = {}

    def log_written(self, execution: Execution, entry: LogEntry) -> None:
        show = getattr(self.display, "log", None)
        if callable(show) and entry.at_least(self.log_level):
            show(entry.line())

    def dag_run_polled(
        self,
        execution: Execution,
        task_run: TaskRun,
        dag_run: DagRun,
        task_instances: list[TaskInstance] | None,
    ) -> None:
        self.display.update(dag_run, task_instances or [])

    def dag_run_waiting(
        self, execution: Execution, task_run: TaskRun, dag_run: DagRun, request: HitlRequest | None
    ) -> None:
        """The DAG run now waits for a person (or no longer): a display with ``waiting`` (a
        :class:`~kestra_airflow_sdk.display.RunProgress`) shows its row as
        "waiting for a person: <subject>" from this poll on (the runner says it before the poll)."""
        waiting = getattr(self.display, "waiting", None)
        if callable(waiting):
            waiting(dag_run, request)

    def task_paused(self, execution: Execution, task_run: TaskRun) -> None:
        """A paused task: its controls under the table in a notebook, a line saying how to resume
        it elsewhere (see :mod:`.waits`)."""
        request = execution.control.request(task_run.id) if execution.control is not None else None
        if request is None:
            return
        if getattr(self.display, "mode", None) == "widget":
            from .waits import WaitControls, show_widget

            controls = WaitControls(execution, request)
            self.controls[task_run.id] = controls
            show_widget(controls.box)
            return
        show = getattr(self.display, "log", None)
        if callable(show):
            from .waits import resume_hint

            show(resume_hint(request))

    def task_resumed(self, execution: Execution, task_run: TaskRun) -> None:
        controls = self.controls.pop(task_run.id, None)
        if controls is not None:
            controls.done("resumed")

    def execution_ended(self, execution: Execution) -> None:
        self.display.close()


def execution_progress(progress: Any) -> Observer:
    """The live display a run's ``progress=`` option asks for (True/"auto", "widget", "text" or a
    display object); the public package installs it as the runner's progress display."""
    return ExecutionProgress(progress_observer(progress))
