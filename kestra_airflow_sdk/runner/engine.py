"""The local runner: one execution of a flow on asyncio, with Kestra's semantics.

This module runs one task (``runIf``, attempts with ``retry`` and ``timeout``, ``allowFailure`` /
``allowWarning``, the task run record) and the execution around the flow's lists. What runs each
task type comes from the runtime's one table (:mod:`.dispatch`): how flowable tasks schedule their
children is in :mod:`.flowable` (``ForEach`` in :mod:`.foreach`), the runnable executors in
:mod:`.tasks`, :mod:`.airflow_task` and :mod:`.executors`. The runtime (``runtime=``, by default the
one the public package installed) also opens the execution's Airflow clients and gives the
``progress=`` display. Cancelling the run (Ctrl-C) ends the running task runs and the execution KILLED.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..flows.dialect import detect_kestra
from ..flows.durations import parse_duration
from ..flows.errors import FlowError, FlowValidationError, UnsupportedTaskError
from ..flows.execution import Execution, ExecutionState, LogEntry, TaskRun, store_outputs, worst
from ..flows.expressions import KestraVersion, Renderer, iso
from ..flows.flow import Flow
from ..flows.observer import Observer
from ..flows.pebble.versions import kestra_version
from ..flows.secrets import SecretResolver
from ..flows.task import Task
from ..storage import storage_root
from .catalog import FlowCatalog
from .checks import LEVELS, evaluate_checks
from .depth import SUBFLOW_DEPTH, next_depth
from .executors import TaskContext, TaskFailedError
from .flow_outputs import render_flow_outputs
from .flowable import run_block
from .functions import execution_functions
from .ids import new_id
from .inputs import resolve_inputs
from .labels import execution_labels, label_variables
from .observer import Broadcast
from .retry import RetrySchedule
from .runtime import RunnerRuntime, runner_runtime
from .support import local_problems
from .truth import is_truthy
from .waits import ApproveOption, Waits

if TYPE_CHECKING:  # .dispatch imports every executor, and an executor may build a FlowRunner
    from .dispatch import Executor, Scheduler

__all__ = ["FlowRunner"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _seconds(duration: timedelta | float | None) -> float | None:
    if duration is None:
        return None
    seconds = duration.total_seconds() if isinstance(duration, timedelta) else duration
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise FlowValidationError(
            f"max_duration must be a positive timedelta or number of seconds, got {duration!r}"
        )
    return float(seconds)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (FlowError, TaskFailedError)) or type(exc).__module__.startswith("kestra_airflow_sdk"):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class FlowRunner:
    """Run one execution of ``flow``; ``execution`` is available (and updated live) once started.

    Arguments are those of :meth:`Flow.arun`; ``environ`` replaces ``os.environ`` for secrets and
    ``{{ envs.x }}`` (Kestra's ``ENV_``-prefixed variables, by their lower-case name without it);
    ``flows`` / ``flows_dir`` are the flows ``Subflow`` tasks may run; ``globals`` gives ``{{ globals.x }}``;
    ``approve`` decides ``Approval`` tasks (True, False or a callable, see
    :class:`~kestra_airflow_sdk.runner.waits.Waits`); ``storage_dir`` is the folder of the run's local state (:func:`kestra_airflow_sdk.storage.storage_root`);
    ``runtime`` (a :class:`kestra_airflow_sdk.wiring.Runtime`, by default the installed one) opens the
    Airflow clients, e.g. ``Runtime(transport=...)`` to reach a test's fake Airflow, gives the
    ``progress=`` display and runs each task type. The run follows the semantics of the flow's
    Kestra version (:attr:`Flow.kestra <kestra_airflow_sdk.flows.Flow.kestra>`): its expressions are
    checked and rendered for that version, and a ``Subflow`` child runs with its own flow's version.
    """

    def __init__(
        self,
        flow: Flow,
        *,
        inputs: Mapping[str, Any] | None = None,
        secrets: Mapping[str, Any] | SecretResolver | None = None,
        labels: Mapping[str, str] | None = None,
        observers: Sequence[Observer] | None = None,
        progress: Any = True,
        cancel_airflow_runs: bool = False,
        environ: Mapping[str, str] | None = None,
        flows: Sequence[Flow] | None = None,
        flows_dir: str | Path | None = None,
        catalog: FlowCatalog | None = None,
        globals: Mapping[str, Any] | None = None,
        runtime: RunnerRuntime | None = None,
        max_duration: timedelta | float | None = None,
        storage_dir: str | Path | None = None,
        approve: ApproveOption = None,
    ) -> None:
        self.max_duration = _seconds(max_duration)
        #: the folder of the run's local state (internal storage, KV store, namespace files)
        self.storage_dir = storage_root(storage_dir)
        self.runtime = runtime if runtime is not None else runner_runtime()
        #: the Kestra version whose semantics the run follows ("1.3" or "2.0"): the flow's own
        self.kestra: KestraVersion = kestra_version(flow.kestra)
        self.flow = flow.with_plugin_defaults()
        self.given_inputs = dict(inputs or {})
        self.secrets = secrets if isinstance(secrets, SecretResolver) else SecretResolver(secrets, environ)
        environment = os.environ if environ is None else environ
        self.envs = {k[4:].lower(): v for k, v in environment.items() if k.upper().startswith("ENV_")}
        self.given_labels = dict(labels or {})
        self.globals = dict(globals or {})
        self.events = Broadcast([*(observers or []), *self.runtime.progress_observers(progress)])
        self.cancel_airflow_runs = cancel_airflow_runs
        self.catalog = catalog or FlowCatalog(flows, flows_dir)
        self.execution: Execution | None = None
        self.exit_state: ExecutionState | None = None
        self.background: list[asyncio.Task[Any]] = []
        self._outputs: dict[str, Any] = {}
        self._runs: dict[str, TaskRun] = {}
        self._clients = self.runtime.airflow_clients()
        self._body: asyncio.Future[ExecutionState] | None = None
        self._killed_by_exit = False
        #: the paused ``Pause`` / ``Approval`` tasks, and what resumes them (``approve``: see :class:`Waits`)
        self.waits = Waits(self, approve)

    def check(self) -> None:
        """Raise before anything runs: broken rules (for the flow's Kestra version: a 2.0 flow may not
        use a construct 2.0 removed, e.g. the ``json`` filter), a disabled flow, or tasks (or task
        properties) the local runner cannot run as Kestra does."""
        if self.kestra == "2.0":  # a 2.0 flow changed in Python after loading may hold a 1.3 construct
            detect_kestra(self.flow.to_dict(), "2.0", f"flow {self.flow.namespace}.{self.flow.id}")
        self.flow.validate_flow()
        name = f"{self.flow.namespace}.{self.flow.id}"
        if self.flow.disabled:
            raise FlowValidationError(f"Flow {name} is disabled: Kestra does not execute a disabled flow")
        table = self.runtime.tasks
        unknown = [task for task in self.flow.walk() if not table.runs(task)]
        if unknown:
            listed = ", ".join(f"{t.id!r} ({t.type})" for t in unknown)
            raise UnsupportedTaskError(
                f"Flow {name} cannot run locally: task(s) {listed} have a type "
                f"the SDK does not run. Supported types: {', '.join(table.supported_types())}. "
                "The flow still exports to Kestra with to_yaml()."
            )
        problems = local_problems(self.flow, self.catalog)
        if problems:
            raise UnsupportedTaskError(
                f"Flow {name} cannot run locally as Kestra would:\n" + "\n".join(f"  - {p}" for p in problems)
            )

    async def run(self) -> Execution:
        """Run the execution to its end and return it (re-raises cancellation after marking KILLED).

        Before the execution exists, the inputs are resolved and the flow's ``checks`` evaluated
        (:mod:`.checks`: a blocking check that does not hold raises, a FAIL_EXECUTION one ends the
        execution FAILED before any task runs)."""
        depth = next_depth(f"{self.flow.namespace}.{self.flow.id}")
        self.check()
        execution_id = new_id()
        name = f"{self.flow.namespace}.{self.flow.id}"
        flow_variable = {"id": self.flow.id, "namespace": self.flow.namespace, "revision": None}
        inputs = resolve_inputs(
            self.flow.inputs,
            self.given_inputs,
            self.secrets,
            name,
            {"flow": flow_variable},
            storage=f"kestra:///{self.flow.namespace.replace('.', '/')}/{self.flow.id}/executions/{execution_id}",
            kestra=self.kestra,
        )
        failed_checks = evaluate_checks(
            (self.flow.model_extra or {}).get("checks"),
            self.kestra,
            {"flow": flow_variable, "inputs": inputs},
            self.secrets,
            name,
        )
        execution = Execution(
            id=execution_id,
            namespace=self.flow.namespace,
            flow_id=self.flow.id,
            inputs=inputs,
            labels=execution_labels(self.flow.label_map, self.given_labels, execution_id),
            start_date=_now(),
            control=self.waits,
        )
        self.execution = execution
        execution.state = ExecutionState.RUNNING
        self.events.execution_started(execution)
        for check in failed_checks:
            execution.logs.append(
                LogEntry(timestamp=_now(), level=LEVELS[check.style], message=check.message)
            )
        if any(check.behavior == "FAIL_EXECUTION" for check in failed_checks):  # created FAILED, nothing runs
            await self._clients.aclose()
            self._finish(ExecutionState.FAILED)
            return execution
        flow = self.flow
        try:
            token = SUBFLOW_DEPTH.set(depth)  # the tasks (and the subflows they start) run one level down
            self._body = asyncio.ensure_future(run_block(self, flow.tasks, flow.errors, flow.finally_, None))
            SUBFLOW_DEPTH.reset(token)
            timer = self._start_timer()
            try:
                state = await self._body
            except asyncio.CancelledError:
                if not self._killed_by_exit:
                    raise
                state = ExecutionState.KILLED
            if self.exit_state is not None:
                state = self.exit_state
            state = worst(state, self._render_flow_outputs())
            if self.background:  # Subflow tasks with wait: false
                await asyncio.gather(*self.background, return_exceptions=True)
            if timer is not None:
                timer.cancel()
                if self.exit_state is ExecutionState.KILLED:  # it passed while the background ran
                    state = ExecutionState.KILLED
        except asyncio.CancelledError:
            for pending in self.background:
                pending.cancel()
            self._finish(ExecutionState.KILLED)
            raise
        finally:
            await asyncio.shield(self._clients.aclose())
        self._finish(state)
        return execution

    def _start_timer(self) -> asyncio.TimerHandle | None:
        """With ``max_duration``: when it passes, the execution is killed (its tasks and the subflows
        they started are cancelled) and ends KILLED, with an ERROR log line naming the limit."""
        if self.max_duration is None:
            return None

        def time_out() -> None:
            assert self.execution is not None
            self.execution.logs.append(
                LogEntry(
                    timestamp=_now(),
                    level="ERROR",
                    message=f"The execution did not end within max_duration ({self.max_duration:g} s): killed",
                )
            )
            for pending in self.background:
                pending.cancel()
            self.request_exit(ExecutionState.KILLED)

        return asyncio.get_running_loop().call_later(self.max_duration, time_out)

    def _render_flow_outputs(self) -> ExecutionState:
        """Kestra's flow ``outputs``, rendered once the tasks ended; one that cannot be rendered (or
        converted to its type) fails the execution, with an ERROR log line."""
        assert self.execution is not None
        values, problems = render_flow_outputs(self.flow.outputs, self.renderer(None, None))
        self.execution.flow_outputs.update(values)
        for problem in problems:
            self.execution.logs.append(LogEntry(timestamp=_now(), level="ERROR", message=problem))
        return ExecutionState.FAILED if problems else ExecutionState.SUCCESS

    def _finish(self, state: ExecutionState) -> None:
        assert self.execution is not None
        self.execution.state = state
        self.execution.end_date = _now()
        self.events.execution_ended(self.execution)

    # ------------------------------------------------------------------ what tasks use

    def request_exit(self, state: ExecutionState) -> None:
        """``Exit``: no task starts any more; the execution ends ``state`` (KILLED also kills the
        running tasks)."""
        self.exit_state = state
        if state is ExecutionState.KILLED and self._body is not None:
            self._killed_by_exit = True
            asyncio.get_running_loop().call_soon(self._body.cancel)

    def resume(self, inputs: Mapping[str, Any] | None = None, *, task_id: str | None = None) -> None:
        """Resume the paused ``Pause`` task (thread-safe): :meth:`Execution.resume`."""
        self.waits.resume(task_id, inputs)

    def publish_outputs(self, task_run: TaskRun) -> None:
        """Show a running task's outputs to expressions now (a flowable task whose children read
        them, e.g. ``LoopUntil``'s ``iterationCount``), not only once it ended."""
        store_outputs(self._outputs, task_run)

    @property
    def stopping(self) -> bool:
        """True once an ``Exit`` task ended the execution: no new task may start."""
        return self.exit_state is not None

    def renderer(self, task: Task | None, task_run: TaskRun | None) -> Renderer:
        """The renderer of ``task``'s expressions in ``task_run`` (the flow's, for both None)."""
        assert self.execution is not None
        execution = self.execution
        variables: dict[str, Any] = {
            "flow": {"id": self.flow.id, "namespace": self.flow.namespace, "revision": None},
            "execution": {
                "id": execution.id,
                "startDate": iso(execution.start_date or _now()),
                "originalId": execution.id,
                "state": execution.state.value,
            },
            "inputs": execution.inputs,
            "outputs": self._outputs,
            "labels": label_variables(execution.labels),
            "vars": self.flow.variables or {},
            "envs": self.envs,
            "globals": self.globals,
        }
        if task is not None and task_run is not None:
            variables["task"] = {"id": task.id, "type": task.type}
            variables["taskrun"] = {
                "id": task_run.id,
                "startDate": iso(task_run.start_date or _now()),
                "attemptsCount": task_run.attempt - 1,  # Kestra: the attempts before this one
                "value": task_run.value,
            }
            parents = []
            parent = self._runs.get(task_run.parent_id or "")
            while parent is not None:
                parents.append({"taskrun": {"value": parent.value}, "outputs": parent.outputs})
                parent = self._runs.get(parent.parent_id or "")
            if parents:
                variables["parent"] = parents[0]
                variables["parents"] = parents
        functions = execution_functions(execution, task_run)
        return Renderer(
            variables, self.secrets, task.id if task else "", functions=functions, kestra=self.kestra
        )

    # ------------------------------------------------------------------ one task

    async def run_task(
        self, task: Task, parent: TaskRun | None, value: str | None = None, iteration: tuple[str, ...] = ()
    ) -> ExecutionState:
        """Run ``task`` as a child of ``parent`` (``value``/``iteration``: set by a ForEach, else the
        parent's) and return its final state."""
        assert self.execution is not None
        if parent is not None and value is None:
            value, iteration = parent.value, parent.iteration
        task_run = TaskRun(
            id=new_id(),
            task_id=task.id,
            type=task.type,
            state=ExecutionState.RUNNING,
            attempt=1,
            start_date=_now(),
            parent_id=parent.id if parent else None,
            value=value,
            iteration=iteration,
        )
        self.execution.task_runs.append(task_run)
        self._runs[task_run.id] = task_run
        self.events.task_started(self.execution, task_run)
        try:
            if task.run_if is not None and not self._should_run(task, task_run):
                state = ExecutionState.FAILED if task_run.error else ExecutionState.SKIPPED
            else:
                state = await self.runtime.tasks.handler(task)(self, task, task_run)
        except asyncio.CancelledError:
            self._end_task(
                task_run, ExecutionState.KILLED, task_run.error or "killed: the execution was cancelled"
            )
            raise
        if (
            state is ExecutionState.FAILED and task.allow_failure
        ):  # Kestra's guessFinalState: both apply in turn
            state = ExecutionState.WARNING
        if state is ExecutionState.WARNING and task.allow_warning:
            state = ExecutionState.SUCCESS
        self._end_task(task_run, state, task_run.error)
        return state

    def _should_run(self, task: Task, task_run: TaskRun) -> bool:
        """Render ``runIf``: false skips the task (SKIPPED); a rendering error fails it."""
        try:
            rendered = self.renderer(task, task_run).render(task.run_if, "runIf")
        except Exception as exc:
            self._fail_with(task, task_run, _describe(exc))
            return False
        return is_truthy(rendered)

    async def children(self, schedule: Scheduler, task: Task, task_run: TaskRun) -> ExecutionState:
        """Run a flowable ``task``'s children with ``schedule``; its state (FAILED when scheduling
        raised)."""
        try:
            return await schedule(self, task, task_run)
        except Exception as exc:  # a property that cannot render, a bad ForEach value ...
            self._fail_with(task, task_run, _describe(exc))
            return ExecutionState.FAILED

    def _fail_with(self, task: Task, task_run: TaskRun, error: str) -> None:
        """Record ``error`` on the task run and write it as an ERROR log line of the task run."""
        task_run.error = error
        self._context(task, task_run).log("ERROR", error)

    def _context(self, task: Task, task_run: TaskRun) -> TaskContext:
        assert self.execution is not None
        return TaskContext(
            self.execution,
            task_run,
            self.renderer(task, task_run),
            self.events,
            self.cancel_airflow_runs,
            self._clients,
            self,
        )

    def _end_task(self, task_run: TaskRun, state: ExecutionState, error: str | None) -> None:
        assert self.execution is not None
        task_run.state = state
        task_run.error = error
        task_run.end_date = _now()
        store_outputs(self._outputs, task_run)
        self.events.task_ended(self.execution, task_run)

    async def attempts(self, executor: Executor, task: Task, task_run: TaskRun) -> ExecutionState:
        """Run a runnable ``task``'s ``executor`` once per attempt, as its ``retry`` and ``timeout``
        say; the state it ends in."""
        assert self.execution is not None
        policy = RetrySchedule(task.retry)
        timeout = parse_duration(task.timeout).total_seconds() if task.timeout else None
        loop = asyncio.get_running_loop()
        first = loop.time()
        while True:
            context = self._context(task, task_run)
            try:
                result = await asyncio.wait_for(executor(task, context), timeout)
                task_run.error = None
                if isinstance(result, ExecutionState):
                    return result
                retried = task_run.attempt > 1 and task.retry is not None and task.retry.warning_on_retry
                return ExecutionState.WARNING if retried else ExecutionState.SUCCESS  # warningOnRetry
            except asyncio.TimeoutError:
                self._fail_with(
                    task, task_run, f"task {task.id!r} did not finish within its timeout {task.timeout}"
                )
            except Exception as exc:
                self._fail_with(task, task_run, _describe(exc))
            elapsed = timedelta(seconds=loop.time() - first)
            if not policy.allows(task_run.attempt, elapsed):
                return ExecutionState.FAILED
            await asyncio.sleep(policy.delay(task_run.attempt).total_seconds())
            task_run.attempt += 1
