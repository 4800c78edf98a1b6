"""``Return``, ``Fail``, ``OutputValues``, ``Sleep`` and ``Exit``, as Kestra's core tasks run."""

from __future__ import annotations

import asyncio

from pydantic import SecretStr

from ...flows.core_tasks import Exit, Fail, OutputValues, Return, Sleep
from ...flows.durations import parse_duration
from ...flows.execution import ExecutionState
from ...flows.secrets import reveal
from ...flows.tasks.runnable import scalar_text
from ..executors import TaskContext, TaskFailedError
from ..truth import is_truthy

#: the Exit states a local execution can end in (it has no CANCELLED state)
LOCAL_EXIT_STATES = ("SUCCESS", "WARNING", "KILLED", "FAILED")

__all__ = ["LOCAL_EXIT_STATES", "run_exit", "run_fail", "run_output_values", "run_return", "run_sleep"]


def _text(value: object) -> str:
    return "" if value is None else str(scalar_text(reveal(value)))


def _kept(value: object) -> str | SecretStr:
    """A rendered value as text; one that involved a secret stays a :class:`SecretStr`."""
    return value if isinstance(value, SecretStr) else _text(value)


async def run_return(task: Return, ctx: TaskContext) -> None:
    """Output ``value``: the rendered ``format`` (logged at DEBUG, as Kestra does)."""
    value = _kept(ctx.renderer.render(task.format, "format")) if task.format is not None else None
    if value is not None:
        ctx.log("DEBUG", str(value))  # a secret stays masked, in the log line and the output
    ctx.task_run.outputs["value"] = value


async def run_fail(task: Fail, ctx: TaskContext) -> None:
    """Fail with ``errorMessage``; with a ``condition``, only when it renders truthy (the message is
    then logged as an ERROR line and the error is ``Fail on a condition``, as in Kestra)."""
    if task.condition is None:
        raise TaskFailedError(str(_kept(ctx.renderer.render(task.error_message, "errorMessage"))))
    if is_truthy(ctx.renderer.render(task.condition, "condition")):
        ctx.log("ERROR", str(_kept(ctx.renderer.render(task.error_message, "errorMessage"))))
        raise TaskFailedError("Fail on a condition")


async def run_output_values(task: OutputValues, ctx: TaskContext) -> None:
    """Output ``values``: the rendered ``values`` map."""
    ctx.task_run.outputs["values"] = ctx.renderer.render(task.values or {}, "values")


async def run_sleep(task: Sleep, ctx: TaskContext) -> None:
    """Wait ``duration`` (on the event loop's clock)."""
    ctx.log("INFO", f"Waiting for {task.duration}")
    await asyncio.sleep(parse_duration(task.duration).total_seconds())


async def run_exit(task: Exit, ctx: TaskContext) -> ExecutionState:
    """End the execution in ``state``: no further task starts (KILLED: the running ones are killed)."""
    assert ctx.runner is not None
    rendered = _text(ctx.renderer.render(task.state, "state")).strip()
    if rendered not in LOCAL_EXIT_STATES:
        raise TaskFailedError(
            f"state: {rendered!r} is not a state a local execution can end in; "
            f"expected one of {', '.join(LOCAL_EXIT_STATES)}"
        )
    state = ExecutionState(rendered)
    ctx.runner.request_exit(state)
    return state
