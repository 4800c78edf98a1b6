"""What a flow would do on this machine when it runs locally, read from its tasks before anything
runs (:meth:`Flow.plan <kestra_airflow_sdk.flows.Flow.plan>`, ``kestra-airflow validate``): the
processes it would start, the URLs it would call, what it would install and the files it would write.

The plan lists the flow's tasks as written (with their plugin defaults): properties holding
expressions are shown as written, rendered only when the task runs; a task behind an ``If`` or a
``runIf`` is listed although it may not run. ``Subflow`` tasks are listed as such: the subflow's own
plan is that flow's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .tasks.execution import FetchLogs
from .tasks.flowable import Subflow
from .tasks.http import HttpRequest
from .tasks.scripts import ScriptTask
from .trigger import TriggerDagRun

if TYPE_CHECKING:
    from .flow import Flow
    from .task import Task

__all__ = ["PlannedAction", "flow_plan"]

#: ``process``: a local process started; ``url``: a network address called; ``install``: packages
#: installed (from a package index); ``file``: files written on this machine
ActionKind = Literal["process", "url", "install", "file", "flow"]
#: how much of a command the plan shows
_SHOWN = 160


@dataclass(frozen=True)
class PlannedAction:
    """One thing a task would do on this machine."""

    task_id: str
    task_type: str
    kind: ActionKind
    detail: str

    def __str__(self) -> str:
        return f"task {self.task_id!r} ({self.task_type.rsplit('.', 1)[-1]}): {self.kind}: {self.detail}"


def _short(text: str) -> str:
    flat = " ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return flat if len(flat) <= _SHOWN else flat[: _SHOWN - 1] + "…"


def _process(task: ScriptTask) -> str:
    interpreter = " ".join(task.interpreter or ["/bin/sh", "-c"])
    before = "; ".join(task.before_commands or [])
    commands: list[str] | None = getattr(task, "commands", None)
    if commands is not None:
        what = "; ".join(commands)
    elif task.LANGUAGE == "shell":
        what = str(getattr(task, "script", ""))
    else:
        runner = "python" if task.LANGUAGE == "python" else "node"
        lines = len(str(getattr(task, "script", "")).strip().splitlines())
        what = f"{runner} <inline script, {lines} line(s)>"
    text = f"{interpreter} '{_short('; '.join(filter(None, [before, what])))}'"
    if task.runs_in_container:
        text += f" (Kestra would run it in a container, image {task.image}; here a local process)"
    return text


def _script_actions(task: ScriptTask) -> list[tuple[ActionKind, str]]:
    actions: list[tuple[ActionKind, str]] = []
    dependencies = getattr(task, "dependencies", None)
    if dependencies:
        listed = dependencies if isinstance(dependencies, str) else ", ".join(dependencies)
        actions.append(
            (
                "install",
                f"{listed} into a cached virtual environment of the flow (uv or pip: from the package index "
                "they are configured with, the first time)",
            )
        )
    actions.append(("process", _process(task)))
    written = "a temporary working directory (removed after the task)"
    if task.input_files:
        written += " with its inputFiles"
    actions.append(("file", written))
    if task.output_files or task.output_directory:
        patterns = ", ".join(task.output_files or []) or "outputDir"
        actions.append(("file", f"output files ({patterns}) kept on this machine"))
    return actions


def _actions(task: Task) -> list[tuple[ActionKind, str]]:
    if isinstance(task, ScriptTask):
        return _script_actions(task)
    if isinstance(task, HttpRequest):
        return [("url", f"{task.method} {task.uri}")]
    if isinstance(task, TriggerDagRun):
        return [("url", f"{task.base_url} (Airflow REST API: triggers DAG {task.dag_id})")]
    if isinstance(task, FetchLogs):
        return [("file", "the execution's log lines, to a file of the run's storage folder")]
    if isinstance(task, Subflow):
        return [("flow", f"runs flow {task.namespace}.{task.flow_id} (its own tasks act as its plan says)")]
    return []


def flow_plan(flow: Flow) -> list[PlannedAction]:
    """What ``flow``'s tasks would do on this machine, in the order they are written."""
    return [
        PlannedAction(task.id, task.type, kind, detail)
        for task in flow.with_plugin_defaults().walk()
        for kind, detail in _actions(task)
    ]
