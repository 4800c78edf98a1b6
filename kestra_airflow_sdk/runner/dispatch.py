"""Which code runs which task type: one :class:`TaskTable` for every type, and :func:`core_tasks`,
the one place the SDK's task types are registered.

A runnable task runs as attempts of its executor (:class:`Runnable`: ``retry``, ``timeout``); a
flowable task runs its children with its scheduler (:class:`Flowable`). Either way the runner calls
the table's handler the same way; a task type the table does not have cannot run, and
:meth:`TaskTable.handler` says so (:meth:`FlowRunner.check` refuses such a flow before it starts).
A task type of one's own runs with a table that adds it::

    runtime = Runtime(tasks=core_tasks().with_tasks({MyTask: Runnable(run_my_task)}))
    execution = await FlowRunner(flow, runtime=runtime).run()
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..flows import core_tasks as core
from ..flows.errors import UnsupportedTaskError
from ..flows.execution import ExecutionState, TaskRun
from ..flows.task import Task
from ..flows.trigger import TriggerDagRun
from . import flowable
from .airflow_task import run_trigger_dag_run
from .executors import TaskContext, run_log
from .loop import run_loop
from .tasks.core import run_exit, run_fail, run_output_values, run_return, run_sleep
from .tasks.http import run_http_request
from .tasks.scripts import run_script_task
from .tasks.subflow import run_subflow
from .waits import run_approval, run_loop_until, run_pause

if TYPE_CHECKING:
    from .engine import FlowRunner

__all__ = ["Executor", "Flowable", "Runnable", "Scheduler", "TaskTable", "core_tasks"]

#: a runnable task's attempt: may return the state its task ends in (None: SUCCESS); raising fails it
Executor = Callable[[Any, TaskContext], Awaitable[Any]]
#: a flowable task's run: its children (``errors`` and ``finally`` included), then its state
Scheduler = Callable[["FlowRunner", Any, TaskRun], Awaitable[ExecutionState]]


@dataclass(frozen=True)
class Runnable:
    """A runnable task type: ``execute(task, context)`` is one attempt (the runner retries it as the
    task's ``retry`` says, within its ``timeout``)."""

    execute: Executor

    async def __call__(self, runner: FlowRunner, task: Task, task_run: TaskRun) -> ExecutionState:
        return await runner.attempts(self.execute, task, task_run)


@dataclass(frozen=True)
class Flowable:
    """A flowable task type: ``schedule(runner, task, task_run)`` runs its children."""

    schedule: Scheduler

    async def __call__(self, runner: FlowRunner, task: Task, task_run: TaskRun) -> ExecutionState:
        return await runner.children(self.schedule, task, task_run)


class TaskTable:
    """Task class → what runs it (exact classes: a subclass is a task type of its own)."""

    def __init__(self, handlers: Mapping[type[Task], Runnable | Flowable]) -> None:
        self._handlers = dict(handlers)

    def __repr__(self) -> str:
        return f"TaskTable({', '.join(cls.__name__ for cls in self._handlers)})"

    def with_tasks(self, handlers: Mapping[type[Task], Runnable | Flowable]) -> TaskTable:
        """This table and ``handlers`` (which win for a class both have)."""
        return TaskTable({**self._handlers, **handlers})

    def runs(self, task: Task) -> bool:
        """True when the table has what runs ``task``."""
        return type(task) in self._handlers

    def handler(self, task: Task) -> Runnable | Flowable:
        """What runs ``task``; :class:`UnsupportedTaskError` when the table has nothing for its type."""
        handler = self._handlers.get(type(task))
        if handler is None:
            raise UnsupportedTaskError(
                f"task {task.id!r}: type {task.type} cannot run locally. "
                f"Supported types: {', '.join(self.supported_types())}"
            )
        return handler

    def supported_types(self) -> list[str]:
        """The Kestra type names the table runs (each class's canonical name)."""
        return [getattr(cls, "TYPES", (cls.__name__,))[0] for cls in self._handlers]


def core_tasks() -> TaskTable:
    """Every task type the SDK runs: Kestra's core tasks and ``TriggerDagRun``."""
    return TaskTable(
        {
            TriggerDagRun: Runnable(run_trigger_dag_run),
            core.Log: Runnable(run_log),
            core.Return: Runnable(run_return),
            core.Fail: Runnable(run_fail),
            core.OutputValues: Runnable(run_output_values),
            core.Sleep: Runnable(run_sleep),
            core.Exit: Runnable(run_exit),
            core.Subflow: Runnable(run_subflow),
            core.PythonScript: Runnable(run_script_task),
            core.PythonCommands: Runnable(run_script_task),
            core.ShellScript: Runnable(run_script_task),
            core.ShellCommands: Runnable(run_script_task),
            core.HttpRequest: Runnable(run_http_request),
            core.Sequential: Flowable(flowable.run_sequential),
            core.Parallel: Flowable(flowable.run_parallel_task),
            core.AllowFailure: Flowable(flowable.run_allow_failure),
            core.If: Flowable(flowable.run_if),
            core.Switch: Flowable(flowable.run_switch),
            core.ForEach: Flowable(flowable.run_each),
            core.EachSequential: Flowable(flowable.run_each),
            core.EachParallel: Flowable(flowable.run_each),
            core.Loop: Flowable(run_loop),
            core.Dag: Flowable(flowable.run_dag),
            core.Pause: Flowable(run_pause),
            core.LoopUntil: Flowable(run_loop_until),
            core.Approval: Flowable(run_approval),
        }
    )
