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
from urllib.parse import quote

import pytest

from kestra_airflow_sdk import AirflowClient
from kestra_airflow_sdk.display import RunProgress
from kestra_airflow_sdk.flows import Flow
from kestra_airflow_sdk.flows.secrets import MASK
from kestra_airflow_sdk.runner import Execution, State
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


def _flow(base_url: str, username: str, *, dag_id: str = "hello_world_dag", attempts: int = 3) -> Flow:
    return Flow.from_yaml(FLOW.format(base_url=base_url, dag_id=dag_id, username=username, attempts=attempts))


@pytest.fixture
def proxy(airflow: AirflowServer) -> Iterator[FaultProxy]:
    with FaultProxy(airflow.base_url) as p:
        yield p


@pytest.mark.parametrize(("attempts", "ends"), [(4, State.SUCCESS), (1, State.FAILED)])
def test_flow_options_retry_through_a_faulty_proxy(
    airflow: AirflowServer,
    credentials: dict[str, str],
    proxy: FaultProxy,
    attempts: int,
    ends: State,
) -> None:
    """The proxy answers 503 to the first 2 triggers: maxAttempts 4 gets through (one DAG run in
    Airflow), maxAttempts 1 fails the task with the 503 in its error (no DAG run in Airflow)."""
    proxy.add(Fault("status", method="POST", path_contains="/dagRuns", times=2, status=503))
    flow = _flow(proxy.url, credentials["username"], attempts=attempts)
    execution = flow.run(
        secrets={"AIRFLOW_PASSWORD": credentials["password"], "API_KEY": "k"}, progress=False
    )
    assert execution.state is ends, execution.task_run("run_dag").error
    posts = proxy.requests("POST", "/dagRuns")
    with AirflowClient(airflow.base_url, **credentials) as direct:
        mine = [
            run
            for run in direct.list_dag_runs("hello_world_dag", limit=None)
            if (run.conf or {}).get("execution") == execution.id
        ]
    if ends is State.SUCCESS:
        assert len(posts) == 3 and [p.action for p in posts[:2]] == ["status", "status"]
        assert len(mine) == 1 and str(mine[0].state) == "success"
        assert execution.outputs["run_dag"]["dagRunId"] == mine[0].dag_run_id
    else:
        assert len(posts) == 1
        assert "503" in (execution.task_run("run_dag").error or "")
        assert mine == []


def _texts_of_error(exc: BaseException) -> list[str]:
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]


def test_no_secret_of_a_flow_leaks_anywhere(
    airflow: AirflowServer,
    unique_user: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    username, password = unique_user
    api_key = "key-" + secrets.token_urlsafe(16)
    given = {"AIRFLOW_PASSWORD": password, "API_KEY": api_key}
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "kestra_airflow_sdk"):
        caplog.set_level(logging.DEBUG, logger=name)
    # vcrpy's own debug lines show raw traffic before its filters run: the recorder, not the SDK
    vcr_logger = logging.getLogger("vcr")
    monkeypatch.setattr(vcr_logger, "level", logging.WARNING)
    vcr_logger.manager._clear_cache()
    texts: list[str] = []

    flow = _flow(airflow.base_url, username)
    progress = RunProgress("widget", base_url=airflow.base_url)
    assert progress.widget is not None  # a real ipywidgets.HTML, its every value is captured
    widget_values: list[str] = [progress.widget.value]
    progress.widget.observe(lambda change: widget_values.append(change["new"]), names="value")
    runner = flow.runner(secrets=given, progress=progress)
    cassette = tmp_path / "flow.yaml"
    with recorder(tmp_path, record=True, redact=runner.secrets.redact).use_cassette(cassette.name):
        execution: Execution = run_blocking(runner.run)
    assert execution.state is State.SUCCESS, execution.task_run("run_dag").error

    # the secret really went to Airflow (so its absence below means something)
    with AirflowClient(airflow.base_url, username=username, password=password) as direct:
        stored = direct.get_dag_run("hello_world_dag", execution.outputs["run_dag"]["dagRunId"])
    assert (stored.conf or {})["api_key"] == api_key

    # a failing variant with the same secrets: a DAG Airflow does not know
    failing = _flow(airflow.base_url, username, dag_id="no_such_dag_for_secrets")
    failed = failing.run(secrets=given, progress=False)
    assert failed.state is State.FAILED
    try:
        failed.raise_for_state()
    except Exception as exc:
        texts.extend(_texts_of_error(exc))
    else:
        pytest.fail("a failed execution did not raise")

    for one in (execution, failed):
        texts.extend([repr(one), str(one), one._repr_html_(), one.to_pandas().to_string()])
        texts.extend(repr(task_run) for task_run in one.task_runs)
        texts.append(repr(one.outputs))
    texts.extend([repr(flow), str(flow), flow.to_yaml(), flow._repr_html_(), repr(runner.secrets)])
    texts.extend([progress.html(), progress.text(), repr(progress), repr(progress.widget.get_state())])
    texts.extend(widget_values)
    for record in caplog.records:
        texts.extend([record.getMessage(), repr(record.args)])
        if record.exc_info and record.exc_info[1] is not None:
            texts.extend(_texts_of_error(record.exc_info[1]))
    texts.append(caplog.text)
    recorded = cassette.read_text()
    texts.append(recorded)

    assert len(widget_values) > 3 and "success" in widget_values[-1]  # the widget showed the run
    assert len(caplog.records) > 20  # httpx/httpcore debug logs were captured
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
