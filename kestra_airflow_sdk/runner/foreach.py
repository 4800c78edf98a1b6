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
from typing import TYPE_CHECKING, Any

from ..flows.core_tasks import EachParallel, EachSequential, ForEach
from ..flows.errors import FlowValidationError
from ..flows.execution import ExecutionState, TaskRun, worst
from ..flows.secrets import reveal
from .flowable import run_sequence

if TYPE_CHECKING:
    from .engine import FlowRunner

__all__ = ["foreach_values", "run_foreach"]


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
    limit = asyncio.Semaphore(concurrency or len(values) or 1)
    failed = False

    async def group(value: str) -> ExecutionState | None:
        nonlocal failed
        async with limit:
            if failed or runner.stopping:
                return None
            iteration = (*task_run.iteration, value)
            state = await run_sequence(runner, task.tasks, task_run, value, iteration)
            failed = failed or state.is_failed
            return state

    states = await asyncio.gather(*(group(value) for value in values))
    return worst(*(s for s in states if s is not None))
