"""HTML renderers for notebooks: progress tables, DAG runs and task-instance listings.

Every function returns a self-contained HTML fragment with inline styles (no stylesheet, no script),
so it renders the same in JupyterLab, VS Code, a static nbconvert export and the docs. All text
coming from Airflow is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from ..airflow.models import DagRun, TaskInstance
from ..history.palette import STATE_COLOURS, state_colour
from .snapshot import COUNTED_STATES, RunSnapshot, format_elapsed
from .text import summary_line

__all__ = ["STATE_COLOURS", "badge", "dag_run_html", "log_lines_html", "progress_html", "task_instances_html"]

_TABLE = "border-collapse:collapse;font-family:sans-serif;font-size:12px;margin:4px 0"
_CELL = "padding:2px 6px;border-bottom:1px solid #e0e0e0;text-align:left;white-space:nowrap"
_HEAD = "padding:2px 6px;border-bottom:1px solid #e0e0e0;text-align:left;font-weight:600;color:#444"


def badge(state: object) -> str:
    """A coloured pill with the state's name (grey ``none`` for no state)."""
    name = "none" if state is None else str(state)
    colour = state_colour(name)
    return (
        f'<span class="ka-badge" data-state="{escape(name)}" style="background:{colour};color:#fff;'
        f'border-radius:8px;padding:1px 7px;font-size:11px;font-weight:600">{escape(name)}</span>'
    )


def _waiting(subject: str) -> str:
    """The state of a running run that waits for a person: an orange pill with the request's subject."""
    return (
        '<span class="ka-badge" data-state="waiting_for_a_person" style="background:#e07b00;color:#fff;'
        'border-radius:8px;padding:1px 7px;font-size:11px;font-weight:600">'
        f"waiting for a person: {escape(subject)}</span>"
    )


def _bar(snapshot: RunSnapshot) -> str:
    """A progress bar of finished task instances over total, with the numbers (or ``starting…``
    before there is any task instance) beside it."""
    width = round(snapshot.fraction * 100)
    colour = STATE_COLOURS["failed"] if snapshot.state == "failed" else STATE_COLOURS["success"]
    return (
        f'<span class="ka-bar" data-finished="{snapshot.finished}" data-total="{snapshot.total}">'
        '<span style="display:inline-block;vertical-align:middle;width:80px;height:10px;'
        'background:#eee;border-radius:5px;overflow:hidden">'
        f'<span style="display:block;height:100%;width:{width}%;background:{colour}"></span></span>'
        f" {escape(snapshot.tasks_done)}</span>"
    )


def _link(url: str | None, text: str = "Airflow UI") -> str:
    if not url:
        return ""
    return f'<a href="{escape(url)}" target="_blank" rel="noopener">{escape(text)}</a>'


def _td(content: str, style: str = "", **data: object) -> str:
    attrs = "".join(f' data-{name.replace("_", "-")}="{escape(str(value))}"' for name, value in data.items())
    return f'<td style="{_CELL}{style}"{attrs}>{content}</td>'


def progress_html(snapshots: Sequence[RunSnapshot]) -> str:
    """The live progress display: a summary line and one compact table row per DAG run.

    Columns: DAG, run id, state badge, progress bar (finished/total task instances), one count
    column per state in :data:`~kestra_airflow_sdk.display.snapshot.COUNTED_STATES`, elapsed time
    and a link to the run in the Airflow UI. Zero counts are shown faded so the others stand out.
    """
    heads = [
        "DAG",
        "Run",
        "State",
        "Tasks done",
        *(s.replace("_", " ") for s in COUNTED_STATES),
        "Elapsed",
        "",
    ]
    header = "".join(f'<th style="{_HEAD}">{escape(h)}</th>' for h in heads)
    rows = []
    for snap in snapshots:
        counts = "".join(
            _td(str(snap.counts.get(state, 0)), "" if snap.counts.get(state) else ";color:#bbb", count=state)
            for state in COUNTED_STATES
        )
        rows.append(
            f'<tr data-dag-id="{escape(snap.dag_id)}" data-run-id="{escape(snap.dag_run_id)}" '
            f'data-state="{escape(snap.state)}">'
            f"{_td(escape(snap.dag_id))}{_td(escape(snap.dag_run_id), ';font-family:monospace;font-size:11px')}"
            f"{_td(_waiting(snap.waiting_for) if snap.waiting_for else badge(snap.state))}{_td(_bar(snap))}{counts}"
            f"{_td(escape(format_elapsed(snap.elapsed)))}{_td(_link(snap.url))}</tr>"
        )
    done = bool(snapshots) and all(s.is_final for s in snapshots)
    return (
        f'<div class="ka-progress" data-finished="{str(done).lower()}">'
        f'<div style="font-family:sans-serif;font-size:13px;font-weight:600">'
        f"{escape(summary_line(snapshots))}</div>"
        f'<table style="{_TABLE}"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
        "</div>"
    )


def table(heads: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A compact table of already-escaped cell HTML."""
    header = "".join(f'<th style="{_HEAD}">{escape(h)}</th>' for h in heads)
    body = "".join("<tr>" + "".join(_td(cell) for cell in row) + "</tr>" for row in rows)
    return f'<table style="{_TABLE}"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>'


def definition_list(items: Iterable[tuple[str, str]]) -> str:
    """A two-column table of a name and its (already-escaped) value HTML."""
    rows = "".join(
        f'<tr><th style="{_HEAD}">{escape(name)}</th><td style="{_CELL}">{value}</td></tr>'
        for name, value in items
    )
    return f'<table style="{_TABLE}">{rows}</table>'


def dag_run_html(run: DagRun, *, url: str | None = None) -> str:
    """A DAG run as a small table: ids, state badge, dates, duration, conf and note."""
    when = [
        (name, value.isoformat(sep=" ", timespec="seconds"))
        for name, value in (
            ("logical date", run.logical_date),
            ("queued at", run.queued_at),
            ("started", run.start_date),
            ("ended", run.end_date),
        )
        if value is not None
    ]
    items: list[tuple[str, str]] = [
        ("DAG", escape(run.dag_id)),
        ("run id", f"<code>{escape(run.dag_run_id)}</code>"),
        ("state", badge(run.state)),
        *((name, escape(text)) for name, text in when),
    ]
    if run.duration is not None:
        items.append(("duration", escape(format_elapsed(run.duration))))
    if run.run_type:
        items.append(("run type", escape(run.run_type)))
    if run.conf:
        items.append(("conf", f"<code>{escape(repr(run.conf))}</code>"))
    if run.note:
        items.append(("note", escape(run.note)))
    if url:
        items.append(("Airflow UI", _link(url, url)))
    return f'<div class="ka-dag-run">{definition_list(items)}</div>'


def task_instances_html(task_instances: Sequence[TaskInstance]) -> str:
    """A task-instance listing: task id (with map index), state badge, try, operator, timing."""
    heads = ["task", "state", "try", "operator", "started", "duration"]
    header = "".join(f'<th style="{_HEAD}">{h}</th>' for h in heads)
    rows = []
    for ti in task_instances:
        task = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        started = ti.start_date.isoformat(sep=" ", timespec="seconds") if ti.start_date else ""
        rows.append(
            f'<tr data-task-id="{escape(ti.task_id)}">{_td(escape(task))}{_td(badge(ti.state))}'
            f"{_td(str(ti.try_number))}{_td(escape(ti.operator or ''))}{_td(escape(started))}"
            f"{_td(escape(format_elapsed(ti.duration)))}</tr>"
        )
    caption = f"{len(task_instances)} task instance{'s' if len(task_instances) != 1 else ''}"
    return (
        f'<div class="ka-task-instances"><div style="font-family:sans-serif;font-size:12px;color:#444">'
        f"{caption}</div>"
        f'<table style="{_TABLE}"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
        "</div>"
    )


def log_lines_html(lines: Sequence[str]) -> str:
    """Log lines as a scrollable preformatted block (nothing when there are none)."""
    if not lines:
        return ""
    text = escape("\n".join(lines))
    return (
        '<pre class="ka-logs" style="font-size:12px;background:#f7f7f7;padding:6px;max-height:20em;'
        f'overflow:auto;margin:4px 0">{text}</pre>'
    )
