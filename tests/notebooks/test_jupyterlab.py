"""The quickstart notebook in a live JupyterLab, in a real browser, against real Airflow 3.

The test starts JupyterLab (from PyPI) on loopback with a token and a fresh kernel, in a temporary
root holding a copy of ``notebooks/quickstart.ipynb`` (so nothing tracked is written), and drives Debian's
Chromium with Playwright (``executable_path``: Playwright's own browser download is never used). It runs
every cell in order (JupyterLab's *Run All Cells*) and checks in the DOM:

* the progress widget of ``watch_dag_runs`` shows ``running`` with fewer than all tasks done, then
  updates in place (the same element) to ``success`` with all tasks done; the same for the DAG run of
  the Kestra flow cell;
* at the end, the execution's display (its state and its timeline);
* no JavaScript error in the page console, no "Error displaying widget" text.

A MutationObserver installed before JupyterLab loads records every state the widgets go through, so the
checks do not depend on how often the test looks. Screenshots of the running and finished states go to
``build/jupyterlab/`` (git-ignored).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest
from playwright.sync_api import sync_playwright

from tests.airflow_servers import PASSWORD, USERNAME, AirflowServer
from tests.notebooks.conftest import NOTEBOOKS
from tests.notebooks.test_notebooks import AIRFLOW3

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "jupyterlab"
NOTEBOOK = "quickstart.ipynb"
#: generous bounds: JupyterLab's start, a kernel's start, a DAG run on a busy shared machine
START_TIMEOUT_S = 180
RUN_TIMEOUT_MS = 600_000

#: JupyterLab settings of the fresh user: every cell in the DOM, no news or update checks (no internet)
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

#: installed before the page's own scripts: records each progress widget's successive states
RECORDER = """
window.__kas = {views: {}, next: 0};
const record = () => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
  for (const progress of document.querySelectorAll('.ka-progress')) {
    const view = progress.closest('.widget-html') || progress.parentElement;
    if (!view.dataset.kasView) view.dataset.kasView = String(++window.__kas.next);
    const row = progress.querySelector('tr[data-state]');
    const bar = progress.querySelector('.ka-bar');
    const entry = {
      state: row ? row.dataset.state : null,
      run: row ? row.dataset.runId : null,
      finished: bar ? Number(bar.dataset.finished) : null,
      total: bar ? Number(bar.dataset.total) : null,
      done: progress.dataset.finished,
    };
    const seen = window.__kas.views[view.dataset.kasView] ||=
      {cell: cells.indexOf(progress.closest('.jp-Cell')), states: []};
    const last = seen.states[seen.states.length - 1];
    if (!last || JSON.stringify(last) !== JSON.stringify(entry)) seen.states.push(entry);
  }
};
new MutationObserver(record).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Lab:
    """A running JupyterLab: its URL and token."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}"


@pytest.fixture
def jupyterlab(airflow: AirflowServer, tmp_path: Path) -> Iterator[Lab]:
    """JupyterLab on loopback with a random token, a fresh user (settings, workspaces, runtime) and a
    copy of the quickstart notebook; the kernel reads the Airflow 3 URL from its environment."""
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(NOTEBOOKS / NOTEBOOK, root / NOTEBOOK)
    settings = tmp_path / "settings"
    for name, values in SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    token, port = secrets.token_hex(24), _free_port()
    env = {
        **os.environ,
        "AIRFLOW_BASE_URL": airflow.base_url,
        "AIRFLOW_USERNAME": USERNAME,
        "AIRFLOW_PASSWORD": PASSWORD,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
    }
    log = (tmp_path / "jupyterlab.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",  # CI runs as root
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ],
        env=env,
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    lab = Lab(f"http://127.0.0.1:{port}", token)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"JupyterLab exited {process.returncode}: {(tmp_path / 'jupyterlab.log').read_text()}"
                )
            try:
                if httpx.get(f"{lab.url}/api/status", params={"token": token}, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within {START_TIMEOUT_S} s")
            time.sleep(0.5)
        yield lab
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _cell_index(source_part: str, *, exact: bool = False) -> int:
    """The position (among all cells, as in the DOM) of the cell whose source contains (or, with
    ``exact``, is) ``source_part``."""
    cells = nbformat.read(NOTEBOOKS / NOTEBOOK, as_version=4).cells
    [index] = [
        i
        for i, cell in enumerate(cells)
        if (cell.source.strip() == source_part if exact else source_part in cell.source)
    ]
    return index


def _views(page: Any, cell: int) -> list[dict[str, Any]]:
    views: list[dict[str, Any]] = page.evaluate(
        "cell => Object.values(window.__kas.views).filter(v => v.cell === cell)", cell
    )
    return views


def _follow_progress(page: Any, cell: int, name: str) -> list[dict[str, Any]]:
    """Wait until the progress widget of ``cell`` has shown a running DAG run with tasks left, then
    its final success; screenshot both; return the states the widget went through."""
    cell_locator = page.locator(".jp-Notebook .jp-Cell").nth(cell)
    running = (
        "cell => Object.values(window.__kas.views).some(v => v.cell === cell && "
        "v.states.some(s => s.state === 'running' && s.total > 0 && s.finished < s.total))"
    )
    page.wait_for_function(running, arg=cell, timeout=RUN_TIMEOUT_MS, polling="raf")
    cell_locator.screenshot(path=SCREENSHOTS / f"{name}-running.png")
    finished = (
        "cell => Object.values(window.__kas.views).some(v => v.cell === cell && "
        "v.states.some(s => s.done === 'true'))"
    )
    page.wait_for_function(finished, arg=cell, timeout=RUN_TIMEOUT_MS, polling="raf")
    cell_locator.screenshot(path=SCREENSHOTS / f"{name}-finished.png")
    views = _views(page, cell)
    # the element that showed the DAG run running: it must have gone on to the final state itself
    [live] = [v for v in views if any(s["state"] == "running" for s in v["states"])]
    # at the end the display is refreshed once more with the final table (a new element showing only that)
    for other in (v for v in views if v is not live):
        assert {(s["state"], s["done"]) for s in other["states"]} == {("success", "true")}, views
    states: list[dict[str, Any]] = live["states"]
    return states


def _assert_running_then_success(states: list[dict[str, Any]]) -> None:
    shown = [s for s in states if s["state"] is not None]
    assert len({s["state"] for s in shown}) >= 2, states
    first_running = next(
        i
        for i, s in enumerate(shown)
        if s["state"] == "running" and s["total"] > 0 and s["finished"] < s["total"]
    )
    final = shown[-1]
    assert (final["state"], final["done"]) == ("success", "true"), states
    assert final["total"] > 0 and final["finished"] == final["total"], states
    assert first_running < len(shown) - 1
    assert len({s["run"] for s in shown}) == 1, states  # one DAG run, followed in one element


@AIRFLOW3
def test_quickstart_in_a_live_jupyterlab_updates_its_widgets_in_place(jupyterlab: Lab) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is not installed: apt-get install -y chromium (scripts/test.sh does)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watch_cell = _cell_index("watch_dag_runs(client, run")
    flow_cell = _cell_index("execution = flow.run(")
    display_cell = _cell_index("execution", exact=True)  # the cell that shows the execution's display
    last_cell = len(nbformat.read(NOTEBOOKS / NOTEBOOK, as_version=4).cells) - 1
    console_errors: list[str] = []
    page_errors: list[str] = []

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.add_init_script(RECORDER)
            page.goto(jupyterlab.notebook_url(NOTEBOOK))
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget && "
                "window.jupyterapp.shell.currentWidget.sessionContext",
                timeout=START_TIMEOUT_S * 1000,
            )
            kernel = page.evaluate(
                """async () => {
                  const panel = window.jupyterapp.shell.currentWidget;
                  await panel.context.ready;
                  await panel.sessionContext.ready;
                  return panel.sessionContext.session.kernel.name;
                }"""
            )
            assert kernel == "python3"
            # Run > Run All Cells (not awaited: the command's promise settles only when every cell ran)
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

            watch_states = _follow_progress(page, watch_cell, "watch-dag-runs")
            flow_states = _follow_progress(page, flow_cell, "kestra-flow")

            # every cell ran, the last one included (an error would have stopped Run All)
            last_prompt = page.locator(".jp-Notebook .jp-Cell").nth(last_cell).locator(".jp-InputPrompt")
            page.wait_for_function(
                "el => /\\[\\d+\\]/.test(el.textContent)",
                arg=last_prompt.element_handle(),
                timeout=RUN_TIMEOUT_MS,
            )
            display = page.locator(".jp-Notebook .jp-Cell").nth(display_cell).locator(".ka-execution")
            display.wait_for(timeout=60_000)
            display.screenshot(path=SCREENSHOTS / "execution.png")
            page.screenshot(path=SCREENSHOTS / "notebook.png", full_page=True)
            execution_badge = display.locator('.ka-badge[data-state="SUCCESS"]').first.text_content()
            timeline = display.locator(".ka-timeline-row")
            timeline_rows = [
                (
                    row.get_attribute("data-depth"),
                    row.get_attribute("data-timeline-state"),
                    row.inner_text().strip(),
                )
                for row in timeline.all()
            ]
            body = page.locator("body").inner_text()
            tracebacks = page.locator(
                ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
            )
            stderr = [t.inner_text() for t in tracebacks.all()]
        finally:
            browser.close()

    _assert_running_then_success(watch_states)
    _assert_running_then_success(flow_states)
    assert watch_states[-1]["total"] == 3  # hello_world_dag's three tasks
    assert flow_states[-1]["run"].startswith("kestra__")
    assert execution_badge == "SUCCESS"
    assert timeline_rows[0][:2] == ("0", "SUCCESS") and timeline_rows[0][2].endswith("run_dag")
    assert timeline_rows[1][:2] == ("1", "success") and flow_states[-1]["run"] in timeline_rows[1][2]
    assert sorted(r[2].lstrip("↳ ").strip() for r in timeline_rows[2:]) == [
        "print_conf",
        "say_hello",
        "sleep_a_bit",
    ]
    assert "Error displaying widget" not in body
    assert not [s for s in stderr if "Traceback" in s or "Error" in s], stderr
    assert not page_errors, page_errors
    assert not console_errors, console_errors
    for name in (
        "watch-dag-runs-running",
        "watch-dag-runs-finished",
        "kestra-flow-running",
        "kestra-flow-finished",
    ):
        assert (SCREENSHOTS / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
