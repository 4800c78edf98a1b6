"""Kestra's core flowable tasks run locally: If, Switch, ForEach (and the deprecated EachSequential /
EachParallel), Dag, AllowFailure, errors and finally on flowables, Parallel and Sequential.

Expected results come from Kestra's own test flows and tests (kestra-io/kestra,
core/src/test/resources/flows/valids/*.yaml, core/src/test/java/io/kestra/plugin/core/flow/*Test.java).
"""

from __future__ import annotations

import json

import pytest

from kestra_airflow_sdk.flows import ExecutionState, Flow, FlowValidationError
from tests.runner.core_flows import Timeline, run, states, tasks_flow
from tests.runner.fake_airflow import FakeAirflow

IF = """
id: if
namespace: io.kestra.tests
inputs:
  - id: if1
    type: BOOLEAN
  - id: if2
    type: BOOLEAN
tasks:
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    concurrent: 4
    tasks:
      - id: if-1
        type: io.kestra.plugin.core.flow.If
        condition: "{{ inputs.if1 }}"
        then:
          - id: if-1-log
            type: io.kestra.plugin.core.log.Log
            message: "Hello World!"
      - id: if-2
        type: io.kestra.plugin.core.flow.If
        condition: "{{ inputs.if2 }}"
        then:
          - id: if-2-log
            type: io.kestra.plugin.core.log.Log
            message: "Hello World!"
        else:
          - id: if-2-else
            type: io.kestra.plugin.core.log.Log
            message: "else"
"""


def test_if_runs_then_or_else() -> None:
    # flows/valids/if.yaml and if-without-else.yaml (IfTest): the branch of the condition runs; an If
    # without else whose condition is false ends SUCCESS with no child; output evaluationResult
    execution = run(IF, inputs={"if1": True, "if2": False})
    assert execution.state is ExecutionState.SUCCESS
    assert states(execution) == {
        "parallel": "SUCCESS",
        "if-1": "SUCCESS",
        "if-2": "SUCCESS",
        "if-1-log": "SUCCESS",
        "if-2-else": "SUCCESS",
    }
    assert execution.outputs["if-1"] == {"evaluationResult": True}
    assert execution.outputs["if-2"] == {"evaluationResult": False}
    flipped = run(IF, inputs={"if1": False, "if2": True})
    assert set(states(flipped)) == {"parallel", "if-1", "if-2", "if-2-log"}


def test_if_condition_that_cannot_render_fails_the_task() -> None:
    execution = run(
        "id: f\nnamespace: n\ntasks:\n  - id: if\n    type: io.kestra.plugin.core.flow.If\n"
        "    condition: '{{ outputs.nothing.value }}'\n    then:\n      - id: a\n"
        "        type: io.kestra.plugin.core.log.Log\n        message: x\n"
    )
    assert execution.state is ExecutionState.FAILED
    assert "nothing" in (execution.task_run("if").error or "")
    assert [e.task_id for e in execution.logs if e.level == "ERROR"] == ["if"]


SWITCH = """
id: switch
namespace: io.kestra.tests
inputs:
  - id: string
    type: STRING
  - id: def
    type: STRING
    defaults: amazing
tasks:
  - id: parent-seq
    type: io.kestra.plugin.core.flow.Switch
    value: "{{inputs.string}}"
    cases:
      FIRST:
        - id: t1
          type: io.kestra.plugin.core.debug.Return
          format: "{{task.id}}"
      SECOND:
        - id: t2
          type: io.kestra.plugin.core.debug.Return
          format: "{{task.id}}"
        - id: t2_sub
          type: io.kestra.plugin.core.debug.Return
          format: "{{task.id}}"
      THIRD:
        - id: t3
          type: io.kestra.plugin.core.flow.Sequential
          tasks:
            - id: failed
              type: io.kestra.plugin.core.execution.Fail
          errors:
            - id: error-t1
              type: io.kestra.plugin.core.debug.Return
              format: "Error Trigger ! {{task.id}}"
    defaults:
      - id: default
        type: io.kestra.plugin.core.debug.Return
        format: "{{task.id}} > {{ inputs.def }}"
"""


@pytest.mark.parametrize(
    ("value", "ran", "defaults"),
    [("FIRST", ["t1"], False), ("SECOND", ["t2", "t2_sub"], False), ("other", ["default"], True)],
)
def test_switch_runs_the_matching_case(value: str, ran: list[str], defaults: bool) -> None:
    # flows/valids/switch.yaml; SwitchTest: the case's tasks run; outputs value and defaults
    execution = run(SWITCH, inputs={"string": value})
    assert execution.state is ExecutionState.SUCCESS
    assert [r.task_id for r in execution.task_runs] == ["parent-seq", *ran]
    assert execution.outputs["parent-seq"] == {"value": value, "defaults": defaults}
    if defaults:
        assert execution.outputs["default"]["value"] == "default > amazing"


def test_switch_case_failing_runs_its_errors_and_fails() -> None:
    # SwitchTest.switchThird: t3 FAILED, error-t1 ran, execution FAILED
    execution = run(SWITCH, inputs={"string": "THIRD"})
    assert execution.state is ExecutionState.FAILED
    assert states(execution) == {
        "parent-seq": "FAILED",
        "t3": "FAILED",
        "failed": "FAILED",
        "error-t1": "SUCCESS",
    }


def test_switch_needs_a_case_or_defaults() -> None:
    with pytest.raises(FlowValidationError, match="cases or defaults"):
        Flow.from_yaml(
            "id: f\nnamespace: n\ntasks:\n  - id: s\n    type: io.kestra.plugin.core.flow.Switch\n    value: x\n"
        )


NESTED = """
id: each-sequential-nested
namespace: io.kestra.tests
tasks:
  - id: 1_each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["s1", "s2", "s3"]
    tasks:
      - id: 1-1_return
        type: io.kestra.plugin.core.debug.Return
        format: "{{task.id}} > {{taskrun.value}}"
      - id: 1-2_each
        type: io.kestra.plugin.core.flow.ForEach
        values: '["a a", "b b"]'
        tasks:
          - id: 1-2-1_return
            type: io.kestra.plugin.core.debug.Return
            format: "{{task.id}} > {{taskrun.value}} > {{ parent.taskrun.value }}"
  - id: 2_return
    type: io.kestra.plugin.core.debug.Return
    format: "{{task.id}} > {{outputs['1-2-1_return'].s1['a a'].value}}"
"""


def test_foreach_values_and_outputs_keyed_by_value() -> None:
    # flows/valids/each-sequential-nested.yaml (with ForEach): iteration outputs are keyed by value,
    # nested ones by the outer then the inner value: outputs['1-2-1_return'].s1['a a'].value
    execution = run(NESTED)
    assert execution.state is ExecutionState.SUCCESS
    assert len(execution.task_runs) == 1 + 3 * (2 + 2) + 1
    outputs = execution.outputs
    assert outputs["1-1_return"]["s2"] == {"value": "1-1_return > s2"}
    assert outputs["1-2-1_return"]["s3"]["b b"] == {"value": "1-2-1_return > b b > s3"}
    assert outputs["2_return"]["value"] == "2_return > 1-2-1_return > a a > s1"
    inner = [r for r in execution.task_runs if r.task_id == "1-2-1_return"]
    assert [(r.value, r.iteration) for r in inner][:2] == [("a a", ("s1", "a a")), ("b b", ("s1", "b b"))]


def test_foreach_concurrency_limit() -> None:
    # flows/valids/foreach-concurrent.yaml (ForEachTest): concurrencyLimit 2 → at most 2 groups at once;
    # 0 → all at once; 1 (default) → one after the other
    template = """
id: foreach-concurrent
namespace: io.kestra.tests
tasks:
  - id: for_each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["value 1", "value 2", "value 3", "value 4", "value 5"]
    concurrencyLimit: {limit}
    tasks:
      - id: log
        type: io.kestra.plugin.core.log.Log
        message: Processing {{taskrun.value}}
      - id: nap
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT10S
"""
    for limit, peak, total in ((2, 2, 30), (0, 5, 10), (1, 1, 50)):
        timeline = Timeline()
        execution = run(template.replace("{limit}", str(limit)), observers=[timeline])
        assert execution.state is ExecutionState.SUCCESS
        assert timeline.max_in_flight("nap") == peak
        assert timeline.ended("for_each") == total
        assert [e.message for e in execution.logs if e.task_id == "log"][:2] == [
            "Processing value 1",
            "Processing value 2",
        ]


def test_foreach_values_forms() -> None:
    # FlowableUtils.resolveEachTasks: a string is rendered then read as JSON; duplicates are dropped;
    # maps and numbers become their JSON text; a null value is an error
    execution = run(
        """
id: f
namespace: n
variables:
  items: '[1, {"key": "v"}, 1, "x"]'
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{ vars.items }}"
    concurrencyLimit: 0
    tasks:
      - id: r
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }}"
"""
    )
    assert sorted(execution.outputs["r"]) == sorted(["1", '{"key":"v"}', "x"])
    assert json.loads(execution.outputs["r"]['{"key":"v"}']["value"]) == {"key": "v"}
    bad = run(
        "id: f\nnamespace: n\ntasks:\n  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n"
        "    values: '[1, null]'\n    tasks:\n      - id: r\n        type: io.kestra.plugin.core.debug.Return\n"
        "        format: x\n"
    )
    assert bad.state is ExecutionState.FAILED and "null value" in (bad.task_run("each").error or "")
    empty = run(
        "id: f\nnamespace: n\ntasks:\n  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n"
        "    values: []\n    tasks:\n      - id: r\n        type: io.kestra.plugin.core.debug.Return\n        format: x\n"
    )
    assert empty.state is ExecutionState.SUCCESS and states(empty) == {"each": "SUCCESS"}


def test_foreach_failure_stops_new_groups_runs_errors_and_finally() -> None:
    execution = run(
        tasks_flow(
            """
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["0", "1", "2"]
    tasks:
      - id: maybe_fail
        type: io.kestra.plugin.core.execution.Fail
        condition: "{{ taskrun.value }}"
    errors:
      - id: on_error
        type: io.kestra.plugin.core.log.Log
        message: failed
    finally:
      - id: always
        type: io.kestra.plugin.core.log.Log
        message: done
"""
        )
    )
    # "0" is false (TruthUtils): the first group succeeds, the second fails, the third never starts
    assert execution.state is ExecutionState.FAILED
    runs = [(r.task_id, r.value, r.state.value) for r in execution.task_runs]
    assert runs == [
        ("each", None, "FAILED"),
        ("maybe_fail", "0", "SUCCESS"),
        ("maybe_fail", "1", "FAILED"),
        ("on_error", None, "SUCCESS"),
        ("always", None, "SUCCESS"),
    ]


def test_each_sequential_and_parent_taskrun_value() -> None:
    # flows/valids/each-sequential.yaml (deprecated EachSequential): a task nested in a flowable of an
    # iteration sees the iteration value as parent.taskrun.value
    execution = run(
        """
id: each-sequential
namespace: io.kestra.tests
tasks:
  - id: 1_each
    type: io.kestra.plugin.core.flow.EachSequential
    value: '["value 1", "value 2", "value 3"]'
    tasks:
      - id: 1-1
        type: io.kestra.plugin.core.debug.Return
        format: "{{task.id}} > {{taskrun.value}}"
      - id: failed
        type: io.kestra.plugin.core.flow.AllowFailure
        tasks:
          - id: 1-2
            type: io.kestra.plugin.core.log.Log
            message: "{{ parent.taskrun.value }}"
  - id: 2_end
    type: io.kestra.plugin.core.debug.Return
    format: "{{task.id}}"
"""
    )
    assert execution.state is ExecutionState.SUCCESS
    assert [e.message for e in execution.logs if e.task_id == "1-2"] == ["value 1", "value 2", "value 3"]
    assert len(execution.task_runs) == 1 + 3 * 3 + 1


DAG = """
id: "dag"
namespace: "io.kestra.tests"
tasks:
  - id: dag
    type: io.kestra.plugin.core.flow.Dag
    tasks:
      - task: {id: task1, type: io.kestra.plugin.core.flow.Sleep, duration: PT1S}
      - task: {id: task2, type: io.kestra.plugin.core.flow.Sleep, duration: PT5S}
        dependsOn: [task1]
      - task: {id: task3, type: io.kestra.plugin.core.flow.Sleep, duration: PT1S}
        dependsOn: [task1]
      - task: {id: task4, type: io.kestra.plugin.core.flow.Sleep, duration: PT1S}
        dependsOn: [task2]
      - task: {id: task5, type: io.kestra.plugin.core.flow.Sleep, duration: PT1S}
        dependsOn: [task4, task3]
      - task: {id: task6, type: io.kestra.plugin.core.flow.Sleep, duration: PT1S}
        dependsOn: [task2, task3]
"""


def test_dag_runs_each_task_after_its_dependencies() -> None:
    # flows/valids/dag.yaml (DagTest: 7 task runs, SUCCESS), with Sleep tasks to see the schedule
    timeline = Timeline()
    execution = run(DAG, observers=[timeline])
    assert execution.state is ExecutionState.SUCCESS and len(execution.task_runs) == 7
    start = timeline.started
    assert start("task1") == 0 and start("task2") == start("task3") == 1
    assert start("task4") == start("task6") == 6  # after task2 (1 + 5)
    assert start("task5") == 7
    assert timeline.ended("dag") == 8


def test_dag_refuses_cycles_and_unknown_dependencies() -> None:
    # Dag.java: dagCheckNotExistTask and dagCheckCyclicDependencies
    with pytest.raises(FlowValidationError, match="cyclic dependency: task1 -> task2 -> task1"):
        Flow.from_yaml(
            DAG.replace(
                "dependsOn: [task1]\n      - task: {id: task3",
                "dependsOn: [task1]\n      - task: {id: task3",
                1,
            ).replace(
                "      - task: {id: task1, type: io.kestra.plugin.core.flow.Sleep, duration: PT1S}",
                "      - task: {id: task1, type: io.kestra.plugin.core.flow.Sleep, duration: PT1S}\n        dependsOn: [task2]",
            )
        )
    with pytest.raises(FlowValidationError, match="depends on 'nope'"):
        Flow.from_yaml(DAG.replace("dependsOn: [task4, task3]", "dependsOn: [nope]"))


def test_dag_failure_stops_new_tasks() -> None:
    execution = run(
        DAG.replace(
            "{id: task3, type: io.kestra.plugin.core.flow.Sleep, duration: PT1S}",
            "{id: task3, type: io.kestra.plugin.core.execution.Fail}",
        )
    )
    assert execution.state is ExecutionState.FAILED
    assert states(execution) == {"dag": "FAILED", "task1": "SUCCESS", "task2": "SUCCESS", "task3": "FAILED"}


ALLOW_FAILURE = """
id: allow-failure
namespace: io.kestra.tests
inputs:
  - id: crash
    type: BOOLEAN
    defaults: false
tasks:
  - id: first
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: 1-1-allow-failure
        type: io.kestra.plugin.core.flow.AllowFailure
        tasks:
          - id: 1-1-1_seq
            type: io.kestra.plugin.core.flow.Sequential
            tasks:
              - id: 1-1-1-1
                type: io.kestra.plugin.core.debug.Return
                format: "{{task.id}}"
              - id: ko
                type: io.kestra.plugin.core.execution.Fail
              - id: 1-1-1-3
                type: io.kestra.plugin.core.debug.Return
                format: "{{task.id}}"
        errors:
          - id: local-error
            type: io.kestra.plugin.core.debug.Return
            format: "Error Trigger ! {{task.id}}"
      - id: 1-2-todo
        type: io.kestra.plugin.core.debug.Return
        format: "{{task.id}}"
  - id: switch
    type: io.kestra.plugin.core.flow.Switch
    value: "{{ inputs.crash }}"
    cases:
      "true":
        - id: crash
          type: io.kestra.plugin.core.execution.Fail
    defaults:
      - id: last
        type: io.kestra.plugin.core.debug.Return
        format: "{{task.id}}"
errors:
  - id: global-error
    type: io.kestra.plugin.core.debug.Return
    format: "Error Trigger ! {{task.id}}"
"""


def test_allow_failure_turns_a_failure_into_warning() -> None:
    # flows/valids/allow-failure.yaml (the switch on a BOOLEAN input instead of `is defined`);
    # AllowFailureTest.success: 9 task runs, first and 1-1-allow-failure WARNING, 1-1-1_seq and ko
    # FAILED, no global-error, last SUCCESS, execution WARNING
    execution = run(ALLOW_FAILURE)
    assert len(execution.task_runs) == 9
    got = states(execution)
    assert (got["first"], got["1-1-allow-failure"], got["1-1-1_seq"], got["ko"]) == (
        "WARNING",
        "WARNING",
        "FAILED",
        "FAILED",
    )
    assert got["1-1-1-1"] == got["local-error"] == got["1-2-todo"] == got["last"] == "SUCCESS"
    assert "global-error" not in got and "1-1-1-3" not in got
    assert execution.state is ExecutionState.WARNING


def test_allow_failure_then_a_real_failure() -> None:
    # AllowFailureTest.failed: 10 task runs, global-error SUCCESS, switch and crash FAILED, execution FAILED
    execution = run(ALLOW_FAILURE, inputs={"crash": True})
    assert len(execution.task_runs) == 10
    got = states(execution)
    assert (got["global-error"], got["switch"], got["crash"]) == ("SUCCESS", "FAILED", "FAILED")
    assert execution.state is ExecutionState.FAILED


def test_allow_warning_on_a_flowable() -> None:
    # allowWarning: a WARNING task ends SUCCESS (kestra-core corpus task-allow-warning-flowable)
    execution = run(
        tasks_flow(
            """
  - id: seq
    type: io.kestra.plugin.core.flow.Sequential
    allowWarning: true
    tasks:
      - id: tolerated
        type: io.kestra.plugin.core.execution.Fail
        allowFailure: true
"""
        )
    )
    assert states(execution) == {"seq": "SUCCESS", "tolerated": "WARNING"}
    assert execution.state is ExecutionState.SUCCESS


@pytest.mark.parametrize("kind", ["Sequential", "Parallel"])
def test_errors_and_finally_on_flowables(kind: str) -> None:
    # Sequential/Parallel `errors` (Sequential.java, Parallel.java) run when a child failed: the
    # flowable stays FAILED; `finally` always runs
    execution = run(
        tasks_flow(
            f"""
  - id: group
    type: io.kestra.plugin.core.flow.{kind}
    tasks:
      - id: ko
        type: io.kestra.plugin.core.execution.Fail
        errorMessage: "boom"
    errors:
      - id: handler
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ errorLogs() }}}}"
    finally:
      - id: cleanup
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ tasksWithState('FAILED') }}}}"
  - id: never
    type: io.kestra.plugin.core.debug.Return
    format: x
"""
        )
    )
    assert execution.state is ExecutionState.FAILED
    assert states(execution) == {
        "group": "FAILED",
        "ko": "FAILED",
        "handler": "SUCCESS",
        "cleanup": "SUCCESS",
    }
    (error,) = json.loads(execution.outputs["handler"]["value"])
    assert (error["taskId"], error["level"], error["message"]) == ("ko", "ERROR", "boom")
    failed = json.loads(execution.outputs["cleanup"]["value"])
    assert [f["taskId"] for f in failed] == ["ko"]


def test_finally_runs_after_success_and_its_failure_counts() -> None:
    execution = run(
        tasks_flow(
            """
  - id: seq
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: ok
        type: io.kestra.plugin.core.debug.Return
        format: x
    finally:
      - id: bad_cleanup
        type: io.kestra.plugin.core.execution.Fail
"""
        )
    )
    assert states(execution) == {"seq": "FAILED", "ok": "SUCCESS", "bad_cleanup": "FAILED"}
    assert execution.state is ExecutionState.FAILED


def test_parallel_stops_starting_children_after_a_failure() -> None:
    # FlowableUtils: once a child failed the parallel moves on to its errors; no new child starts
    execution = run(
        tasks_flow(
            """
  - id: par
    type: io.kestra.plugin.core.flow.Parallel
    concurrent: 1
    tasks:
      - id: ko
        type: io.kestra.plugin.core.execution.Fail
      - id: not_started
        type: io.kestra.plugin.core.debug.Return
        format: x
"""
        )
    )
    assert states(execution) == {"par": "FAILED", "ko": "FAILED"}


def test_disabled_children_are_left_out() -> None:
    execution = run(
        tasks_flow(
            """
  - id: seq
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: disabled_one
        type: io.kestra.plugin.core.execution.Fail
        disabled: true
      - id: enabled_one
        type: io.kestra.plugin.core.debug.Return
        format: x
"""
        )
    )
    assert states(execution) == {"seq": "SUCCESS", "enabled_one": "SUCCESS"}


def test_allow_failure_and_allow_warning_together() -> None:
    # flows/valids/task-allow-warning-flowable.yml; TaskWithAllowWarningTest.flowableTask: the
    # execution is SUCCESS with 3 task runs (FAILED → WARNING by allowFailure → SUCCESS by allowWarning)
    execution = run(
        """
id: task-allow-warning-flowable
namespace: io.kestra.tests
tasks:
  - id: seq
    type: io.kestra.plugin.core.flow.Sequential
    allowFailure: true
    allowWarning: true
    tasks:
      - id: fail
        type: io.kestra.plugin.core.execution.Fail
      - id: log-not-allowed
        type: io.kestra.plugin.core.log.Log
        message: not allowed
  - id: log-allowed
    type: io.kestra.plugin.core.log.Log
    message: I'm allowed
"""
    )
    assert execution.state is ExecutionState.SUCCESS
    assert states(execution) == {"seq": "SUCCESS", "fail": "FAILED", "log-allowed": "SUCCESS"}


def test_foreach_triggers_one_dag_run_per_value(fake_airflow: FakeAirflow) -> None:
    # one TriggerDagRun task runs once per value: each run gets its own run id (the task run id is
    # part of it inside a ForEach), so three values are three DAG runs of the same DAG
    execution = run(
        tasks_flow(
            """
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["2026-01-01", "2026-01-02", "2026-01-03"]
    concurrencyLimit: 0
    tasks:
      - id: run_dag
        type: io.kestra.plugin.airflow.dags.TriggerDagRun
        baseUrl: http://fake-airflow/
        dagId: ok
        wait: true
        pollFrequency: PT0.01S
        body:
          conf:
            day: "{{ taskrun.value }}"
        options:
          auth: {type: BASIC, username: admin, password: admin}
"""
        )
    )
    assert execution.state is ExecutionState.SUCCESS
    assert sorted(run.conf["day"] for run in fake_airflow.runs.values()) == [
        "2026-01-01",
        "2026-01-02",
        "2026-01-03",
    ]
    outputs = execution.outputs["run_dag"]
    assert {outputs[day]["dagRunId"] for day in outputs} == set(fake_airflow.runs)
