"""The waiting tasks run locally on the event loop's clock (virtual time here): Pause, LoopUntil
(WaitFor) and Kestra 2.0's Approval, and resuming a paused execution from another thread.

Expected results come from Kestra's sources and tests (kestra-io/kestra): ``Pause.java``,
``ExecutorService.handlePausedDelay``, ``PauseTest``; ``LoopUntil.java`` and ``LoopUntilCaseTest``
with the flows ``waitfor*.yaml``; ``Approval.java``, ``ApprovalTest`` and ``approval-*.yaml``; cited
per test.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from kestra_airflow_sdk.flows import ExecutionState, Flow, FlowValidationError, Observer
from kestra_airflow_sdk.flows.errors import InvalidInputsError
from kestra_airflow_sdk.flows.execution import Execution, NotPausedError, TaskRun, WaitRequest
from kestra_airflow_sdk.runner import FlowRunner, TextReporter
from tests.runner.core_flows import states, tasks_flow
from tests.virtual_time import run_virtual_timed


class OnPause(Observer):
    """Calls ``act(execution, task_run)`` when a task pauses (on the runner's loop)."""

    def __init__(self, act: Any) -> None:
        self.act = act
        self.paused: list[tuple[str, str]] = []
        self.resumed: list[str] = []

    def task_paused(self, execution: Execution, task_run: TaskRun) -> None:
        self.paused.append((task_run.task_id, execution.state.value))
        self.act(execution, task_run)

    def task_resumed(self, execution: Execution, task_run: TaskRun) -> None:
        self.resumed.append(task_run.task_id)


def run(text: str, **options: Any) -> tuple[Execution, float]:
    options.setdefault("progress", False)
    return run_virtual_timed(FlowRunner(Flow.from_yaml(text), **options).run())


PAUSE_ON_RESUME = tasks_flow(
    """
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
    pauseDuration: PT1H
    onResume:
      - id: asked
        type: STRING
      - id: count
        type: INT
        required: false
  - id: last
    type: io.kestra.plugin.core.output.OutputValues
    values:
      asked: "{{ outputs.pause.onResume.asked }}"
"""
)


# ---------------------------------------------------------------------- Pause


def test_pause_resumes_after_its_duration_paused_meanwhile() -> None:
    # Pause.java: behavior RESUME (default) goes on once pauseDuration passed; the task run and the
    # execution are PAUSED meanwhile (ExecutorService.handlePausedDelay sets the execution PAUSED)
    seen = OnPause(lambda execution, task_run: None)
    execution, elapsed = run(
        tasks_flow(
            """
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
    pauseDuration: PT5M
  - id: last
    type: io.kestra.plugin.core.debug.Return
    format: after
"""
        ),
        observers=[seen],
    )
    assert elapsed == 300
    assert seen.paused == [("pause", "PAUSED")] and seen.resumed == ["pause"]
    assert states(execution) == {"pause": "SUCCESS", "last": "SUCCESS"}
    assert execution.state is ExecutionState.SUCCESS
    assert "pause" not in execution.outputs  # no onResume declared: no output


def test_pause_resumed_early_gives_its_inputs_as_outputs() -> None:
    # pause_on_resume.yaml / PauseTest: the onResume inputs become outputs.pause.onResume, typed
    seen = OnPause(lambda execution, task_run: execution.resume({"asked": "restarted", "count": "3"}))
    execution, elapsed = run(PAUSE_ON_RESUME, observers=[seen])
    assert elapsed == 0  # resumed before the hour passed
    assert execution.outputs["pause"] == {"onResume": {"asked": "restarted", "count": 3}}
    assert execution.outputs["last"] == {"values": {"asked": "restarted"}}
    assert execution.state is ExecutionState.SUCCESS


def test_resume_from_another_thread() -> None:
    # a Pause without duration nor timeout waits until resumed (Pause.java); here by a second thread
    paused = threading.Event()
    found: dict[str, Execution] = {}

    def mark(execution: Execution, task_run: TaskRun) -> None:
        found["execution"] = execution
        paused.set()

    def resumer() -> None:
        assert paused.wait(timeout=60)
        found["execution"].resume({"asked": "from a thread"}, task_id="pause")

    flow = PAUSE_ON_RESUME.replace("    pauseDuration: PT1H\n", "")
    thread = threading.Thread(target=resumer)
    thread.start()
    execution, elapsed = run(flow, observers=[OnPause(mark)])
    thread.join()
    assert execution.outputs["last"] == {"values": {"asked": "from a thread"}}
    assert execution.state is ExecutionState.SUCCESS and elapsed == 0


def test_runner_resume_validates_inputs_in_the_callers_thread() -> None:
    problems: list[str] = []

    def act(execution: Execution, task_run: TaskRun) -> None:
        for bad in ({"count": "3"}, {"asked": "x", "count": "three"}, {"asked": "x", "other": 1}):
            with pytest.raises(InvalidInputsError) as caught:
                execution.resume(bad)
            problems.append(str(caught.value))
        with pytest.raises(NotPausedError, match="no Approval task"):
            execution.approve()
        with pytest.raises(NotPausedError, match="no Pause task 'nope'"):
            execution.resume({"asked": "x"}, task_id="nope")
        execution.resume({"asked": "fine"})

    execution, _ = run(PAUSE_ON_RESUME, observers=[OnPause(act)])
    assert execution.state is ExecutionState.SUCCESS
    assert "task 'pause' onResume" in problems[0] and "asked" in problems[0]
    assert "count" in problems[1] and "three" in problems[1]
    assert "other" in problems[2]


def test_resume_when_nothing_is_paused() -> None:
    runner = FlowRunner(Flow.from_yaml(PAUSE_ON_RESUME), progress=False)
    with pytest.raises(NotPausedError, match="no Pause task is waiting"):
        runner.resume({"asked": "x"})
    execution = Execution(id="e", namespace="n", flow_id="f")
    with pytest.raises(NotPausedError, match="not running locally"):
        execution.resume()


@pytest.mark.parametrize(
    ("behavior", "pause_state", "execution_state", "last_ran"),
    [
        ("RESUME", "SUCCESS", ExecutionState.SUCCESS, True),
        ("WARN", "WARNING", ExecutionState.WARNING, True),
        ("FAIL", "FAILED", ExecutionState.FAILED, False),
        ("CANCEL", "CANCELLED", ExecutionState.CANCELLED, False),
    ],
)
def test_pause_behavior_when_its_duration_passed(
    behavior: str, pause_state: str, execution_state: ExecutionState, last_ran: bool
) -> None:
    # Pause.Behavior: RESUME continues, WARN ends the Pause WARNING, FAIL fails it, CANCEL cancels
    # the execution (ExecutorService.handlePausedDelay: the delay's state is behavior.mapToState())
    execution, elapsed = run(
        tasks_flow(
            f"""
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
    pauseDuration: PT10M
    behavior: {behavior}
  - id: last
    type: io.kestra.plugin.core.debug.Return
    format: after
"""
        )
    )
    assert elapsed == 600
    assert states(execution).get("pause") == pause_state
    assert ("last" in states(execution)) is last_ran
    assert execution.state is execution_state


def test_text_reporter_tells_pause_and_resume() -> None:
    lines: list[str] = []
    run(
        PAUSE_ON_RESUME,
        observers=[TextReporter(lines.append), OnPause(lambda e, t: e.resume({"asked": "a"}))],
    )
    assert "[pause] PAUSED: waiting to be resumed" in lines
    assert lines.index("[pause] resumed") > lines.index("[pause] PAUSED: waiting to be resumed")


def test_pause_resumed_early_ignores_its_behavior() -> None:
    # Pause.java: "Tasks that are resumed before the duration ... will always succeed"
    execution, elapsed = run(
        tasks_flow(
            """
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
    pauseDuration: PT10M
    behavior: FAIL
"""
        ),
        observers=[OnPause(lambda execution, task_run: execution.resume())],
    )
    assert (execution.state, elapsed) == (ExecutionState.SUCCESS, 0)


def test_pause_timeout_without_duration_fails_the_task() -> None:
    # pause-timeout.yaml / handlePausedDelay: no pauseDuration, a timeout → the task run FAILED
    execution, elapsed = run(
        tasks_flow(
            """
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
    timeout: PT1S
  - id: last
    type: io.kestra.plugin.core.debug.Return
    format: after
"""
        )
    )
    assert elapsed == 1
    assert states(execution) == {"pause": "FAILED"}
    assert execution.state is ExecutionState.FAILED
    assert "not resumed within its timeout PT1S" in (execution.task_run("pause").error or "")


def test_pause_delay_and_tasks_of_kestra_1_3() -> None:
    # pause-delay.yaml: the deprecated delay is pauseDuration; the deprecated tasks run after it
    execution, elapsed = run(
        tasks_flow(
            """
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
    delay: PT1S
    tasks:
      - id: subtask
        type: io.kestra.plugin.core.log.Log
        message: after the pause
  - id: last
    type: io.kestra.plugin.core.debug.Return
    format: "{{ task.id }}"
"""
        )
    )
    assert elapsed == 1
    assert states(execution) == {"pause": "SUCCESS", "subtask": "SUCCESS", "last": "SUCCESS"}


def test_pause_duration_from_an_input() -> None:
    # pause-delay-from-input.yaml: pauseDuration is rendered
    header = "inputs:\n  - id: wait\n    type: DURATION\n    defaults: PT42S\n"
    flow = tasks_flow(
        """
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
    pauseDuration: "{{ inputs.wait }}"
""",
        header,
    )
    assert run(flow)[1] == 42


def test_pause_behavior_is_checked() -> None:
    execution, _ = run(
        tasks_flow(
            """
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
    pauseDuration: PT1S
    behavior: "{{ 'SOMETIMES' }}"
"""
        )
    )
    assert execution.state is ExecutionState.FAILED
    assert "behavior: expected one of RESUME, WARN, FAIL, CANCEL, got 'SOMETIMES'" in (
        execution.task_run("pause").error or ""
    )


# ---------------------------------------------------------------------- LoopUntil / WaitFor

WAITFOR_MULTIPLE = tasks_flow(
    """
  - id: waitfor
    type: io.kestra.plugin.core.flow.WaitFor
    condition: "{{ outputs.output_values.values.count == '4' }}"
    checkFrequency:
      interval: PT10S
    tasks:
      - id: echo
        type: io.kestra.plugin.core.log.Log
        message: "looping ..."
      - id: output_values
        type: io.kestra.plugin.core.output.OutputValues
        values:
          count: "{{ outputs.waitfor.iterationCount + 1 }}"
"""
)


def test_waitfor_until_its_condition_holds() -> None:
    # waitfor-multiple-tasks.yaml / LoopUntilCaseTest.waitforMultipleTasks: SUCCESS, iterationCount 3,
    # the last values.count "4"; iterations are checkFrequency.interval apart
    execution, elapsed = run(WAITFOR_MULTIPLE)
    assert execution.state is ExecutionState.SUCCESS
    assert execution.outputs["waitfor"] == {"iterationCount": 3}
    assert execution.outputs["output_values"] == {"values": {"count": "4"}}
    assert elapsed == 20
    assert [e.message for e in execution.logs].count("looping ...") == 3


def test_loop_until_is_the_same_task() -> None:
    execution, _ = run(WAITFOR_MULTIPLE.replace("flow.WaitFor", "flow.LoopUntil"))
    assert execution.outputs["waitfor"] == {"iterationCount": 3}
    assert execution.task_run("waitfor").type == "io.kestra.plugin.core.flow.LoopUntil"


def test_waitfor_condition_true_at_once() -> None:
    # waitfor.yaml / LoopUntilCaseTest.waitfor: iterationCount 1
    execution, elapsed = run(
        tasks_flow(
            """
  - id: waitfor
    type: io.kestra.plugin.core.flow.WaitFor
    condition: "{{ outputs.output_values.values.count != '4' }}"
    tasks:
      - id: output_values
        type: io.kestra.plugin.core.output.OutputValues
        values:
          count: "{{ outputs.waitfor.iterationCount + 1 }}"
"""
        )
    )
    assert (execution.state, execution.outputs["waitfor"], elapsed) == (
        ExecutionState.SUCCESS,
        {"iterationCount": 1},
        0,
    )


@pytest.mark.parametrize(
    ("fail", "state"), [("true", ExecutionState.FAILED), ("false", ExecutionState.SUCCESS)]
)
def test_waitfor_max_iterations(fail: str, state: ExecutionState) -> None:
    # waitfor-max-iterations.yaml (failOnMaxReached) and waitfor-no-success.yaml (without): the loop
    # stops at maxIterations, logs "Max iterations reached", FAILED only with failOnMaxReached
    execution, elapsed = run(
        tasks_flow(
            f"""
  - id: waitfor
    type: io.kestra.plugin.core.flow.WaitFor
    condition: "{{{{ outputs.output_values.values.count == '10' }}}}"
    checkFrequency:
      maxIterations: 3
      interval: PT0.2S
    failOnMaxReached: {fail}
    tasks:
      - id: output_values
        type: io.kestra.plugin.core.output.OutputValues
        values:
          count: "{{{{ outputs.waitfor.iterationCount + 1 }}}}"
"""
        )
    )
    assert execution.state is state
    assert execution.outputs["waitfor"] == {"iterationCount": 3}
    assert elapsed == pytest.approx(0.4)
    assert ("WARN", "Max iterations reached") in [(e.level, e.message) for e in execution.logs]


def test_waitfor_max_duration() -> None:
    # waitfor-max-duration.yaml / LoopUntilCaseTest.waitforMaxDuration: FAILED once PT5S passed
    execution, elapsed = run(
        tasks_flow(
            """
  - id: waitfor
    type: io.kestra.plugin.core.flow.WaitFor
    condition: "{{ outputs.output_values.values.count == '-5' }}"
    checkFrequency:
      maxDuration: PT5S
      interval: PT2S
    failOnMaxReached: true
    tasks:
      - id: output_values
        type: io.kestra.plugin.core.output.OutputValues
        values:
          count: "{{ outputs.waitfor.iterationCount + 1 }}"
"""
        )
    )
    assert execution.state is ExecutionState.FAILED
    assert elapsed == 6  # iterations at 0, 2, 4, 6 s: after the one at 6 s, 5 s have passed
    assert execution.outputs["waitfor"] == {"iterationCount": 4}
    assert "Max duration reached" in (execution.task_run("waitfor").error or "")


def test_waitfor_child_failure_fails_it() -> None:
    # waitfor-multiple-tasks-failed.yaml: a failed child ends the loop FAILED (no further iteration)
    execution, _ = run(
        tasks_flow(
            """
  - id: waitfor
    type: io.kestra.plugin.core.flow.WaitFor
    condition: "{{ false }}"
    tasks:
      - id: fail
        type: io.kestra.plugin.core.execution.Fail
"""
        )
    )
    assert execution.state is ExecutionState.FAILED
    assert [r.task_id for r in execution.task_runs] == ["waitfor", "fail"]


@pytest.mark.parametrize(("kestra", "interval", "iterations"), [("1.3", 1, 100), ("2.0", 60, None)])
def test_check_frequency_defaults_follow_the_kestra_version(
    kestra: str, interval: float, iterations: int | None
) -> None:
    # flows-changes.md "LoopUntil defaults changed" (1.3: PT1S, 100, PT1H; 2.0: PT1M, unlimited)
    flow = Flow.from_yaml(
        tasks_flow(
            """
  - id: waitfor
    type: io.kestra.plugin.core.flow.WaitFor
    condition: "{{ outputs.waitfor.iterationCount == 150 }}"
    tasks:
      - id: log
        type: io.kestra.plugin.core.log.Log
        message: x
"""
        ),
        kestra=kestra,
    )
    execution, elapsed = run_virtual_timed(FlowRunner(flow, progress=False).run())
    count = execution.outputs["waitfor"]["iterationCount"]
    assert count == (iterations or 150)
    assert elapsed == (count - 1) * interval


def test_bad_check_frequency_is_refused() -> None:
    with pytest.raises(FlowValidationError, match="duration"):
        Flow.from_yaml(
            WAITFOR_MULTIPLE.replace("interval: PT10S", "interval: 10s"),
        )
    execution, _ = run(
        WAITFOR_MULTIPLE.replace("interval: PT10S", "interval: PT1S\n      maxIterations: zero")
    )
    assert "checkFrequency.maxIterations: expected a positive whole number, got 'zero'" in (
        execution.task_run("waitfor").error or ""
    )


# ---------------------------------------------------------------------- Approval (Kestra 2.0)

APPROVAL = tasks_flow(
    """
  - id: approval
    type: io.kestra.plugin.core.flow.Approval
    onWait:
      - id: notify
        type: io.kestra.plugin.core.log.Log
        message: "Approval requested"
    onApprove:
      - id: approved
        type: io.kestra.plugin.core.log.Log
        message: "Approved"
    onDeny:
      - id: denied
        type: io.kestra.plugin.core.log.Log
        message: "Denied"
  - id: last
    type: io.kestra.plugin.core.debug.Return
    format: "{{ task.id }}"
"""
)


def test_approval_approved_runs_on_approve_then_goes_on() -> None:
    # approval-basic.yaml / ApprovalTest: onWait, PAUSED, approve → onApprove, CONTINUE: the flow goes on
    seen = OnPause(lambda execution, task_run: execution.approve(comment="looks good"))
    execution, _ = run(APPROVAL, observers=[seen])
    assert seen.paused == [("approval", "PAUSED")]
    assert states(execution) == {
        "approval": "SUCCESS",
        "notify": "SUCCESS",
        "approved": "SUCCESS",
        "last": "SUCCESS",
    }
    outputs = execution.outputs["approval"]
    assert (outputs["decision"], outputs["auto"], outputs["comment"], outputs["inputs"]) == (
        "APPROVED",
        False,
        "looks good",
        {},
    )
    assert execution.state is ExecutionState.SUCCESS


def test_approval_denied_cancels_the_execution() -> None:
    # Approval.java: onDeny always runs on a denial; denyBehavior CANCEL (default) then cancels
    execution, _ = run(APPROVAL, observers=[OnPause(lambda execution, task_run: execution.deny())])
    assert states(execution) == {"approval": "CANCELLED", "notify": "SUCCESS", "denied": "SUCCESS"}
    assert execution.state is ExecutionState.CANCELLED
    assert execution.outputs["approval"]["decision"] == "DENIED"


def test_approval_deny_behavior_fail() -> None:
    flow = APPROVAL.replace("    onWait:\n", "    denyBehavior: FAIL\n    onWait:\n", 1)
    execution, _ = run(flow, approve=False)
    assert states(execution)["approval"] == "FAILED" and execution.state is ExecutionState.FAILED


def test_approval_expires_at_its_timeout() -> None:
    # approval-expire.yaml: no decision within timeout → EXPIRED, no branch runs, finally runs,
    # expireBehavior CANCEL (default)
    flow = APPROVAL.replace(
        "    onWait:\n",
        "    timeout: PT1H\n    finally:\n      - id: cleanup\n"
        "        type: io.kestra.plugin.core.log.Log\n        message: Cleanup\n    onWait:\n",
        1,
    )
    execution, elapsed = run(flow)
    assert elapsed == 3600
    assert states(execution) == {"approval": "CANCELLED", "notify": "SUCCESS", "cleanup": "SUCCESS"}
    assert execution.outputs["approval"]["decision"] == "EXPIRED"
    assert execution.outputs["approval"]["due"].startswith("20")
    assert execution.state is ExecutionState.CANCELLED


def test_approval_auto_approve() -> None:
    # approval-auto-approve-conditional.yaml: autoApprove (rendered) skips onWait and the pause;
    # onApprove runs with auto: true
    header = "inputs:\n  - id: autoApprove\n    type: BOOL\n    defaults: true\n"
    flow = tasks_flow(APPROVAL.split("tasks:\n", 1)[1], header).replace(
        "    onWait:\n", '    autoApprove: "{{ inputs.autoApprove }}"\n    onWait:\n', 1
    )
    seen = OnPause(lambda execution, task_run: None)
    execution, elapsed = run(flow, observers=[seen])
    assert seen.paused == [] and elapsed == 0
    assert states(execution) == {"approval": "SUCCESS", "approved": "SUCCESS", "last": "SUCCESS"}
    assert execution.outputs["approval"] == {"decision": "APPROVED", "auto": True}


def test_approval_callback_with_inputs() -> None:
    # approval-inputs.yaml: the review's inputs are typed and given as outputs.<id>.inputs
    asked: list[WaitRequest] = []

    def decide(request: WaitRequest) -> dict[str, Any]:
        asked.append(request)
        return {"decision": "APPROVED", "inputs": {"amount": "12"}, "comment": "ok"}

    flow = APPROVAL.replace(
        "    onWait:\n", "    inputs:\n      - id: amount\n        type: INT\n    onWait:\n", 1
    ).replace('message: "Approved"', 'message: "Approved {{ outputs.approval.inputs.amount + 1 }}"')
    execution, _ = run(flow, approve=decide)
    assert [(r.task_id, r.kind, r.inputs, r.approve_label) for r in asked] == [
        ("approval", "approval", ("amount",), "Approve")
    ]
    assert execution.outputs["approval"]["inputs"] == {"amount": 12}
    assert "Approved 13" in [e.message for e in execution.logs]


def test_approval_comment_required() -> None:
    flow = APPROVAL.replace("    onWait:\n", "    commentRequired: ON_DENY\n    onWait:\n", 1)

    def act(execution: Execution, task_run: TaskRun) -> None:
        with pytest.raises(FlowValidationError, match="commentRequired is ON_DENY"):
            execution.deny()
        execution.deny(comment="too expensive")

    execution, _ = run(flow, observers=[OnPause(act)])
    assert execution.outputs["approval"]["comment"] == "too expensive"


def test_approve_option_is_checked() -> None:
    with pytest.raises(FlowValidationError, match="approve: expected True, False, a callable or None"):
        FlowRunner(Flow.from_yaml(APPROVAL), approve="yes")  # type: ignore[arg-type]


def test_approval_is_a_kestra_2_task() -> None:
    assert Flow.from_yaml(APPROVAL).kestra == "2.0"
