"""Pebble functions bound to the running execution: ``errorLogs()``, ``tasksWithState(state)``,
``currentEachOutput(outputs.<task>)``, ``loopOutputs(outputs.<loop>.outputs, name)`` and
``kv(key, namespace, errorOnMissing)`` (:func:`kv_function`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from ..flows.execution import Execution, TaskRun
from ..flows.expressions import iso
from ..flows.pebble.state import reveal
from ..flows.pebble.values import ExpressionProblem
from ..flows.secrets import SecretResolver
from ..storage.kv import KVStore, KVStoreError

__all__ = ["execution_functions", "flow_value", "java_duration", "kv_function", "loop_outputs"]

_MISSING: Any = object()


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


def kv_function(storage_dir: Path, flow_namespace: str, secrets: SecretResolver) -> Callable[..., Any]:
    """Kestra's ``kv(key, namespace=None, errorOnMissing=true)`` on the KV store under ``storage_dir``
    (kestra-io/kestra, core/.../pebble/functions/KvFunction.java): without ``namespace``, the key is
    looked up in the flow's namespace, then in each parent namespace (``company.team``, then
    ``company``); a missing (or expired) key is an error unless ``errorOnMissing=false``, then null
    (the default has been true since Kestra 0.22, so in 1.3 as in 2.0). A value read back is what
    :func:`flow_value` gives; one set from a secret marks the
    render secret and is masked in log lines."""

    def kv(key: Any = _MISSING, namespace: Any = None, errorOnMissing: Any = True) -> Any:
        if key is _MISSING:
            raise ExpressionProblem("The 'kv' function expects an argument 'key'.")
        if not isinstance(key, str):
            raise ExpressionProblem(f"kv(): the key must be text, got {key!r}")
        if namespace is not None and not isinstance(namespace, str):
            raise ExpressionProblem(f"kv(): the namespace must be text, got {namespace!r}")
        if not isinstance(errorOnMissing, bool):
            raise ExpressionProblem(f"kv(): errorOnMissing must be true or false, got {errorOnMissing!r}")
        searched = [namespace] if namespace is not None else _with_parents(flow_namespace)
        try:
            for candidate in searched:
                found = KVStore(candidate, storage_dir).entry(key)
                if found is not None:
                    return reveal(flow_value(found.value, secrets))
        except KVStoreError as exc:
            raise ExpressionProblem(str(exc)) from None
        if errorOnMissing:
            raise ExpressionProblem(f"The key '{key}' does not exist in the namespace '{searched[0]}'.")
        return None

    return kv


def _with_parents(namespace: str) -> list[str]:
    """``company.team.data`` → ``[company.team.data, company.team, company]``."""
    parts = namespace.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def java_duration(value: timedelta) -> str:
    """Java's ``Duration.toString``: ``PT24H5S``, ``PT0.5S``, ``PT0S`` (hours, never days)."""
    total = value.total_seconds()
    sign = "-" if total < 0 else ""
    micros = abs(round(total * 1_000_000))
    hours, rest = divmod(micros, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, fraction = divmod(rest, 1_000_000)
    text = "PT"
    if hours:
        text += f"{sign}{hours}H"
    if minutes:
        text += f"{sign}{minutes}M"
    if seconds or fraction:
        digits = f".{fraction:06d}".rstrip("0") if fraction else ""
        text += f"{sign}{seconds}{digits}S"
    return "PT0S" if text == "PT" else text


def flow_value(value: Any, secrets: SecretResolver) -> Any:
    """A KV value as a flow sees it, as Kestra's outputs hold it: a datetime as ISO-8601 text
    (``…Z``), a date as ``YYYY-MM-DD``, a timedelta as :func:`java_duration` text; a secret (a
    SecretStr) is registered with the run's ``secrets``, so that every log line masks it."""
    if isinstance(value, SecretStr):
        secrets.register(value)
        return value
    if isinstance(value, dict):
        return {k: flow_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [flow_value(v, secrets) for v in value]
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return java_duration(value)
    return value
