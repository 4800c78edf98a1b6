"""A human-in-the-loop request answered by a click in a live JupyterLab, in a real browser, against
the real Airflow 3.3.2.

The test triggers ``hitl_dag`` (tests/dags/hitl_dags.py) and waits until its ``review`` task asks;
then JupyterLab (the quickstart test's fixture: loopback, a token, a fresh user, Debian's Chromium
driven by Playwright) opens a notebook whose cell shows ``client.hitl_form(...)`` for that run. The
test clicks the form's *Approve* button in the page, sees the form say what Airflow recorded, and
checks on Airflow's side that the request was answered with that option (by the notebook's user)
and that the run then went on to success with the answer. The kernel imports the SDK of this
checkout (``PYTHONPATH``). A screenshot of the answered form goes to ``build/jupyterlab/``.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import sync_playwright

from kestra_airflow_sdk import AirflowClient
from tests.airflow_servers import PASSWORD, USERNAME, AirflowServer
from tests.notebooks.test_jupyterlab import (
    REPO,
    RUN_TIMEOUT_MS,
    SCREENSHOTS,
    START_TIMEOUT_S,
    Lab,
    jupyterlab,
)
from tests.notebooks.test_notebooks import AIRFLOW3

__all__ = ["jupyterlab"]  # the fixture, shared with the quickstart test

DAG = "hitl_dag"
SUBJECT = "Publish the weekly report?"
NOTEBOOK = "hitl_form.ipynb"
#: a fresh Airflow 3 on a busy 2-core machine takes its time to start a task
ASK_TIMEOUT_S = 240


@pytest.fixture
def this_checkout(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The kernel imports the SDK of this checkout (a git worktree may not be the installed one)."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    yield


def _asked(client: AirflowClient, dag_run_id: str) -> None:
    """Wait (bounded) until the run's ``review`` task has written its request."""
    deadline = time.monotonic() + ASK_TIMEOUT_S
    while not client.list_hitl_requests(DAG, dag_run_id, pending=True):
        if time.monotonic() > deadline:
            states = [(ti.task_id, str(ti.state)) for ti in client.list_task_instances(DAG, dag_run_id)]
            pytest.fail(f"hitl_dag asked nothing within {ASK_TIMEOUT_S} s: task instances {states}")
        time.sleep(1.0)


def _notebook(root: Path, dag_run_id: str) -> None:
    """The notebook: one cell that shows the form of the run's pending request."""
    source = (
        "import os\n"
        "from kestra_airflow_sdk import AirflowClient\n\n"
        'client = AirflowClient(os.environ["AIRFLOW_BASE_URL"], username=os.environ["AIRFLOW_USERNAME"],\n'
        '                       password=os.environ["AIRFLOW_PASSWORD"])\n'
        f"form = client.hitl_form({DAG!r}, {dag_run_id!r})\n"
        "form"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, root / NOTEBOOK)


@AIRFLOW3
def test_a_click_in_jupyterlab_answers_the_request_and_the_run_finishes(
    airflow: AirflowServer, this_checkout: None, jupyterlab: Lab, tmp_path: Path
) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is not installed: apt-get install -y chromium (scripts/test.sh does)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    console_errors: list[str] = []
    page_errors: list[str] = []

    with AirflowClient(airflow.base_url, username=USERNAME, password=PASSWORD) as client:
        run = client.trigger_dag_run(DAG)
        _asked(client, run.dag_run_id)
        _notebook(tmp_path / "root", run.dag_run_id)  # the fixture's JupyterLab serves that folder

        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(viewport={"width": 1200, "height": 900})
                page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: page_errors.append(str(e)))
                page.goto(jupyterlab.notebook_url(NOTEBOOK))
                page.wait_for_function(
                    "() => window.jupyterapp && window.jupyterapp.shell.currentWidget && "
                    "window.jupyterapp.shell.currentWidget.sessionContext",
                    timeout=START_TIMEOUT_S * 1000,
                )
                page.evaluate(
                    """async () => {
                      const panel = window.jupyterapp.shell.currentWidget;
                      await panel.context.ready;
                      await panel.sessionContext.ready;
                    }"""
                )
                page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
                cell = page.locator(".jp-Notebook .jp-Cell").first
                approve = cell.locator("button", has_text="Approve")
                approve.wait_for(timeout=RUN_TIMEOUT_MS)
                header = cell.locator(".widget-html-content", has_text=SUBJECT)
                header.wait_for(timeout=60_000)
                assert cell.locator("button", has_text="Reject").is_enabled()
                assert approve.is_enabled()

                approve.click()  # the person's click: the kernel answers through client.respond

                answered = cell.locator(".widget-html-content", has_text=f"answered by {USERNAME}: Approve")
                answered.wait_for(timeout=120_000)  # respond waits until the request is settle s old
                cell.screenshot(path=SCREENSHOTS / "hitl-form-answered.png")
                shown = answered.inner_text()
                buttons_disabled = [b.is_disabled() for b in cell.locator("button.jupyter-button").all()]
                body = page.locator("body").inner_text()
            finally:
                browser.close()

        # Airflow's side: the request holds the option clicked, and the run went on with it
        request = client.get_hitl_request(DAG, run.dag_run_id, "review")
        final = client.wait_for_dag_run(DAG, run.dag_run_id, poll_frequency=1.0, timeout=ASK_TIMEOUT_S)
        log = client.get_task_log(DAG, run.dag_run_id, "use_answer")
        states = [(ti.task_id, str(ti.state)) for ti in client.list_task_instances(DAG, run.dag_run_id)]

    assert f"answered by {USERNAME}: Approve" in shown and "reason='looks good'" in shown
    assert buttons_disabled and all(buttons_disabled), buttons_disabled  # answered: no second click
    assert not request.pending and request.chosen_options == ["Approve"]
    assert request.responded_by is not None and request.responded_by.name == USERNAME
    assert request.params_input == {"reason": "looks good"}  # the param's input kept its default
    assert str(final.state) == "success", states
    assert "answer: Approve because looks good" in log
    assert "Error displaying widget" not in body
    assert not page_errors, page_errors
    assert not console_errors, console_errors
    assert (SCREENSHOTS / "hitl-form-answered.png").read_bytes()[:4] == b"\x89PNG"
