"""The tasks that act on the running execution, as Kestra runs them: ``execution.Labels``,
``SetVariables``, ``UnsetVariables``, ``Assert`` and ``log.Fetch``.

As in Kestra (kestra-io/kestra ``plugin/core/execution/Labels.java``, ``SetVariables.java``,
``UnsetVariables.java``, ``Assert.java``, ``plugin/core/log/Fetch.java``, ``RunVariables``,
``MapUtils.deepMerge``, ``TruthUtils``):

* ``Labels``: the rendered labels are added to the execution's, a key it has is overwritten; the
  expressions of later tasks see them (``{{ labels.<key> }}``). A map value is written as its JSON. A
  ``system.*`` label fails the task. No outputs.
* ``SetVariables``: the rendered map is merged deeply into the execution's variables (which start as
  the flow's ``variables``): maps are merged, lists joined (items not there yet appended), a null
  keeps the value there, anything else replaces it. ``overwrite: false`` fails the task when one of
  the names exists. Later tasks read them as ``{{ vars.<name> }}``.
* ``UnsetVariables``: each name (``a.b`` for a nested one) is removed; as in Kestra's code, a name
  that is not there is ignored, and a missing parent map fails the task unless ``ignoreMissing``.
* ``Assert``: each condition is rendered; a falsy one (Kestra's truthiness) or one that cannot be
  rendered is an ERROR line (``Assertion `...` failed!``); metrics ``success`` and ``failed``
  (counters); any failed one fails the task: ``N assertion(s) failed!`` then ``errorMessage``.
* ``log.Fetch``: the execution's log lines at ``level`` and above (all tasks, or ``tasksId`` in that
  order) are written one per line to a file; outputs ``size`` and ``uri``.

Locally, ``log.Fetch`` reads the current execution only (an ``executionId`` naming another one fails
the task) and writes its file to the run's internal storage (:func:`execution_file`, a
``kestra:///`` URI), as Kestra does. Each row is a JSON object (valid Ion text) with Kestra's
``LogEntry`` field names.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from pydantic import SecretStr

from ...flows.errors import ExpressionError
from ...flows.execution import LOG_LEVELS, LogEntry
from ...flows.secrets import reveal
from ...flows.tasks.execution import Assert, FetchLogs, Labels, SetVariables, UnsetVariables
from ...flows.tasks.runnable import scalar_text
from ..executors import TaskContext, TaskFailedError
from ..labels import SYSTEM_PREFIX
from ..truth import is_truthy

__all__ = [
    "deep_merge",
    "execution_file",
    "run_assert",
    "run_fetch_logs",
    "run_labels",
    "run_set_variables",
    "run_unset_variables",
]


def _text(value: Any) -> str:
    return "" if value is None else str(scalar_text(reveal(value)))


def _flag(value: bool | str, ctx: TaskContext, where: str) -> bool:
    """A boolean property, written as one or as an expression rendering to ``true`` / ``false``."""
    if isinstance(value, bool):
        return value
    rendered = _text(ctx.renderer.render(value, where)).strip().lower()
    if rendered not in ("true", "false"):
        raise TaskFailedError(f"{where}: expected true or false, got {rendered!r}")
    return rendered == "true"


# ---------------------------------------------------------------------------------------- Labels


def _label_value(value: Any, ctx: TaskContext, where: str) -> str:
    rendered = ctx.renderer.render(value, where)
    if isinstance(rendered, SecretStr) or (isinstance(rendered, dict) and rendered != reveal(rendered)):
        raise TaskFailedError(f"{where}: a label cannot hold a secret (labels are shown everywhere)")
    if isinstance(rendered, dict):
        return json.dumps(rendered, separators=(",", ":"), ensure_ascii=False)
    return _text(rendered)


def _rendered_labels(task: Labels, ctx: TaskContext) -> dict[str, str]:
    labels = task.labels
    if isinstance(labels, str):
        text = _text(ctx.renderer.render(labels, "labels"))
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise TaskFailedError(f"labels: expected a JSON map of label key to value, got {text[:200]!r}")
        return {str(k): _text(v) for k, v in parsed.items()}
    if isinstance(labels, list):
        found: dict[str, str] = {}
        for i, label in enumerate(labels):
            if "key" not in label or "value" not in label:
                raise TaskFailedError(f"labels[{i}]: expected a map with key and value, got {label!r}")
            key = _text(ctx.renderer.render(label["key"], f"labels[{i}].key"))
            found[key] = _label_value(label["value"], ctx, f"labels[{i}].value")  # the last one wins
        return found
    return {
        _text(ctx.renderer.render(key, f"labels.{key}")): _label_value(value, ctx, f"labels.{key}")
        for key, value in labels.items()
    }


async def run_labels(task: Labels, ctx: TaskContext) -> None:
    """Add (or overwrite) the execution's labels; a ``system.*`` one fails the task."""
    labels = _rendered_labels(task, ctx)
    for key, value in labels.items():
        if key.startswith(SYSTEM_PREFIX):
            raise TaskFailedError(
                f"System labels can only be set by Kestra itself, offending label: {key}={value}"
            )
    ctx.execution.labels.update(labels)


# ---------------------------------------------------------------------------- Set/UnsetVariables


def _merge_values(old: Any, new: Any) -> Any:
    if new is None:
        return old
    if old is None:
        return new
    if isinstance(old, dict) and isinstance(new, dict):
        return deep_merge(old, new)
    if isinstance(old, list) and isinstance(new, list):
        return [*old, *(item for item in new if item not in old)]
    return new


def deep_merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``new`` merged into a copy of ``old``, as Kestra's ``MapUtils.deepMerge``."""
    merged = copy.deepcopy(old)
    for key, value in new.items():
        merged[key] = _merge_values(merged.get(key), value)
    return merged


async def run_set_variables(task: SetVariables, ctx: TaskContext) -> None:
    """Merge the rendered ``variables`` into the execution's variables."""
    rendered = ctx.renderer.render(task.variables, "variables")
    if isinstance(task.variables, str):
        text = _text(rendered)
        try:
            rendered = json.loads(text)
        except ValueError:
            rendered = None
        if not isinstance(rendered, dict):
            raise TaskFailedError(f"variables: expected a JSON map of name to value, got {text[:200]!r}")
    current = ctx.execution.variables
    if not _flag(task.overwrite, ctx, "overwrite"):
        duplicated = [str(name) for name in rendered if name in current]
        if duplicated:
            raise TaskFailedError(
                "`overwrite` is set to false and the following variables already exist: "
                + ",".join(duplicated)
            )
    merged = deep_merge(current, {str(k): v for k, v in rendered.items()})
    current.clear()  # in place: a Loop's iterations share the execution's variables
    current.update(merged)


def _names(task: UnsetVariables, ctx: TaskContext) -> list[str]:
    if isinstance(task.variables, list):
        return [_text(ctx.renderer.render(name, f"variables[{i}]")) for i, name in enumerate(task.variables)]
    text = _text(ctx.renderer.render(task.variables, "variables"))
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if not isinstance(parsed, list):
        raise TaskFailedError(f"variables: expected a JSON list of variable names, got {text[:200]!r}")
    return [_text(name) for name in parsed]


async def run_unset_variables(task: UnsetVariables, ctx: TaskContext) -> None:
    """Remove the named variables from the execution's variables."""
    ignore_missing = _flag(task.ignore_missing, ctx, "ignoreMissing")
    for name in _names(task, ctx):
        *parents, leaf = name.split(".")
        node: Any = ctx.execution.variables
        for depth, parent in enumerate(parents):
            node = node.get(parent) if isinstance(node, dict) else None
            if not isinstance(node, dict):
                if ignore_missing:
                    break
                where = ".".join(parents[: depth + 1])
                raise TaskFailedError(f"variables: cannot unset {name!r}: the execution has no map {where!r}")
        else:
            node.pop(leaf, None)


# ---------------------------------------------------------------------------------------- Assert


async def run_assert(task: Assert, ctx: TaskContext) -> None:
    """Check every condition; fail when one does not hold (metrics ``success`` and ``failed``)."""
    success = failed = 0
    for i, condition in enumerate(task.conditions):
        written = _text(condition)
        try:
            rendered = ctx.renderer.render(condition, f"conditions[{i}]")
        except ExpressionError as exc:
            ctx.log("ERROR", f"Assertion `{written}` failed, failed to render `{exc}`")
            failed += 1
            continue
        if is_truthy(rendered):
            success += 1
        else:
            ctx.log("ERROR", f"Assertion `{written}` failed!")
            failed += 1
    ctx.task_run.metrics.extend(
        {"name": name, "type": "counter", "value": value, "tags": {}}
        for name, value in (("success", success), ("failed", failed))
    )
    if failed:
        message = f"{failed} assertion{'s' if failed > 1 else ''} failed!"
        if task.error_message is not None:
            message += "\n" + _text(ctx.renderer.render(task.error_message, "errorMessage"))
        raise TaskFailedError(message)


# ------------------------------------------------------------------------------------- log.Fetch


def execution_file(ctx: TaskContext, name: str, content: bytes) -> str:
    """Store ``content`` as file ``name`` of the running task run in the run's internal storage
    (:meth:`~kestra_airflow_sdk.runner.files.ExecutionFiles.store_task_file`); its ``kestra:///`` URI."""
    assert ctx.runner is not None and ctx.runner.files is not None
    return ctx.runner.files.store_task_file(ctx.task_run.task_id, ctx.task_run.id, name, content)


def _row(ctx: TaskContext, entry: LogEntry) -> dict[str, Any]:
    """A log line with the field names of Kestra's ``LogEntry``."""
    row: dict[str, Any] = {
        "namespace": ctx.execution.namespace,
        "flowId": ctx.execution.flow_id,
        "executionId": ctx.execution.id,
        "taskId": entry.task_id,
        "taskRunId": entry.task_run_id,
        "attemptNumber": None if entry.attempt is None else entry.attempt - 1,
        "timestamp": entry.timestamp.isoformat().replace("+00:00", "Z"),
        "level": entry.level,
        "message": entry.message,
    }
    return {k: v for k, v in row.items() if v is not None}


def _tasks_id(task: FetchLogs, ctx: TaskContext) -> list[str]:
    if task.tasks_id is None:
        return []
    if isinstance(task.tasks_id, list):
        return [_text(ctx.renderer.render(t, f"tasksId[{i}]")) for i, t in enumerate(task.tasks_id)]
    text = _text(ctx.renderer.render(task.tasks_id, "tasksId"))
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = [text]
    return [_text(t) for t in (parsed if isinstance(parsed, list) else [parsed])]


async def run_fetch_logs(task: FetchLogs, ctx: TaskContext) -> None:
    """Write the execution's log lines (``level`` and above, of ``tasksId`` when given) to a file;
    outputs ``size`` and ``uri``."""
    for prop, value in (
        ("executionId", task.execution_id),
        ("namespace", task.namespace),
        ("flowId", task.flow_id),
    ):
        if value is None:
            continue
        rendered = _text(ctx.renderer.render(value, prop))
        current = {"executionId": ctx.execution.id, "namespace": ctx.execution.namespace}.get(
            prop, ctx.execution.flow_id
        )
        if rendered != current:
            raise TaskFailedError(
                f"{prop}: {rendered!r} is not the current execution's; locally only the logs of the "
                f"current execution ({ctx.execution.namespace}.{ctx.execution.flow_id} {ctx.execution.id}) can be fetched"
            )
    level = _text(ctx.renderer.render(task.level, "level")).strip().upper()
    if level not in LOG_LEVELS:
        raise TaskFailedError(f"level: expected one of {', '.join(LOG_LEVELS)}, got {level!r}")
    logs = [entry for entry in ctx.execution.logs if entry.at_least(level)]
    tasks_id = _tasks_id(task, ctx)
    if tasks_id:
        logs = [entry for task_id in tasks_id for entry in logs if entry.task_id == task_id]
    lines = [json.dumps(_row(ctx, entry), ensure_ascii=False) + "\n" for entry in logs]
    uri = execution_file(ctx, f"{ctx.task_run.id}.ion", "".join(lines).encode("utf-8"))
    ctx.task_run.outputs.update({"size": len(lines), "uri": uri})
