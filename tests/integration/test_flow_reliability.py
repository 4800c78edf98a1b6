"""Flows against the REAL Airflow 3.3.2 and 2.10.5: ``options.retry`` through a fault proxy, and a
flow with secrets whose every output (logs, reprs, YAML, the progress widget's states, errors, a
vcrpy cassette recorded during the run) is searched for the secret values."""

from __future__ import annotations

import base64
import logging
import secrets
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from kestra_airflow_sdk import AirflowClient
from kestra_airflow_sdk.display import RunProgress
from kestra_airflow_sdk.flows import Execution, ExecutionState, Flow
from kestra_airflow_sdk.flows.secrets import MASK
from kestra_airflow_sdk.runner.sync import run_blocking
from tests.airflow_servers import AirflowServer
from tests.cassette_config import recorder
from tests.faults.proxy import Fault, FaultProxy

FLOW = """\
id: secret_flow
namespace: company.team
tasks:
  - id: run_dag
    type: io.kestra.plugin.airflow.dags.TriggerDagRun
    baseUrl: {base_url}
    dagId: {dag_id}
    wait: true
    pollFrequency: PT0.5S
    maxDuration: PT5M
    options:
      auth:
        type: BASIC
        username: {username}
        password: "{{{{ secret('AIRFLOW_PASSWORD') }}}}"
      retry:
        type: constant
        maxAttempts: {attempts}
        interval: PT0.2S
    body:
      conf:
        api_key: "{{{{ secret('API_KEY') }}}}"
        execution: "{{{{ execution.id }}}}"
"""

#: a task that prints a secret (the log line must show it masked)
LOG_TASK = """\
  - id: print_key
    type: io.kestra.plugin.core.log.Log
    message: "run {{ outputs.run_dag.dagRunId }} used key {{ secret('API_KEY') }}"
"""


def _flow(
    base_url: str, username: str, *, dag_id: str = "hello_world_dag", attempts: int = 3, extra: str = ""
) -> Flow:
    document = FLOW.format(base_url=base_url, dag_id=dag_id, username=username, attempts=attempts)
    return Flow.from_yaml(document + extra)


@pytest.fixture
def proxy(airflow: AirflowServer) -> Iterator[FaultProxy]:
    with FaultProxy(airflow.base_url) as p:
        yield p


FAULTS = 2


@pytest.mark.parametrize(
    ("attempts", "ends"),
    [(FAULTS + 1, ExecutionState.SUCCESS), (FAULTS, ExecutionState.FAILED), (1, ExecutionState.FAILED)],
)
def test_flow_options_retry_through_a_faulty_proxy(
    airflow: AirflowServer,
    credentials: dict[str, str],
    proxy: FaultProxy,
    attempts: int,
    ends: ExecutionState,
) -> None:
    """The proxy answers 503 to the first 2 triggers: ``options.retry.maxAttempts`` 3 gets through
    (exactly one DAG run in Airflow), 2 or 1 fails the task with a clear error (no DAG run)."""
    proxy.add(Fault("status", method="POST", path_contains="/dagRuns", times=FAULTS, status=503))
    flow = _flow(proxy.url, credentials["username"], attempts=attempts)
    given = {"AIRFLOW_PASSWORD": credentials["password"], "API_KEY": "key-" + secrets.token_urlsafe(8)}
    execution = flow.run(secrets=given, progress=False)
    error = execution.task_run("run_dag").error or ""
    assert execution.state is ends, error
    posts = proxy.requests("POST", "/dagRuns")
    with AirflowClient(airflow.base_url, **credentials) as direct:
        mine = [
            run
            for run in direct.list_dag_runs("hello_world_dag", limit=None)
            if (run.conf or {}).get("execution") == execution.id
        ]
    if ends is ExecutionState.SUCCESS:
        assert len(posts) == FAULTS + 1 and [p.action for p in posts] == ["status"] * FAULTS + ["forward"]
        assert len(mine) == 1 and str(mine[0].state) == "success"
        assert execution.outputs["run_dag"]["dagRunId"] == mine[0].dag_run_id
    else:
        assert len(posts) == attempts and all(p.action == "status" for p in posts)
        assert mine == []  # the refused triggers created nothing
        # one clear message: which DAG, what Airflow answered, and how many attempts were allowed
        assert "'hello_world_dag'" in error and "503" in error, error
        assert f"options.retry allows up to {attempts} attempt(s)" in error, error


def _texts_of_error(exc: BaseException) -> list[str]:
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]


class WidgetStates:
    """Every state a progress widget goes through: each change of any of its traits (value, the
    HTML shown; description; layout ...), and its full state when :meth:`final` is called."""

    def __init__(self, progress: RunProgress) -> None:
        assert progress.widget is not None  # a real ipywidgets widget
        self.widget = progress.widget
        self.states: list[str] = [repr(self.widget.get_state())]
        self.values: list[str] = [self.widget.value]
        self.widget.observe(self._changed)  # all traits

    def _changed(self, change: dict[str, Any]) -> None:
        self.states.append(f"{change['name']}={change['new']!r}")
        if change["name"] == "value":
            self.values.append(change["new"])

    def final(self) -> list[str]:
        return [*self.states, repr(self.widget.get_state()), repr(self.widget._repr_mimebundle_())]


def _is_vcr_raw_dump(record: logging.LogRecord) -> bool:
    """vcrpy logs each response it records, unfiltered, *before* its before_record filters run
    (``vcr.cassette``, INFO, "Appending request ... and response {...}"): the recorder's own
    output, not the SDK's; the cassette it writes is checked instead."""
    return record.name == "vcr.cassette" and str(record.msg).startswith("Appending request")


def test_no_secret_of_a_flow_leaks_anywhere(
    airflow: AirflowServer,
    unique_user: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """A flow with a random Airflow password (``options.auth``) and a random API key (in ``conf``,
    so it reaches Airflow and comes back in every DAG-run answer, and printed by a Log task) runs
    with the progress widget, while a vcrpy cassette is recorded with the project's redaction; a
    variant on a missing DAG fails. Every log record at DEBUG of every logger, repr/str of the
    flow, executions, task runs and outputs, the exported YAML, each widget state, the error texts
    and the cassette are searched for the secrets, as text, URL-encoded and base64."""
    username, password = unique_user
    api_key = "key-" + secrets.token_urlsafe(16)
    given = {"AIRFLOW_PASSWORD": password, "API_KEY": api_key}
    caplog.set_level(logging.DEBUG)  # the root logger: every logger propagates to it
    for name in ("httpx", "httpcore", "kestra_airflow_sdk", "vcr"):
        caplog.set_level(logging.DEBUG, logger=name)
    texts: list[str] = []

    flow = _flow(airflow.base_url, username, extra=LOG_TASK)
    progress = RunProgress("widget", base_url=airflow.base_url)
    widget = WidgetStates(progress)
    runner = flow.runner(secrets=given, progress=progress)
    cassette = tmp_path / "flow.yaml"
    with recorder(tmp_path, record=True, redact=runner.secrets.redact).use_cassette(cassette.name):
        execution: Execution = run_blocking(runner.run)
    assert execution.state is ExecutionState.SUCCESS, [t.error for t in execution.task_runs]

    # the secret really went to Airflow (so its absence below means something)
    with AirflowClient(airflow.base_url, username=username, password=password) as direct:
        stored = direct.get_dag_run("hello_world_dag", execution.outputs["run_dag"]["dagRunId"])
    assert (stored.conf or {})["api_key"] == api_key

    # a failing variant with the same secrets: a DAG Airflow does not know
    failing = _flow(airflow.base_url, username, dag_id="no_such_dag_for_secrets")
    failing_progress = RunProgress("widget", base_url=airflow.base_url)
    failing_widget = WidgetStates(failing_progress)
    failed = failing.run(secrets=given, progress=failing_progress)
    assert failed.state is ExecutionState.FAILED
    assert "no_such_dag_for_secrets" in (failed.task_run("run_dag").error or "")
    with pytest.raises(Exception) as raised:
        failed.raise_for_state()
    texts.extend(_texts_of_error(raised.value))

    for one in (execution, failed):
        texts.extend([repr(one), str(one), one._repr_html_(), one.to_pandas().to_string()])
        for task_run in one.task_runs:
            texts.extend([repr(task_run), str(task_run), str(task_run.error), repr(task_run.outputs)])
        texts.append(repr(one.outputs))
    for f in (flow, failing):
        texts.extend([repr(f), str(f), f.to_yaml(), f._repr_html_()])
    texts.append(repr(runner.secrets))
    for p, states in ((progress, widget), (failing_progress, failing_widget)):
        texts.extend([p.html(), p.text(), repr(p), *states.final()])
    raw_dumps = [r for r in caplog.records if _is_vcr_raw_dump(r)]
    for record in caplog.records:
        if _is_vcr_raw_dump(record):
            continue
        texts.extend([record.getMessage(), repr(record.args)])
        if record.exc_info and record.exc_info[1] is not None:
            texts.extend(_texts_of_error(record.exc_info[1]))
    recorded = cassette.read_text()
    texts.append(recorded)

    # what was captured is substantial (so the search below means something)
    assert len(widget.values) > 3 and "success" in widget.values[-1]  # the widget showed the run
    assert {r.name.split(".")[0] for r in caplog.records} >= {"httpx", "httpcore", "kestra_airflow_sdk"}
    assert any("print_key" in r.getMessage() and MASK[:4] in r.getMessage() for r in caplog.records)
    assert raw_dumps, "vcrpy logged no recorded response: the exclusion above is stale"
    assert "/dagRuns" in recorded and MASK in recorded  # the conf's secret was redacted, not absent
    assert "secret('API_KEY')" in flow.to_yaml()  # the export keeps the expression, never the value
    forms: set[str] = set()
    for value in (password, api_key):
        forms |= {value, quote(value, safe=""), base64.b64encode(value.encode()).decode()}
    forms.add(base64.b64encode(f"{username}:{password}".encode()).decode())
    where = [
        text[max(0, text.index(form) - 200) : text.index(form) + 40].replace(form, "<LEAK>")
        for text in texts
        for form in forms
        if form in text
    ]
    assert where == [], f"secret values found in the captured outputs: {where[:3]}"
