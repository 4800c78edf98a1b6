"""``pluginDefaults`` / ``taskDefaults`` inlined onto the tasks and triggers they apply to (Kestra 2.0 has none)."""

from __future__ import annotations

import copy
from typing import Any

from ..dialect import guide_page, task_nodes
from .common import Note, Upgrade, replace_in_place


def _inline(task: dict[str, Any], values: dict[str, Any], forced: bool) -> dict[str, Any]:
    """``task`` with the default ``values`` merged (maps key by key; the task wins unless forced),
    the task's keys first, in its order."""
    merged = dict(task)
    for key, value in values.items():
        if key in merged and isinstance(merged[key], dict) and isinstance(value, dict):
            merged[key] = _inline(merged[key], value, forced)
        elif key not in merged or forced:
            merged[key] = copy.deepcopy(value)
    return merged


def upgrade_plugin_defaults(document: dict[str, Any], result: Upgrade) -> dict[str, Any]:
    """Inline the ``pluginDefaults`` (or ``taskDefaults``) of ``document`` and drop the block."""
    key = (
        "pluginDefaults"
        if "pluginDefaults" in document
        else "taskDefaults"
        if "taskDefaults" in document
        else None
    )
    if key is None:
        return document
    page = guide_page("plugin-defaults-removed")
    defaults = document[key] or []
    triggers = [
        (f"triggers[{i}]", t)
        for i, t in enumerate(document.get("triggers") or [])
        if isinstance(t, dict) and isinstance(t.get("type"), str)
    ]
    tasks = [*task_nodes(document), *triggers]  # Kestra applies them to triggers too
    for i, default in enumerate(defaults):
        if not isinstance(default, dict) or not isinstance(default.get("type"), str):
            result.notes.append(
                Note("error", f"{key}[{i}]", "a default without a type cannot be inlined", page)
            )
            return document
        matched = [
            (p, t) for p, t in tasks if t["type"] == default["type"] or t["type"].startswith(default["type"])
        ]
        for _path, task in matched:
            replace_in_place(
                task, _inline(task, dict(default.get("values") or {}), bool(default.get("forced")))
            )
        if matched:
            result.changes.append(
                f"{key}[{i}] ({default['type']}): inlined onto {', '.join(repr(t['id']) for _, t in matched)}"
            )
        else:
            result.notes.append(
                Note(
                    "warning",
                    f"{key}[{i}]",
                    f"no task of type {default['type']}: the default is dropped",
                    page,
                )
            )
    return {k: v for k, v in document.items() if k != key}
