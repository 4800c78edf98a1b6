"""Kestra's core runnable tasks run locally: Return, Fail, OutputValues, Sleep, Exit (+ legacy names).

Expected results come from Kestra's own test flows and tests (kestra-io/kestra,
core/src/test/resources/flows/valids/*.yaml and core/src/test/java/...), cited per test.
"""

from __future__ import annotations

import pytest

from kestra_airflow_sdk.flows import ExecutionState, Flow, FlowValidationError, UnsupportedTaskError
from kestra_airflow_sdk.flows.task import Task
from kestra_airflow_sdk.runner.dispatch import Runnable, core_tasks
from kestra_airflow_sdk.runner.executors import TaskContext, TaskFailedError
from kestra_airflow_sdk.wiring import Runtime
from tests.runner.core_flows import Timeline, run, states, tasks_flow
from tests.virtual_time import run_virtual_timed


def test_return_outputs_value_and_flow_outputs() -> None:
    # flows/valids/flow-with-outputs.yml; FlowOutputTest: execution output "key" is the JSON of
    # the task's outputs, {"value":"flow-with-outputs"}
    execution = run(
        """
id: flow-with-outputs
namespace: io.kestra.tests
tasks:
- id: return
  type: io.kestra.plugin.core.debug.Return
  format: "{{ flow.id }}"
outputs:
- id: "key"
  value: "{{ outputs.return }}"
  type: STRING
"""
    )
    assert execution.state is ExecutionState.SUCCESS
    assert execution.outputs["return"] == {"value": "flow-with-outputs"}
    assert execution.flow_outputs == {"key": '{"value":"flow-with-outputs"}'}
    assert [(e.level, e.message) for e in execution.logs] == [("DEBUG", "flow-with-outputs")]


def test_legacy_type_names_run() -> None:
    # Return.java: aliases = "io.kestra.core.tasks.debugs.Return"; Fail.java: "io.kestra.core.tasks.executions.Fail"
    execution = run(
        """
id: legacy
namespace: n
tasks:
- id: r
  type: io.kestra.core.tasks.debugs.Return
  format: "{{ task.type }}"
- id: f
  type: io.kestra.core.tasks.executions.Fail
  condition: "false"
"""
    )
    assert execution.state is ExecutionState.SUCCESS
    assert execution.outputs["r"]["value"] == "io.kestra.core.tasks.debugs.Return"


FAIL_ON_CONDITION = """
id: fail-on-condition
namespace: io.kestra.tests
inputs:
  - id: param
    type: BOOLEAN
tasks:
  - id: before
    type: io.kestra.plugin.core.debug.Return
    format: I'm before the fail on condition
  - id: fail
    type: io.kestra.plugin.core.execution.Fail
    condition: '{{ inputs.param }}'
    errorMessage: "param was {{ inputs.param }}"
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: I'm after the fail on condition
"""


def test_fail_on_a_true_condition() -> None:
    # flows/valids/fail-on-condition.yaml (condition on an input; Kestra's FailTest: FAILED, 2 task
    # runs); Fail.java: the rendered errorMessage is logged as ERROR, the error is "Fail on a condition"
    execution = run(FAIL_ON_CONDITION, inputs={"param": True})
    assert execution.state is ExecutionState.FAILED
    assert states(execution) == {"before": "SUCCESS", "fail": "FAILED"}
    assert execution.task_run("fail").error == "Fail on a condition"
    errors = [(e.task_id, e.message) for e in execution.logs if e.level == "ERROR"]
    assert errors == [("fail", "param was true"), ("fail", "Fail on a condition")]


def test_fail_on_a_false_condition_succeeds() -> None:
    # FailTest: with a condition that renders false, the execution succeeds with 3 task runs
    execution = run(FAIL_ON_CONDITION, inputs={"param": False})
    assert execution.state is ExecutionState.SUCCESS
    assert list(states(execution)) == ["before", "fail", "after"]


@pytest.mark.parametrize("falsy", ["0", "-0", "", "false"])
def test_fail_condition_truthiness_is_kestras(falsy: str) -> None:
    # TruthUtils.isTruthy: "false", "0", "-0" and "" are false, everything else true
    flow = Flow.from_yaml(
        "id: f\nnamespace: n\ntasks:\n  - id: fail\n    type: io.kestra.plugin.core.execution.Fail\n"
        f"    condition: '{falsy}'\n"
    )
    assert run(flow).state is ExecutionState.SUCCESS
    truthy = Flow.from_yaml(flow.to_yaml().replace(f"condition: '{falsy}'", "condition: 'no'"))
    assert run(truthy).state is ExecutionState.FAILED


def test_fail_without_condition_fails_with_its_message() -> None:
    # Fail.java: no condition → the task fails with errorMessage (default "Task failure")
    execution = run(
        "id: f\nnamespace: n\ntasks:\n  - id: ko\n    type: io.kestra.plugin.core.execution.Fail\n"
        "  - id: never\n    type: io.kestra.plugin.core.debug.Return\n    format: x\n"
    )
    assert execution.state is ExecutionState.FAILED
    assert execution.task_run("ko").error == "Task failure"
    assert [(e.level, e.task_id, e.message) for e in execution.logs] == [("ERROR", "ko", "Task failure")]
    assert "never" not in states(execution)


def test_output_values() -> None:
    # flows/valids/output-values.yml; OutputValuesTest: outputs.values has output1 "xyz", output2
    # "abc" and the rendered taskInfo
    execution = run(
        """
id: output-values
namespace: io.kestra.tests
tasks:
  - id: return
    type: io.kestra.plugin.core.output.OutputValues
    values:
      output1: xyz
      output2: abc
      taskInfo: "{{ task.id }}"
      nested: {count: 3, list: ["{{ flow.id }}"]}
"""
    )
    values = execution.outputs["return"]["values"]
    assert values == {
        "output1": "xyz",
        "output2": "abc",
        "taskInfo": "return",
        "nested": {"count": 3, "list": ["output-values"]},
    }


def test_sleep_takes_its_duration_on_the_loop_clock() -> None:
    # Sleep.java: logs "Waiting for <duration>" and sleeps that long
    flow = Flow.from_yaml(
        "id: f\nnamespace: n\ntasks:\n  - id: nap\n    type: io.kestra.plugin.core.flow.Sleep\n    duration: PT1H\n"
    )
    execution, elapsed = run_virtual_timed(flow.arun(progress=False))
    assert execution.state is ExecutionState.SUCCESS
    assert elapsed == 3600
    assert [e.message for e in execution.logs] == ["Waiting for PT1H"]


def test_timeout_and_retry_on_a_sleep() -> None:
    # task timeout fails the attempt; retry (constant, maxAttempts 3, interval PT10S) tries again
    flow = Flow.from_yaml(
        tasks_flow(
            """
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT1H
    timeout: PT1M
    retry: {type: constant, maxAttempts: 3, interval: PT10S}
"""
        )
    )
    execution, elapsed = run_virtual_timed(flow.arun(progress=False))
    nap = execution.task_run("nap")
    assert (execution.state, nap.state, nap.attempt) == (ExecutionState.FAILED, ExecutionState.FAILED, 3)
    assert elapsed == 3 * 60 + 2 * 10
    assert "did not finish within its timeout PT1M" in (nap.error or "")
    assert [e.attempt for e in execution.logs if e.level == "ERROR"] == [1, 2, 3]


def test_sleep_duration_must_be_iso() -> None:
    with pytest.raises(FlowValidationError, match="duration"):
        Flow.from_yaml(
            "id: f\nnamespace: n\ntasks:\n  - id: s\n    type: io.kestra.plugin.core.flow.Sleep\n    duration: 5s\n"
        )


EXIT = """
id: exit
namespace: company.team
tasks:
  - id: before
    type: io.kestra.plugin.core.debug.Return
    format: before
  - id: exit
    type: io.kestra.plugin.core.execution.Exit
    state: {state}
  - id: end
    type: io.kestra.plugin.core.log.Log
    message: I'm ending
finally:
  - id: cleanup
    type: io.kestra.plugin.core.log.Log
    message: never after an Exit
"""


@pytest.mark.parametrize("state", ["SUCCESS", "WARNING", "FAILED", "KILLED"])
def test_exit_ends_the_execution_in_its_state(state: str) -> None:
    # Exit plugin doc (kestra.io/plugins/core/execution/io.kestra.plugin.core.execution.exit):
    # "terminate an execution in the state defined by the property state"; the tasks after it do not run
    execution = run(EXIT.replace("{state}", state))
    assert execution.state is ExecutionState(state)
    assert list(states(execution)) == ["before", "exit"]
    assert execution.task_run("exit").state is ExecutionState(state)


def test_exit_killed_kills_running_siblings_other_states_let_them_end() -> None:
    # Exit doc: "if this execution has running tasks, for example in a parallel branch, the tasks will
    # not be terminated except if state is set to KILLED"
    template = """
id: exit
namespace: company.team
tasks:
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: long
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT1H
      - id: branch
        type: io.kestra.plugin.core.flow.Sequential
        tasks:
          - id: short
            type: io.kestra.plugin.core.flow.Sleep
            duration: PT1M
          - id: exit
            type: io.kestra.plugin.core.execution.Exit
            state: {state}
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: never
"""
    killed, elapsed = run_virtual_timed(
        Flow.from_yaml(template.replace("{state}", "KILLED")).arun(progress=False)
    )
    assert killed.state is ExecutionState.KILLED and elapsed == 60
    assert states(killed) == {
        "parallel": "KILLED",
        "long": "KILLED",
        "branch": "KILLED",
        "short": "SUCCESS",
        "exit": "KILLED",
    }
    warned, elapsed = run_virtual_timed(
        Flow.from_yaml(template.replace("{state}", "WARNING")).arun(progress=False)
    )
    assert warned.state is ExecutionState.WARNING and elapsed == 3600
    assert warned.task_run("long").state is ExecutionState.SUCCESS
    assert "after" not in states(warned)


def test_exit_refuses_an_unknown_state() -> None:
    with pytest.raises(FlowValidationError, match="state"):
        Flow.from_yaml(
            "id: f\nnamespace: n\ntasks:\n  - id: e\n    type: io.kestra.plugin.core.execution.Exit\n    state: DONE\n"
        )


def test_timeline_helper_sees_virtual_time() -> None:
    timeline = Timeline()
    flow = Flow.from_yaml(
        "id: f\nnamespace: n\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.flow.Sleep\n    duration: PT5S\n"
        "  - id: b\n    type: io.kestra.plugin.core.flow.Sleep\n    duration: PT7S\n"
    )
    run(flow, observers=[timeline])
    assert (timeline.started("b"), timeline.ended("b")) == (5, 12)


def test_exit_state_may_be_an_expression_and_cancelled_is_refused() -> None:
    # Exit.java: state is a Property<ExitState> (rendered), SUCCESS/WARNING/KILLED/FAILED/CANCELLED;
    # the Exit task run ends in that state (resolveState)
    flow = Flow.from_yaml(
        "id: f\nnamespace: n\ninputs:\n  - id: s\n    type: STRING\ntasks:\n"
        "  - id: e\n    type: io.kestra.plugin.core.execution.Exit\n    state: '{{ inputs.s }}'\n"
    )
    assert run(flow, inputs={"s": "WARNING"}).state is ExecutionState.WARNING
    wrong = run(flow, inputs={"s": "DONE"})
    assert wrong.state is ExecutionState.FAILED
    assert "'DONE' is not a state a local execution can end in" in (wrong.task_run("e").error or "")
    cancelled = Flow.from_yaml(flow.to_yaml().replace('"{{ inputs.s }}"', "CANCELLED"))
    with pytest.raises(UnsupportedTaskError, match="state CANCELLED is not supported locally"):
        run(cancelled, inputs={"s": "x"})


def test_secrets_stay_masked_in_outputs_logs_and_errors() -> None:
    flow = Flow.from_yaml(
        tasks_flow(
            """
  - id: r
    type: io.kestra.plugin.core.debug.Return
    format: "token={{ secret('TOKEN') }}"
  - id: v
    type: io.kestra.plugin.core.output.OutputValues
    values:
      token: "{{ secret('TOKEN') }}"
  - id: ko
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: "bad {{ secret('TOKEN') }}"
"""
        )
    )
    execution = run(flow, secrets={"TOKEN": "s3cr3t-value"})
    assert execution.outputs["r"]["value"].get_secret_value() == "token=s3cr3t-value"
    assert execution.outputs["v"]["values"]["token"].get_secret_value() == "s3cr3t-value"
    everything = repr(execution.outputs) + repr(execution.logs) + repr(execution.task_runs)
    assert "s3cr3t" not in everything
    assert execution.state is ExecutionState.FAILED


class Flaky(Task):
    """A test task that fails while ``taskrun.attemptsCount`` is below ``succeed_at``."""

    succeed_at: int = 3


async def _run_flaky(task: Flaky, ctx: TaskContext) -> None:
    count = int(ctx.renderer.render("{{ taskrun.attemptsCount }}"))
    if count < task.succeed_at:
        raise TaskFailedError(f"attemptsCount was {count}")


#: the SDK's runtime with a task type of one's own added to its table
WITH_FLAKY = Runtime(tasks=core_tasks().with_tasks({Flaky: Runnable(_run_flaky)}))


@pytest.mark.filterwarnings("error")  # a task type of one's own serializes without a pydantic warning
def test_attempts_count_and_warning_on_retry() -> None:
    # flows/valids/retry-success.yaml; RetryCaseTest.retrySuccess: a task that succeeds when
    # taskrun.attemptsCount == 3 with maxAttempt 4 and warningOnRetry ends WARNING after 4 attempts
    # (RunVariables: attemptsCount counts the attempts before the current one, 0 at first)
    retry = {
        "type": "constant",
        "interval": "PT0.250S",
        "maxAttempt": 4,
        "maxDuration": "PT15S",
        "warningOnRetry": True,
    }
    flow = Flow("retry-success", "io.kestra.tests").task(Flaky(id="failed", type="test.Flaky", retry=retry))
    execution = run(flow, runtime=WITH_FLAKY)
    failed = execution.task_run("failed")
    assert (execution.state, failed.state, failed.attempt) == (
        ExecutionState.WARNING,
        ExecutionState.WARNING,
        4,
    )
    assert [e.message for e in execution.logs] == [f"attemptsCount was {n}" for n in range(3)]
    # RetryCaseTest.retrySuccessAtFirstAttempt: no retry needed → SUCCESS, one attempt
    once_flow = Flow("f", "n").task(Flaky(id="ok", type="test.Flaky", succeed_at=0, retry=retry))
    assert once_flow.to_dict()["tasks"][0]["succeedAt"] == 0  # exported as what it is
    once = run(once_flow, runtime=WITH_FLAKY)
    assert (once.state, once.task_run("ok").attempt) == (ExecutionState.SUCCESS, 1)


def test_a_task_type_the_runtime_has_no_handler_for_is_refused_before_the_run() -> None:
    """One way to fail for a missing piece: the table has nothing for the type, the run does not start."""
    flow = Flow("f", "n").task(Flaky(id="flaky", type="test.Flaky", succeed_at=0))
    with pytest.raises(UnsupportedTaskError, match=r"task\(s\) 'flaky' \(test.Flaky\) have a type") as info:
        run(flow)
    assert "io.kestra.plugin.core.log.Log" in str(info.value)
    assert run(flow, runtime=WITH_FLAKY).state is ExecutionState.SUCCESS
