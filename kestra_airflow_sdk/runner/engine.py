"""The local runner: schedules a flow's tasks on asyncio with Kestra's semantics.

Tasks run in order; a FAILED task stops the list (its ``errors`` tasks then run); ``finally`` tasks
always run; ``Parallel`` runs its children concurrently; ``retry``, ``timeout``, ``disabled``,
``allowFailure`` (FAILED → WARNING) and ``allowWarning`` (WARNING → SUCCESS) behave as in Kestra.
Cancelling the run (Ctrl-C) ends the running task runs and the execution KILLED.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from ..flows.core_tasks import Parallel, Sequential, UnknownTask
from ..flows.durations import parse_duration
from ..flows.errors import FlowError, UnsupportedTaskError
from ..flows.expressions import Renderer, iso
from ..flows.flow import Flow
from ..flows.registry import supported_types
from ..flows.secrets import SecretResolver
from ..flows.task import Task
from . import airflow_task as _airflow_task  # noqa: F401  (registers the TriggerDagRun executor)
from .clients import AirflowClients
from .execution import Execution, State, TaskRun, worst
from .executors import TaskContext, TaskFailedError, executor_for
from .ids import new_id
from .inputs import resolve_inputs
from .labels import execution_labels, label_variables
from .observer import Broadcast, Observer
from .retry import TaskRetry

__all__ = ["FlowRunner"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (FlowError, TaskFailedError)) or type(exc).__module__.startswith("kestra_airflow_sdk"):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class FlowRunner:
    """Run one execution of ``flow``; ``execution`` is available (and updated live) once started.

    Arguments are those of :meth:`Flow.arun`; ``environ`` replaces ``os.environ`` for secrets.
    """

    def __init__(
        self,
        flow: Flow,
        *,
        inputs: Mapping[str, Any] | None = None,
        secrets: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        observers: Sequence[Observer] | None = None,
        progress: Any = True,
        cancel_airflow_runs: bool = False,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.flow = flow
        self.given_inputs = dict(inputs or {})
        self.secrets = SecretResolver(secrets, environ)
        self.given_labels = dict(labels or {})
        self.events = Broadcast([*(observers or []), *progress_observers_for(progress)])
        self.cancel_airflow_runs = cancel_airflow_runs
        self.execution: Execution | None = None
        self._outputs: dict[str, dict[str, Any]] = {}
        self._clients = AirflowClients()

    def check(self) -> None:
        """Raise before anything runs: broken rules, or task types that cannot run locally."""
        self.flow.validate_flow()
        unknown = self.flow.unsupported_tasks()
        if unknown:
            listed = ", ".join(f"{t.id!r} ({t.type})" for t in unknown)
            raise UnsupportedTaskError(
                f"Flow {self.flow.namespace}.{self.flow.id} cannot run locally: task(s) {listed} have a type "
                f"the SDK does not run. Supported types: {', '.join(supported_types())}. "
                "The flow still exports to Kestra with to_yaml()."
            )

    async def run(self) -> Execution:
        """Run the execution to its end and return it (re-raises cancellation after marking KILLED)."""
        self.check()
        inputs = resolve_inputs(
            self.flow.inputs,
            self.given_inputs,
            self.secrets,
            f"{self.flow.namespace}.{self.flow.id}",
            {"flow": {"id": self.flow.id, "namespace": self.flow.namespace, "revision": None}},
        )
        execution_id = new_id()
        execution = Execution(
            id=execution_id,
            namespace=self.flow.namespace,
            flow_id=self.flow.id,
            inputs=inputs,
            labels=execution_labels(self.flow.label_map, self.given_labels, execution_id),
            start_date=_now(),
        )
        self.execution = execution
        execution.state = State.RUNNING
        self.events.execution_started(execution)
        try:
            state = await self._run_list(self.flow.tasks, None)
            if state is State.FAILED and self.flow.errors:
                await self._run_list(self.flow.errors, None)
            if self.flow.finally_:
                state = worst(state, await self._run_list(self.flow.finally_, None))
        except asyncio.CancelledError:
            self._finish(State.KILLED)
            raise
        finally:
            await asyncio.shield(self._clients.aclose())
        self._finish(state)
        return execution

    def _finish(self, state: State) -> None:
        assert self.execution is not None
        self.execution.state = state
        self.execution.end_date = _now()
        self.events.execution_ended(self.execution)

    async def _run_list(self, tasks: Sequence[Task], parent: TaskRun | None) -> State:
        state = State.SUCCESS
        for task in tasks:
            if task.disabled:
                continue
            state = worst(state, await self._run_task(task, parent))
            if state.is_failed:
                break
        return state

    async def _run_parallel(self, task: Parallel, parent: TaskRun) -> State:
        children = [child for child in task.tasks if not child.disabled]
        limit = asyncio.Semaphore(task.concurrent or len(children) or 1)

        async def one(child: Task) -> State:
            async with limit:
                return await self._run_task(child, parent)

        states = await asyncio.gather(*(one(child) for child in children))
        return worst(*states)

    def _renderer(self, task: Task, task_run: TaskRun) -> Renderer:
        assert self.execution is not None
        execution = self.execution
        variables = {
            "flow": {"id": self.flow.id, "namespace": self.flow.namespace, "revision": None},
            "execution": {
                "id": execution.id,
                "startDate": iso(execution.start_date or _now()),
                "originalId": execution.id,
                "state": execution.state.value,
            },
            "task": {"id": task.id, "type": task.type},
            "taskrun": {
                "id": task_run.id,
                "startDate": iso(task_run.start_date or _now()),
                "attemptsCount": task_run.attempt,
            },
            "inputs": execution.inputs,
            "outputs": self._outputs,
            "labels": label_variables(execution.labels),
            "vars": self.flow.variables or {},
            "envs": {},
        }
        return Renderer(variables, self.secrets, task.id)

    async def _run_task(self, task: Task, parent: TaskRun | None) -> State:
        assert self.execution is not None
        task_run = TaskRun(
            id=new_id(),
            task_id=task.id,
            type=task.type,
            state=State.RUNNING,
            attempt=1,
            start_date=_now(),
            parent_id=parent.id if parent else None,
        )
        self.execution.task_runs.append(task_run)
        self.events.task_started(self.execution, task_run)
        try:
            if isinstance(task, Parallel):
                state = await self._run_parallel(task, task_run)
            elif isinstance(task, Sequential):
                state = await self._run_list(task.tasks, task_run)
            else:
                state = await self._attempts(task, task_run)
        except asyncio.CancelledError:
            self._end_task(task_run, State.KILLED, task_run.error or "killed: the execution was cancelled")
            raise
        if state is State.FAILED and task.allow_failure:
            state = State.WARNING
        elif state is State.WARNING and task.allow_warning:
            state = State.SUCCESS
        self._end_task(task_run, state, task_run.error)
        return state

    def _end_task(self, task_run: TaskRun, state: State, error: str | None) -> None:
        assert self.execution is not None
        task_run.state = state
        task_run.error = error
        task_run.end_date = _now()
        if task_run.outputs:
            self._outputs[task_run.task_id] = task_run.outputs
        self.events.task_ended(self.execution, task_run)

    async def _attempts(self, task: Task, task_run: TaskRun) -> State:
        executor = executor_for(task)
        if executor is None:  # check() refuses these before the run starts
            raise UnsupportedTaskError(f"task {task.id!r}: type {task.type} cannot run locally")
        assert self.execution is not None and not isinstance(task, UnknownTask)
        policy = TaskRetry(task.retry)
        timeout = parse_duration(task.timeout).total_seconds() if task.timeout else None
        first = time.monotonic()
        while True:
            context = TaskContext(
                self.execution,
                task_run,
                self._renderer(task, task_run),
                self.events,
                self.cancel_airflow_runs,
                self._clients,
            )
            try:
                await asyncio.wait_for(executor(task, context), timeout)
                task_run.error = None
                return State.SUCCESS
            except asyncio.TimeoutError:
                task_run.error = f"task {task.id!r} did not finish within its timeout {task.timeout}"
            except Exception as exc:
                task_run.error = _describe(exc)
            elapsed = timedelta(seconds=time.monotonic() - first)
            if not policy.allows(task_run.attempt, elapsed):
                return State.FAILED
            await asyncio.sleep(policy.delay(task_run.attempt).total_seconds())
            task_run.attempt += 1


def progress_observers_for(progress: Any) -> list[Observer]:
    """The live display asked for with ``progress=`` (none for False/"off")."""
    if progress is False or progress is None or progress == "off":
        return []
    from ..display.execution import ExecutionProgress
    from ..display.progress import progress_observer

    return [ExecutionProgress(progress_observer(progress))]
