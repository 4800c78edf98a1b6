"""Kestra's script tasks run as real local processes, as Kestra's ``Process`` task runner runs them.

Semantics from kestra-io/plugin-scripts (``python.Script``, ``shell.Commands`` ...) and kestra-io/kestra
(``CommandsWrapper``, ``Process``, ``TaskLogLineMatcher``, ``PluginUtilsService.parseOut``; the 0.23
migration guide "No more WARNING state on script tasks"), cited per test. The Python scripts use
Kestra's own PyPI package ``kestra`` (a dev dependency), unchanged.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from kestra_airflow_sdk.flows import (
    Execution,
    ExecutionState,
    Flow,
    FlowValidationError,
    UnsupportedTaskError,
)
from kestra_airflow_sdk.storage import InternalStorage
from tests.runner.core_flows import cancel_when, tasks_flow

pytest.importorskip("kestra", reason="the dev extra installs Kestra's PyPI package 'kestra'")


@pytest.fixture(autouse=True)
def _temp_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Working directories go under tmp_path."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def run(text: str, **options: Any) -> Execution:
    options.setdefault("progress", False)
    return asyncio.run(Flow.from_yaml(text).arun(**options))


def logs(execution: Execution, task_id: str) -> list[tuple[str, str]]:
    return [(e.level, e.message) for e in execution.logs if e.task_id == task_id]


PROCESS = "    taskRunner:\n      type: io.kestra.plugin.core.runner.Process\n"


def test_shell_commands_outputs_logs_and_stderr_levels() -> None:
    # Kestra's shell.Commands example create_output_variables; parseOut: a plain stdout line is INFO,
    # a stderr line ERROR; 0.23 migration guide: stderr no longer makes the task WARNING
    execution = run(
        tasks_flow(
            """
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
"""
            + PROCESS
            + """    commands:
      - echo hello
      - echo '::{"outputs":{"test":"value","int":2,"bool":true,"float":3.65}}::'
      - echo oops >&2
      - echo '::{"outputs":{"int":3}}::'
"""
        )
    )
    assert execution.state is ExecutionState.SUCCESS
    assert execution.outputs["sh"] == {
        "vars": {"test": "value", "int": 3, "bool": True, "float": 3.65},
        "exitCode": 0,
        "outputFiles": {},
    }
    lines = [entry for entry in logs(execution, "sh") if entry[0] in ("INFO", "ERROR")]
    assert ("INFO", "hello") in lines
    assert ("ERROR", "oops") in lines
    assert not any("::" in message for _, message in lines)  # protocol lines are data, not log lines
    # no note: the task asks for the Process task runner
    assert not any("container" in message for _, message in logs(execution, "sh"))


def test_exit_code_fails_the_task_with_the_code_and_set_e_stops() -> None:
    # CommandsWrapper: "set -e" before the commands (failFast, default true); a non-zero exit code
    # fails the task run, the outputs (exitCode, vars) are kept
    execution = run(
        tasks_flow(
            """
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - echo '::{"outputs":{"before":1}}::'
      - (exit 3)
      - echo never
"""
        )
    )
    assert execution.state is ExecutionState.FAILED
    run_ = execution.task_run("sh")
    assert run_.state is ExecutionState.FAILED
    assert run_.error == "Command failed with exit code 3"
    assert run_.outputs["exitCode"] == 3
    assert run_.outputs["vars"] == {"before": 1}
    assert ("INFO", "never") not in logs(execution, "sh")
    assert ("ERROR", "Command failed with exit code 3") in logs(execution, "sh")


def test_fail_fast_false_runs_on_after_a_failing_command() -> None:
    execution = run(
        tasks_flow(
            """
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    failFast: false
    commands:
      - "false"
      - echo still here
"""
        )
    )
    assert execution.state is ExecutionState.SUCCESS
    assert ("INFO", "still here") in logs(execution, "sh")


def test_python_script_with_kestra_package_outputs_metrics_and_logger() -> None:
    # the kestra PyPI package: Kestra.outputs → ::{"outputs"}::, Kestra.counter → ::{"metrics"}::,
    # Kestra.logger() writes ::{"logs": [{level, message}]}:: (WARNING and above on stderr); Python
    # Script prepends true/false/null aliases (plugin-scripts python/Script.java)
    execution = run(
        tasks_flow(
            """
  - id: py
    type: io.kestra.plugin.scripts.python.Script
    script: |
      import sys
      from kestra import Kestra
      marks = [79, 91, 85, 64, 82]
      Kestra.outputs({"total": sum(marks), "flag": {{ inputs.flag }}, "python": sys.executable})
      Kestra.counter("rows", 5, {"source": "marks"})
      logger = Kestra.logger()
      logger.info("an info line")
      logger.warning("a warning line")
  - id: use
    type: io.kestra.plugin.core.log.Log
    message: "total {{ outputs.py.vars.total }}"
""",
            header="inputs:\n  - id: flag\n    type: BOOL\n    defaults: true\n",
        )
    )
    assert execution.state is ExecutionState.SUCCESS  # a WARN line on stderr does not change it
    py = execution.task_run("py")
    assert py.outputs["vars"]["total"] == 401
    assert py.outputs["vars"]["flag"] is True
    assert Path(py.outputs["vars"]["python"]).parent == Path(sys.executable).parent
    assert py.metrics == [{"name": "rows", "type": "counter", "value": 5, "tags": {"source": "marks"}}]
    levels = {message.split(" - ", 1)[-1]: level for level, message in logs(execution, "py")}
    assert levels["an info line"] == "INFO"
    assert levels["a warning line"] == "WARN"
    assert logs(execution, "use") == [("INFO", "total 401")]
    # Kestra would run it in its default Docker task runner: the log says how it runs here instead
    note = next(message for _, message in logs(execution, "py") if "container" in message)
    assert "python:3.13-slim" in note
    assert sys.executable in note


def test_before_commands_env_and_secrets_never_in_logs() -> None:
    # beforeCommands' output is DEBUG (CommandsWrapper's ##kestra:log:debug## marker); env is added
    # to the inherited environment; a secret is masked in every log line
    execution = run(
        tasks_flow(
            """
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    beforeCommands:
      - echo preparing
    env:
      TOKEN: "{{ secret('API_TOKEN') }}"
      GREETING: hi
    commands:
      - echo "$GREETING token=$TOKEN"
      - echo "$TOKEN" >&2
      - exit 4
"""
        ),
        secrets={"API_TOKEN": "s3cr3t-value"},
    )
    assert execution.state is ExecutionState.FAILED
    messages = logs(execution, "sh")
    assert ("DEBUG", "preparing") in messages
    assert ("INFO", "hi token=************") in messages
    assert ("ERROR", "************") in messages
    assert all("s3cr3t" not in message for _, message in messages)
    assert "s3cr3t" not in (execution.task_run("sh").error or "")


def test_input_files_output_files_and_working_dir(tmp_path: Path) -> None:
    # Process task runner: {{ workingDir }} and WORKING_DIR are the task's working directory, input
    # files are written there, outputFiles (globs too) are kept; a later task reads them by their URI
    execution = run(
        tasks_flow(
            """
  - id: make
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles:
      data.txt: "{{ inputs.word }}"
      sub/conf.json: '{"a": 1}'
    outputFiles:
      - out.txt
      - "*.csv"
    commands:
      - test "$WORKING_DIR" = "{{ workingDir }}" && test "$PWD" = "{{ workingDir }}"
      - cat data.txt sub/conf.json > {{ outputFiles['out.txt'] }}
      - echo a,b > one.csv
      - echo c,d > two.csv
  - id: read
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles:
      copy.txt: "{{ outputs.make.outputFiles['out.txt'] }}"
    commands:
      - cat {{ outputs.make.outputFiles['one.csv'] }}
      - cat copy.txt
""",
            header="inputs:\n  - id: word\n    type: STRING\n    defaults: bonjour\n",
        )
    )
    assert execution.state is ExecutionState.SUCCESS, [r.error for r in execution.task_runs]
    files = execution.outputs["make"]["outputFiles"]
    assert sorted(files) == ["one.csv", "out.txt", "two.csv"]
    make = execution.task_run("make")
    prefix = f"kestra:///n/f/executions/{execution.id}/tasks/make/{make.id}/"
    assert files["out.txt"] == prefix + "out.txt"  # stored as Kestra stores a task run's files
    kept = InternalStorage.under().get(files["out.txt"])  # the run's storage (KAS_STORAGE_DIR)
    assert kept == b'bonjour{"a": 1}'
    printed = [m for level, m in logs(execution, "read") if level == "INFO" and "container" not in m]
    assert printed == ["a,b", 'bonjour{"a": 1}']
    # the working directories are gone once their task ended
    assert not list(tmp_path.glob("kestra-wd-*"))


def test_output_directory_and_shell_script_with_its_interpreter() -> None:
    execution = run(
        tasks_flow(
            """
  - id: sh
    type: io.kestra.plugin.scripts.shell.Script
    outputDirectory: true
    interpreter: [/bin/bash, -c]
    script: |
      words=(one two)
      echo "${words[1]}" > "$OUTPUT_DIR/w.txt"
      test "$OUTPUT_DIR" = "{{ outputDir }}"
"""
        )
    )
    assert execution.state is ExecutionState.SUCCESS, execution.task_run("sh").error
    uri = execution.outputs["sh"]["outputFiles"]["w.txt"]
    assert InternalStorage.under().get(uri) == b"two\n"


def test_retries_see_the_attempt_count() -> None:
    # blueprint retries.yaml: the command fails until {{ taskrun.attemptsCount }} is 2
    execution = run(
        tasks_flow(
            """
  - id: flaky
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - if [ "{{ taskrun.attemptsCount }}" -eq 2 ]; then exit 0; else exit 1; fi
    retry:
      type: constant
      interval: PT0.01S
      maxAttempts: 5
"""
        )
    )
    assert execution.state is ExecutionState.SUCCESS
    assert execution.task_run("flaky").attempt == 3


def test_timeout_kills_the_process() -> None:
    started = time.monotonic()
    execution = run(
        tasks_flow(
            """
  - id: slow
    type: io.kestra.plugin.scripts.shell.Commands
    timeout: PT1S
    commands:
      - sleep 120
"""
        )
    )
    assert execution.state is ExecutionState.FAILED
    assert "did not finish within its timeout PT1S" in (execution.task_run("slow").error or "")
    assert time.monotonic() - started < 100  # the sleep was killed, not waited for


def test_cancelling_the_run_kills_the_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    flow = Flow.from_yaml(
        tasks_flow(
            f"""
  - id: slow
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - sleep 120 &
      - echo $! > {pid_file}
      - echo started
      - wait
"""
        )
    )
    runner = flow.runner(progress=False)

    def ready(r: Any) -> bool:
        return r.execution is not None and any(e.message == "started" for e in r.execution.logs)

    execution = asyncio.run(cancel_when(runner, ready))
    assert execution is not None and execution.state is ExecutionState.KILLED
    sleeper = int(pid_file.read_text())
    deadline = time.monotonic() + 30  # the background sleep of the script got the signal too
    while _alive(sleeper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(sleeper)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its parent to reap it has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_what_cannot_run_locally_is_refused_before_running() -> None:
    flow = Flow.from_yaml(
        tasks_flow(
            """
  - id: py
    type: io.kestra.plugin.scripts.python.Script
    pythonVersion: "2.7"
    namespaceFiles:
      enabled: true
      namespaces: [other.team]
    script: print(1)
"""
        )
    )
    assert flow.unsupported_tasks() == []  # the type runs locally ...
    with pytest.raises(UnsupportedTaskError) as error:  # ... but not with these properties
        flow.runner(progress=False).check()
    assert "pythonVersion 2.7 is not supported locally" in str(error.value)
    assert "namespaceFiles.namespaces is not supported locally" in str(error.value)


def test_output_files_must_be_relative() -> None:
    with pytest.raises(FlowValidationError, match=r"only relative path is supported.*'/etc/passwd'"):
        Flow.from_yaml(
            tasks_flow(
                """
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles: [/etc/passwd]
    commands: [echo]
"""
            )
        )


def test_round_trip_keeps_the_document() -> None:
    text = tasks_flow(
        """
  - id: py
    type: io.kestra.plugin.scripts.python.Commands
    containerImage: python:3.12
    taskRunner:
      type: io.kestra.plugin.scripts.runner.docker.Docker
    warningOnStdErr: false
    commands:
      - python --version
"""
    )
    flow = Flow.from_yaml(text)
    assert Flow.from_yaml(flow.to_yaml()).to_dict() == flow.to_dict()
    assert flow.to_dict()["tasks"][0]["taskRunner"] == {
        "type": "io.kestra.plugin.scripts.runner.docker.Docker"
    }


def test_input_files_as_json_text_and_invalid_protocol_lines() -> None:
    # PluginUtilsService.transformInputFiles: inputFiles may be JSON text of the map; an invalid
    # ::{...}:: line is a WARN "Invalid outputs" line (PluginUtilsService.parseOut)
    execution = run(
        tasks_flow(
            """
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles: '{"a.txt": "from json\\n"}'
    commands:
      - cat a.txt
      - echo '::{"outputs":nope}::'
"""
        )
    )
    assert execution.state is ExecutionState.SUCCESS
    messages = logs(execution, "sh")
    assert ("INFO", "from json") in messages
    assert any(level == "WARN" and message.startswith("Invalid outputs") for level, message in messages)


def test_input_files_that_are_not_a_map_fail_the_task() -> None:
    execution = run(
        tasks_flow(
            """
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles: "[1, 2]"
    commands: [echo]
"""
        )
    )
    assert execution.task_run("sh").error == "inputFiles: expected a map of file name to content, got list"
