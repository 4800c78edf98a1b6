"""Turn Airflow's task-log payloads into one plain text, the same for both API versions.

* Airflow 3 (``/api/v2``) sends structured events: ``{"content": [{"timestamp", "level", "event", ...} | str]}``.
* Airflow 2 (``/api/v1``) sends, as JSON, ``{"content": "<Python repr of [(host, text), ...]>"}``.
"""

from __future__ import annotations

import ast
from typing import Any

__all__ = ["log_text"]


def _event_line(item: Any) -> str:
    if isinstance(item, str):
        return item
    if not isinstance(item, dict):
        return str(item)
    event = str(item.get("event", ""))
    timestamp, level, logger = item.get("timestamp"), item.get("level"), item.get("logger")
    prefix = " ".join(
        part for part in (f"[{timestamp}]" if timestamp else "", str(level).upper() if level else "") if part
    )
    if logger:
        prefix = f"{prefix} {{{logger}}}" if prefix else f"{{{logger}}}"
    line = f"{prefix} - {event}" if prefix else event
    details = item.get("error_detail")
    if isinstance(details, list) and details:
        line += "\n" + _traceback(details)
    return line


def _traceback(details: list[Any]) -> str:
    """Airflow 3 sends exceptions as ``error_detail``: render them as Python prints a traceback."""
    blocks = []
    for detail in details:
        if not isinstance(detail, dict):
            blocks.append(str(detail))
            continue
        frames = "".join(
            f'  File "{f.get("filename")}", line {f.get("lineno")}, in {f.get("name")}\n'
            for f in detail.get("frames") or []
            if isinstance(f, dict)
        )
        blocks.append(
            f"Traceback (most recent call last):\n{frames}{detail.get('exc_type')}: {detail.get('exc_value')}"
        )
    return "\n".join(blocks)


def _v1_text(content: str) -> str:
    stripped = content.lstrip()
    if stripped.startswith("[("):
        try:
            parsed = ast.literal_eval(stripped)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return content
        if isinstance(parsed, list):
            return "".join(
                str(part[1]) if isinstance(part, tuple) and len(part) == 2 else str(part) for part in parsed
            )
    return content


def log_text(content: Any) -> str:
    """Plain text of one chunk of a task log (``content`` of either API version's JSON body)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return _v1_text(content)
    if isinstance(content, list):
        lines = [_event_line(item) for item in content]
        return "".join(line + "\n" for line in lines)
    return str(content)
