"""Pebble functions bound to the running execution: ``errorLogs()`` and ``tasksWithState(state)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..flows.expressions import iso
from .execution import Execution

__all__ = ["execution_functions"]


def execution_functions(execution: Execution) -> dict[str, Callable[..., Any]]:
    """The functions a task's expressions may call, reading ``execution`` when called."""

    def error_logs() -> list[dict[str, Any]]:
        """Kestra's ``errorLogs()``: the execution's ERROR log lines so far, oldest first."""
        return [
            {
                "namespace": execution.namespace,
                "flowId": execution.flow_id,
                "executionId": execution.id,
                "taskId": entry.task_id,
                "taskRunId": entry.task_run_id,
                "attemptNumber": entry.attempt,
                "timestamp": iso(entry.timestamp),
                "level": entry.level,
                "message": entry.message,
            }
            for entry in execution.logs
            if entry.level == "ERROR"
        ]

    def tasks_with_state(state: str) -> list[dict[str, Any]]:
        """Kestra's ``tasksWithState(state)``: the task runs now in ``state`` (e.g. ``'FAILED'``)."""
        wanted = str(state).upper()
        return [
            {"taskId": run.task_id, "taskRunId": run.id, "value": run.value, "state": run.state.value}
            for run in execution.task_runs
            if run.state.value == wanted
        ]

    return {"errorLogs": error_logs, "tasksWithState": tasks_with_state}
