"""Flow-level semantics run as Kestra runs them: runIf (SKIPPED), pluginDefaults, flow outputs,
Subflow (flows given to run() or a folder), disabled flows, and what is refused before running."""

from __future__ import annotations

from pathlib import Path

import pytest

from kestra_airflow_sdk.flows import ExecutionState, Flow, FlowValidationError, Return, UnsupportedTaskError
from tests.runner.core_flows import run, states, tasks_flow

RUN_IF = """
id: task-runif
namespace: io.kestra.tests
inputs:
  - id: run_everything
    type: BOOL
    defaults: true
tasks:
  - id: step1
    type: io.kestra.plugin.core.log.Log
    message: "This will always run"
  - id: step2
    type: io.kestra.plugin.core.log.Log
    runIf: "{{ inputs.run_everything }}"
    message: "This will only run if set to true"
"""


def test_run_if_false_skips_the_task() -> None:
    # blueprint runif-task-attribute: false → the task is SKIPPED (not failed); the execution SUCCESS
    skipped = run(RUN_IF, inputs={"run_everything": False})
    assert states(skipped) == {"step1": "SUCCESS", "step2": "SKIPPED"}
    assert skipped.state is ExecutionState.SUCCESS
    assert [e.message for e in skipped.logs] == ["This will always run"]
    ran = run(RUN_IF)
    assert states(ran) == {"step1": "SUCCESS", "step2": "SUCCESS"}


def test_run_if_that_cannot_render_fails_the_task() -> None:
    # flows/valids/task-runif.yml: `willfailedtheflow` (runIf on an undefined output) fails the flow
    execution = run(
        RUN_IF.replace('runIf: "{{ inputs.run_everything }}"', 'runIf: "{{ outputs.notexists }}"')
    )
    assert states(execution) == {"step1": "SUCCESS", "step2": "FAILED"}
    assert execution.state is ExecutionState.FAILED
    assert "notexists" in (execution.task_run("step2").error or "")


def test_run_if_on_a_flowable_skips_its_children() -> None:
    execution = run(
        tasks_flow(
            """
  - id: seq
    type: io.kestra.plugin.core.flow.Sequential
    runIf: "0"
    tasks:
      - id: child
        type: io.kestra.plugin.core.execution.Fail
"""
        )
    )
    assert states(execution) == {"seq": "SKIPPED"}
    assert execution.state is ExecutionState.SUCCESS


PLUGIN_DEFAULTS = """
id: defaults
namespace: n
tasks:
  - id: own
    type: io.kestra.plugin.core.debug.Return
    format: "mine"
  - id: defaulted
    type: io.kestra.plugin.core.debug.Return
  - id: nested
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: deep
        type: io.kestra.plugin.core.debug.Return
pluginDefaults:
  - type: io.kestra.plugin.core.debug
    values:
      format: "from default {{ task.id }}"
"""


def test_plugin_defaults_fill_what_a_task_leaves_out() -> None:
    # PluginDefaultService: a default applies to the types equal to or starting with its type, at any
    # depth; the task's own values win unless the default is forced
    execution = run(PLUGIN_DEFAULTS)
    assert execution.outputs == {
        "own": {"value": "mine"},
        "defaulted": {"value": "from default defaulted"},
        "deep": {"value": "from default deep"},
    }
    forced = run(PLUGIN_DEFAULTS.replace("    values:", "    forced: true\n    values:"))
    assert forced.outputs["own"] == {"value": "from default own"}


def test_plugin_defaults_are_not_written_into_the_export() -> None:
    flow = Flow.from_yaml(PLUGIN_DEFAULTS)
    exported = flow.to_yaml()
    assert exported.count("from default") == 1  # only in pluginDefaults
    assert Flow.from_yaml(exported) == flow


def test_plugin_defaults_of_a_flow_built_in_python() -> None:
    flow = Flow(
        "f",
        "n",
        plugin_defaults=[{"type": "io.kestra.plugin.core.debug.Return", "values": {"format": "x"}}],
    ).task(Return(id="r"))
    assert run(flow).outputs["r"] == {"value": "x"}


def test_plugin_default_can_give_a_required_property() -> None:
    flow = Flow.from_yaml(
        tasks_flow(
            """
  - id: run_dag
    type: io.kestra.plugin.airflow.dags.TriggerDagRun
    dagId: my_dag
pluginDefaults:
  - type: io.kestra.plugin.airflow.dags.TriggerDagRun
    values:
      baseUrl: http://airflow:8080
      wait: true
"""
        )
    )
    assert flow.tasks[0].base_url == "http://airflow:8080"  # type: ignore[union-attr]
    assert "baseUrl" not in flow.to_yaml().split("pluginDefaults")[0]


CHILD = """
id: child
namespace: company.team
inputs:
  - id: name
    type: STRING
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: "hello {{ inputs.name }}"
  - id: maybe_fail
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ inputs.name == 'fail' }}"
outputs:
  - id: greeting
    type: STRING
    value: "{{ outputs.hello.value }}"
"""

PARENT = """
id: parent
namespace: company.team
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: child
    inputs:
      name: "{{ flow.id }}"
outputs:
  - id: child_greeting
    type: STRING
    value: "{{ outputs.call.outputs.greeting }}"
"""


def test_subflow_runs_the_child_and_returns_its_outputs() -> None:
    # Subflow.java: outputs executionId, state and outputs (the child flow's outputs)
    child = Flow.from_yaml(CHILD.replace("{{ inputs.name == 'fail' }}", "0"))
    execution = run(PARENT, flows=[child])
    assert execution.state is ExecutionState.SUCCESS
    out = execution.outputs["call"]
    assert out["state"] == "SUCCESS" and out["outputs"] == {"greeting": "hello parent"}
    sub = execution.subflows[out["executionId"]]
    assert (sub.flow_id, sub.state, sub.inputs) == ("child", ExecutionState.SUCCESS, {"name": "parent"})
    assert execution.flow_outputs == {"child_greeting": "hello parent"}


def test_subflow_failure_is_transmitted_unless_told_not_to(tmp_path: Path) -> None:
    # ExecutableUtils.guessState: transmitFailed (default true) → a FAILED child fails the task
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "child.yaml").write_text(CHILD.replace("{{ inputs.name == 'fail' }}", "1"))
    failed = run(PARENT, flows_dir=tmp_path)
    assert failed.state is ExecutionState.FAILED and failed.task_run("call").state is ExecutionState.FAILED
    assert failed.outputs["call"]["state"] == "FAILED"
    kept = run(
        PARENT.replace("flowId: child", "flowId: child\n    transmitFailed: false"), flows_dir=tmp_path
    )
    assert kept.state is ExecutionState.SUCCESS and kept.outputs["call"]["state"] == "FAILED"


def test_subflow_without_wait_is_started_and_not_followed() -> None:
    child = Flow.from_yaml(
        "id: child\nnamespace: company.team\ninputs:\n  - id: name\n    type: STRING\ntasks:\n"
        "  - id: nap\n    type: io.kestra.plugin.core.flow.Sleep\n    duration: PT1H\n"
    )
    execution = run(
        PARENT.replace("flowId: child", "flowId: child\n    wait: false").split("outputs:\n  - id: child")[0],
        flows=[child],
    )
    assert execution.state is ExecutionState.SUCCESS
    assert set(execution.outputs["call"]) == {"executionId"}
    sub = execution.subflows[execution.outputs["call"]["executionId"]]
    assert sub.state is ExecutionState.SUCCESS  # the local run still lets it finish before returning


def test_subflow_not_found_fails_its_task_run() -> None:
    """As Kestra does (JdbcRunnerTest#eachParallelWithSubflowMissing): the flow runs, and the Subflow
    task whose flow does not exist fails, naming it, and so does the execution."""
    execution = run(PARENT)
    assert execution.state is ExecutionState.FAILED
    call = execution.task_run("call")
    assert call.state is ExecutionState.FAILED
    assert call.error is not None and "subflow company.team.child not found; flows given: none" in call.error


def test_subflow_with_unsupported_tasks_is_refused_before_running() -> None:
    child = Flow.from_yaml(
        "id: child\nnamespace: company.team\ntasks:\n  - id: sh\n    type: io.kestra.plugin.scripts.r.Commands\n"
    )
    with pytest.raises(UnsupportedTaskError, match=r"subflow company.team.child has task types .*'sh'"):
        run(PARENT, flows=[child])


def test_properties_that_cannot_be_honoured_are_refused() -> None:
    flow = Flow.from_yaml(
        tasks_flow(
            """
  - id: seq
    type: io.kestra.plugin.core.flow.Sequential
    timeout: PT1M
    tasks:
      - id: call
        type: io.kestra.plugin.core.flow.Subflow
        namespace: n
        flowId: g  # another flow: one that runs itself is refused at load (FlowValidator)
        revision: 3
"""
        )
    )
    with pytest.raises(UnsupportedTaskError) as err:
        run(flow, flows=[flow])
    assert "task 'seq' (Sequential): timeout on a flowable task is not supported locally" in str(err.value)
    assert "task 'call' (Subflow): revision is not supported locally" in str(err.value)


def test_disabled_flow_is_refused() -> None:
    flow = Flow.from_yaml(
        "id: f\nnamespace: n\ndisabled: true\ntasks:\n  - id: r\n    type: io.kestra.plugin.core.debug.Return\n"
    )
    with pytest.raises(FlowValidationError, match="disabled"):
        run(flow)


def test_flow_output_that_cannot_render_fails_the_execution() -> None:
    execution = run(
        "id: f\nnamespace: n\ntasks:\n  - id: r\n    type: io.kestra.plugin.core.debug.Return\n    format: x\n"
        "outputs:\n  - id: o\n    type: STRING\n    value: '{{ outputs.missing.value }}'\n"
    )
    assert execution.state is ExecutionState.FAILED
    assert "flow output 'o'" in execution.logs[-1].message


def test_task_runs_have_unique_ids_parents_and_a_frame() -> None:
    execution = run(PLUGIN_DEFAULTS)
    ids = [r.id for r in execution.task_runs]
    assert len(set(ids)) == len(ids) and all(len(i) == 22 for i in ids)
    deep = execution.task_run("deep")
    assert deep.parent_id == execution.task_run("nested").id
    frame = execution.to_pandas()
    assert list(frame["task_id"]) == ["own", "defaulted", "nested", "deep"]
    assert "value" in frame.columns


def test_subflow_labels_and_inherited_labels() -> None:
    # Subflow.java: labels (rendered) and inheritLabels (the parent's labels) go to the child execution
    child = Flow.from_yaml(CHILD.replace("{{ inputs.name == 'fail' }}", "0"))
    parent = PARENT.replace(
        "    inputs:\n", "    inheritLabels: true\n    labels:\n      caller: '{{ flow.id }}'\n    inputs:\n"
    )
    execution = run(parent, flows=[child], labels={"team": "data"})
    sub = execution.subflows[execution.outputs["call"]["executionId"]]
    assert sub.labels["team"] == "data" and sub.labels["caller"] == "parent"


def test_flow_outputs_are_converted_to_their_type() -> None:
    # FlowInputOutput.typedOutputs: an output is converted to its declared type; one that does not
    # convert fails the execution
    flow = (
        "id: f\nnamespace: n\ntasks:\n  - id: r\n    type: io.kestra.plugin.core.debug.Return\n    format: '42'\n"
        "outputs:\n  - id: number\n    type: INT\n    value: '{{ outputs.r.value }}'\n"
        "  - id: items\n    type: JSON\n    value: '[1, 2]'\n"
    )
    execution = run(flow)
    assert execution.state is ExecutionState.SUCCESS
    assert execution.flow_outputs == {"number": 42, "items": [1, 2]}
    broken = run(flow.replace("type: INT", "type: BOOLEAN"))
    assert broken.state is ExecutionState.FAILED
    assert "flow output 'number': expected a BOOLEAN value, got '42'" in broken.logs[-1].message


def test_task_defaults_the_older_name_applies_too() -> None:
    # Flow.java: setTaskDefaults sets pluginDefaults (the older name); the document keeps its key
    flow = Flow.from_yaml(PLUGIN_DEFAULTS.replace("pluginDefaults:", "taskDefaults:"))
    assert run(flow).outputs["defaulted"] == {"value": "from default defaulted"}
    assert "taskDefaults:" in flow.to_yaml() and "pluginDefaults" not in flow.to_yaml()


def test_envs_are_the_env_prefixed_environment_variables() -> None:
    # Kestra's envs: environment variables starting with ENV_, by their lower-case name without it
    # (flows/valids/variables.yaml reads {{envs.test1}} {{envs.test2}})
    from tests.virtual_time import run_virtual_timed

    flow = Flow.from_yaml(
        "id: f\nnamespace: n\ntasks:\n  - id: env\n    type: io.kestra.plugin.core.debug.Return\n"
        "    format: '{{envs.test1}} {{envs.test2}}'\n"
    )
    runner = flow.runner(
        progress=False, environ={"ENV_TEST1": "true", "ENV_TEST2": "Pass by env", "OTHER": "x"}
    )
    execution, _ = run_virtual_timed(runner.run())
    assert execution.outputs["env"] == {"value": "true Pass by env"}
