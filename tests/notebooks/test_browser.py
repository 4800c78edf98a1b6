"""A real browser look at the executed quickstart: headless Chromium renders its widgets offline,
the widget's final state is on the page, and a screenshot of it is taken.

The screenshot goes to ``build/screenshots/`` (git-ignored): running the tests never changes a
tracked file. ``scripts/refresh-docs-images.sh`` copies it over ``docs/img/quickstart.png``.
"""

from __future__ import annotations

from pathlib import Path

from tests.airflow_servers import AirflowServer
from tests.notebooks.browser import REPO, chromium, notebook_html, rendered_widget_texts
from tests.notebooks.test_notebooks import AIRFLOW3

SCREENSHOT = REPO / "build" / "screenshots" / "quickstart.png"
JS_BUDGET_MS = "15000"  # virtual time for require.js + the widget renderer to run


@AIRFLOW3
def test_quickstart_in_chromium_shows_the_final_widget_state(
    airflow: AirflowServer, executed_quickstart: Path, tmp_path: Path
) -> None:
    page = notebook_html(executed_quickstart, tmp_path / "quickstart.html")
    html = page.read_text()
    assert "embed-amd.js" in html and "require.js" in html
    scripts = [line for line in html.splitlines() if "<script src=" in line or "widgetRendererSrc =" in line]
    assert scripts and not [s for s in scripts if "http://" in s or "https://" in s], scripts

    dom = chromium(page, f"--virtual-time-budget={JS_BUDGET_MS}", "--dump-dom")
    texts = rendered_widget_texts(dom)
    assert texts, "no widget was rendered: the html-manager did not run"
    progress = [t for t in texts if "DAG run" in t]
    assert len(progress) == 2  # watch_dag_runs, then the Kestra flow's execution
    for shown in progress:
        assert "All 1 DAG run finished: 1 success" in shown
        assert "hello_world_dag" in shown

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    chromium(
        page, f"--virtual-time-budget={JS_BUDGET_MS}", "--window-size=1280,1500", f"--screenshot={SCREENSHOT}"
    )
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert SCREENSHOT.stat().st_size > 20_000, "a blank page compresses to almost nothing"
