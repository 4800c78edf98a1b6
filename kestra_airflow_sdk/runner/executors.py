"""What a running task can use (:class:`TaskContext`), and the executor of ``Log``.

Every runnable type has one executor, a coroutine function ``(task, context)``: ``Log`` here, the
other core tasks in :mod:`kestra_airflow_sdk.runner.tasks`, ``TriggerDagRun`` in
:mod:`kestra_airflow_sdk.runner.airflow_task`; the table of :mod:`kestra_airflow_sdk.runner.dispatch`
says which runs which (flowable tasks: :mod:`kestra_airflow_sdk.runner.flowable`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from pydantic import SecretStr

from ..flows.core_tasks import Log
from ..flows.execution import LOG_LEVELS, Execution, LogEntry, TaskRun
from ..flows.expressions import Renderer
from .clients import AirflowClients
from .observer import Broadcast

if TYPE_CHECKING:
    from .engine import FlowRunner

__all__ = ["TaskContext", "TaskFailedError", "run_log"]

#: Kestra splits a longer log message into several entries (``RunContextLogger``)
MAX_MESSAGE_LENGTH = 10 * 1024

# log lines are shown by the progress observers (a terminal or a notebook): without a handler of
# the application's, Python's last-resort handler must not print WARN/ERROR lines a second time
logging.getLogger("kestra_airflow_sdk.flow").addHandler(logging.NullHandler())


class TaskFailedError(Exception):
    """A task ended FAILED for a reason the task itself reports (message goes to ``TaskRun.error``)."""


@dataclass
class TaskContext:
    """What an executor gets: the run records, a renderer for the task's expressions, the
    observers, the run's options, the execution's shared Airflow clients and the runner (for the
    tasks that act on the execution: Exit, Subflow). Executors write their outputs to
    ``task_run.outputs``."""

    execution: Execution
    task_run: TaskRun
    renderer: Renderer
    events: Broadcast
    cancel_airflow_runs: bool = False
    clients: AirflowClients = field(default_factory=AirflowClients)
    runner: FlowRunner | None = None

    @property
    def logger(self) -> logging.Logger:
        """The flow's logger: ``kestra_airflow_sdk.flow.<namespace>.<flow id>``."""
        return logging.getLogger(
            f"kestra_airflow_sdk.flow.{self.execution.namespace}.{self.execution.flow_id}"
        )

    def log(self, level: str, message: str | SecretStr) -> LogEntry:
        """Write one log line of this task run: appended to ``execution.logs``, told to the
        observers, and sent to :attr:`logger` (``level``: TRACE, DEBUG, INFO, WARN or ERROR).

        Every secret value the run resolved (``secret()``, SECRET inputs) is masked in the message
        as Kestra masks it: by as many ``*`` as it has characters. As in Kestra, a message longer
        than 10 KiB becomes several entries (1 ms apart); the last one is returned."""
        text = message.get_secret_value() if isinstance(message, SecretStr) else message
        masked = self.renderer.secrets.redact(text, keep_length=True)
        now = datetime.now(timezone.utc)
        size = MAX_MESSAGE_LENGTH
        chunks = [masked[i : i + size] for i in range(0, max(len(masked), 1), size)]  # "" stays one line
        for i, chunk in enumerate(chunks):
            entry = LogEntry(
                timestamp=now + timedelta(milliseconds=i),
                level=level,
                message=chunk,
                task_id=self.task_run.task_id,
                task_run_id=self.task_run.id,
                attempt=self.task_run.attempt,
            )
            self.execution.logs.append(entry)
            self.events.log_written(self.execution, entry)
            self.logger.log(_LEVELS.get(level, logging.ERROR), "[%s] %s", entry.task_id, entry.message)
        return entry


_LEVELS = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING}


async def run_log(task: Log, ctx: TaskContext) -> None:
    """``Log``: render the message(s) and write them at ``level`` (secrets masked); nothing is
    written below the task's ``logLevel``, as in Kestra."""
    if task.log_level in LOG_LEVELS and LOG_LEVELS.index(task.level) < LOG_LEVELS.index(task.log_level):
        return
    messages = task.message if isinstance(task.message, list) else [task.message]
    for i, message in enumerate(messages):
        rendered = ctx.renderer.render(message, "message" if len(messages) == 1 else f"message[{i}]")
        ctx.log(task.level, rendered if isinstance(rendered, (str, SecretStr)) else str(rendered))
