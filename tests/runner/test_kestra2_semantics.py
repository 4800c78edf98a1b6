"""A run follows the semantics of its flow's Kestra version (``Flow.kestra``): what differs between
Kestra 1.3 and 2.0 (kestra-io/kestra2-flow-migration, migration-documentation/flows-changes.md), and
what the document lists for 2.0 but Kestra 1.3 already did (the same in both here)."""

from __future__ import annotations

import pytest

from kestra_airflow_sdk.flows import ExecutionState, Flow, FlowValidationError, UnsupportedTaskError
from kestra_airflow_sdk.runner import FlowRunner
from kestra_airflow_sdk.runner.checks import CheckFailedError
from tests.runner.core_flows import run, states, tasks_flow
from tests.virtual_time import run_virtual_timed

LOG = """
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ inputs.value }}"
"""
INPUT = "inputs:\n  - id: value\n    type: STRING\n    defaults: hello\n"


def flow_for(kestra: str, tasks: str = LOG, header: str = INPUT) -> Flow:
    return Flow.from_yaml(tasks_flow(tasks, header), kestra=kestra)


# ------------------------------------------------------------------ expressions


def test_the_runner_follows_the_flow_version() -> None:
    assert FlowRunner(flow_for("1.3"), progress=False).kestra == "1.3"
    assert FlowRunner(flow_for("2.0"), progress=False).kestra == "2.0"
    # detected: a 1.3-only construct (the json filter) makes a 1.3 flow, which runs
    old = Flow.from_yaml(tasks_flow(LOG.replace("inputs.value", "inputs | json"), INPUT))
    assert old.kestra == "1.3"
    execution = run(old)
    assert execution.state is ExecutionState.SUCCESS
    assert [e.message for e in execution.logs] == ['{"value":"hello"}']


def test_a_2_0_flow_using_json_fails_before_running_naming_to_json() -> None:
    flow = flow_for("2.0")
    flow.tasks[0].message = "{{ inputs | json }}"  # type: ignore[attr-defined]  # changed after loading
    with pytest.raises(FlowValidationError, match=r"\| json was removed in Kestra 2\.0; use \| toJson"):
        FlowRunner(flow, progress=False).check()
    flow.tasks[0].message = "{{ json('[1]') }}"  # type: ignore[attr-defined]
    with pytest.raises(FlowValidationError, match=r"json\(\) was removed in Kestra 2\.0; use fromJson\(\)"):
        run(flow)


def test_input_defaults_are_checked_with_the_flow_version() -> None:
    # currentEachOutput() (a ForEach helper) is gone in 2.0: refused before the run
    header = "inputs:\n  - id: value\n    type: STRING\n    defaults: '{{ currentEachOutput(outputs.x) }}'\n"
    with pytest.raises(FlowValidationError, match="currentEachOutput"):
        run(flow_for("2.0", header=header))


def test_input_defaults_render_with_the_flow_version() -> None:
    header = "inputs:\n  - id: value\n    type: STRING\n    defaults: \"{{ {'a': 1} | toJson }}\"\n"
    for kestra in ("1.3", "2.0"):
        execution = run(flow_for(kestra, header=header))
        assert execution.inputs == {"value": '{"a":1}'}
    json_default = header.replace("toJson", "json")
    assert run(Flow.from_yaml(tasks_flow(LOG, json_default))).inputs == {"value": '{"a":1}'}  # a 1.3 flow


# ------------------------------------------------------------------ secrets


@pytest.mark.parametrize("kestra", ["1.3", "2.0"])
def test_a_missing_secret_fails_the_task_in_both(kestra: str) -> None:
    # kestra-io/kestra#6495 (0.21, 2024-12): secret() of a missing key throws in OSS too, so 1.3
    # already failed; flows-changes.md lists it again for 2.0 ("Missing secret() now fails")
    flow = flow_for(kestra, LOG.replace("inputs.value", "secret('NOPE')"))
    execution = run(flow, environ={})
    assert execution.state is ExecutionState.FAILED
    error = execution.task_run("log").error or ""
    assert "secret" in error.lower() and "NOPE" in error


# ------------------------------------------------------------------ outputs


@pytest.mark.parametrize("kestra", ["1.3", "2.0"])
def test_empty_lists_and_maps_are_outputs_in_both(kestra: str) -> None:
    # Kestra 0.17 moved to NON_NULL serialisation (migration-guide/0.17.0/json-objects-serialization):
    # an empty list or map is defined in 1.3 as in 2.0
    tasks = """
  - id: out
    type: io.kestra.plugin.core.output.OutputValues
    values:
      rows: []
      meta: {}
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.out.values.rows is defined }} {{ outputs.out.values.meta is defined }}"
"""
    execution = run(flow_for(kestra, tasks, ""))
    assert execution.outputs["out"]["values"] == {"rows": [], "meta": {}}
    assert [e.message for e in execution.logs] == ["true true"]


# ------------------------------------------------------------------ Subflow outputs

CHILD = """
id: child
namespace: company.team
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: "hello"
"""
PARENT = """
id: parent
namespace: company.team
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: child
    outputs:
      greeting: "{{ outputs.hello.value }}"
"""


def test_subflow_task_outputs_work_in_1_3() -> None:
    # Subflow.outputs, deprecated since 0.15, still rendered in the child execution by 1.3
    parent = Flow.from_yaml(PARENT)
    assert parent.kestra == "1.3"
    execution = run(parent, flows=[Flow.from_yaml(CHILD)])
    assert execution.outputs["call"]["outputs"] == {"greeting": "hello"}


def test_subflow_task_outputs_are_refused_in_2_0() -> None:
    with pytest.raises(FlowValidationError, match=r"Subflow outputs was removed in Kestra 2\.0"):
        Flow.from_yaml(PARENT, kestra="2.0")
    parent = Flow.from_yaml(PARENT.split("    outputs:")[0], kestra="2.0")
    parent.tasks[0].outputs = {"greeting": "{{ outputs.hello.value }}"}  # type: ignore[attr-defined]
    with pytest.raises(FlowValidationError, match="Subflow outputs"):
        run(parent, flows=[Flow.from_yaml(CHILD)])


def test_2_0_subflow_outputs_come_from_the_child_flow_and_the_child_runs_its_own_version() -> None:
    # a 2.0 parent calling a 1.3 child: the child's expressions follow 1.3 (json), its outputs reach
    # the parent through the child flow's outputs
    child = Flow.from_yaml(
        CHILD + 'outputs:\n  - id: greeting\n    type: STRING\n    value: "{{ [1] | json }}"\n'
    )
    assert child.kestra == "1.3"
    parent = Flow.from_yaml(PARENT.split("    outputs:")[0], kestra="2.0")
    execution = run(parent, flows=[child])
    assert execution.state is ExecutionState.SUCCESS
    assert execution.outputs["call"]["outputs"] == {"greeting": "[1]"}


# ------------------------------------------------------------------ inputs, Exit, flow ids


def test_an_input_with_defaults_must_be_required_in_2_0() -> None:
    header = INPUT + "    required: false\n"
    assert run(flow_for("1.3", header=header)).inputs == {"value": "hello"}
    with pytest.raises(FlowValidationError, match="inputs with defaults must be required"):
        flow_for("2.0", header=header)


def test_exit_canceled_is_1_3_s_alias_and_refused_in_2_0() -> None:
    tasks = "  - id: stop\n    type: io.kestra.plugin.core.execution.Exit\n    state: CANCELED\n"
    old = Flow.from_yaml(tasks_flow(tasks))
    assert old.kestra == "1.3"
    # a CANCELLED execution does not exist locally: refused before running, for both spellings
    with pytest.raises(UnsupportedTaskError, match="state CANCELLED is not supported locally"):
        run(old)
    with pytest.raises(
        FlowValidationError, match=r"Exit state CANCELED was removed in Kestra 2\.0; use CANCELLED"
    ):
        Flow.from_yaml(tasks_flow(tasks), kestra="2.0")


@pytest.mark.parametrize("kestra", ["1.3", "2.0"])
def test_reserved_flow_ids_are_refused_in_both(kestra: str) -> None:
    # reserved since Kestra 1.0 (migration-guide/1.0.0/reserved-flow-ids)
    with pytest.raises(FlowValidationError, match=r"id: 'kill' is reserved by Kestra .*'kill-flow'"):
        Flow.from_yaml(tasks_flow(LOG, INPUT).replace("id: f\n", "id: kill\n", 1), kestra=kestra)
    assert Flow.from_yaml(tasks_flow(LOG, INPUT).replace("id: f\n", "id: kill-flow\n", 1), kestra=kestra)


# ------------------------------------------------------------------ scripts


@pytest.mark.parametrize("kestra", ["1.3", "2.0"])
def test_stderr_does_not_change_a_script_task_state_in_both(kestra: str) -> None:
    # Kestra 0.23 stopped marking a task WARNING for output on stderr; 1.3 and 2.0 alike
    tasks = """
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - echo "WARNING something" >&2
"""
    execution = run(flow_for(kestra, tasks, ""))
    assert states(execution) == {"sh": "SUCCESS"}
    assert any(e.message == "WARNING something" and e.level == "ERROR" for e in execution.logs)


# ------------------------------------------------------------------ checks

CHECKS = """checks:
  - {key}: "{{{{ inputs.value == 'hello' }}}}"
    message: value must be hello
    style: WARNING
    behavior: {behavior}
"""


def checked(kestra: str, behavior: str = "BLOCK_EXECUTION", key: str = "") -> Flow:
    key = key or ("condition" if kestra == "1.3" else "when")
    return flow_for(kestra, header=INPUT + CHECKS.format(key=key, behavior=behavior))


@pytest.mark.parametrize("kestra", ["1.3", "2.0"])
def test_a_blocking_check_creates_no_execution(kestra: str) -> None:
    assert run(checked(kestra), inputs={"value": "hello"}).state is ExecutionState.SUCCESS
    runner = FlowRunner(checked(kestra), inputs={"value": "bye"}, progress=False)
    with pytest.raises(
        CheckFailedError, match="no execution created, a check does not hold: value must be hello"
    ):
        run_virtual_timed(runner.run())
    assert runner.execution is None


def test_fail_and_create_execution_checks() -> None:
    failed = run(checked("2.0", "FAIL_EXECUTION"), inputs={"value": "bye"})
    assert failed.state is ExecutionState.FAILED and failed.task_runs == []
    assert [(e.level, e.message) for e in failed.logs] == [("WARN", "value must be hello")]
    created = run(checked("2.0", "CREATE_EXECUTION"), inputs={"value": "bye"})
    assert created.state is ExecutionState.SUCCESS and states(created) == {"log": "SUCCESS"}
    assert [e.message for e in created.logs] == ["value must be hello", "bye"]


def test_check_expression_key_follows_the_version() -> None:
    # 2.0 renamed condition to when and still reads condition (deprecated alias); 1.3 has no when
    with pytest.raises(CheckFailedError):
        run(checked("2.0", key="condition"), inputs={"value": "bye"})
    with pytest.raises(
        FlowValidationError, match=r"checks\[0\]\.when: a check's expression is `condition` in Kestra 1\.3"
    ):
        run(checked("1.3", key="when"), inputs={"value": "bye"})


def test_a_check_that_does_not_render_a_boolean_is_refused() -> None:
    flow = flow_for("2.0", header=INPUT + 'checks:\n  - when: "{{ inputs.value }}"\n    message: m\n')
    with pytest.raises(
        FlowValidationError, match=r"checks\[0\]: its expression must render true or false, got 'hello'"
    ):
        run(flow)
    bad = flow_for(
        "2.0", header=INPUT + 'checks:\n  - when: "{{ true }}"\n    message: m\n    behavior: STOP\n'
    )
    with pytest.raises(FlowValidationError, match=r"checks\[0\]\.behavior: expected one of BLOCK_EXECUTION"):
        run(bad)
