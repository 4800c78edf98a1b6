"""Execution logs as Kestra keeps them: every line in order with its task run, secrets masked as
Kestra masks them, ``logLevel`` honoured; shown in a terminal, the CLI and a notebook display; and
as a typed DataFrame.

Expected behaviour from Kestra's own tests:
* ``RunContextTest.logs`` (flow ``logs.yaml``): a TRACE Log is kept; a TRACE Log with
  ``logLevel: INFO`` writes nothing; levels and rendered messages as asserted there.
* ``InputsTest.shouldNotLogSecretInput`` (flow ``input-log-secret.yaml``): the message of a Log
  using a SECRET input is ``This is my secret: ********`` (``RunContextLogger`` replaces a secret
  by as many ``*`` as it has characters).
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pandas as pd
import pytest

from kestra_airflow_sdk import Flow, RunProgress
from kestra_airflow_sdk.cli import main
from kestra_airflow_sdk.flows import Log
from kestra_airflow_sdk.flows.execution import ExecutionState

LOGS_YAML = """
id: logs
namespace: io.kestra.tests
tasks:
- {id: t1, type: io.kestra.plugin.core.log.Log, message: "first {{task.id}}", level: TRACE}
- {id: t2, type: io.kestra.plugin.core.log.Log, message: "second {{task.type}}", level: WARN}
- {id: t3, type: io.kestra.plugin.core.log.Log, message: "third {{flow.id}}", level: ERROR}
- {id: t4, type: io.kestra.plugin.core.log.Log, message: "fourth {{task.id}}", level: TRACE, logLevel: INFO}
- {id: t5, type: io.kestra.plugin.core.log.Log, message: [five first, five second]}
"""

INPUT_LOG_SECRET_YAML = """
id: input-log-secret
namespace: io.kestra.tests
inputs:
  - id: secret
    type: SECRET
    defaults: password
tasks:
  - id: log-secret
    type: io.kestra.plugin.core.log.Log
    message: "This is my secret: {{inputs.secret}}"
"""


def test_log_lines_in_order_with_their_task_runs() -> None:  # RunContextTest.logs
    execution = Flow.from_yaml(LOGS_YAML).run(progress=False)
    assert execution.state is ExecutionState.SUCCESS and len(execution.task_runs) == 5
    got = [(e.task_id, e.level, e.message) for e in execution.logs]
    assert got == [
        ("t1", "TRACE", "first t1"),
        ("t2", "WARN", "second io.kestra.plugin.core.log.Log"),
        ("t3", "ERROR", "third logs"),
        ("t5", "INFO", "five first"),
        ("t5", "INFO", "five second"),
    ]
    runs = {run.task_id: run for run in execution.task_runs}
    assert all(e.task_run_id == runs[e.task_id or ""].id and e.attempt == 1 for e in execution.logs)
    stamps = [e.timestamp for e in execution.logs]
    assert stamps == sorted(stamps)


def test_secret_input_is_masked_like_kestra_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    execution = Flow.from_yaml(INPUT_LOG_SECRET_YAML).run(progress="text")
    assert execution.logs[0].message == "This is my secret: ********"  # InputsTest.shouldNotLogSecretInput
    err = capsys.readouterr().err
    assert "[log-secret] This is my secret: ********" in err
    shown = [
        err,
        repr(execution),
        repr(execution.inputs),
        execution._repr_html_(),
        execution.logs_frame().to_string(),
    ]
    assert not [text for text in shown if "password" in text]
    assert execution.inputs["secret"].get_secret_value() == "password"  # usable inside the run


def test_logs_frame_has_a_fixed_schema_also_when_empty() -> None:
    execution = Flow.from_yaml(LOGS_YAML).run(progress=False)
    frame = execution.logs_frame()
    expected = {
        "timestamp": "datetime64[us, UTC]",
        "level": "category",
        "task_id": "string",
        "task_run_id": "string",
        "attempt": "Int64",
        "message": "string",
    }
    assert {c: str(t) for c, t in frame.dtypes.items()} == expected
    assert list(frame["message"]) == [e.message for e in execution.logs]
    assert list(frame["level"].cat.categories) == ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
    assert list(frame.loc[frame["level"] >= "WARN", "task_id"]) == ["t2", "t3"]  # levels are ordered
    no_logs = Flow.from_yaml(LOGS_YAML).run(progress=False)
    no_logs.logs.clear()
    assert {c: str(t) for c, t in no_logs.logs_frame().dtypes.items()} == expected
    assert isinstance(no_logs.logs_frame(), pd.DataFrame) and no_logs.logs_frame().empty


def test_script_prints_info_and_up_once(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # as in a plain script: no handler at all
    execution = Flow.from_yaml(LOGS_YAML).run()
    assert execution.state is ExecutionState.SUCCESS
    err = capfd.readouterr().err
    lines = [re.fullmatch(r"(\S+) (\S+) +(.*)", line) for line in err.splitlines() if line.strip()]
    assert all(lines), err  # every line printed is a log line, printed once
    assert [m.group(3) for m in lines if m] == [
        "[t2] second io.kestra.plugin.core.log.Log",
        "[t3] third logs",
        "[t5] five first",
        "[t5] five second",
    ]
    assert [m.group(2) for m in lines if m] == ["WARN", "ERROR", "INFO", "INFO"]
    stamps = [m.group(1) for m in lines if m]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s) for s in stamps)  # 2026-11-30T17:02:03Z


def test_text_stream_and_off() -> None:
    stream = io.StringIO()
    Flow.from_yaml(LOGS_YAML).run(progress=RunProgress("text", stream=stream))
    assert "INFO  [t5] five first" in stream.getvalue()
    assert "first t1" not in stream.getvalue()  # TRACE is not printed
    quiet = RunProgress("off")
    Flow.from_yaml(LOGS_YAML).run(progress=quiet)
    assert len(quiet.log_lines) == 4  # kept, not printed


def test_notebook_display_shows_the_log_lines() -> None:
    progress = RunProgress("widget")  # outside a kernel the widget is built but not displayed
    execution = Flow.from_yaml(INPUT_LOG_SECRET_YAML).run(progress=progress)
    assert progress.widget is not None
    assert "[log-secret] This is my secret: ********" in progress.widget.value
    assert progress.text().endswith("[log-secret] This is my secret: ********")  # plain-text fallback
    html = execution._repr_html_()
    assert "This is my secret: ********" in html and "ka-logs" in html
    assert "<b>secret</b>: **********" in html  # the SECRET input, masked


def test_cli_prints_log_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(INPUT_LOG_SECRET_YAML)
    assert main(["run", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "INFO  [log-secret] This is my secret: ********" in err
    assert "password" not in out + err


def test_a_long_message_becomes_several_entries_as_in_kestra() -> None:  # RunContextTest.inputsLarge
    flow = Flow("f", "n", inputs=[{"id": "text", "type": "STRING"}]).task(
        Log(id="big", message="{{ inputs.text }}")
    )
    execution = flow.run(inputs={"text": "a" * (11 * 1024)}, progress=False)
    assert [len(e.message) for e in execution.logs] == [10 * 1024, 1024]
    assert execution.logs[0].timestamp < execution.logs[1].timestamp
