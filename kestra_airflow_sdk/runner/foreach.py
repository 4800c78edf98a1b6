"""``ForEach``: one group of ``tasks`` per value, ``concurrencyLimit`` groups at once (also the
deprecated ``EachSequential``, one at a time, and ``EachParallel``, ``concurrent`` at once).

As Kestra's ``FlowableUtils.resolveEachTasks``: a string ``values`` is rendered and read as a JSON
list; list items are rendered; duplicates are dropped; a null value is an error. Each value is
given to its group as text (maps and lists as JSON): ``{{ taskrun.value }}``, and the outputs of
the group's tasks are keyed by it (``outputs.<task>[<value>]``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..flows.core_tasks import EachParallel, EachSequential, ForEach
from ..flows.errors import FlowValidationError
from ..flows.execution import ExecutionState, TaskRun, worst
from ..flows.secrets import reveal
from .flowable import run_sequence

if TYPE_CHECKING:
    from .engine import FlowRunner

__all__ = ["foreach_values", "run_foreach", "run_groups"]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def foreach_values(task: ForEach | EachSequential | EachParallel, rendered: Any) -> list[str]:
    """The distinct values of the iterations, as text, from the rendered ``values`` (``value``)."""
    where = "values" if isinstance(task, ForEach) else "value"
    if isinstance(rendered, str):
        try:
            rendered = json.loads(rendered)
        except ValueError:
            raise FlowValidationError(
                f"task {task.id!r}: {where} must render to a JSON list, got {rendered[:200]!r}"
            ) from None
    if not isinstance(rendered, list):
        raise FlowValidationError(
            f"task {task.id!r}: {where} must be a list (or render to a JSON list), got {type(rendered).__name__}"
        )
    nulls = sum(1 for value in rendered if value is None)
    if nulls:
        raise FlowValidationError(f"task {task.id!r}: found {nulls} null value(s) in {where}={rendered!r}")
    return list(dict.fromkeys(_text(value) for value in rendered))


async def run_groups(count: int, limit: int, group: Callable[[int], Awaitable[bool]]) -> None:
    """Run ``group(0)`` ... ``group(count - 1)``, started in order, ``limit`` at once (0: all at once).

    Once a group returns False no new group starts (those running end). Only ``limit`` coroutines
    exist at a time (workers taking the next index), so a long iteration holds no memory per
    pending group."""
    indexes = iter(range(count))
    stopped = False

    async def worker() -> None:
        nonlocal stopped
        for index in indexes:  # shared by the workers: each takes the next index
            if stopped or not await group(index):
                stopped = True
                return

    await asyncio.gather(*(worker() for _ in range(min(limit or count, count))))


async def run_foreach(
    runner: FlowRunner, task: ForEach | EachSequential | EachParallel, task_run: TaskRun
) -> ExecutionState:
    """Run the groups; no group starts once one failed."""
    if isinstance(task, ForEach):
        source, where, concurrency = task.values, "values", task.concurrency_limit
    else:
        source, where = task.value, "value"
        concurrency = task.concurrent if isinstance(task, EachParallel) else 1
    values = foreach_values(task, reveal(runner.renderer(task, task_run).render(source, where)))
    state = ExecutionState.SUCCESS

    async def group(index: int) -> bool:
        nonlocal state
        if runner.stopping:
            return False
        value = values[index]
        ended = await run_sequence(runner, task.tasks, task_run, value, (*task_run.iteration, value))
        state = worst(state, ended)
        return not ended.is_failed

    await run_groups(len(values), concurrency, group)
    return state
