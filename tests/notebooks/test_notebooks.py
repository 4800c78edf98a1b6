"""Every notebook runs top to bottom against real Airflow 3.3.2 (nbclient; any error fails)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nbformat
import pytest

from tests.airflow_servers import AirflowServer
from tests.display.html_table import read_table
from tests.notebooks.conftest import NOTEBOOKS, execute_notebook

#: the notebooks run against the Airflow 3 server of the session (shared with the other tests)
AIRFLOW3 = pytest.mark.parametrize("airflow", ["3"], indirect=True, ids=["airflow3"])

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _outputs(nb: Any) -> list[Any]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


def _widget_values(nb: Any) -> list[str]:
    state = nb.metadata["widgets"][WIDGET_STATE]["state"]
    return [m["state"]["value"] for m in state.values() if m["model_name"] == "HTMLModel"]


def test_notebooks_are_stored_without_outputs() -> None:
    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert names == [
        "airflow3.ipynb",
        "async.ipynb",
        "flows.ipynb",
        "history.ipynb",
        "migration.ipynb",
        "quickstart.ipynb",
        "real_work.ipynb",
    ]
    for name in names:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(nb)
        assert _outputs(nb) == [], name
        assert all(c.get("execution_count") is None for c in nb.cells if c.cell_type == "code"), name
        assert "widgets" not in nb.metadata, name


@AIRFLOW3
def test_quickstart_runs_and_ends_on_the_final_state(
    airflow: AirflowServer, executed_quickstart: Path
) -> None:
    nb = nbformat.read(executed_quickstart, as_version=4)
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    # the live progress widget: its final state, and the text fallback of the same display
    # two live displays: watch_dag_runs, then the Kestra flow's execution; both end on the final state
    tables = [read_table(v) for v in _widget_values(nb)]
    assert len(tables) == 2
    [flow_table] = [t for t in tables if t[2][0].run_id.startswith("kestra__")]
    assert flow_table[:2] == ("All 1 DAG run finished: 1 success", "true")
    [(title, finished, [row])] = [t for t in tables if t is not flow_table]
    assert (title, finished) == ("All 1 DAG run finished: 1 success", "true")
    assert (row.dag_id, row.state, row.finished, row.total, row.counts["success"]) == (
        "hello_world_dag",
        "success",
        3,
        3,
        3,
    )
    widget_outputs = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widget_outputs) == 2
    for widget_output in widget_outputs:
        assert widget_output.data["text/plain"].startswith("All 1 DAG run finished: 1 success")
    assert row.link == f"{airflow.base_url}/dags/hello_world_dag/runs/{quote(row.run_id, safe='')}"
    # rich displays of the run and its task instances
    htmls = [o.data["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any('class="ka-dag-run"' in h and 'data-state="success"' in h for h in htmls)
    assert any('class="ka-task-instances"' in h and "3 task instances" in h for h in htmls)
    texts = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "quickstart notebook" in texts
    # the Kestra flow ran to SUCCESS
    plain = "".join(o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "SUCCESS" in plain and "'source': 'kestra'" in plain


@AIRFLOW3
def test_async_notebook_runs_many_dag_runs(airflow: AirflowServer, tmp_path: Path) -> None:
    nb = execute_notebook("async.ipynb", airflow, tmp_path)
    [value] = _widget_values(nb)
    title, _, rows = read_table(value)
    assert title == "All 3 DAG runs finished: 3 success"
    assert [(r.state, r.finished, r.total) for r in rows] == [("success", 3, 3)] * 3
    frame = next(
        o for o in _outputs(nb) if "text/html" in o.get("data", {}) and "dataframe" in o.data["text/html"]
    )
    assert frame.data["text/plain"].count("success") == 3
    assert json.dumps(nb.metadata["widgets"])  # the widget state is stored, serialisable


@AIRFLOW3
def test_history_notebook_explores_runs(airflow: AirflowServer, tmp_path: Path) -> None:
    nb = execute_notebook("history.ipynb", airflow, tmp_path)
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the duration plot
    htmls = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "hello_world_dag" in htmls and "failing_dag" in htmls
    plain = "".join(o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "('failing_dag', 'failed')" in plain and "('hello_world_dag', 'success')" in plain


@AIRFLOW3
def test_migration_notebook_generates_and_runs_a_flow(airflow: AirflowServer, tmp_path: Path) -> None:
    nb = execute_notebook("migration.ipynb", airflow, tmp_path)
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    htmls = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "migration_cron_dag" in htmls and "30 6 * * 1-5" in htmls  # the inventory
    texts = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "type: io.kestra.plugin.core.trigger.Schedule" in texts and "disabled: true" in texts
    assert "SUCCESS {'source': 'kestra', 'namespace': 'company.airflow', 'flow': 'hello_world_dag'" in texts
    plain = "".join(o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "migration_asset_dag" in plain and "no cron" in plain  # the unmappable schedule, reported
    assert "company.airflow/migration_cron_dag.yaml" in plain
    # step 2: native flows proven equal by parity (a mapped DAG too), then the schedule switched over
    assert texts.count("native: True") == 2 and texts.count("equal: True") == 2
    assert "cron: 30 6 * * 1-5" in texts and "disabled: true" not in texts.split("native: True")[-1]
    assert "CutOver(first_kestra=" in texts and "double[2]" in htmls


def test_flows_notebook_runs_loop_if_errors_finally_and_subflows(
    airflow: AirflowServer, tmp_path: Path
) -> None:
    """Runs against both Airflow versions (the ``airflow`` fixture's parameters)."""
    nb = execute_notebook("flows.ipynb", airflow, tmp_path)
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    texts = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    plain = "".join(o.get("data", {}).get("text/plain", "") for o in outputs)
    htmls = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    # the failing run: FAILED, the task after the failure never ran, errors and finally did
    assert "execution: FAILED" in texts
    assert 'class="ka-execution"' in htmls and 'data-state="FAILED"' in htmls
    assert "risky: DAG run 'kestra__" in texts and "of DAG 'failing_dag' ended failed in Airflow" in texts
    assert "after_check" not in htmls.split('class="ka-execution"', 1)[1]
    # the Loop's declared outputs: one entry per iteration, each Airflow run checked in Airflow
    assert "iterations: 2 {'SUCCESS': 2}" in texts
    for dag_id in ("hello_world_dag", "core_sleep_1"):
        assert f"{dag_id}: iteration " in texts and "Airflow run kestra__" in texts
        assert f"'{dag_id}': {{'dag': '{dag_id}'," in plain
    assert plain.count("'dagRunId': 'kestra__") == 2
    assert plain.count("'state': 'success'}") == 2
    # the errors branch saw the failure: failed task runs and the first ERROR line
    assert "'failed': 'check, risky'" in plain
    assert "'first_error': \"DAG run 'kestra__" in plain
    assert "flow outputs: {'dag_runs': ['kestra__" in texts
    # the logs: the failure, the errors task's line and the finally task's (loopOutputs of the DAG ids)
    assert "failed tasks: check, risky" in plain
    assert plain.count("Started subflow execution") == 2  # in the live table: the iterations' lines
    assert "cleanup: core_sleep_1, hello_world_dag" in plain
    assert "{'INFO': 1, 'ERROR': 2}" in texts  # cleanup; the failure and alert
    # without the failure: the else branch read the loop's outputs
    assert "execution: SUCCESS" in texts and "'DAG runs: kestra__" in plain
    assert (
        "{'each_dag': 'SUCCESS', 'check': 'SUCCESS', 'all_good': 'SUCCESS', 'after_check': 'SUCCESS', 'cleanup': 'SUCCESS'}"
        in texts
    )
    assert (
        "type: io.kestra.plugin.core.flow.Loop" in texts.split("read as Kestra 1.3", 1)[0]
    )  # the YAML for Kestra
    # the 1.3 flow, upgraded to Kestra 2.0
    assert "read as Kestra 1.3" in texts and "outputs keyed by the ForEach value (summary_value)" in texts
    assert "type: io.kestra.plugin.core.flow.Loop" in texts
    assert "loopOutputs(outputs.each_dag.outputs, 'summary_value')" in texts and "pluginDefaults" not in texts


@AIRFLOW3
def test_real_work_notebook_feeds_a_scripts_outputs_to_http_calls_and_a_dag_run(
    airflow: AirflowServer, tmp_path: Path
) -> None:
    """A Python script's ``Kestra.outputs`` choose the DAG an HTTP call checks (JWT from
    ``/auth/token``, then ``/api/v2/dags/<dag>``) and a TriggerDagRun starts with the script's
    values in its conf; the KV store keeps the total."""
    nb = execute_notebook("real_work.ipynb", airflow, tmp_path)
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    texts = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    # the plan, before anything ran: one process, the URLs it would call
    assert "Kestra 2.0" in texts
    assert "task 'extract' (Script): process" in texts
    assert f"task 'login' (Request): url: POST {airflow.base_url}/auth/token" in texts
    assert "execution: SUCCESS" in texts
    assert "script outputs: {'rows': 2, 'total': 42, 'dag': 'hello_world_dag'}" in texts
    assert "HTTP codes: 201 200" in texts
    assert "conf in Airflow: {'rows': '2', 'total': '42', 'owners': 'airflow'}" in texts
    assert "DAG run: success" in texts
    assert "last_total in the KV store: 42" in texts


@pytest.mark.parametrize("airflow", ["3-production"], indirect=True, ids=["airflow3-production"])
def test_airflow3_notebook_answers_a_person_backfills_starts_by_asset_and_reads_xcoms(
    airflow: AirflowServer, tmp_path: Path
) -> None:
    """On the production profile (its backfill DAG is in tests/dags_production; backfills on SQLite
    may crash the scheduler): an HITL request answered through its form, a backfill of three days
    followed to its end, an asset event that starts the consumer's run, XComs of two runs."""
    nb = execute_notebook("airflow3.ipynb", airflow, tmp_path)
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    texts = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "waiting for a person: Publish the weekly report? ['Approve', 'Reject']" in texts
    assert "answered by admin: Approve" in texts
    assert "HITL run: success | chosen: ['Approve']" in texts
    assert "would run: ['2024-03-01', '2024-03-02', '2024-03-03']" in texts
    assert "backfill runs: ['success', 'success', 'success']" in texts
    assert "started asset_consumer_dag asset_triggered success" in texts
    assert "totals: {'factor 2': 12, 'factor 5': 30}" in texts
    widgets = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    assert widgets.get("state"), "the form and the backfill's progress were widgets"
