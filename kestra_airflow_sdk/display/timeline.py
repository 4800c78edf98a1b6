"""A bar timeline of an execution for its notebook display: its task runs and, under each TriggerDagRun
task run, the Airflow DAG run and that run's task instances, on the execution's time span. Pure HTML with
inline styles (no script, no image), so it renders in JupyterLab, VS Code and static exports alike."""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from typing import TYPE_CHECKING, Any

from ..history.palette import state_colour
from .snapshot import format_elapsed

if TYPE_CHECKING:
    from ..flows.execution import Execution

__all__ = ["execution_timeline_html"]

Row = tuple[int, str, str, "datetime | None", "datetime | None"]


def _when(value: datetime | None) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if value is not None else ""


#: task instances of one DAG run shown in the timeline (the rest are counted)
_TIMELINE_TASK_INSTANCES = 30
_LABEL = "width:260px;flex:none;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;padding-right:6px;"


def _moment(value: Any) -> datetime | None:
    """A datetime output (or its ISO text) as an aware datetime; anything else is None."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _timeline_rows(execution: Execution) -> list[Row]:
    """(depth, label, state, start, end): each task run, under it its Airflow DAG run (from the outputs
    of a TriggerDagRun) and that run's task instances."""
    rows: list[Row] = []
    for run in execution.task_runs:
        label = run.task_id + (f" (attempt {run.attempt})" if run.attempt > 1 else "")
        rows.append((0, label, run.state.value, run.start_date, run.end_date))
        outputs = run.outputs
        if "dagRunId" not in outputs:
            continue
        dag_run = f"{outputs.get('dagId', '')} / {outputs['dagRunId']}"
        rows.append(
            (
                1,
                dag_run,
                str(outputs.get("state", "")),
                _moment(outputs.get("started")),
                _moment(outputs.get("ended")),
            )
        )
        instances = outputs.get("taskInstances") or []
        for ti in instances[:_TIMELINE_TASK_INSTANCES]:
            if not isinstance(ti, dict):
                continue
            mapped = ti.get("map_index") is not None and ti.get("map_index", -1) >= 0
            name = f"{ti.get('task_id')}[{ti.get('map_index')}]" if mapped else str(ti.get("task_id"))
            rows.append(
                (
                    2,
                    name,
                    str(ti.get("state") or "none"),
                    _moment(ti.get("start_date")),
                    _moment(ti.get("end_date")),
                )
            )
        if len(instances) > _TIMELINE_TASK_INSTANCES:
            rows.append(
                (2, f"+{len(instances) - _TIMELINE_TASK_INSTANCES} more task instances", "none", None, None)
            )
    return rows


def execution_timeline_html(execution: Execution) -> str:
    """A bar timeline of an execution: one bar per task run, and under a TriggerDagRun task run its
    Airflow DAG run and that run's task instances, each from its start to its end on the execution's
    time span, coloured by state. Pure HTML (no script, no image): it renders anywhere. Empty when
    nothing has started yet."""
    rows = _timeline_rows(execution)
    moments = [m for _, _, _, start, end in rows for m in (start, end) if m is not None]
    moments += [m for m in (execution.start_date, execution.end_date) if m is not None]
    if not moments:
        return ""
    first = min(moments)
    last = max(moments) if execution.state.is_terminal else max([*moments, datetime.now(timezone.utc)])
    span = max((last - first).total_seconds(), 1e-3)
    lines = []
    for depth, label, state, start, end in rows:
        bar = ""
        if start is not None:
            left = (start - first).total_seconds() / span * 100
            width = max(((end or last) - start).total_seconds() / span * 100, 0.4)
            tip = f"{label}: {state}, {_when(start)} to {_when(end) or 'now'}"
            bar = (
                f'<span class="ka-timeline-bar" data-left="{left:.2f}" data-width="{width:.2f}" '
                f'title="{escape(tip)}" style="position:absolute;top:0;bottom:0;left:{left:.2f}%;'
                f'width:{min(width, 100 - left):.2f}%;background:{state_colour(state)};border-radius:2px"></span>'
            )
        lines.append(
            f'<div class="ka-timeline-row" data-depth="{depth}" data-timeline-state="{escape(state)}" '
            'style="display:flex;align-items:center;height:16px">'
            f'<span style="{_LABEL}padding-left:{depth * 14}px;color:{"#222" if depth == 0 else "#555"}">'
            f"{'&#8627; ' if depth else ''}{escape(label)}</span>"
            f'<span style="position:relative;flex:1;height:10px;background:#f4f4f4">{bar}</span></div>'
        )
    axis = (
        f'<div style="display:flex;color:#666;font-size:11px"><span style="{_LABEL}"></span>'
        f'<span style="flex:1;display:flex;justify-content:space-between"><span>{escape(_when(first))}</span>'
        f"<span>{escape(format_elapsed(last - first))}</span><span>{escape(_when(last))}</span></span></div>"
    )
    return (
        '<div class="ka-timeline" style="font-family:sans-serif;font-size:12px;margin:6px 0;max-width:900px">'
        + "".join(lines)
        + axis
        + "</div>"
    )
