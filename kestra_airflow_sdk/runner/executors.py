"""Which coroutine runs which task type, and what a running task can use (:class:`TaskContext`).

Flowable tasks (Parallel, Sequential) are scheduled by the engine itself; every runnable type has
one executor here, registered with :func:`executes`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..flows.core_tasks import Log
from ..flows.expressions import Renderer
from ..flows.task import Task
from .clients import AirflowClients
from .execution import Execution, TaskRun
from .observer import Broadcast

__all__ = ["TaskContext", "TaskFailedError", "executes", "executor_for"]

T = TypeVar("T", bound=Task)
Executor = Callable[[Any, "TaskContext"], Awaitable[None]]
_EXECUTORS: dict[type, Executor] = {}


class TaskFailedError(Exception):
    """A task ended FAILED for a reason the task itself reports (message goes to ``TaskRun.error``)."""


@dataclass
class TaskContext:
    """What an executor gets: the run records, a renderer for the task's expressions, the
    observers, the run's options and the execution's shared Airflow clients. Executors write their
    outputs to ``task_run.outputs``."""

    execution: Execution
    task_run: TaskRun
    renderer: Renderer
    events: Broadcast
    cancel_airflow_runs: bool = False
    clients: AirflowClients = field(default_factory=AirflowClients)

    @property
    def logger(self) -> logging.Logger:
        """The flow's logger: ``kestra_airflow_sdk.flow.<namespace>.<flow id>``."""
        return logging.getLogger(
            f"kestra_airflow_sdk.flow.{self.execution.namespace}.{self.execution.flow_id}"
        )


def executes(cls: type[T]) -> Callable[[Callable[[T, TaskContext], Awaitable[None]]], Executor]:
    """Register the decorated coroutine function as the executor of task class ``cls``."""

    def decorate(fn: Callable[[T, TaskContext], Awaitable[None]]) -> Executor:
        _EXECUTORS[cls] = fn
        return fn

    return decorate


def executor_for(task: Task) -> Executor | None:
    """The executor of ``task``'s class, or None."""
    return _EXECUTORS.get(type(task))


_LEVELS = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING}


@executes(Log)
async def run_log(task: Log, ctx: TaskContext) -> None:
    """``Log``: render the message(s) and write them to the flow's logger (secrets masked)."""
    messages = task.message if isinstance(task.message, list) else [task.message]
    level = _LEVELS.get(task.level, logging.ERROR)
    for i, message in enumerate(messages):
        rendered = ctx.renderer.render(message, "message" if len(messages) == 1 else f"message[{i}]")
        ctx.logger.log(level, "[%s] %s", task.id, rendered)
