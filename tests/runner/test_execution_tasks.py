"""The tasks that act on the running execution, run locally as Kestra runs them.

Semantics from kestra-io/kestra, cited per test: ``plugin/core/execution/Labels.java``,
``SetVariables.java`` (+ ``SetVariablesTest``, flows ``set-variables*.yaml``), ``UnsetVariables.java``
(+ ``UnsetVariablesTest``, ``unset-variables.yaml``), ``Assert.java`` (+ ``AssertTest``),
``plugin/core/log/Fetch.java``; ``RunVariables`` (``vars`` are the execution's variables, which start
as the flow's; ``labels`` the execution's labels).
"""

from __future__ import annotations

import json
from pathlib import Path

from kestra_airflow_sdk.flows import Execution, ExecutionState, Flow
from kestra_airflow_sdk.storage import InternalStorage, storage_root
from tests.runner.core_flows import run, states, tasks_flow


def _file(uri: str, storage_dir: Path | None = None) -> Path:
    """The local file of a ``kestra:///`` URI of the run's internal storage (``storage_dir``, else
    the tests' storage folder)."""
    assert uri.startswith("kestra:///")
    return InternalStorage.under(storage_dir or storage_root()).path(uri)


# ---------------------------------------------------------------------------------------- Labels


def test_labels_are_added_and_overwritten_and_seen_by_later_tasks() -> None:
    # Labels.java: a map, or a list of {key, value} (the last of a key wins); existing keys overwritten
    execution = run(
        tasks_flow(
            """
  - id: by_map
    type: io.kestra.plugin.core.execution.Labels
    labels:
      team: "{{ inputs.team }}"
      "{{ 'dyn' ~ 'Key' }}": 42
      meta: {a: "{{ 1 + 1 }}"}
  - id: by_list
    type: io.kestra.plugin.core.execution.Labels
    labels:
      - key: env
        value: dev
      - key: env
        value: prod
      - key: team
        value: platform
  - id: out
    type: io.kestra.plugin.core.output.OutputValues
    values:
      seen: "{{ labels.team }} {{ labels.env }} {{ labels.dynKey }} {{ labels.meta }}"
""",
            header="labels:\n  team: data\ninputs:\n  - id: team\n    type: STRING\n    defaults: ops\n",
        )
    )
    assert execution.state is ExecutionState.SUCCESS, execution.logs
    assert execution.labels == {
        "team": "platform",
        "dynKey": "42",
        "meta": '{"a":"2"}',
        "env": "prod",
        "system.correlationId": execution.id,
    }
    assert execution.outputs["out"]["values"]["seen"] == 'platform prod 42 {"a":"2"}'
    assert "by_map" not in execution.outputs  # no outputs, as in Kestra


def test_labels_from_a_json_expression_and_system_labels_fail_the_task() -> None:
    execution = run(
        tasks_flow(
            """
  - id: json
    type: io.kestra.plugin.core.execution.Labels
    labels: '{{ {"k": "v"} | toJson }}'
  - id: system
    type: io.kestra.plugin.core.execution.Labels
    allowFailure: true
    labels:
      system.username: me
  - id: broken
    type: io.kestra.plugin.core.execution.Labels
    allowFailure: true
    labels: "not json"
"""
        )
    )
    assert execution.labels["k"] == "v"
    assert "system.username" not in execution.labels
    assert states(execution) == {"json": "SUCCESS", "system": "WARNING", "broken": "WARNING"}
    assert execution.task_run("system").error == (
        "System labels can only be set by Kestra itself, offending label: system.username=me"
    )
    assert "labels: expected a JSON map" in (execution.task_run("broken").error or "")


def test_a_secret_never_becomes_a_label() -> None:
    execution = run(
        tasks_flow(
            """
  - id: l
    type: io.kestra.plugin.core.execution.Labels
    labels:
      token: "{{ secret('TOKEN') }}"
"""
        ),
        secrets={"TOKEN": "s3cr3t-value"},
    )
    assert execution.state is ExecutionState.FAILED
    assert "token" not in execution.labels
    assert "labels.token: a label cannot hold a secret" in (execution.task_run("l").error or "")
    assert not any("s3cr3t-value" in entry.message for entry in execution.logs)


# ---------------------------------------------------------------------------- Set/UnsetVariables


def test_set_variables_overwrites_the_flows_and_later_tasks_read_vars() -> None:
    # SetVariablesTest.shouldUpdateExecution, flow set-variables.yaml
    execution = run(
        """
id: set-variables
namespace: io.kestra.tests
variables:
  name: World
  nested: {a: 1, list: [1, 2]}
tasks:
  - id: set-vars
    type: io.kestra.plugin.core.execution.SetVariables
    variables:
      message: Hello
      name: Loïc
      nested: {b: "{{ 1 + 1 }}", list: [2, 3]}
  - id: output
    type: io.kestra.plugin.core.output.OutputValues
    values:
      message: "{{ vars.message }} {{ vars.name }}"
"""
    )
    assert execution.state is ExecutionState.SUCCESS
    assert execution.outputs["output"]["values"]["message"] == "Hello Loïc"
    # MapUtils.deepMerge: maps merged, lists joined without repeats
    assert execution.variables["nested"] == {"a": 1, "b": "2", "list": [1, 2, 3]}
    assert len(execution.task_runs) == 2


def test_set_variables_without_overwrite_fails_on_an_existing_name() -> None:
    # SetVariablesTest.shouldFailWhenExistingVariable (set-variables-duplicate.yaml)
    execution = run(
        tasks_flow(
            """
  - id: set-vars
    type: io.kestra.plugin.core.execution.SetVariables
    overwrite: false
    variables:
      name: Loïc
      other: x
""",
            header="variables:\n  name: World\n",
        )
    )
    assert execution.state is ExecutionState.FAILED
    assert execution.task_run("set-vars").error == (
        "`overwrite` is set to false and the following variables already exist: name"
    )
    assert execution.variables == {"name": "World"}


def test_unset_variables_removes_names_and_nested_ones() -> None:
    # UnsetVariablesTest.shouldUpdateExecution (unset-variables.yaml), and a dotted name
    execution = run(
        tasks_flow(
            """
  - id: set-vars
    type: io.kestra.plugin.core.execution.SetVariables
    variables:
      message: Hello World
      deep: {keep: 1, drop: 2}
  - id: unset-variables
    type: io.kestra.plugin.core.execution.UnsetVariables
    variables:
      - message
      - deep.drop
      - "{{ 'not' ~ 'There' }}"
  - id: output
    type: io.kestra.plugin.core.output.OutputValues
    values:
      message: "{{ vars.message ??? 'default' }}"
"""
        )
    )
    assert execution.state is ExecutionState.SUCCESS, execution.logs
    assert execution.outputs["output"]["values"]["message"] == "default"
    assert execution.variables == {"deep": {"keep": 1}}


def test_unset_variables_of_a_missing_map_fails_unless_ignore_missing() -> None:
    text = tasks_flow(
        """
  - id: unset
    type: io.kestra.plugin.core.execution.UnsetVariables
    IGNORE
    variables: [absent.leaf]
"""
    )
    failed = run(text.replace("IGNORE", "ignoreMissing: false"))
    assert failed.state is ExecutionState.FAILED
    assert "cannot unset 'absent.leaf': the execution has no map 'absent'" in (
        failed.task_run("unset").error or ""
    )
    assert run(text.replace("IGNORE", "ignoreMissing: true")).state is ExecutionState.SUCCESS


def test_variables_set_inside_a_loop_iteration_are_the_executions() -> None:
    execution = run(
        """
id: f
namespace: n
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: ["a"]
    tasks:
      - id: set
        type: io.kestra.plugin.core.execution.SetVariables
        variables:
          seen: "{{ item.value }}"
  - id: out
    type: io.kestra.plugin.core.output.OutputValues
    values:
      seen: "{{ vars.seen }}"
"""
    )
    assert execution.state is ExecutionState.SUCCESS, execution.logs
    assert execution.outputs["out"]["values"]["seen"] == "a"


def test_each_run_starts_from_the_flows_variables() -> None:
    flow = Flow.from_yaml(
        tasks_flow(
            """
  - id: set
    type: io.kestra.plugin.core.execution.SetVariables
    variables:
      n: {deeper: changed}
""",
            header="variables:\n  n: {deeper: original}\n",
        )
    )
    first = run(flow)
    second = run(flow)
    assert first.variables == second.variables == {"n": {"deeper": "changed"}}
    assert flow.variables == {"n": {"deeper": "original"}}


# ---------------------------------------------------------------------------------------- Assert


def test_assert_that_holds_counts_successes() -> None:
    # AssertTest.success
    execution = run(
        tasks_flow(
            """
  - id: check
    type: io.kestra.plugin.core.execution.Assert
    conditions:
      - "{{ inputs.key == 'value' }}"
      - "{{ 42 == 42 }}"
""",
            header="inputs:\n  - id: key\n    type: STRING\n    defaults: value\n",
        )
    )
    assert execution.state is ExecutionState.SUCCESS
    metrics = {m["name"]: m["value"] for m in execution.task_run("check").metrics}
    assert metrics == {"success": 2, "failed": 0}


def test_assert_that_fails_logs_each_failed_condition_and_the_error_message() -> None:
    # AssertTest.failed and shouldFailWhenConditionEvaluatesToNull; Assert.java's messages
    execution = run(
        tasks_flow(
            """
  - id: check
    type: io.kestra.plugin.core.execution.Assert
    errorMessage: "wrong key {{ inputs.key }}"
    conditions:
      - "{{ 42 == 42 }}"
      - "{{ inputs.key == 'value1' }}"
      - "{{ 42 == 42 }}"
      - "{{ inputs.key == 'value2' }}"
      - "{{ null }}"
      - "{{ undefined_variable.x }}"
""",
            header="inputs:\n  - id: key\n    type: STRING\n    defaults: value\n",
        )
    )
    run_ = execution.task_run("check")
    assert execution.state is ExecutionState.FAILED
    assert run_.error == "4 assertions failed!\nwrong key value"
    errors = [e.message for e in execution.logs if e.task_id == "check" and e.level == "ERROR"]
    assert "Assertion `{{ inputs.key == 'value1' }}` failed!" in errors
    assert "Assertion `{{ inputs.key == 'value2' }}` failed!" in errors
    assert "Assertion `{{ null }}` failed!" in errors
    assert any(
        m.startswith("Assertion `{{ undefined_variable.x }}` failed, failed to render `") for m in errors
    )
    metrics = {m["name"]: m["value"] for m in run_.metrics}
    assert metrics == {"success": 2, "failed": 4}


def test_one_failed_assertion_is_singular() -> None:
    execution = run(
        tasks_flow(
            """
  - id: check
    type: io.kestra.plugin.core.execution.Assert
    conditions: ["{{ 1 + 1 == 3 }}"]
"""
        )
    )
    assert execution.task_run("check").error == "1 assertion failed!"


# ------------------------------------------------------------------------------------- log.Fetch


def _rows(execution: Execution, task_id: str, storage_dir: Path | None = None) -> list[dict[str, object]]:
    outputs = execution.outputs[task_id]
    lines = _file(outputs["uri"], storage_dir).read_text(encoding="utf-8").splitlines()
    assert outputs["size"] == len(lines)
    return [json.loads(line) for line in lines]


FETCH_FLOW = tasks_flow(
    """
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: Hello World! 🚀
  - id: debug
    type: io.kestra.plugin.core.log.Log
    level: DEBUG
    message: a detail
  - id: error_message
    type: io.kestra.plugin.core.log.Log
    level: ERROR
    message: This is an error message
  - id: fetch_errors
    type: io.kestra.plugin.core.log.Fetch
    executionId: "{{ execution.id }}"
    level: ERROR
  - id: fetch_hello
    type: io.kestra.plugin.core.log.Fetch
    level: INFO
    tasksId:
      - hello
  - id: fetch_all
    type: io.kestra.plugin.core.log.Fetch
    level: DEBUG
    tasksId: [error_message, hello, debug]
"""
)


def test_fetch_writes_the_executions_logs_by_level_and_task(tmp_path: Path) -> None:
    # Fetch.java's two examples: ERROR logs of the execution, INFO logs of task `hello`
    execution = run(FETCH_FLOW, storage_dir=tmp_path)
    assert execution.state is ExecutionState.SUCCESS, execution.logs
    errors = _rows(execution, "fetch_errors", tmp_path)
    assert [(r["taskId"], r["level"], r["message"]) for r in errors] == [
        ("error_message", "ERROR", "This is an error message")
    ]
    assert errors[0]["executionId"] == execution.id and errors[0]["flowId"] == "f"
    assert errors[0]["namespace"] == "n" and errors[0]["attemptNumber"] == 0
    hello = _rows(execution, "fetch_hello", tmp_path)
    assert [(r["taskId"], r["message"]) for r in hello] == [("hello", "Hello World! 🚀")]
    ordered = _rows(execution, "fetch_all", tmp_path)  # one task id after the other, as Kestra queries them
    assert [r["taskId"] for r in ordered] == ["error_message", "hello", "debug"]
    # kept under the run's storage folder, in the task run's own folder
    uri = execution.outputs["fetch_all"]["uri"]
    assert _file(uri, tmp_path).is_relative_to(tmp_path / "files" / "n" / "f" / "executions" / execution.id)


def test_fetch_of_another_execution_fails_and_a_bad_level_is_named() -> None:
    execution = run(
        tasks_flow(
            """
  - id: other
    type: io.kestra.plugin.core.log.Fetch
    allowFailure: true
    executionId: someOtherId
  - id: level
    type: io.kestra.plugin.core.log.Fetch
    allowFailure: true
    level: LOUD
"""
        )
    )
    assert "executionId: 'someOtherId' is not the current execution's" in (
        execution.task_run("other").error or ""
    )
    assert execution.task_run("level").error == (
        "level: expected one of TRACE, DEBUG, INFO, WARN, ERROR, got 'LOUD'"
    )
