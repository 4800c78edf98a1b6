"""HTML renderers for the Kestra side: a flow (its tasks and its YAML) and an execution (state,
duration, inputs, outputs, task runs, log lines). Inline styles only, every value escaped; secret
values show as masks."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from .html import badge, definition_list, log_lines_html, table
from .snapshot import format_elapsed
from .timeline import execution_timeline_html

if TYPE_CHECKING:
    from ..flows.execution import Execution
    from ..flows.flow import Flow

__all__ = ["execution_html", "flow_html"]


def _when(value: Any) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if value is not None else ""


def _scalar_outputs(outputs: dict[str, Any]) -> str:
    """Outputs worth a glance (scalars); lists such as ``taskInstances`` are summarised by length."""
    parts = []
    for key, value in outputs.items():
        shown = f"{len(value)} items" if isinstance(value, (list, dict)) else str(value)
        parts.append(f"<b>{escape(key)}</b>: {escape(shown)}")
    return "<br>".join(parts)


def execution_html(execution: Execution) -> str:
    """An execution: id, flow, state badge, dates, duration and inputs, then one row per task run,
    then its log lines."""
    head = definition_list(
        [
            ("execution", f"<code>{escape(execution.id)}</code>"),
            ("flow", escape(f"{execution.namespace}.{execution.flow_id}")),
            ("state", badge(execution.state.value)),
            ("started", escape(_when(execution.start_date))),
            ("ended", escape(_when(execution.end_date))),
            ("duration", escape(format_elapsed(execution.duration))),
            *([("inputs", _scalar_outputs(execution.inputs))] if execution.inputs else []),
        ]
    )
    rows = [
        [
            escape(run.task_id),
            badge(run.state.value),
            str(run.attempt),
            escape(format_elapsed(run.duration)),
            _scalar_outputs(run.outputs),
            escape(run.error or ""),
        ]
        for run in execution.task_runs
    ]
    runs = table(["task", "state", "attempt", "duration", "outputs", "error"], rows)
    logs = log_lines_html([entry.line() for entry in execution.logs])
    return f'<div class="ka-execution">{head}{execution_timeline_html(execution)}{runs}{logs}</div>'


def flow_html(flow: Flow) -> str:
    """A flow: id, namespace and description, a table of its tasks, and its Kestra YAML."""
    head = definition_list(
        [
            ("flow", escape(flow.id)),
            ("namespace", escape(flow.namespace)),
            *([("description", escape(flow.description))] if flow.description else []),
        ]
    )
    rows = [
        [escape(task.id), escape(task.type.rsplit(".", 1)[-1]), escape(task.type)] for task in flow.walk()
    ]
    tasks = table(["task", "kind", "type"], rows)
    yaml = f'<pre style="font-size:12px;background:#f7f7f7;padding:6px">{escape(flow.to_yaml())}</pre>'
    return f'<div class="ka-flow">{head}{tasks}<details><summary>Kestra YAML</summary>{yaml}</details></div>'
