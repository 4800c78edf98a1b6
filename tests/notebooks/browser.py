"""Render an executed notebook to HTML with its widgets, offline, and look at it in headless Chromium.

The widget renderer (``@jupyter-widgets/html-manager``) and require.js come from ``node_modules``
(installed by ``npm ci`` in ``scripts/test.sh``), never from a CDN: there is no internet here.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "node_modules"
WIDGET_RENDERER = NODE_MODULES / "@jupyter-widgets" / "html-manager" / "dist" / "embed-amd.js"
REQUIRE_JS = NODE_MODULES / "requirejs" / "require.js"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def notebook_html(notebook: Path, out: Path) -> Path:
    """Export ``notebook`` (executed, with widget state) to ``out`` as a self-contained lab-style page
    whose scripts all load from local files."""
    for asset in (WIDGET_RENDERER, REQUIRE_JS):
        if not asset.is_file():
            raise FileNotFoundError(f"{asset} is missing: run `npm ci` in {REPO} (scripts/test.sh does)")
    exporter = HTMLExporter(
        template_name="lab",
        require_js_url=REQUIRE_JS.as_uri(),
        widget_renderer_url=WIDGET_RENDERER.as_uri(),
        mathjax_url="data:text/javascript,",  # no maths here, and no CDN
    )
    body, _ = exporter.from_notebook_node(nbformat.read(notebook, as_version=4))
    out.write_text(body, encoding="utf-8")
    return out


def chromium(page: Path, *args: str, timeout: float = 120) -> str:
    """Run headless Chromium on ``page`` with a fresh profile; returns its stdout."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        raise FileNotFoundError(
            "chromium is not installed: apt-get install -y chromium (scripts/test.sh does)"
        )
    with tempfile.TemporaryDirectory(prefix="kas-chromium-") as profile:
        proc = subprocess.run(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"chromium exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


class _RenderedWidgetText(HTMLParser):
    """The text inside rendered ipywidgets HTML views (``.widget-html-content``), not in scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._depth = 0  # > 0 while inside a rendered widget's content

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if self._depth:
            self._depth += 1
        elif tag == "div" and "widget-html-content" in classes:
            self._depth = 1
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if self._depth:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth:
            self.texts[-1] += data


def rendered_widget_texts(dom: str) -> list[str]:
    """What each rendered HTML widget shows in a DOM dumped after the page's scripts ran."""
    parser = _RenderedWidgetText()
    parser.feed(dom)
    return parser.texts
