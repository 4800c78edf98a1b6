"""How flowable tasks run their children, as Kestra's ``FlowableUtils`` resolves them: one scheduler
per flowable task type (``run_sequential``, ``run_parallel_task``, ``run_if``, ...; the table of
:mod:`.dispatch` says which runs which).

* A list runs in order and stops at the first FAILED (or KILLED) child.
* ``errors`` run when the tasks FAILED (the state stays FAILED); ``finally`` always runs and its
  state counts too.
* Once a child failed, no new child starts (Parallel, Dag, concurrent ForEach); running ones end.
* Disabled children are left out; a child state SKIPPED (``runIf`` false) counts as a success.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import SecretStr

from ..flows import core_tasks as core
from ..flows.execution import ExecutionState, TaskRun, worst
from ..flows.secrets import reveal
from ..flows.task import Task
from ..flows.tasks.runnable import scalar_text
from .truth import is_truthy

if TYPE_CHECKING:
    from .engine import FlowRunner

__all__ = [
    "run_allow_failure",
    "run_block",
    "run_dag",
    "run_each",
    "run_graph",
    "run_if",
    "run_parallel",
    "run_parallel_task",
    "run_sequence",
    "run_sequential",
    "run_switch",
]


async def run_sequence(
    runner: FlowRunner,
    tasks: Sequence[Task] | None,
    parent: TaskRun | None,
    value: str | None = None,
    iteration: tuple[str, ...] = (),
) -> ExecutionState:
    """Run ``tasks`` one after the other; stop at the first that fails."""
    state = ExecutionState.SUCCESS
    for task in tasks or []:
        if task.disabled:
            continue
        if runner.stopping:
            break
        state = worst(state, await runner.run_task(task, parent, value, iteration))
        if state.is_failed:
            break
    return state


async def run_block(
    runner: FlowRunner,
    tasks: Sequence[Task] | None,
    errors: Sequence[Task] | None,
    finally_: Sequence[Task] | None,
    parent: TaskRun | None,
) -> ExecutionState:
    """``tasks`` in order, then ``errors`` if they failed, then ``finally``."""
    return await with_handlers(runner, await run_sequence(runner, tasks, parent), errors, finally_, parent)


async def with_handlers(
    runner: FlowRunner,
    state: ExecutionState,
    errors: Sequence[Task] | None,
    finally_: Sequence[Task] | None,
    parent: TaskRun | None,
) -> ExecutionState:
    """After a body ended ``state``: ``errors`` when it FAILED (still FAILED), then ``finally``."""
    if state is ExecutionState.FAILED and errors and not runner.stopping:
        await run_sequence(runner, errors, parent)
    if finally_ and not runner.stopping:
        state = worst(state, await run_sequence(runner, finally_, parent))
    return state


async def run_parallel(
    runner: FlowRunner, tasks: Sequence[Task], parent: TaskRun, concurrent: int
) -> ExecutionState:
    """Run ``tasks`` at the same time, ``concurrent`` at once (0: all); none starts after a failure."""
    children = [child for child in tasks if not child.disabled]
    limit = asyncio.Semaphore(concurrent or len(children) or 1)
    failed = False

    async def one(child: Task) -> ExecutionState | None:
        nonlocal failed
        async with limit:
            if failed or runner.stopping:
                return None
            state = await runner.run_task(child, parent)
            failed = failed or state.is_failed
            return state

    states = await asyncio.gather(*(one(child) for child in children))
    return worst(*(s for s in states if s is not None))


async def run_graph(runner: FlowRunner, task: core.Dag, parent: TaskRun) -> ExecutionState:
    """Start each task once every task it depends on ended, ``concurrent`` at once (0: no limit)."""
    nodes = {node.task.id: node for node in task.tasks}
    ended: dict[str, ExecutionState] = {
        n.task.id: ExecutionState.SUCCESS for n in task.tasks if n.task.disabled
    }
    running: dict[str, asyncio.Task[ExecutionState]] = {}
    failed = False
    try:
        while True:
            ready = [
                node
                for task_id, node in nodes.items()
                if task_id not in ended
                and task_id not in running
                and all(dep in ended for dep in node.depends_on or [])
            ]
            for node in ready:
                if failed or runner.stopping or (task.concurrent and len(running) >= task.concurrent):
                    break
                running[node.task.id] = asyncio.ensure_future(runner.run_task(node.task, parent))
            if not running:
                break
            done, _ = await asyncio.wait(running.values(), return_when=asyncio.FIRST_COMPLETED)
            for task_id, future in list(running.items()):
                if future in done:
                    ended[task_id] = future.result()
                    failed = failed or ended[task_id].is_failed
                    del running[task_id]
    finally:
        for future in running.values():
            future.cancel()
        if running:
            await asyncio.gather(*running.values(), return_exceptions=True)
    return worst(*ended.values())


async def _finish(
    runner: FlowRunner, task: core.FlowableTask, task_run: TaskRun, state: ExecutionState
) -> ExecutionState:
    """After the children ended ``state``: the task's ``errors`` and ``finally``; its final state."""
    return await with_handlers(runner, state, task.errors, task.finally_, task_run)


async def run_sequential(runner: FlowRunner, task: core.Sequential, task_run: TaskRun) -> ExecutionState:
    """``Sequential``: the children in order."""
    return await _finish(runner, task, task_run, await run_sequence(runner, task.tasks, task_run))


async def run_parallel_task(runner: FlowRunner, task: core.Parallel, task_run: TaskRun) -> ExecutionState:
    """``Parallel``: the children at the same time, ``concurrent`` at once."""
    state = await run_parallel(runner, task.tasks, task_run, task.concurrent)
    return await _finish(runner, task, task_run, state)


async def run_allow_failure(runner: FlowRunner, task: core.AllowFailure, task_run: TaskRun) -> ExecutionState:
    """``AllowFailure``: the children in order; a failure (after ``errors`` and ``finally``) ends WARNING."""
    state = await _finish(runner, task, task_run, await run_sequence(runner, task.tasks, task_run))
    return ExecutionState.WARNING if state.is_failed and state is not ExecutionState.KILLED else state


async def run_if(runner: FlowRunner, task: core.If, task_run: TaskRun) -> ExecutionState:
    """``If``: ``then`` when the condition renders truthy, else ``else``."""
    rendered = runner.renderer(task, task_run).render(task.condition, "condition")
    task_run.outputs["evaluationResult"] = is_truthy(rendered)
    branch = task.then if task_run.outputs["evaluationResult"] else task.else_
    return await _finish(runner, task, task_run, await run_sequence(runner, branch, task_run))


async def run_switch(runner: FlowRunner, task: core.Switch, task_run: TaskRun) -> ExecutionState:
    """``Switch``: the case the rendered value names, else ``defaults``; neither: FAILED, as Kestra's
    ``FlowableUtils.resolveState`` ends a flowable with no task to run (SwitchTest#switchImpossible)."""
    value = runner.renderer(task, task_run).render(task.value, "value")
    rendered = str(scalar_text(reveal(value)))
    cases = task.cases or {}
    shown = value if isinstance(value, SecretStr) else rendered  # a secret stays masked
    task_run.outputs.update({"value": shown, "defaults": rendered not in cases})
    chosen = cases.get(rendered, task.defaults)
    if chosen is None:  # FlowableUtils.resolveState: no task to run -> a WARN line and FAILED
        execution = runner.execution
        assert execution is not None
        runner._context(task, task_run).log(
            "WARN",
            f"No task found on flow '{execution.namespace}.{execution.flow_id}', task '{task.id}', "
            f"execution '{execution.id}'",
        )
        return ExecutionState.FAILED
    state = await run_sequence(runner, chosen, task_run)
    return await _finish(runner, task, task_run, state)


async def run_each(
    runner: FlowRunner, task: core.ForEach | core.EachSequential | core.EachParallel, task_run: TaskRun
) -> ExecutionState:
    """``ForEach`` (and the deprecated ``EachSequential`` / ``EachParallel``): one group per value."""
    from .foreach import run_foreach

    return await _finish(runner, task, task_run, await run_foreach(runner, task, task_run))


async def run_dag(runner: FlowRunner, task: core.Dag, task_run: TaskRun) -> ExecutionState:
    """``Dag``: each task once the tasks it depends on ended."""
    return await _finish(runner, task, task_run, await run_graph(runner, task, task_run))
