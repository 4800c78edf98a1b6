"""Kestra's ``io.kestra.plugin.scripts.node.Script`` / ``Commands`` (kestra-io/plugin-scripts
``plugin-script-node``: the script is written to a ``.js`` file of the working directory and run with
``node``; the commands run in the shell) as real local processes with the ``node`` on the PATH."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from kestra_airflow_sdk.flows import ExecutionState, Flow, UnsupportedTaskError
from tests.runner.core_flows import run, tasks_flow

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not on the PATH")


@pytest.fixture(autouse=True)
def _temp_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


NODE_FLOW = tasks_flow(
    """
  - id: js
    type: io.kestra.plugin.scripts.node.Script
    beforeCommands:
      - echo preparing
    script: |
      const name = "{{ inputs.name }}";
      console.log("hello " + name);
      console.error("careful");
      console.log("::" + JSON.stringify({outputs: {greeting: "hi " + name, n: 2}}) + "::");
  - id: cmd
    type: io.kestra.plugin.scripts.node.Commands
    inputFiles:
      main.js: |
        console.log("::" + JSON.stringify({outputs: {argv: process.argv.slice(2)}}) + "::");
    commands:
      - node main.js "{{ outputs.js.vars.greeting }}"
""",
    header="inputs:\n  - id: name\n    type: STRING\n    defaults: Ada\n",
)


@needs_node
def test_node_script_and_commands_run_with_node() -> None:
    execution = run(NODE_FLOW)
    assert execution.state is ExecutionState.SUCCESS, execution.logs
    assert execution.outputs["js"]["vars"] == {"greeting": "hi Ada", "n": 2}
    assert execution.outputs["js"]["exitCode"] == 0
    assert execution.outputs["cmd"]["vars"] == {"argv": ["hi Ada"]}
    lines = [(e.level, e.message) for e in execution.logs if e.task_id == "js"]
    assert ("INFO", "hello Ada") in lines
    assert ("ERROR", "careful") in lines
    assert ("DEBUG", "preparing") in lines  # beforeCommands output, as Kestra writes it
    # Kestra's default image for node tasks is `node`: the local run says where it runs instead
    note = next(m for level, m in lines if "container" in m)
    assert "image node" in note and shutil.which("node") in note  # type: ignore[operator]


@needs_node
def test_a_failing_node_script_fails_the_task_with_its_exit_code() -> None:
    execution = run(
        tasks_flow(
            """
  - id: js
    type: io.kestra.plugin.scripts.node.Script
    script: process.exit(3)
"""
        )
    )
    assert execution.state is ExecutionState.FAILED
    assert execution.task_run("js").error == "Command failed with exit code 3"


def test_without_node_on_the_path_the_flow_is_refused_naming_node(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    flow = Flow.from_yaml(NODE_FLOW)
    with pytest.raises(UnsupportedTaskError, match="node is not on the PATH") as raised:
        flow.run(progress=False)
    assert "task 'js' (Script)" in str(raised.value) and "task 'cmd' (Commands)" in str(raised.value)
    assert flow.to_dict()["tasks"][0]["type"] == "io.kestra.plugin.scripts.node.Script"  # round-trips
