"""The task-by-task comparison of :func:`parity` on typed Airflow answers and Kestra executions (the
real runs on both sides are in tests/integration/test_native.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from kestra_airflow_sdk.airflow.errors import InvalidArgumentError
from kestra_airflow_sdk.airflow.models import DagRun, TaskInstance
from kestra_airflow_sdk.flows import Flow
from kestra_airflow_sdk.flows.execution import Execution, ExecutionState, LogEntry, TaskRun
from kestra_airflow_sdk.flows.tasks.flowable import Loop, LoopOutput, Switch
from kestra_airflow_sdk.flows.tasks.scripts import PythonScript, ShellCommands
from kestra_airflow_sdk.migration.parity_check import PARITY_COLUMNS, _compare, last_parity, parity

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _flow() -> Flow:
    return Flow(
        id="demo",
        namespace="company.team",
        tasks=[
            ShellCommands(id="say", commands=["echo hi"]),
            PythonScript(id="pick", script="print(1)"),
            Switch(
                id="pick_switch",
                value="{{ outputs.pick.vars.return_value }}",
                cases={
                    "big": [PythonScript(id="big", script="print(2)")],
                    "small": [ShellCommands(id="small", commands=["x"])],
                },
            ),
        ],
    )


def _airflow(states: dict[str, str], values: dict[str, Any], logs: dict[str, str] | None = None) -> Any:
    run = DagRun(dag_id="demo", dag_run_id="manual_1", state="success", run_after=NOW)
    instances = [
        TaskInstance(dag_id="demo", dag_run_id="manual_1", task_id=task, state=state, start_date=NOW)
        for task, state in states.items()
    ]
    return run, instances, {(k, -1): (True, v) for k, v in values.items()}, logs or {}


def _execution(runs: dict[str, tuple[str, dict[str, Any]]], lines: dict[str, list[str]]) -> Execution:
    execution = Execution(id="ex1", namespace="company.team", flow_id="demo", state=ExecutionState.SUCCESS)
    execution.task_runs = [
        TaskRun(id=f"r{i}", task_id=task, type="t", state=ExecutionState(state), outputs=outputs)
        for i, (task, (state, outputs)) in enumerate(runs.items())
    ]
    execution.logs = [
        LogEntry(timestamp=NOW, level=level, message=message, task_id=task)
        for task, messages in lines.items()
        for level, message in [("DEBUG", "Starting command"), *(("INFO", m) for m in messages)]
    ]
    return execution


def test_equal_runs_compare_states_values_and_the_last_line_of_commands() -> None:
    airflow = _airflow(
        {"say": "success", "pick": "success", "big": "success", "small": "skipped"},
        {"say": "hi there", "big": {"n": (1, 2)}},  # pick: a branch pushes no return value on Airflow 3
    )
    execution = _execution(
        {
            "say": ("SUCCESS", {"exitCode": 0, "vars": {}}),
            "pick": ("SUCCESS", {"vars": {"return_value": "big"}}),
            "big": ("SUCCESS", {"vars": {"return_value": {"n": [1, 2]}}}),
        },
        {"say": ["hello", "hi there"]},
    )
    frame = _compare("demo", _flow(), airflow, execution)
    assert list(frame.columns) == PARITY_COLUMNS
    assert frame["equal"].all() and frame.attrs["equal"] is True
    rows = frame.set_index("task")
    assert rows.loc["say", "kestra_value"] == "hi there"
    assert rows.loc["small", "airflow_state"] == rows.loc["small", "kestra_state"] == "not run"
    assert "branch" in rows.loc["pick", "note"]
    assert frame.attrs["dag_run_id"] == "manual_1" and frame.attrs["execution_id"] == "ex1"
    assert last_parity("demo") is True


def test_a_changed_value_and_a_changed_state_are_differences() -> None:
    airflow = _airflow(
        {"say": "success", "pick": "success", "big": "success", "small": "skipped"}, {"say": "hi", "big": 16}
    )
    execution = _execution(
        {
            "say": ("FAILED", {"exitCode": 3}),
            "pick": ("SUCCESS", {"vars": {"return_value": "big"}}),
            "big": ("SUCCESS", {"vars": {"return_value": 17}}),
        },
        {},
    )
    frame = _compare("demo", _flow(), airflow, execution)
    rows = frame.set_index("task")
    assert not rows.loc["big", "equal"] and rows.loc["big", "note"] == "return values differ"
    assert not rows.loc["say", "equal"] and "states differ" in rows.loc["say", "note"]
    assert frame.attrs["equal"] is False
    assert last_parity("demo") is False
    assert last_parity("never_compared") is None


def test_exit_codes_of_failed_commands_are_compared() -> None:
    states = {
        "say": "failed",
        "pick": "upstream_failed",
        "big": "upstream_failed",
        "small": "upstream_failed",
    }
    log = "INFO - Command exited with return code 2"
    execution = _execution({"say": ("FAILED", {"exitCode": 3})}, {})
    frame = _compare("demo", _flow(), _airflow(states, {}, {"say": log}), execution)
    rows = frame.set_index("task")
    assert rows.loc["say", "note"] == "exit codes differ: Airflow 2, Kestra 3"
    assert rows.loc[["pick", "big", "small"], "equal"].all()  # upstream_failed ↔ not run
    execution = _execution({"say": ("FAILED", {"exitCode": 2})}, {})
    assert _compare("demo", _flow(), _airflow(states, {}, {"say": log}), execution)["equal"].all()


def _mapped_flow() -> Flow:
    script = PythonScript(id="double_item", script="print(1)")
    command = ShellCommands(id="say_item", commands=["{{ item.value }}"])
    return Flow(
        id="demo",
        namespace="company.team",
        tasks=[
            Loop(
                id="double",
                values=[1, 2, 3],
                outputs=[LoopOutput(id="return_value", type="JSON", value="x", required=False)],
                tasks=[script],
            ),
            Loop(
                id="say",
                values=["echo a", "echo b"],
                outputs=[LoopOutput(id="exitCode", type="INT", value="x", required=False)],
                tasks=[command],
            ),
        ],
    )


def _mapped_airflow(states: dict[tuple[str, int], str], values: dict[tuple[str, int], Any]) -> Any:
    run = DagRun(dag_id="demo", dag_run_id="manual_1", state="success", run_after=NOW)
    instances = [
        TaskInstance(
            dag_id="demo", dag_run_id="manual_1", task_id=task, map_index=index, state=state, start_date=NOW
        )
        for (task, index), state in states.items()
    ]
    return run, instances, {k: (True, v) for k, v in values.items()}, {}


def _entries(values: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """A Loop's ``outputs``: in the order the iterations ended, not by index."""
    return [{"item": {"value": str(i), "iteration": i}, "outputs": v} for i, v in reversed(values.items())]


def test_each_map_index_is_compared_with_the_loop_iteration_of_its_index() -> None:
    states = {("double", 0): "success", ("double", 1): "success", ("double", 2): "success"}
    states |= {("say", 0): "success", ("say", 1): "success"}
    values = {("double", 0): 2, ("double", 1): 4, ("double", 2): 6, ("say", 0): "a", ("say", 1): "b"}
    doubled = _entries({0: {"return_value": 2}, 1: {"return_value": 4}, 2: {"return_value": 6}})
    said = _entries({0: {"exitCode": 0}, 1: {"exitCode": 0}})
    execution = _execution(
        {"double": ("SUCCESS", {"outputs": doubled}), "say": ("SUCCESS", {"outputs": said})}, {}
    )
    frame = _compare("demo", _mapped_flow(), _mapped_airflow(states, values), execution)
    rows = frame.set_index("task")
    assert list(rows.index) == ["double[0]", "double[1]", "double[2]", "say[0]", "say[1]"]
    assert frame["equal"].all(), frame.to_dict("records")
    assert rows.loc["double[2]", "kestra_value"] == 6 and rows.loc["double[2]", "airflow_value"] == 6
    assert rows.loc["say[1]", "note"] == "the last line of a mapped command is not compared"

    # iteration 1 returned another value, iteration 2 failed (no entry) and the loop failed
    changed = _entries({0: {"return_value": 2}, 1: {"return_value": 5}})
    execution = _execution(
        {"double": ("FAILED", {"outputs": changed}), "say": ("SUCCESS", {"outputs": said})}, {}
    )
    rows = _compare("demo", _mapped_flow(), _mapped_airflow(states, values), execution).set_index("task")
    assert rows.loc["double[0]", "equal"]
    assert not rows.loc["double[1]", "equal"] and rows.loc["double[1]", "note"] == "return values differ"
    assert rows.loc["double[2]", "kestra_state"] == "failed" and not rows.loc["double[2]", "equal"]
    assert "iteration 2 of the Loop declared no outputs" in rows.loc["double[2]", "note"]


def test_a_mapped_task_not_translated_as_a_loop_is_a_difference() -> None:
    states = {("say", 0): "success"}
    flow = Flow(id="demo", namespace="company.team", tasks=[ShellCommands(id="say", commands=["echo a"])])
    execution = _execution({"say": ("SUCCESS", {"exitCode": 0})}, {"say": ["a"]})
    rows = _compare("demo", flow, _mapped_airflow(states, {("say", 0): "a"}), execution).set_index("task")
    assert "not a Loop" in rows.loc["say[0]", "note"] and not rows.loc["say[0]", "equal"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"client": object()}, "client: expected an AirflowClient"),
        ({"flow": "flow.yaml"}, "flow: expected a Flow, got str"),
        ({"conf": ["a"]}, "conf: expected a mapping"),
    ],
)
def test_parity_checks_its_arguments(arguments: dict[str, Any], message: str) -> None:
    from kestra_airflow_sdk import AirflowClient

    with AirflowClient("http://airflow.test", username="a", password="b") as client:
        given = {"client": client, "dag_id": "demo", "flow": _flow(), **arguments}
        with pytest.raises(InvalidArgumentError, match=message):
            parity(given.pop("client"), given.pop("dag_id"), given.pop("flow"), **given)
