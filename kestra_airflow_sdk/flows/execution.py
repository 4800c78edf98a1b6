"""What a local run produces: an :class:`Execution` made of :class:`TaskRun` records, with Kestra's
state names."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .errors import FlowError
from .hooks import flow_runtime

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd

__all__ = [
    "LOG_LEVELS",
    "Execution",
    "ExecutionFailedError",
    "ExecutionState",
    "LogEntry",
    "NotPausedError",
    "TaskRun",
    "WaitControl",
    "WaitRequest",
    "store_outputs",
]

#: Kestra's log levels, least severe first
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")


class ExecutionState(str, Enum):
    """Kestra's execution and task run states (the subset a local run goes through)."""

    CREATED = "CREATED"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    WARNING = "WARNING"
    FAILED = "FAILED"
    KILLED = "KILLED"
    #: a task whose ``runIf`` rendered false
    SKIPPED = "SKIPPED"
    #: a ``Pause`` or ``Approval`` task waiting to be resumed, and its execution meanwhile
    PAUSED = "PAUSED"
    #: a task run (and the execution) a ``Pause`` / ``Approval`` behavior cancelled
    CANCELLED = "CANCELLED"

    def __str__(self) -> str:
        return self.value

    @property
    def is_terminal(self) -> bool:
        """True once nothing will change any more."""
        return self in (
            ExecutionState.SUCCESS,
            ExecutionState.WARNING,
            ExecutionState.FAILED,
            ExecutionState.KILLED,
            ExecutionState.SKIPPED,
            ExecutionState.CANCELLED,
        )

    @property
    def is_failed(self) -> bool:
        """True for FAILED and KILLED."""
        return self in (ExecutionState.FAILED, ExecutionState.KILLED)


_SEVERITY = [
    ExecutionState.SKIPPED,
    ExecutionState.SUCCESS,
    ExecutionState.WARNING,
    ExecutionState.CANCELLED,
    ExecutionState.FAILED,
    ExecutionState.KILLED,
]


def worst(*states: ExecutionState) -> ExecutionState:
    """The most severe of terminal ``states`` (SKIPPED < SUCCESS < WARNING < CANCELLED < FAILED < KILLED)."""
    return max(states, key=_SEVERITY.index, default=ExecutionState.SUCCESS)


@dataclass
class TaskRun:
    """One run of one task: its state, attempts, timing, outputs and error."""

    id: str
    task_id: str
    type: str
    state: ExecutionState = ExecutionState.CREATED
    attempt: int = 0
    start_date: datetime | None = None
    end_date: datetime | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    #: metrics the task sent (a script's ``::{"metrics": [...]}::`` lines): ``{name, type, value, tags}``
    metrics: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    parent_id: str | None = None
    #: ``{{ taskrun.value }}``: the item of the enclosing ForEach iteration (None outside one)
    value: str | None = None
    #: the items of every enclosing ForEach iteration, outermost first (keys of the outputs)
    iteration: tuple[str, ...] = ()

    @property
    def duration(self) -> timedelta | None:
        """How long the task ran (None until it ended)."""
        if self.start_date is None or self.end_date is None:
            return None
        return self.end_date - self.start_date


@dataclass(frozen=True)
class LogEntry:
    """One log line of an execution, as Kestra's log API gives it (secrets already masked)."""

    timestamp: datetime
    level: str  # TRACE, DEBUG, INFO, WARN or ERROR
    message: str
    task_id: str | None = None
    task_run_id: str | None = None
    attempt: int | None = None

    def line(self) -> str:
        """The entry as one line of text, e.g. ``2026-11-30T17:02:03Z INFO  [log_task] hello``."""
        when = self.timestamp.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        task = f" [{self.task_id}]" if self.task_id else ""
        return f"{when} {self.level:<5}{task} {self.message}"

    def at_least(self, level: str) -> bool:
        """Whether the entry is at ``level`` or above (an unknown level counts as the most severe)."""
        return _rank(self.level) >= _rank(level)


def _rank(level: str) -> int:
    return LOG_LEVELS.index(level) if level in LOG_LEVELS else len(LOG_LEVELS)


class NotPausedError(FlowError):
    """``resume`` / ``approve`` / ``deny`` found no paused task to act on (or several, without a
    ``task_id`` to choose one)."""


@dataclass(frozen=True)
class WaitRequest:
    """A task waiting for someone: a ``Pause`` (``kind="pause"``, ``inputs``: its ``onResume``
    input ids) or an ``Approval`` (``kind="approval"``, ``inputs``: its review input ids, and the
    names of its two decisions)."""

    task_id: str
    task_run_id: str
    execution_id: str
    kind: Literal["pause", "approval"]
    inputs: tuple[str, ...] = ()
    approve_label: str = "Approve"
    deny_label: str = "Deny"


class WaitControl(Protocol):
    """What resumes an execution's paused tasks (the runner's, while it runs): thread-safe, so a
    notebook cell, a button or another thread may call it while the execution runs."""

    def resume(self, task_id: str | None, inputs: Mapping[str, Any] | None) -> None:
        """Resume a paused ``Pause`` task (the only one, or ``task_id``) with its ``onResume`` inputs."""
        ...

    def decide(
        self,
        task_id: str | None,
        decision: Literal["APPROVED", "DENIED"],
        inputs: Mapping[str, Any] | None,
        comment: str | None,
    ) -> None:
        """Approve or deny a waiting ``Approval`` task (the only one, or ``task_id``)."""
        ...

    def request(self, task_run_id: str) -> WaitRequest | None:
        """What the paused task run ``task_run_id`` waits for (None once it goes on)."""
        ...


@dataclass
class Execution:
    """One local run of a flow.

    Attributes:
        id: 22-character base62 id, as Kestra's (``{{ execution.id }}``).
        state: CREATED, RUNNING, then SUCCESS, WARNING, FAILED or KILLED.
        task_runs: every task run, in the order the tasks started.
        logs: every log line of the execution, in the order they were written.
        flow_outputs: the flow's ``outputs`` (``{id: value}``), rendered when the execution ended
            (Kestra's ``execution.outputs``; task outputs are :attr:`outputs`).
        subflows: the executions ``Subflow`` tasks started, by execution id.
    """

    id: str
    namespace: str
    flow_id: str
    state: ExecutionState = ExecutionState.CREATED
    start_date: datetime | None = None
    end_date: datetime | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    task_runs: list[TaskRun] = field(default_factory=list)
    logs: list[LogEntry] = field(default_factory=list)
    flow_outputs: dict[str, Any] = field(default_factory=dict)
    subflows: dict[str, Execution] = field(default_factory=dict)
    #: resumes paused tasks while the execution runs locally (set by the runner; None otherwise)
    control: WaitControl | None = field(default=None, repr=False, compare=False)

    @property
    def paused(self) -> list[TaskRun]:
        """The task runs waiting now: PAUSED ``Pause`` and ``Approval`` tasks."""
        return [run for run in self.task_runs if run.state is ExecutionState.PAUSED]

    def _control(self) -> WaitControl:
        if self.control is None:
            raise NotPausedError(f"execution {self.id} is not running locally: nothing here can resume it")
        return self.control

    def resume(self, inputs: Mapping[str, Any] | None = None, *, task_id: str | None = None) -> None:
        """Resume the paused ``Pause`` task (from any thread, e.g. another notebook cell), as
        Kestra's *Resume* button does: ``inputs`` are its ``onResume`` inputs, validated as flow
        inputs are (an :class:`InvalidInputsError` names each problem) and given to the task as its
        ``onResume`` output. ``task_id`` chooses when several tasks are paused; with none paused,
        :class:`NotPausedError`."""
        self._control().resume(task_id, inputs)

    def approve(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        comment: str | None = None,
        task_id: str | None = None,
    ) -> None:
        """Approve the waiting ``Approval`` task (Kestra 2.0): its ``onApprove`` tasks run.
        ``inputs`` are the review's ``inputs``, validated as flow inputs are."""
        self._control().decide(task_id, "APPROVED", inputs, comment)

    def deny(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        comment: str | None = None,
        task_id: str | None = None,
    ) -> None:
        """Deny the waiting ``Approval`` task (Kestra 2.0): its ``onDeny`` tasks run, then its
        ``denyBehavior`` applies (by default the execution ends CANCELLED)."""
        self._control().decide(task_id, "DENIED", inputs, comment)

    @property
    def outputs(self) -> dict[str, Any]:
        """Outputs by task id (``{{ outputs.<taskId>.<name> }}``), for the tasks that have some;
        inside a ForEach, keyed by the iteration's value too (``outputs[<taskId>][<value>]``)."""
        tree: dict[str, Any] = {}
        for run in self.task_runs:
            store_outputs(tree, run)
        return tree

    @property
    def duration(self) -> timedelta | None:
        """How long the execution ran (None until it ended)."""
        if self.start_date is None or self.end_date is None:
            return None
        return self.end_date - self.start_date

    def task_run(self, task_id: str) -> TaskRun:
        """The (last) run of task ``task_id``."""
        for run in reversed(self.task_runs):
            if run.task_id == task_id:
                return run
        known = ", ".join(r.task_id for r in self.task_runs) or "none"
        raise KeyError(f"execution {self.id} has no run of task {task_id!r} (task runs: {known})")

    def to_pandas(self) -> pd.DataFrame:
        """One row per task run, with a fixed schema (also when there are none)."""
        import pandas as pd

        columns = {
            "task_run_id": "string",
            "task_id": "string",
            "type": "string",
            "state": "string",
            "attempt": "Int64",
            "start_date": "datetime64[us, UTC]",
            "end_date": "datetime64[us, UTC]",
            "duration": "timedelta64[us]",
            "error": "string",
            "parent_id": "string",
            "value": "string",
        }
        data = {
            "task_run_id": [r.id for r in self.task_runs],
            "task_id": [r.task_id for r in self.task_runs],
            "type": [r.type for r in self.task_runs],
            "state": [r.state.value for r in self.task_runs],
            "attempt": [r.attempt for r in self.task_runs],
            "start_date": [r.start_date for r in self.task_runs],
            "end_date": [r.end_date for r in self.task_runs],
            "duration": [r.duration for r in self.task_runs],
            "error": [r.error for r in self.task_runs],
            "parent_id": [r.parent_id for r in self.task_runs],
            "value": [r.value for r in self.task_runs],
        }
        frame = pd.DataFrame(data, columns=list(columns))
        typed: pd.DataFrame = frame.astype(columns)
        return typed

    def logs_frame(self) -> pd.DataFrame:
        """Every log line (:attr:`logs`), one row each in order, with a fixed schema (also when
        there are none): ``timestamp`` (UTC), ``level``, ``task_id``, ``task_run_id``,
        ``attempt`` and ``message`` (secrets masked)."""
        import pandas as pd

        columns = {
            "timestamp": "datetime64[us, UTC]",
            "level": pd.CategoricalDtype(list(LOG_LEVELS), ordered=True),
            "task_id": "string",
            "task_run_id": "string",
            "attempt": "Int64",
            "message": "string",
        }
        data = {
            "timestamp": [e.timestamp for e in self.logs],
            "level": [e.level for e in self.logs],
            "task_id": [e.task_id for e in self.logs],
            "task_run_id": [e.task_run_id for e in self.logs],
            "attempt": [e.attempt for e in self.logs],
            "message": [e.message for e in self.logs],
        }
        frame = pd.DataFrame(data, columns=list(columns))
        typed: pd.DataFrame = frame.astype(columns)
        return typed

    def raise_for_state(self) -> Execution:
        """Raise :class:`ExecutionFailedError` when the execution FAILED or was KILLED; else return it."""
        if self.state.is_failed:
            failed = [r for r in self.task_runs if r.state.is_failed]
            details = "; ".join(f"{r.task_id}: {r.state}{f' ({r.error})' if r.error else ''}" for r in failed)
            raise ExecutionFailedError(
                f"Execution {self.id} of flow {self.namespace}.{self.flow_id} ended {self.state}"
                + (f": {details}" if details else ""),
                execution=self,
            )
        return self

    def _repr_html_(self) -> str:
        return flow_runtime("Execution._repr_html_").execution_html(self)

    def __repr__(self) -> str:
        return (
            f"Execution(id={self.id!r}, flow='{self.namespace}.{self.flow_id}', state={self.state.value}, "
            f"task_runs={len(self.task_runs)})"
        )


def store_outputs(tree: dict[str, Any], run: TaskRun) -> None:
    """Put ``run``'s outputs in ``tree`` at ``[task_id]``, or ``[task_id][value]...`` in a ForEach."""
    if not run.outputs:
        return
    if not run.iteration:
        tree[run.task_id] = run.outputs
        return
    node = tree.setdefault(run.task_id, {})
    for value in run.iteration[:-1]:
        node = node.setdefault(value, {})
    node[run.iteration[-1]] = run.outputs


class ExecutionFailedError(FlowError):
    """Raised by :meth:`Execution.raise_for_state` for a FAILED or KILLED execution."""

    def __init__(self, message: str, *, execution: Execution) -> None:
        super().__init__(message)
        self.execution = execution


class ExecutionKilled(KeyboardInterrupt):
    """Ctrl-C stopped a blocking :meth:`Flow.run`; ``execution`` is the KILLED execution."""

    def __init__(self, execution: Execution) -> None:
        super().__init__(f"execution {execution.id} was killed")
        self.execution = execution
