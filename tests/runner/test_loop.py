"""Kestra 2.0's ``Loop`` run locally: values (lists, maps, JSON strings), ``item`` at any depth and in
nested loops, sub-executions (scoped outputs, nothing kept once an iteration ended but its declared
outputs), ``concurrencyLimit``, ``transmitFailed``, ``errors``/``finally`` per iteration, declared
``outputs``, ``iterationCount``, ``loopOutputs()``, and the YAML and Python forms.

Expected results come from Kestra's own Loop tests and flows (kestra-io/kestra,
core/src/test/java/io/kestra/plugin/core/flow/LoopCaseTest.java, LoopTest.java, FinallyTest.java,
core/src/test/resources/flows/valids/finally-loop.yaml) and its 2.0 migration guide.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kestra_airflow_sdk import Loop as TopLevelLoop
from kestra_airflow_sdk import Return as TopLevelReturn
from kestra_airflow_sdk.flows import (
    Execution,
    ExecutionState,
    Flow,
    FlowValidationError,
    LogEntry,
    Observer,
    TaskRun,
)
from tests.runner.core_flows import Timeline, cancel_when, load, run, tasks_flow
from tests.runner.fake_airflow import FakeAirflow
from tests.virtual_time import run_virtual, run_virtual_timed


class Recorder(Observer):
    """What the sub-executions did, as the observers see it: (execution id, task id, state) of every
    ended task run, and every log line's message."""

    def __init__(self) -> None:
        self.ended: list[tuple[str, str, str]] = []
        self.messages: list[str] = []
        self.executions_started = 0
        self.started: list[str] = []

    def task_started(self, execution: Execution, task_run: TaskRun) -> None:
        self.started.append(task_run.task_id)

    def execution_started(self, execution: Execution) -> None:
        self.executions_started += 1

    def task_ended(self, execution: Execution, task_run: TaskRun) -> None:
        self.ended.append((execution.id, task_run.task_id, task_run.state.value))

    def log_written(self, execution: Execution, entry: LogEntry) -> None:
        self.messages.append(entry.message)

    def by_execution(self) -> dict[str, list[tuple[str, str]]]:
        found: dict[str, list[tuple[str, str]]] = {}
        for execution_id, task_id, state in self.ended:
            found.setdefault(execution_id, []).append((task_id, state))
        return found


def loop_flow(loop: str, after: str = "") -> str:
    return tasks_flow(
        """
  - id: before
    type: io.kestra.plugin.core.debug.Return
    format: I'm before the loop
"""
        + loop
        + after
    )


def test_list_values_run_one_sub_execution_each_with_item_and_scoped_outputs() -> None:
    # LoopCaseTest.loopSerial / loopExpressionContext / loopOutputs: item.index and item.value, the
    # tasks before the loop and {{ execution.id }} (the parent's) are visible in every iteration; the
    # iterations' task runs are not the parent's; declared outputs collected, loopOutputs() lists one
    recorder = Recorder()
    execution = run(
        loop_flow(
            """
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: ["value 1", "value 2", "value 3"]
    concurrencyLimit: 1
    outputs:
      - id: label
        type: STRING
        value: "{{ outputs.item.value }}"
      - id: context
        value: "{{ outputs.before.value }} / {{ execution.id }}"
    tasks:
      - id: item
        type: io.kestra.plugin.core.debug.Return
        format: "{{ item.index }} - {{ item.value }}"
""",
            """
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{ loopOutputs(outputs.loop.outputs, 'label') }} {{ outputs.loop.outputs[1].outputs.label }}"
""",
        ),
        observers=[recorder],
    )
    assert execution.state is ExecutionState.SUCCESS
    assert [r.task_id for r in execution.task_runs] == ["before", "loop", "after"]
    loop = execution.task_run("loop").outputs
    assert loop["iterationCount"] == 3
    assert loop["runningIterations"] == 0
    assert loop["terminatedIterations"] == {"SUCCESS": 3}
    assert loop["outputs"] == [
        {
            "item": {"value": f"value {i + 1}", "iteration": i},
            "outputs": {"label": f"{i} - value {i + 1}", "context": f"I'm before the loop / {execution.id}"},
        }
        for i in range(3)
    ]
    assert execution.outputs["after"]["value"] == ('["0 - value 1","1 - value 2","2 - value 3"] 1 - value 2')
    # three sub-executions (one per iteration), none of them the parent; no execution events for them
    iterations = {k: v for k, v in recorder.by_execution().items() if k != execution.id}
    assert list(iterations.values()) == [[("item", "SUCCESS")]] * 3
    assert recorder.executions_started == 1


def test_map_values_give_item_key_and_value() -> None:
    # LoopCaseTest.loopMap / LoopTest.initFromValues_withJsonMap: a map (or a string rendering to a
    # JSON map) is one iteration per entry, item.key and item.value
    for values in ('{"k1": "v1", "k2": 2, "k3": {"a": 1}}', "\n      k1: v1\n      k2: 2\n      k3: {a: 1}"):
        execution = run(
            loop_flow(
                f"""
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: {values}
    concurrencyLimit: 1
    outputs:
      - id: pair
        value: "{{{{ outputs.pair.value }}}}"
    tasks:
      - id: pair
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ item.key }}}} - {{{{ item.value }}}}"
"""
            )
        )
        assert execution.state is ExecutionState.SUCCESS, values
        entries = execution.task_run("loop").outputs["outputs"]
        assert [e["outputs"]["pair"] for e in entries] == ["k1 - v1", "k2 - 2", 'k3 - {"a":1}']
        assert [e["item"] for e in entries] == [
            {"value": "v1", "iteration": 0, "key": "k1"},
            {"value": "2", "iteration": 1, "key": "k2"},
            {"value": '{"a":1}', "iteration": 2, "key": "k3"},
        ]


def test_list_items_are_text_rendered_json_for_maps_and_deduplicated() -> None:
    # FlowableUtils.resolveValues: strings rendered, numbers as text, maps as JSON (fromJson reads
    # them back), duplicates dropped; a JSON string list likewise
    execution = run(
        loop_flow(
            """
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: ["{{ outputs.before.value }}", 7, 1.5, {"id": 101, "email": "a@example.com"}, 7]
    concurrencyLimit: 1
    outputs:
      - id: seen
        value: "{{ item.value }}"
    tasks:
      - id: log
        type: io.kestra.plugin.core.log.Log
        message: "{{ item.value }}"
""",
            """
  - id: email
    type: io.kestra.plugin.core.debug.Return
    format: "{{ fromJson(outputs.loop.outputs[3].outputs.seen).email }}"
""",
        )
    )
    assert execution.state is ExecutionState.SUCCESS
    assert [e["outputs"]["seen"] for e in execution.task_run("loop").outputs["outputs"]] == [
        "I'm before the loop",
        "7",
        "1.5",
        '{"id":101,"email":"a@example.com"}',
    ]
    assert execution.outputs["email"]["value"] == "a@example.com"
    from_json = run(
        loop_flow(
            """
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: '["a", 1, {"b": true}, "a"]'
    tasks:
      - id: log
        type: io.kestra.plugin.core.log.Log
        message: "{{ item.value }}"
"""
        )
    )
    assert from_json.task_run("loop").outputs["iterationCount"] == 3


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ('["a", null]', "found a null value inside the iteration values"),
        ("[a, null]", "found a null value inside the iteration values (values[1])"),
        ("[a, true]", "values[1] is a bool (True)"),
        ("'not json'", "values must render to a JSON list or map, got 'not json'"),
        ("'42'", "values must render to a JSON list or map, got a int"),
        ("'kestra:///company/team/file.ion'", "values renders to a storage URI"),
    ],
)
def test_bad_values_fail_the_loop_with_a_clear_error(values: str, expected: str) -> None:
    # LoopCaseTest.loopWithNull: the loop FAILED, its error names the problem
    execution = run(
        tasks_flow(
            f"""
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: {values}
    tasks:
      - id: log
        type: io.kestra.plugin.core.log.Log
        message: "{{{{ item.value }}}}"
"""
        )
    )
    assert execution.state is ExecutionState.FAILED
    assert expected in (execution.task_run("loop").error or "")
    assert any(expected in e.message for e in execution.logs if e.level == "ERROR")


def test_empty_values_end_successfully_without_iterations() -> None:
    # LoopCaseTest.loopEmpty
    execution = run(
        loop_flow(
            """
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: []
    outputs:
      - id: x
        value: "{{ outputs.log.value }}"
    tasks:
      - id: log
        type: io.kestra.plugin.core.log.Log
        message: never
"""
        )
    )
    assert execution.state is ExecutionState.SUCCESS
    assert execution.task_run("loop").outputs == {
        "iterationCount": 0,
        "runningIterations": 0,
        "terminatedIterations": {},
    }


def test_nested_loops_see_item_parent_and_parents_at_any_depth() -> None:
    # LoopCaseTest.loopNested and Loop's example loop_multiple_times: item.parent is the enclosing
    # loop's item, item.parents lists them outermost first; inside If, item is reachable as is
    recorder = Recorder()
    execution = run(
        tasks_flow(
            """
  - id: buckets
    type: io.kestra.plugin.core.flow.Loop
    values: [b1, b2]
    concurrencyLimit: 1
    outputs:
      - id: names
        type: JSON
        value: "{{ loopOutputs(outputs.years.outputs, 'names') }}"
    tasks:
      - id: years
        type: io.kestra.plugin.core.flow.Loop
        values: [2025, 2026]
        concurrencyLimit: 1
        outputs:
          - id: names
            type: JSON
            value: "{{ loopOutputs(outputs.months.outputs, 'name') }}"
        tasks:
          - id: months
            type: io.kestra.plugin.core.flow.Loop
            values: [March, April]
            concurrencyLimit: 1
            outputs:
              - id: name
                value: "{{ outputs.first.value ?? outputs.other.value }}"
            tasks:
              - id: check
                type: io.kestra.plugin.core.flow.If
                condition: "{{ item.index == 0 }}"
                then:
                  - id: first
                    type: io.kestra.plugin.core.debug.Return
                    format: "{{ item.parents[0].value }}_{{ item.parent.value }}_{{ item.value }}"
                else:
                  - id: other
                    type: io.kestra.plugin.core.debug.Return
                    format: "{{ item.parents[0].index }}.{{ item.parents[1].index }}.{{ item.index }}"
"""
        ),
        observers=[recorder],
    )
    assert execution.state is ExecutionState.SUCCESS
    assert [r.task_id for r in execution.task_runs] == ["buckets"]
    names = [e["outputs"]["names"] for e in execution.task_run("buckets").outputs["outputs"]]
    assert names == [
        [["b1_2025_March", "0.0.1"], ["b1_2026_March", "0.1.1"]],
        [["b2_2025_March", "1.0.1"], ["b2_2026_March", "1.1.1"]],
    ]
    # 2 + 4 + 8 sub-executions: the outer ones ran a loop each, the innermost an If and a Return
    iterations = [v for k, v in recorder.by_execution().items() if k != execution.id]
    assert len(iterations) == 14
    innermost = [tasks for tasks in iterations if tasks[-1] == ("check", "SUCCESS")]
    assert sorted(tasks[0] for tasks in innermost) == [("first", "SUCCESS")] * 4 + [("other", "SUCCESS")] * 4


FINALLY_LOOP = """
id: finally-loop
namespace: io.kestra.tests
inputs:
  - id: failed
    type: BOOL
    defaults: false
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.Loop
    values: '["1", "2", "3"]'
    concurrencyLimit: 0
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


def test_errors_and_finally_run_inside_each_iteration() -> None:
    # FinallyTest.loopWithoutErrors / loopWithErrors (finally-loop.yaml): the parent has the loop's
    # task run only; every sub-execution ran its tasks, then errors (when they failed), then finally
    recorder = Recorder()
    execution = run(FINALLY_LOOP, inputs={"failed": False}, observers=[recorder])
    assert execution.state is ExecutionState.SUCCESS
    assert [r.task_id for r in execution.task_runs] == ["each"]
    iterations = [v for k, v in recorder.by_execution().items() if k != execution.id]
    assert [sorted(tasks) for tasks in iterations] == [
        [("a1", "SUCCESS"), ("a2", "SUCCESS"), ("if", "SUCCESS"), ("ok", "SUCCESS")]
    ] * 3

    recorder = Recorder()
    execution = run(FINALLY_LOOP, inputs={"failed": True}, observers=[recorder])
    assert execution.state is ExecutionState.FAILED
    assert execution.task_run("each").state is ExecutionState.FAILED
    iterations = [v for k, v in recorder.by_execution().items() if k != execution.id]
    assert len(iterations) == 3  # concurrencyLimit 0: the three started together
    for tasks in iterations:
        assert [t for t, _ in tasks] == ["ko", "if", "e1", "e2", "a1", "a2"]
        assert dict(tasks)["ko"] == "FAILED" and dict(tasks)["a2"] == "SUCCESS"


FAILING = """
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: [a, fail, c]
    concurrencyLimit: 1
    transmitFailed: {transmit}
    outputs:
      - id: got
        value: "{{{{ outputs.ok.value }}}}"
    tasks:
      - id: maybe_fail
        type: io.kestra.plugin.core.flow.If
        condition: "{{{{ item.value == 'fail' }}}}"
        then:
          - id: do_fail
            type: io.kestra.plugin.core.execution.Fail
            errorMessage: "no {{{{ item.value }}}}"
        else:
          - id: ok
            type: io.kestra.plugin.core.debug.Return
            format: "OK {{{{ item.value }}}}"
"""


def test_a_failed_iteration_fails_the_loop_and_no_new_iteration_starts() -> None:
    # LoopCaseTest.loopFailed (transmitFailed default true): the loop ends FAILED at the failed
    # iteration, logged in the loop's task run with the iteration's error; c never ran
    recorder = Recorder()
    execution = run(tasks_flow(FAILING.format(transmit="true")), observers=[recorder])
    assert execution.state is ExecutionState.FAILED
    loop = execution.task_run("loop")
    assert loop.state is ExecutionState.FAILED
    assert loop.outputs["terminatedIterations"] == {"SUCCESS": 1, "FAILED": 1}
    assert [e["outputs"]["got"] for e in loop.outputs["outputs"]] == ["OK a"]
    errors = [e for e in execution.logs if e.level == "ERROR"]
    assert len(errors) == 1 and errors[0].task_id == "loop"
    assert "Loop iteration 1 (value 'fail') ended in FAILED in sub-execution" in errors[0].message
    assert "do_fail: no fail" in errors[0].message
    assert "OK c" not in recorder.messages and ("ok", "SUCCESS") in [(t, s) for _, t, s in recorder.ended]
    assert sum(1 for _, task_id, _ in recorder.ended if task_id == "maybe_fail") == 2


def test_transmit_failed_false_runs_every_iteration_and_the_loop_succeeds() -> None:
    # LoopCaseTest.loopTransmitFailedFalse and the migration guide (replaces AllowFailure): every
    # iteration runs, failures are counted, not transmitted; outputs come from the iterations that
    # produced some
    execution = run(tasks_flow(FAILING.format(transmit="false")))
    assert execution.state is ExecutionState.SUCCESS
    loop = execution.task_run("loop")
    assert loop.state is ExecutionState.SUCCESS
    assert loop.outputs["terminatedIterations"] == {"SUCCESS": 2, "FAILED": 1}
    assert loop.outputs["outputs"] == [
        {"item": {"value": "a", "iteration": 0}, "outputs": {"got": "OK a"}},
        {"item": {"value": "c", "iteration": 2}, "outputs": {"got": "OK c"}},
    ]
    assert not [e for e in execution.logs if e.level == "ERROR"]


def test_an_output_that_cannot_render_fails_its_iteration() -> None:
    # LoopCaseTest.loopOutputsFailedRender: the iteration's tasks succeeded, its output failed
    execution = run(
        tasks_flow(
            """
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: [a, b]
    concurrencyLimit: 1
    outputs:
      - id: missing
        value: "{{ outputs.nope.value }}"
    tasks:
      - id: ok
        type: io.kestra.plugin.core.debug.Return
        format: ok
"""
        )
    )
    assert execution.state is ExecutionState.FAILED
    loop = execution.task_run("loop").outputs
    assert loop["terminatedIterations"] == {"FAILED": 1}
    assert "outputs" not in loop
    assert "Loop iteration 0 (value 'a') ended in FAILED" in execution.logs[-1].message


def test_declared_outputs_get_their_type() -> None:
    execution = run(
        tasks_flow(
            """
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: [1, 2]
    concurrencyLimit: 1
    outputs:
      - id: doubled
        type: INT
        value: "{{ item.value * 2 }}"
      - id: data
        type: JSON
        value: '{"v": {{ item.value }}}'
    tasks:
      - id: log
        type: io.kestra.plugin.core.log.Log
        message: "{{ item.value }}"
  - id: total
    type: io.kestra.plugin.core.debug.Return
    format: "{{ loopOutputs(outputs.loop.outputs, 'doubled') | join('+') }}"
"""
        )
    )
    assert execution.state is ExecutionState.SUCCESS
    assert [e["outputs"] for e in execution.task_run("loop").outputs["outputs"]] == [
        {"doubled": 2, "data": {"v": 1}},
        {"doubled": 4, "data": {"v": 2}},
    ]
    assert execution.outputs["total"]["value"] == "2+4"


@pytest.mark.parametrize(
    ("limit", "expected_peak", "expected_seconds"), [(2, 2, 3.0), (1, 1, 5.0), (0, 5, 1.0)]
)
def test_concurrency_limit_bounds_the_iterations_in_flight(
    limit: int, expected_peak: int, expected_seconds: float
) -> None:
    # concurrencyLimit: 0 = all at once, N = at most N iterations at a time (counted on the observers'
    # events, on virtual time: each iteration sleeps one virtual second)
    timeline = Timeline()
    flow = load(
        tasks_flow(
            f"""
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: [1, 2, 3, 4, 5]
    concurrencyLimit: {limit}
    tasks:
      - id: nap
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT1S
"""
        )
    )
    execution, elapsed = run_virtual_timed(flow.arun(observers=[timeline], progress=False))
    assert execution.state is ExecutionState.SUCCESS
    assert timeline.max_in_flight("nap") == expected_peak
    assert sum(1 for _, kind, task_id, _ in timeline.events if kind == "end" and task_id == "nap") == 5
    assert elapsed == pytest.approx(expected_seconds, abs=0.01)


def test_trigger_dag_run_in_a_loop_triggers_one_run_per_iteration(fake_airflow: FakeAirflow) -> None:
    execution = run(
        tasks_flow(
            """
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: ["2026-01-01", "2026-01-02", "2026-01-03"]
    concurrencyLimit: 2
    outputs:
      - id: runId
        value: "{{ outputs.run_dag.dagRunId }}"
    tasks:
      - id: run_dag
        type: io.kestra.plugin.airflow.dags.TriggerDagRun
        baseUrl: http://fake-airflow/
        dagId: ok
        wait: true
        pollFrequency: PT0.01S
        body:
          conf:
            day: "{{ item.value }}"
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
    run_ids = [e["outputs"]["runId"] for e in execution.task_run("loop").outputs["outputs"]]
    assert sorted(run_ids) == sorted(fake_airflow.runs)


def test_a_finished_iteration_leaves_nothing_in_the_parent_but_its_outputs() -> None:
    # Kestra 2.0 runs iterations as sub-executions so that a large loop does not grow its execution:
    # the parent has the loop's task run and the loop's own log lines only
    execution = run(
        tasks_flow(
            """
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: "{{ range(1, 50) }}"
    concurrencyLimit: 3
    tasks:
      - id: log
        type: io.kestra.plugin.core.log.Log
        message: "iteration {{ item.index }}"
      - id: value
        type: io.kestra.plugin.core.debug.Return
        format: "{{ item.value }}"
"""
        )
    )
    assert execution.state is ExecutionState.SUCCESS
    assert [r.task_id for r in execution.task_runs] == ["loop"]
    assert execution.logs == []
    assert execution.outputs == {
        "loop": {"iterationCount": 50, "runningIterations": 0, "terminatedIterations": {"SUCCESS": 50}}
    }


def test_exit_in_an_iteration_ends_that_iteration_only() -> None:
    execution = run(
        tasks_flow(
            """
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: [a, b]
    concurrencyLimit: 1
    transmitFailed: false
    outputs:
      - id: v
        value: "{{ item.value }}"
    tasks:
      - id: stop
        type: io.kestra.plugin.core.execution.Exit
        state: WARNING
      - id: never
        type: io.kestra.plugin.core.log.Log
        message: never
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: after
"""
        )
    )
    assert execution.state is ExecutionState.SUCCESS
    assert execution.task_run("loop").outputs["terminatedIterations"] == {"WARNING": 2}
    assert [e.message for e in execution.logs] == ["after"]


ENDING = """
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: [a, b, c]
    concurrencyLimit: 1
    allowFailure: {allow}
    tasks:
      - id: stop
        type: io.kestra.plugin.core.execution.Exit
        state: "{{{{ item.value == 'b' ? '{state}' : 'SUCCESS' }}}}"
"""


@pytest.mark.parametrize(
    ("state", "allow", "loop_state", "terminated"),
    [
        # every iteration ended: SUCCESS, even with WARNING iterations (not transmitted)
        ("WARNING", "false", "SUCCESS", {"SUCCESS": 2, "WARNING": 1}),
        # a KILLED iteration is transmitted (logged, no new iteration) but terminateLoop maps it to SUCCESS
        ("KILLED", "false", "SUCCESS", {"SUCCESS": 1, "KILLED": 1}),
        # a FAILED one: FAILED, or WARNING with allowFailure (terminateLoop's stateFailure)
        ("FAILED", "false", "FAILED", {"SUCCESS": 1, "FAILED": 1}),
        ("FAILED", "true", "WARNING", {"SUCCESS": 1, "FAILED": 1}),
    ],
)
def test_the_loop_state_follows_kestra_terminate_loop(
    state: str, allow: str, loop_state: str, terminated: dict[str, int]
) -> None:
    # kestra-io/kestra executor/.../LoopExecutionEventMessageHandler.java: handleTerminated ends the
    # loop with terminateLoop(SUCCESS) once every iteration terminated, and with the iteration's state
    # when transmitFailed and the iteration isTerminatedInError; terminateLoop gives FAILED ->
    # stateFailure(task) (allowFailure -> WARNING), any other state -> SUCCESS
    execution = run(tasks_flow(ENDING.format(state=state, allow=allow)))
    loop = execution.task_run("loop")
    assert loop.state.value == loop_state
    assert loop.outputs["terminatedIterations"] == terminated
    errors = [e.message for e in execution.logs if e.level == "ERROR" and e.task_id == "loop"]
    if state == "WARNING":
        assert errors == []
    else:
        assert len(errors) == 1 and f"Loop iteration 1 (value 'b') ended in {state}" in errors[0]


LOOP_YAML = """id: f
namespace: n
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values:
      dev: http://dev.example.com
      prod: http://prod.example.com
    concurrencyLimit: 2
    transmitFailed: false
    fetchType: FETCH
    outputs:
      - id: url
        type: STRING
        value: "{{ outputs.log.value }}"
    tasks:
      - id: log
        type: io.kestra.plugin.core.debug.Return
        format: env={{ item.key }} url={{ item.value }}
    finally:
      - id: done
        type: io.kestra.plugin.core.log.Log
        message: done {{ item.index }}
"""


def test_yaml_loads_runs_and_exports_back() -> None:
    flow = Flow.from_yaml(LOOP_YAML)
    loop = flow.tasks[0]
    assert isinstance(loop, TopLevelLoop)
    assert (loop.concurrency_limit, loop.transmit_failed, loop.fetch_type) == (2, False, "FETCH")
    assert flow.to_yaml() == LOOP_YAML
    execution = run(flow)
    assert execution.state is ExecutionState.SUCCESS
    assert [e["outputs"]["url"] for e in execution.task_run("loop").outputs["outputs"]] == [
        "env=dev url=http://dev.example.com",
        "env=prod url=http://prod.example.com",
    ]


def test_python_loop_exports_kestra_type_and_defaults_as_kestra() -> None:
    loop = TopLevelLoop(
        id="loop", values=["a", "b"], tasks=[TopLevelReturn(id="r", format="{{ item.value }}")]
    )
    assert (loop.concurrency_limit, loop.transmit_failed, loop.fetch_type) == (0, True, "AUTO")
    flow = Flow("f", "n").task(loop)
    document: dict[str, Any] = flow.to_dict()
    assert document["tasks"][0]["type"] == "io.kestra.plugin.core.flow.Loop"
    assert document["tasks"][0]["values"] == ["a", "b"]
    assert run(flow).task_run("loop").outputs["terminatedIterations"] == {"SUCCESS": 2}


def test_bad_properties_are_clear_errors() -> None:
    with pytest.raises(FlowValidationError, match="concurrencyLimit"):
        Flow.from_yaml(
            tasks_flow(
                """
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: [a]
    concurrencyLimit: -1
    tasks:
      - id: r
        type: io.kestra.plugin.core.debug.Return
        format: x
"""
            )
        )
    with pytest.raises(FlowValidationError, match="fetchType"):
        Flow.from_yaml(
            tasks_flow(
                """
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: [a]
    fetchType: SOMETIMES
    tasks:
      - id: r
        type: io.kestra.plugin.core.debug.Return
        format: x
"""
            )
        )


def test_fetch_type_store_keeps_each_iteration_outputs_in_a_file(tmp_path: Path) -> None:
    # Loop.computeIterationOutput: STORE writes the iteration's typed outputs to the internal storage
    # and the entry's outputs are {uri}; loopOutputs(..., 'uri') lists them (LoopOutputsFunctionTest)
    execution = run(
        tasks_flow(
            """
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: [a, b]
    concurrencyLimit: 1
    fetchType: STORE
    outputs:
      - id: got
        type: STRING
        value: "{{ outputs.r.value }}"
      - id: n
        type: INT
        value: "{{ item.index }}"
    tasks:
      - id: r
        type: io.kestra.plugin.core.debug.Return
        format: "x-{{ item.value }}"
  - id: uris
    type: io.kestra.plugin.core.debug.Return
    format: "{{ loopOutputs(outputs.loop.outputs, 'uri') }}"
"""
        ),
        storage_dir=tmp_path,
    )
    assert execution.state is ExecutionState.SUCCESS
    entries = execution.task_run("loop").outputs["outputs"]
    assert [e["item"] for e in entries] == [{"value": "a", "iteration": 0}, {"value": "b", "iteration": 1}]
    uris = [e["outputs"]["uri"] for e in entries]
    assert execution.task_run("uris").outputs["value"] == json.dumps(uris, separators=(",", ":"))
    stored = []
    for uri in uris:
        assert uri.startswith("kestra:///n/f/executions/") and uri.endswith(".ion")
        path = tmp_path / "files" / uri.removeprefix("kestra:///")
        stored.append(json.loads(path.read_text(encoding="utf-8")))
    assert stored == [{"got": "x-a", "n": 0}, {"got": "x-b", "n": 1}]


BREAKING = """
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: [a, b, c, d]
    concurrencyLimit: 1
    transmitFailed: false
    breakWhen: "{break_when}"
    outputs:
      - id: got
        value: "{{{{ outputs.r.value }}}}"
    tasks:
      - id: r
        type: io.kestra.plugin.core.debug.Return
        format: "x-{{{{ item.value }}}}"
      - id: maybe_fail
        type: io.kestra.plugin.core.execution.Fail
        condition: "{{{{ item.value == 'c' }}}}"
"""


@pytest.mark.parametrize(
    ("break_when", "ran"),
    [
        # item: the iteration's item; truthy after b: c and d never start
        ("{{ item.value == 'b' }}", ["a", "b"]),
        # iteration.outputs: its declared outputs; iteration.state: how it ended
        ("{{ iteration.outputs.got == 'x-a' }}", ["a"]),
        ("{{ iteration.state == 'FAILED' }}", ["a", "b", "c"]),
        # not truthy (TruthUtils): every iteration runs
        ("{{ item.index > 10 ? 'x' : '' }}", ["a", "b", "c", "d"]),
        ("0", ["a", "b", "c", "d"]),
    ],
)
def test_break_when_stops_new_iterations(break_when: str, ran: list[str]) -> None:
    # Loop.breakWhen (kestra-io/kestra core/.../plugin/core/flow/Loop.java, its @Schema): evaluated
    # after each iteration with item and iteration.executionId/state/outputs; truthy stops new ones
    execution = run(tasks_flow(BREAKING.format(break_when=break_when)))
    loop = execution.task_run("loop")
    assert loop.state is ExecutionState.SUCCESS
    assert [e["item"]["value"] for e in loop.outputs["outputs"]] == [v for v in ran if v != "c"]
    assert sum(loop.outputs["terminatedIterations"].values()) == len(ran)
    assert loop.outputs["iterationCount"] == 4


def test_break_when_sees_the_iteration_execution_id() -> None:
    # iteration.executionId is the iteration's sub-execution, never the root execution: true at once
    execution = run(tasks_flow(BREAKING.format(break_when="{{ iteration.executionId != execution.id }}")))
    assert execution.task_run("loop").outputs["terminatedIterations"] == {"SUCCESS": 1}


def test_break_when_that_cannot_render_fails_the_loop() -> None:
    execution = run(tasks_flow(BREAKING.format(break_when="{{ nothing.here }}")))
    loop = execution.task_run("loop")
    assert loop.state is ExecutionState.FAILED and execution.state is ExecutionState.FAILED
    assert sum(loop.outputs["terminatedIterations"].values()) == 1
    (error,) = [e.message for e in execution.logs if e.level == "ERROR" and e.task_id == "loop"]
    assert error.startswith("Loop breakWhen:") and "nothing" in error


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ("outputs.loop.outputs, 'x'", '["1",""]'),
        ("[{'outputs': {'x': 1}}, {'item': {}}, 'no'], 'x'", "[1,null,null]"),
        ("[], 'x'", "[]"),
        ("'not-a-list', 'x'", "expects 'outputs' to be a list"),
        ("outputs.loop.outputs, null", "expects a non-null argument 'name'"),
        ("null, 'x'", "expects a non-null argument 'outputs'"),
    ],
)
def test_loop_outputs_function(arguments: str, expected: str) -> None:
    # LoopOutputsFunctionTest: one value per entry (null where an entry lacks it), errors for bad args
    execution = run(
        tasks_flow(
            f"""
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: [1, 2]
    concurrencyLimit: 1
    outputs:
      - id: x
        value: "{{{{ item.index == 0 ? item.value : '' }}}}"
    tasks:
      - id: r
        type: io.kestra.plugin.core.debug.Return
        format: x
  - id: read
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ loopOutputs({arguments}) }}}}"
"""
        )
    )
    read = execution.task_run("read")
    shown = read.outputs.get("value") if read.state is ExecutionState.SUCCESS else read.error
    assert expected in (shown or "")


def test_cancelling_the_run_kills_the_loop_and_its_iterations() -> None:
    # Ctrl-C (a cancelled run) ends the running iterations' tasks and the loop KILLED, as any task
    recorder = Recorder()
    flow = load(
        tasks_flow(
            """
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: [a, b, c]
    concurrencyLimit: 2
    tasks:
      - id: nap
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT1H
"""
        )
    )

    def napping(_: object) -> bool:
        return sum(1 for r in recorder.started if r == "nap") == 2

    execution = run_virtual(cancel_when(flow.runner(observers=[recorder], progress=False), napping))
    assert execution is not None and execution.state is ExecutionState.KILLED
    assert execution.task_run("loop").state is ExecutionState.KILLED
    assert sorted(t for _, t, s in recorder.ended if s == "KILLED") == ["loop", "nap", "nap"]
