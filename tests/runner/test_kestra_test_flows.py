"""Kestra's own test flows, as the project's own minimal flows: each case reproduces one flow of
kestra-io/kestra ``core/src/test/resources/flows/valids`` (not copied: rewritten small, with the
SDK's task set) and asserts what the Java test that runs it asserts (cited above each case; the
sources read at kestra-io/kestra@58c1ca2d05, FinallyTest and the finally-flow-* flows at a later
revision of kestra-io/kestra; the Java test's assertion is the expected result)."""

from __future__ import annotations

from typing import Any

import pytest

from kestra_airflow_sdk.flows import ExecutionState, Flow
from tests.runner.core_flows import run, states, tasks_flow

STRING_INPUT = "inputs:\n  - id: param\n    type: STRING\n"


def _run(tasks: str, header: str = "", **inputs: Any) -> Any:
    return run(Flow.from_yaml(tasks_flow(tasks, header)), inputs=inputs)


# ------------------------------------------------------------------ If / Switch

IF_ELSE = """
  - id: if
    type: io.kestra.plugin.core.flow.If
    condition: "{{ inputs.param }}"
    then:
      - id: when-true
        type: io.kestra.plugin.core.log.Log
        message: then
    else:
      - id: when-false
        type: io.kestra.plugin.core.log.Log
        message: else
"""


@pytest.mark.parametrize(
    ("param", "branch"),
    [
        ("true", "when-true"),
        ("1", "when-true"),
        ("false", "when-false"),
        ("0", "when-false"),
        ("-0", "when-false"),
    ],
)
def test_if_condition_truthy_and_falsy(param: str, branch: str) -> None:
    # IfTest#ifTruthy / #ifFalsy (if-condition.yaml): 2 task runs, the branch's task SUCCESS,
    # the execution SUCCESS; "false", 0 and -0 are falsy, "true" and 1 truthy
    execution = _run(IF_ELSE, STRING_INPUT, param=param)
    assert execution.state is ExecutionState.SUCCESS
    assert len(execution.task_runs) == 2
    assert states(execution) == {"if": "SUCCESS", branch: "SUCCESS"}


@pytest.mark.parametrize(("param", "count"), [("true", 2), ("false", 1)])
def test_if_without_else(param: str, count: int) -> None:
    # IfTest#ifWithoutElse (if-without-else.yaml): true -> 2 task runs; false -> only the If's,
    # no task run of `then`; SUCCESS both
    tasks = IF_ELSE.split("    else:")[0]
    execution = _run(tasks, STRING_INPUT, param=param)
    assert execution.state is ExecutionState.SUCCESS
    assert len(execution.task_runs) == count
    assert ("when-true" in states(execution)) is (param == "true")


def test_switch_without_a_matching_case_nor_defaults_fails() -> None:
    # SwitchTest#switchImpossible (switch-impossible.yaml): a value no case matches, defaults null:
    # the execution ends FAILED
    tasks = """
  - id: impossible
    type: io.kestra.plugin.core.flow.Switch
    value: "{{ inputs.param }}"
    cases:
      "NO":
        - id: never
          type: io.kestra.plugin.core.debug.Return
          format: never
"""
    execution = _run(tasks, STRING_INPUT, param="impossible")
    assert execution.state is ExecutionState.FAILED
    assert states(execution) == {"impossible": "FAILED"}
    # FlowableUtils.resolveState: "No task found on flow ..." at WARN
    (line,) = [e for e in execution.logs if e.task_id == "impossible"]
    assert line.level == "WARN" and line.message.startswith("No task found on flow 'n.f', task 'impossible'")


# ------------------------------------------------------------------ Fail, errors, AllowFailure

FAIL_ON = """
  - id: before
    type: io.kestra.plugin.core.log.Log
    message: before
  - id: fail
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ inputs.param == 'fail' }}"
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: after
"""


@pytest.mark.parametrize(("param", "count", "state"), [("fail", 2, "FAILED"), ("success", 3, "SUCCESS")])
def test_fail_on_condition(param: str, count: int, state: str) -> None:
    # FailTest#failOnCondition / #dontFailOnCondition (fail-on-condition.yaml): "fail" -> 2 task
    # runs, `fail` FAILED, execution FAILED; otherwise 3 task runs, `fail` SUCCESS, SUCCESS
    execution = _run(FAIL_ON, STRING_INPUT, param=param)
    assert len(execution.task_runs) == count
    assert states(execution)["fail"] == state and execution.state.value == state


ALLOW_FAILURE = """
  - id: first
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: allow
        type: io.kestra.plugin.core.flow.AllowFailure
        tasks:
          - id: seq
            type: io.kestra.plugin.core.flow.Sequential
            tasks:
              - id: ok
                type: io.kestra.plugin.core.debug.Return
                format: ok
              - id: ko
                type: io.kestra.plugin.core.execution.Fail
              - id: never
                type: io.kestra.plugin.core.debug.Return
                format: never
        errors:
          - id: local-error
            type: io.kestra.plugin.core.debug.Return
            format: local
      - id: todo
        type: io.kestra.plugin.core.debug.Return
        format: todo
  - id: switch
    type: io.kestra.plugin.core.flow.Switch
    value: "{{ inputs.crash is defined }}"
    cases:
      "true":
        - id: crash
          type: io.kestra.plugin.core.execution.Fail
    defaults:
      - id: last
        type: io.kestra.plugin.core.debug.Return
        format: last
errors:
  - id: global-error
    type: io.kestra.plugin.core.debug.Return
    format: global
"""
CRASH_INPUT = "inputs:\n  - id: crash\n    type: STRING\n    required: false\n"


def _allow_failure_control(found: dict[str, str]) -> None:
    # AllowFailureTest#control: the AllowFailure and its parent WARNING, the failed sequence and its
    # failed task FAILED, the task before SUCCESS, the AllowFailure's errors ran, the next task ran
    assert {k: found[k] for k in ("first", "allow", "seq", "ok", "ko", "local-error", "todo")} == {
        "first": "WARNING",
        "allow": "WARNING",
        "seq": "FAILED",
        "ok": "SUCCESS",
        "ko": "FAILED",
        "local-error": "SUCCESS",
        "todo": "SUCCESS",
    }
    assert "never" not in found


def test_allow_failure_without_crash() -> None:
    # AllowFailureTest#success (allow-failure.yaml): 9 task runs, no global error, `last` SUCCESS,
    # the execution WARNING
    text = tasks_flow(ALLOW_FAILURE.split("errors:\n  - id: global-error")[0], CRASH_INPUT)
    text += (
        "errors:\n  - id: global-error\n    type: io.kestra.plugin.core.debug.Return\n    format: global\n"
    )
    execution = run(Flow.from_yaml(text))
    found = states(execution)
    _allow_failure_control(found)
    assert len(execution.task_runs) == 9
    assert "global-error" not in found and found["last"] == "SUCCESS"
    assert execution.state is ExecutionState.WARNING


def test_allow_failure_with_crash() -> None:
    # AllowFailureTest#failed (allow-failure.yaml, crash=1): 10 task runs, the flow's errors ran
    # (SUCCESS), the Switch and its failing task FAILED, the execution FAILED
    text = tasks_flow(ALLOW_FAILURE.split("errors:\n  - id: global-error")[0], CRASH_INPUT)
    text += (
        "errors:\n  - id: global-error\n    type: io.kestra.plugin.core.debug.Return\n    format: global\n"
    )
    execution = run(Flow.from_yaml(text), inputs={"crash": "1"})
    found = states(execution)
    _allow_failure_control(found)
    assert len(execution.task_runs) == 10
    assert (found["global-error"], found["switch"], found["crash"]) == ("SUCCESS", "FAILED", "FAILED")
    assert execution.state is ExecutionState.FAILED


# ------------------------------------------------------------------ ForEach / Loop values


def test_foreach_with_a_null_value_fails_before_any_iteration() -> None:
    # EachSequentialTest#eachNullTest (each-null.yaml, Kestra 1.3): 1 task run (the ForEach), the
    # execution FAILED, an error line naming the null value
    tasks = """
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: '[1, null, {"key": "my-key"}]'
    tasks:
      - id: r
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }}"
  - id: end
    type: io.kestra.plugin.core.debug.Return
    format: end
"""
    execution = _run(tasks)
    assert execution.state is ExecutionState.FAILED
    assert [r.task_id for r in execution.task_runs] == ["each"]
    assert any("null" in e.message and e.level == "ERROR" for e in execution.logs)


def test_loop_with_a_null_value_fails_before_any_iteration() -> None:
    # the same document as a 2.0 Loop: FlowableUtils.resolveValues refuses a null value
    # ("Found a null value inside the iteration values"), no iteration runs, the execution FAILED
    tasks = """
  - id: each
    type: io.kestra.plugin.core.flow.Loop
    values: '[1, null, {"key": "my-key"}]'
    tasks:
      - id: r
        type: io.kestra.plugin.core.debug.Return
        format: "{{ item.value }}"
"""
    execution = _run(tasks)
    assert execution.state is ExecutionState.FAILED
    assert [r.task_id for r in execution.task_runs] == ["each"]
    assert any("null value" in e.message for e in execution.logs)


def test_nested_foreach_with_a_broken_condition_fails() -> None:
    # BadFlowableTest#flowableWithParentFail (flowable-with-parent-fail.yaml): an If inside nested
    # ForEach loops whose condition cannot render: 5 task runs (the outer loop; the inner loop and
    # the If of each of the two groups, started together), the execution FAILED
    tasks = """
  - id: outer
    type: io.kestra.plugin.core.flow.ForEach
    concurrencyLimit: 0
    values: ["A", "B"]
    tasks:
      - id: inner
        type: io.kestra.plugin.core.flow.ForEach
        concurrencyLimit: 0
        values: ['{"K": "v"}']
        tasks:
          - id: if
            type: io.kestra.plugin.core.flow.If
            condition: "{{ parents[0].taskrun.value == 'B' and missing.thing }}"
            then:
              - id: t
                type: io.kestra.plugin.core.log.Log
                message: t
"""
    execution = _run(tasks)
    assert execution.state is ExecutionState.FAILED
    assert len(execution.task_runs) == 5


# ------------------------------------------------------------------ flow outputs


def test_flow_output_of_a_map_as_string() -> None:
    # FlowOutputTest#shouldGetSuccessExecutionForFlowWithOutputs (flow-with-outputs.yml): a STRING
    # output of a task's outputs map is its JSON text; SUCCESS
    text = (
        tasks_flow('  - id: r\n    type: io.kestra.plugin.core.debug.Return\n    format: "{{ flow.id }}"\n')
        + 'outputs:\n  - id: key\n    type: STRING\n    value: "{{ outputs.r }}"\n'
    )
    execution = run(Flow.from_yaml(text))
    assert execution.state is ExecutionState.SUCCESS
    assert execution.flow_outputs == {"key": '{"value":"f"}'}


def test_flow_output_of_type_array_from_a_list() -> None:
    # FlowOutputTest#shouldGetSuccessExecutionForFlowWithArrayOutputs (flow-with-array-outputs.yml):
    # an ARRAY output written as a YAML list of expressions has both values; SUCCESS
    text = tasks_flow(
        "  - id: r\n    type: io.kestra.plugin.core.output.OutputValues\n    values:\n"
        "      one: first\n      two: second\n"
    ) + (
        "outputs:\n  - id: myout\n    type: ARRAY\n    value:\n"
        '      - "{{ outputs.r.values.one }}"\n      - "{{ outputs.r.values.two }}"\n'
    )
    execution = run(Flow.from_yaml(text))
    assert execution.state is ExecutionState.SUCCESS
    assert execution.flow_outputs == {"myout": ["first", "second"]}


def test_a_flow_output_that_cannot_render_fails_the_execution() -> None:
    # FlowOutputTest#shouldGetFailExecutionForFlowWithInvalidOutputs (flow-with-outputs-failed.yml):
    # no outputs, FAILED
    text = (
        tasks_flow('  - id: r\n    type: io.kestra.plugin.core.debug.Return\n    format: "{{ flow.id }}"\n')
        + 'outputs:\n  - id: key\n    type: STRING\n    value: "{{ invalid }}"\n'
    )
    execution = run(Flow.from_yaml(text))
    assert execution.state is ExecutionState.FAILED
    assert not execution.flow_outputs


# ------------------------------------------------------------------ errors


def test_a_disabled_error_task_does_not_run() -> None:
    # DisabledTest#error (disable-error.yaml): the failing task and the two enabled error tasks: 3
    # task runs
    text = tasks_flow("  - id: failed\n    type: io.kestra.plugin.core.execution.Fail\n") + (
        "errors:\n"
        "  - id: t2\n    type: io.kestra.plugin.core.log.Log\n    message: two\n"
        "  - id: t3\n    type: io.kestra.plugin.core.log.Log\n    message: three\n    disabled: true\n"
        "  - id: t4\n    type: io.kestra.plugin.core.log.Log\n    message: four\n"
    )
    execution = run(Flow.from_yaml(text))
    assert [r.task_id for r in execution.task_runs] == ["failed", "t2", "t4"]
    assert execution.state is ExecutionState.FAILED


def test_local_errors_of_a_sequential() -> None:
    # SequentialTest#sequentialWithLocalErrors (sequential-with-local-errors.yaml): the inner
    # Sequential's first task fails, the rest of it never runs, its two errors tasks run: 6 task
    # runs, FAILED
    tasks = """
  - id: parent
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: t1
        type: io.kestra.plugin.core.debug.Return
        format: one
      - id: inner
        type: io.kestra.plugin.core.flow.Sequential
        tasks:
          - id: boom
            type: io.kestra.plugin.core.execution.Fail
          - id: skipped
            type: io.kestra.plugin.core.debug.Return
            format: never
        errors:
          - id: e1
            type: io.kestra.plugin.core.debug.Return
            format: e1
          - id: e2
            type: io.kestra.plugin.core.debug.Return
            format: e2
"""
    execution = _run(tasks)
    assert len(execution.task_runs) == 6
    assert "skipped" not in states(execution)
    assert execution.state is ExecutionState.FAILED


# ------------------------------------------------------------------ Subflow (wait, transmitFailed, outputs)

CHILD_SWITCH = """id: child
namespace: n
inputs:
  - id: string
    type: STRING
tasks:
  - id: sw
    type: io.kestra.plugin.core.flow.Switch
    value: "{{ inputs.string }}"
    cases:
      FIRST:
        - id: t1
          type: io.kestra.plugin.core.debug.Return
          format: first
      THIRD:
        - id: t3
          type: io.kestra.plugin.core.flow.Sequential
          tasks:
            - id: failed
              type: io.kestra.plugin.core.execution.Fail
          errors:
            - id: error-t1
              type: io.kestra.plugin.core.debug.Return
              format: "Error Trigger ! {{ task.id }}"
    defaults:
      - id: default
        type: io.kestra.plugin.core.debug.Return
        format: "default > amazing"
"""

PARENT_13 = """id: parent
namespace: n
inputs:
  - id: string
    type: STRING
tasks:
  - id: launch
    type: io.kestra.plugin.core.flow.Subflow
    namespace: n
    flowId: child
    inputs:
      string: "{{ inputs.string }}"
    wait: true
    transmitFailed: true
    outputs:
      extracted: "{{ outputs.default.value ?? outputs['error-t1'].value }}"
"""


@pytest.mark.parametrize(
    ("given", "parent_state", "child_state", "child_runs", "extracted"),
    [
        ("OK", "SUCCESS", "SUCCESS", 2, "default > amazing"),
        ("THIRD", "FAILED", "FAILED", 4, "Error Trigger ! error-t1"),
        # the child succeeds, the parent's outputs cannot render (neither task ran): FAILED
        ("FIRST", "FAILED", "SUCCESS", 2, None),
    ],
)
def test_subflow_wait_transmit_failed_and_outputs(
    given: str, parent_state: str, child_state: str, child_runs: int, extracted: str | None
) -> None:
    # FlowCaseTest#waitSuccess / #waitFailed / #invalidOutputs (task-flow.yaml calling switch.yaml,
    # Kestra 1.3 Subflow.outputs): the parent has 1 task run in the parent's state; its outputs name
    # the child execution, its state, and the extracted output; the child ran its task runs
    execution = run(Flow.from_yaml(PARENT_13), flows=[Flow.from_yaml(CHILD_SWITCH)], inputs={"string": given})
    assert [r.task_id for r in execution.task_runs] == ["launch"]
    assert execution.state.value == parent_state
    out = execution.outputs["launch"]
    child = execution.subflows[out["executionId"]]
    assert child.state.value == child_state and len(child.task_runs) == child_runs
    if extracted is not None:
        assert extracted in out["outputs"]["extracted"]
        assert out["state"] == child_state


# ------------------------------------------------------------------ flow errors and finally

FINALLY_FLOW = """id: f
namespace: n
inputs:
  - id: failed
    type: BOOL
    defaults: false
tasks:
  - id: if
    type: io.kestra.plugin.core.flow.If
    condition: "{{ inputs.failed == false }}"
    then:
      - id: ok
        type: io.kestra.plugin.core.debug.Return
        format: "{{ task.id }}"
    else:
      - id: ko
        type: io.kestra.plugin.core.execution.Fail
errors:
  - id: e1
    type: io.kestra.plugin.core.debug.Return
    format: "{{ task.id }}"
  - id: e2
    type: io.kestra.plugin.core.debug.Return
    format: "{{ task.id }}"
finally:
  - id: a1
    type: io.kestra.plugin.core.debug.Return
    format: "{{ task.id }}"
  - id: a2
    type: io.kestra.plugin.core.debug.Return
    format: "{{ task.id }}"
"""


def test_flow_finally_without_errors() -> None:
    # FinallyTest#flowErrorBlockWithoutErrors (finally-flow-error.yaml, failed=false): 4 task runs
    # (if, ok, a1, a2), no errors task, SUCCESS
    execution = run(Flow.from_yaml(FINALLY_FLOW), inputs={"failed": False})
    assert states(execution) == {"if": "SUCCESS", "ok": "SUCCESS", "a1": "SUCCESS", "a2": "SUCCESS"}
    assert execution.state is ExecutionState.SUCCESS


def test_flow_finally_with_errors() -> None:
    # FinallyTest#flowErrorBlockWithErrors (failed=true): 6 task runs, ko FAILED, e1, e2, a1, a2
    # SUCCESS, the execution FAILED
    execution = run(Flow.from_yaml(FINALLY_FLOW), inputs={"failed": True})
    found = states(execution)
    assert len(execution.task_runs) == 6
    assert found["ko"] == "FAILED"
    assert all(found[t] == "SUCCESS" for t in ("e1", "e2", "a1", "a2"))
    assert execution.state is ExecutionState.FAILED


def test_flow_finally_after_the_first_task_failed() -> None:
    # FinallyTest#flowErrorFirst (finally-flow-error-first.yaml): the first task fails, the next one
    # never runs, finally runs: 2 task runs, FAILED
    text = (
        tasks_flow(
            "  - id: ko\n    type: io.kestra.plugin.core.execution.Fail\n"
            "  - id: ok\n    type: io.kestra.plugin.core.debug.Return\n    format: ok\n"
        )
        + "finally:\n  - id: a1\n    type: io.kestra.plugin.core.debug.Return\n    format: a1\n"
    )
    execution = run(Flow.from_yaml(text))
    assert states(execution) == {"ko": "FAILED", "a1": "SUCCESS"}
    assert execution.state is ExecutionState.FAILED
