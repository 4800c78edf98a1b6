"""Kestra's waiting tasks: ``Pause``, ``LoopUntil`` (``WaitFor``) and Kestra 2.0's ``Approval``.

Property names, defaults and outputs are Kestra's (``io.kestra.plugin.core.flow.Pause``,
``LoopUntil`` with its alias ``WaitFor``, ``Approval``); how the local runner runs them is in
:mod:`kestra_airflow_sdk.runner.waits`. Their child lists hold any task: ``AnyTask``, the union
:mod:`.flowable` defines once these classes exist (it lists them), then rebuilds these models with it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from ..base import KestraModel
from ..durations import format_duration, parse_duration
from ..inputs import FlowInput
from ..registry import register
from ..task import Task
from .flowable import FlowableTask

if TYPE_CHECKING:
    from .flowable import AnyTask

__all__ = [
    "APPROVAL_BEHAVIORS",
    "PAUSE_BEHAVIORS",
    "Approval",
    "ApprovalDecisions",
    "CheckFrequency",
    "DynamicDuration",
    "LoopUntil",
    "Pause",
]


def _duration_or_expression(value: Any) -> Any:
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return value
    if isinstance(value, str):
        parse_duration(value)  # ValueError: names what a duration looks like
        return value.strip()
    raise ValueError(f"expected an ISO-8601 duration (e.g. PT30S) or an expression, got {value!r}")


#: an ISO-8601 duration (a timedelta is converted to its text) or an expression rendering to one
DynamicDuration = Annotated[str, BeforeValidator(_duration_or_expression)]

#: what a ``Pause`` does when its ``pauseDuration`` passes (Kestra's ``Pause.Behavior``)
PAUSE_BEHAVIORS = ("RESUME", "WARN", "FAIL", "CANCEL")
#: what an ``Approval`` does after a decision or its expiry (Kestra's ``Approval.Behavior``)
APPROVAL_BEHAVIORS = ("CONTINUE", "WARN", "FAIL", "SUCCEED", "CANCEL", "KILL")


@register("io.kestra.plugin.core.flow.Pause", "io.kestra.core.tasks.flows.Pause")
class Pause(FlowableTask):
    """Pause the execution (task run and execution PAUSED) until it is resumed: by
    ``execution.resume()`` (any thread, a notebook's Resume button), or when ``pauseDuration``
    passes (then ``behavior``: RESUME goes on, WARN ends the task WARNING, FAIL fails it, CANCEL
    cancels the execution), or when the task's ``timeout`` passes without a ``pauseDuration`` (the
    task FAILS). With neither it waits until resumed. ``onResume`` declares inputs (as flow inputs)
    given when resuming, output as ``{{ outputs.<id>.onResume.<input> }}``; ``onPause`` is a task run
    when the pause starts (e.g. a notification). ``delay`` (Kestra 1.3, deprecated) is
    ``pauseDuration``; the deprecated ``tasks`` run after the resume (1.3 only)."""

    pause_duration: DynamicDuration | None = None
    delay: DynamicDuration | None = None
    behavior: Literal["RESUME", "WARN", "FAIL", "CANCEL"] | str = "RESUME"
    on_resume: list[FlowInput] | None = None
    on_pause: AnyTask | None = None
    tasks: list[AnyTask] | None = None

    def branches(self) -> list[list[Task]]:
        """``onPause`` and the deprecated ``tasks``."""
        return [[self.on_pause] if self.on_pause is not None else [], list(self.tasks or [])]


class CheckFrequency(KestraModel):
    """How often ``LoopUntil`` checks its condition and for how long: ``interval`` between
    iterations, ``maxIterations`` and ``maxDuration``. Unset, Kestra's defaults of the flow's
    version apply (1.3: PT1S, 100, PT1H; 2.0: PT1M, no limits)."""

    interval: DynamicDuration | None = None
    max_iterations: int | str | None = None
    max_duration: DynamicDuration | None = None


@register("io.kestra.plugin.core.flow.LoopUntil", "io.kestra.plugin.core.flow.WaitFor")
class LoopUntil(FlowableTask):
    """Run ``tasks`` again and again, ``checkFrequency.interval`` apart, until ``condition`` renders
    truthy after an iteration (or ``maxIterations`` / ``maxDuration`` is reached: the task then
    ends as its tasks did, or FAILED with ``failOnMaxReached``). Output ``iterationCount`` (from 1),
    also seen by the tasks as ``{{ outputs.<id>.iterationCount }}`` while they run. ``WaitFor`` is
    its older name."""

    condition: str | bool
    fail_on_max_reached: bool | str = False
    check_frequency: CheckFrequency = Field(default_factory=CheckFrequency)
    tasks: list[AnyTask] = Field(min_length=1)

    def branches(self) -> list[list[Task]]:
        """``tasks``."""
        return [list(self.tasks)]


class ApprovalDecisions(KestraModel):
    """The names of the two decisions (what the buttons say)."""

    approve: str = "Approve"
    deny: str = "Deny"


@register("io.kestra.plugin.core.flow.Approval")
class Approval(FlowableTask):
    """Kestra 2.0's review: run ``onWait``, then pause (PAUSED) until a reviewer approves or denies
    (``execution.approve()`` / ``deny()``, a notebook's buttons, or ``run(approve=...)``), then run
    ``onApprove`` or ``onDeny`` and apply ``approveBehavior`` (default CONTINUE) or
    ``denyBehavior`` (default CANCEL). The task's ``timeout`` is the expiry: no decision by then is
    EXPIRED (no branch runs) and ``expireBehavior`` (default CANCEL) applies. ``autoApprove``
    (truthy) skips the wait and ``onWait``: ``onApprove`` runs at once with ``auto: true``. Outputs:
    ``decision``, ``auto``, ``by``, ``on``, ``comment``, ``inputs`` (the review's ``inputs``),
    ``due``, ``url``."""

    inputs: list[FlowInput] | None = None
    decisions: ApprovalDecisions = Field(default_factory=ApprovalDecisions)
    comment_required: Literal["NEVER", "ALWAYS", "ON_DENY", "ON_APPROVE"] | str = "NEVER"
    auto_approve: bool | str = False
    approve_behavior: str = "CONTINUE"
    deny_behavior: str = "CANCEL"
    expire_behavior: str = "CANCEL"
    on_wait: list[AnyTask] | None = None
    on_approve: list[AnyTask] | None = None
    on_deny: list[AnyTask] | None = None

    def branches(self) -> list[list[Task]]:
        """``onWait``, ``onApprove`` and ``onDeny``."""
        return [list(self.on_wait or []), list(self.on_approve or []), list(self.on_deny or [])]
