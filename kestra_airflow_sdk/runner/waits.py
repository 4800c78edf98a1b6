"""The waiting tasks, as Kestra runs them: ``Pause``, ``LoopUntil`` (``WaitFor``) and 2.0's ``Approval``;
and :class:`Waits`, what resumes a paused one from another thread, a notebook button or a callback.

Sources: kestra-io/kestra ``core/.../plugin/core/flow/Pause.java`` (``pauseDuration``, ``behavior``,
``onResume``, the deprecated ``delay`` and ``tasks``), ``ExecutorService.handlePausedDelay`` (a
``pauseDuration`` ends in the behavior's state, a ``timeout`` alone FAILS the task),
``LoopUntil.java`` (alias ``WaitFor``; ``checkFrequency``, ``failOnMaxReached``, ``iterationCount``)
and ``Approval.java`` (``onWait`` → PAUSED → ``onApprove`` / ``onDeny``, behaviors, ``autoApprove``,
``timeout`` as the expiry), with their tests (``PauseTest``, ``LoopUntilCaseTest``, ``ApprovalTest``).

Waiting is on the event loop's clock (so tests run on virtual time). While a task waits, its task
run and the execution are PAUSED; :meth:`Waits.resume` / :meth:`Waits.decide` may be called from any
thread: the inputs are validated in the caller's thread (a bad value raises there) and the decision
reaches the loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import getpass
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal

from ..flows.core_tasks import Approval, LoopUntil, Pause
from ..flows.durations import parse_duration
from ..flows.errors import FlowValidationError, InvalidInputsError
from ..flows.execution import ExecutionState, NotPausedError, TaskRun, WaitRequest, worst
from ..flows.inputs import FlowInput
from ..flows.pebble.values import iso
from ..flows.secrets import reveal
from ..flows.tasks.waits import APPROVAL_BEHAVIORS, PAUSE_BEHAVIORS
from .executors import TaskContext
from .flowable import run_sequence, with_handlers
from .inputs import resolve_inputs
from .truth import is_truthy

if TYPE_CHECKING:
    from ..flows.task import Task
    from .engine import FlowRunner

__all__ = [
    "ApproveOption",
    "Waits",
    "run_approval",
    "run_loop_until",
    "run_pause",
]

Decision = Literal["APPROVED", "DENIED"]


#: ``run(approve=...)``: None (wait for a reviewer), True / False (approve / deny every Approval) or a
#: callable ``(WaitRequest) -> bool | {"decision": "APPROVED"|"DENIED", "inputs": {...},
#: "comment": "..."} | None`` (None: wait for a reviewer); it is called on the runner's thread
ApproveOption = bool | Callable[[WaitRequest], Any] | None


@dataclass(frozen=True)
class _Outcome:
    how: Literal["RESUMED", "APPROVED", "DENIED"]
    inputs: dict[str, Any]
    comment: str | None = None


@dataclass
class _Waiting:
    task: Pause | Approval
    task_run: TaskRun
    future: asyncio.Future[_Outcome]
    loop: asyncio.AbstractEventLoop


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Waits:
    """The paused tasks of one execution and what resumes them (the execution's ``control``).

    ``approve`` is the run's ``approve=`` option: how ``Approval`` tasks are decided without a
    reviewer (see :data:`ApproveOption`)."""

    def __init__(self, runner: FlowRunner, approve: ApproveOption = None) -> None:
        if approve is not None and not isinstance(approve, bool) and not callable(approve):
            raise FlowValidationError(
                f"approve: expected True, False, a callable or None, got {type(approve).__name__}"
            )
        self._runner = runner
        self.approve = approve
        self._waiting: dict[str, _Waiting] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Waits(paused={[w.task_run.task_id for w in self._snapshot()]})"

    def _snapshot(self) -> list[_Waiting]:
        with self._lock:
            return list(self._waiting.values())

    # ------------------------------------------------------------------ from any thread

    def resume(self, task_id: str | None, inputs: Mapping[str, Any] | None) -> None:
        """Resume the paused ``Pause`` (the only one, or ``task_id``) with its ``onResume`` inputs."""
        waiting = self._find(task_id, Pause)
        assert isinstance(waiting.task, Pause)
        values = self._validate(waiting, waiting.task.on_resume, inputs, "onResume")
        self._settle(waiting, _Outcome("RESUMED", values))

    def decide(
        self,
        task_id: str | None,
        decision: Decision,
        inputs: Mapping[str, Any] | None,
        comment: str | None,
    ) -> None:
        """Approve or deny the waiting ``Approval`` (the only one, or ``task_id``)."""
        if decision not in ("APPROVED", "DENIED"):
            raise FlowValidationError(f"decision: expected APPROVED or DENIED, got {decision!r}")
        waiting = self._find(task_id, Approval)
        assert isinstance(waiting.task, Approval)
        self._check_comment(waiting.task, decision, comment)
        values = self._validate(waiting, waiting.task.inputs, inputs, "inputs")
        self._settle(waiting, _Outcome(decision, values, comment))

    def _find(self, task_id: str | None, kind: type[Pause] | type[Approval]) -> _Waiting:
        waiting = [w for w in self._snapshot() if isinstance(w.task, kind)]
        execution = self._runner.execution
        name = f"execution {execution.id if execution else '(not started)'}"
        what = "Pause" if kind is Pause else "Approval"
        if task_id is not None:
            found = [w for w in waiting if w.task_run.task_id == task_id]
            if not found:
                others = ", ".join(w.task_run.task_id for w in waiting) or "none"
                raise NotPausedError(f"{name}: no {what} task {task_id!r} is waiting (waiting: {others})")
            return found[0]
        if not waiting:
            raise NotPausedError(f"{name}: no {what} task is waiting")
        if len(waiting) > 1:
            ids = ", ".join(repr(w.task_run.task_id) for w in waiting)
            raise NotPausedError(f"{name}: several {what} tasks are waiting ({ids}); say which with task_id=")
        return waiting[0]

    def _validate(
        self, waiting: _Waiting, declared: list[FlowInput] | None, given: Mapping[str, Any] | None, what: str
    ) -> dict[str, Any]:
        runner = self._runner
        flow = runner.flow
        try:
            return resolve_inputs(
                declared,
                given,
                runner.secrets,
                f"{flow.namespace}.{flow.id}",
                {"flow": {"id": flow.id, "namespace": flow.namespace, "revision": None}},
                kestra=runner.kestra,
            )
        except InvalidInputsError as exc:
            raise InvalidInputsError(
                [f"task {waiting.task_run.task_id!r} {what}: {p}" for p in exc.problems],
                f"{flow.namespace}.{flow.id}",
            ) from None

    @staticmethod
    def _check_comment(task: Approval, decision: Decision, comment: str | None) -> None:
        rule = task.comment_required
        needed = rule == "ALWAYS" or (rule, decision) in (("ON_DENY", "DENIED"), ("ON_APPROVE", "APPROVED"))
        if needed and not (comment or "").strip():
            raise FlowValidationError(
                f"task {task.id!r}: commentRequired is {rule}: give a comment= to "
                f"{'approve' if decision == 'APPROVED' else 'deny'}"
            )

    @staticmethod
    def _settle(waiting: _Waiting, outcome: _Outcome) -> None:
        def settle() -> None:
            if not waiting.future.done():
                waiting.future.set_result(outcome)

        try:
            waiting.loop.call_soon_threadsafe(settle)
        except RuntimeError:  # the loop closed meanwhile: the execution ended
            raise NotPausedError(f"task {waiting.task_run.task_id!r} is not waiting any more") from None

    def request(self, task_run_id: str) -> WaitRequest | None:
        """What the paused task run ``task_run_id`` waits for (None once it goes on)."""
        with self._lock:
            waiting = self._waiting.get(task_run_id)
        return None if waiting is None else _request(waiting, self._runner)

    # ------------------------------------------------------------------ on the runner's loop

    async def wait(self, task: Pause | Approval, task_run: TaskRun, limit: float | None) -> _Outcome | None:
        """PAUSE ``task_run`` (and the execution) until it is resumed, or ``limit`` seconds passed
        (None: then the time is up)."""
        runner = self._runner
        execution = runner.execution
        assert execution is not None
        loop = asyncio.get_running_loop()
        waiting = _Waiting(task, task_run, loop.create_future(), loop)
        with self._lock:
            self._waiting[task_run.id] = waiting
        task_run.state = execution.state = ExecutionState.PAUSED
        runner.events.task_paused(execution, task_run)
        try:
            if isinstance(task, Approval) and self.approve is not None:
                self._ask(waiting)
            return await asyncio.wait_for(asyncio.shield(waiting.future), limit)
        except asyncio.TimeoutError:
            return None
        finally:
            with self._lock:
                del self._waiting[task_run.id]
                still = bool(self._waiting)
            task_run.state = ExecutionState.RUNNING
            if not still and execution.state is ExecutionState.PAUSED:
                execution.state = ExecutionState.RUNNING
            runner.events.task_resumed(execution, task_run)

    def _ask(self, waiting: _Waiting) -> None:
        """Decide an Approval with the run's ``approve`` option (a callable is called now, here)."""
        task = waiting.task
        assert isinstance(task, Approval) and self._runner.execution is not None
        answer: Any = self.approve
        if callable(answer):
            answer = answer(_request(waiting, self._runner))
        if answer is None:
            return
        if isinstance(answer, bool):
            self.decide(task.id, "APPROVED" if answer else "DENIED", None, None)
            return
        if not isinstance(answer, Mapping) or answer.get("decision") not in ("APPROVED", "DENIED"):
            raise FlowValidationError(
                f"task {task.id!r}: approve= answered {answer!r}; expected True, False, None or "
                '{"decision": "APPROVED" | "DENIED", "inputs": {...}, "comment": "..."}'
            )
        self.decide(task.id, answer["decision"], answer.get("inputs"), answer.get("comment"))


# ---------------------------------------------------------------------- helpers


def _request(waiting: _Waiting, runner: FlowRunner) -> WaitRequest:
    task = waiting.task
    execution_id = runner.execution.id if runner.execution is not None else ""
    if isinstance(task, Pause):
        ids = tuple(i.input_id for i in task.on_resume or [])
        return WaitRequest(task.id, waiting.task_run.id, execution_id, "pause", ids)
    ids = tuple(i.input_id for i in task.inputs or [])
    labels = (task.decisions.approve, task.decisions.deny)
    return WaitRequest(task.id, waiting.task_run.id, execution_id, "approval", ids, *labels)


def _seconds(
    runner: FlowRunner, task: Task, task_run: TaskRun, value: str | None, where: str
) -> float | None:
    """A duration property, rendered; None when unset."""
    if value is None:
        return None
    rendered = str(reveal(runner.renderer(task, task_run).render(value, where))).strip()
    try:
        return parse_duration(rendered).total_seconds()
    except ValueError as exc:
        raise FlowValidationError(f"task {task.id!r}: {where}: {exc}") from None


def _choice(
    runner: FlowRunner, task: Task, task_run: TaskRun, value: str, where: str, allowed: tuple[str, ...]
) -> str:
    rendered = str(reveal(runner.renderer(task, task_run).render(value, where))).strip()
    if rendered not in allowed:
        raise FlowValidationError(
            f"task {task.id!r}: {where}: expected one of {', '.join(allowed)}, got {rendered!r}"
        )
    return rendered


def _log(runner: FlowRunner, task: Task, task_run: TaskRun, level: str, message: str) -> None:
    assert runner.execution is not None
    TaskContext(runner.execution, task_run, runner.renderer(task, task_run), runner.events).log(
        level, message
    )


# ---------------------------------------------------------------------- Pause


async def run_pause(runner: FlowRunner, task: Pause, task_run: TaskRun) -> ExecutionState:
    """``Pause``: PAUSED until resumed, or until ``pauseDuration`` (then ``behavior``) or
    ``timeout`` (then FAILED) passes; then the deprecated ``tasks``, ``errors`` and ``finally``."""
    duration = _seconds(runner, task, task_run, task.pause_duration or task.delay, "pauseDuration")
    timeout = _seconds(runner, task, task_run, task.timeout, "timeout")
    behavior = _choice(runner, task, task_run, task.behavior, "behavior", PAUSE_BEHAVIORS)
    limit = duration if duration is not None else timeout
    how = "execution.resume()" + (
        f" (onResume inputs: {', '.join(i.input_id for i in task.on_resume)})" if task.on_resume else ""
    )
    ends = (
        ""
        if limit is None
        else f"; it ends by itself after {task.pause_duration or task.delay or task.timeout}"
    )
    _log(runner, task, task_run, "INFO", f"Paused: resume it with {how}{ends}")
    outcome = await runner.waits.wait(task, task_run, limit)
    state = ExecutionState.SUCCESS
    if outcome is not None:
        if task.on_resume is not None:
            task_run.outputs["onResume"] = outcome.inputs
            runner.publish_outputs(task_run)  # the deprecated tasks see it
        _log(runner, task, task_run, "INFO", "Resumed")
    elif duration is None:  # the task's timeout: Kestra fails the task
        task_run.error = f"task {task.id!r} was not resumed within its timeout {task.timeout}"
        _log(runner, task, task_run, "ERROR", task_run.error)
        return await with_handlers(runner, ExecutionState.FAILED, task.errors, task.finally_, task_run)
    elif behavior == "FAIL":
        task_run.error = (
            f"the pause of task {task.id!r} ended after {task.pause_duration or task.delay} (behavior FAIL)"
        )
        _log(runner, task, task_run, "ERROR", task_run.error)
        return await with_handlers(runner, ExecutionState.FAILED, task.errors, task.finally_, task_run)
    elif behavior == "CANCEL":
        _log(runner, task, task_run, "WARN", "Pause ended: the execution is cancelled (behavior CANCEL)")
        runner.request_exit(ExecutionState.CANCELLED)
        return ExecutionState.CANCELLED
    elif behavior == "WARN":
        state = ExecutionState.WARNING
    if task.tasks:
        state = worst(state, await run_sequence(runner, task.tasks, task_run))
    return await with_handlers(runner, state, task.errors, task.finally_, task_run)


# ---------------------------------------------------------------------- LoopUntil


#: Kestra's checkFrequency defaults: 1.3 (interval, maxIterations, maxDuration), then 2.0's
_CHECK_DEFAULTS: dict[str, tuple[float, int | None, float | None]] = {
    "1.3": (1.0, 100, 3600.0),
    "2.0": (60.0, None, None),
}


async def run_loop_until(runner: FlowRunner, task: LoopUntil, task_run: TaskRun) -> ExecutionState:
    """``LoopUntil``: iterations of ``tasks``, ``interval`` apart, until ``condition`` holds after
    one, or a maximum is reached (Kestra checks the maximums first)."""
    interval_default, iterations_default, duration_default = _CHECK_DEFAULTS[runner.kestra]
    frequency = task.check_frequency
    interval = _seconds(runner, task, task_run, frequency.interval, "checkFrequency.interval")
    interval = interval_default if interval is None else interval
    max_duration = _seconds(runner, task, task_run, frequency.max_duration, "checkFrequency.maxDuration")
    max_duration = duration_default if frequency.max_duration is None else max_duration
    max_iterations = iterations_default
    renderer = runner.renderer(task, task_run)
    if frequency.max_iterations is not None:
        text = str(reveal(renderer.render(frequency.max_iterations, "checkFrequency.maxIterations"))).strip()
        if not text.isdigit() or int(text) < 1:
            raise FlowValidationError(
                f"task {task.id!r}: checkFrequency.maxIterations: expected a positive whole number, got {text!r}"
            )
        max_iterations = int(text)
    fail_on_max = is_truthy(renderer.render(task.fail_on_max_reached, "failOnMaxReached"))
    loop = asyncio.get_running_loop()
    started = loop.time()
    count = 1
    while True:
        task_run.outputs["iterationCount"] = count
        runner.publish_outputs(task_run)
        state = await run_sequence(runner, task.tasks, task_run)
        if state.is_failed or runner.stopping:
            break
        reached = None
        if max_iterations is not None and count >= max_iterations:
            reached = "Max iterations reached"
        elif max_duration is not None and loop.time() - started > max_duration:
            reached = "Max duration reached"
        if reached is not None:
            _log(runner, task, task_run, "WARN", reached)
            if fail_on_max:
                task_run.error = f"{reached} (failOnMaxReached) after {count} iteration(s)"
                state = ExecutionState.FAILED
            break
        if is_truthy(runner.renderer(task, task_run).render(task.condition, "condition")):
            break
        await asyncio.sleep(interval)
        count += 1
    return await with_handlers(runner, state, task.errors, task.finally_, task_run)


# ---------------------------------------------------------------------- Approval


def _apply(
    runner: FlowRunner, task: Approval, task_run: TaskRun, behavior: str, state: ExecutionState, decision: str
) -> ExecutionState:
    """A behavior over the branch's state (Kestra's ``applyBehavior`` and ``executionLevelOutcome``)."""
    if behavior == "CONTINUE":
        return state
    if behavior == "WARN":
        return ExecutionState.WARNING
    if behavior == "FAIL":
        task_run.error = f"task {task.id!r}: {decision.lower()} (behavior FAIL)"
        return ExecutionState.FAILED
    ends = {
        "SUCCEED": ExecutionState.SUCCESS,
        "CANCEL": ExecutionState.CANCELLED,
        "KILL": ExecutionState.KILLED,
    }[behavior]
    _log(
        runner,
        task,
        task_run,
        "INFO",
        f"{decision.capitalize()}: the execution ends {ends} (behavior {behavior})",
    )
    runner.request_exit(ends)
    return ends


async def run_approval(runner: FlowRunner, task: Approval, task_run: TaskRun) -> ExecutionState:
    """``Approval``: ``onWait``, PAUSED until decided (or expired at ``timeout``), the decision's
    branch, ``errors`` / ``finally``, then the decision's behavior."""
    renderer = runner.renderer(task, task_run)
    behaviors = {
        "APPROVED": _choice(
            runner, task, task_run, task.approve_behavior, "approveBehavior", APPROVAL_BEHAVIORS
        ),
        "DENIED": _choice(runner, task, task_run, task.deny_behavior, "denyBehavior", APPROVAL_BEHAVIORS),
        "EXPIRED": _choice(
            runner, task, task_run, task.expire_behavior, "expireBehavior", APPROVAL_BEHAVIORS
        ),
    }
    timeout = _seconds(runner, task, task_run, task.timeout, "timeout")
    outputs = task_run.outputs
    if is_truthy(renderer.render(task.auto_approve, "autoApprove")):
        decision = "APPROVED"
        outputs.update({"decision": decision, "auto": True})
    else:
        state = await run_sequence(runner, task.on_wait, task_run)
        if state.is_failed or runner.stopping:
            return await with_handlers(runner, state, task.errors, task.finally_, task_run)
        due = None if timeout is None else iso(_now() + timedelta(seconds=timeout))
        labels = f"{task.decisions.approve} / {task.decisions.deny}"
        _log(
            runner,
            task,
            task_run,
            "INFO",
            f"Waiting for approval ({labels}): execution.approve() or execution.deny()"
            + (f"; expires at {due}" if due else ""),
        )
        outcome = await runner.waits.wait(task, task_run, timeout)
        if outcome is None:
            decision = "EXPIRED"
            outputs.update({"decision": decision, "auto": False, "due": due})
        else:
            decision = outcome.how
            outputs.update(
                {
                    "decision": decision,
                    "auto": False,
                    "by": _user(),
                    "on": iso(_now()),
                    "comment": outcome.comment,
                    "inputs": outcome.inputs,
                    **({"due": due} if due else {}),
                }
            )
        _log(runner, task, task_run, "INFO", f"Decision: {decision}")
    runner.publish_outputs(task_run)  # the branch sees outputs.<id>.decision, .inputs ...
    branch = {"APPROVED": task.on_approve, "DENIED": task.on_deny}.get(decision)
    state = await run_sequence(runner, branch, task_run)
    state = await with_handlers(runner, state, task.errors, task.finally_, task_run)
    if state.is_failed:
        return state
    return _apply(runner, task, task_run, behaviors[decision], state, decision)


def _user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return None
