"""Pebble functions bound to the running execution: ``errorLogs()``, ``tasksWithState(state)``,
``currentEachOutput(outputs.<task>)`` and ``loopOutputs(outputs.<loop>.outputs, name)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..flows.execution import Execution, TaskRun
from ..flows.expressions import iso
from ..flows.pebble.values import ExpressionProblem

__all__ = ["execution_functions", "loop_outputs"]


def loop_outputs(outputs: Any = None, name: Any = None) -> list[Any]:
    """Kestra 2.0's ``loopOutputs(outputs.<loop>.outputs, 'name')``: output ``name`` of every entry of
    a Loop's ``outputs`` list, in its order (null where an entry has none), as Kestra's
    ``LoopOutputsFunction`` (kestra-io/kestra, core/.../pebble/functions/LoopOutputsFunction.java)."""
    if outputs is None:
        raise ExpressionProblem("loopOutputs(outputs, name) expects a non-null argument 'outputs'")
    if not isinstance(outputs, list):
        raise ExpressionProblem(
            f"loopOutputs(outputs, name) expects 'outputs' to be a list (a Loop's outputs.<loop>.outputs), "
            f"got {type(outputs).__name__}"
        )
    if name is None:
        raise ExpressionProblem("loopOutputs(outputs, name) expects a non-null argument 'name'")
    if not isinstance(name, str):
        raise ExpressionProblem(f"loopOutputs(outputs, name) expects 'name' to be a string, got {name!r}")
    found = []
    for entry in outputs:
        values = entry.get("outputs") if isinstance(entry, dict) else None
        found.append(values.get(name) if isinstance(values, dict) else None)
    return found


def execution_functions(execution: Execution, task_run: TaskRun | None) -> dict[str, Callable[..., Any]]:
    """The functions the expressions of ``task_run`` (None: the flow's) may call; they read
    ``execution`` when called."""

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

    def current_each_output(outputs: Any) -> Any:
        """Kestra's ``currentEachOutput(outputs.<task>)``: in a ForEach, the outputs of ``<task>`` in
        the current iteration (the outputs keyed by the iteration's values)."""
        node = outputs
        for value in task_run.iteration if task_run is not None else ():
            if not isinstance(node, dict) or value not in node:
                break
            node = node[value]
        return node

    return {
        "errorLogs": error_logs,
        "tasksWithState": tasks_with_state,
        "currentEachOutput": current_each_output,
        "loopOutputs": loop_outputs,
    }
