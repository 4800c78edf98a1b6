"""``ForEach`` / ``EachSequential`` / ``EachParallel`` -> ``Loop``: ``taskrun.value`` -> ``item.value``, value-keyed
outputs -> declared loop outputs read with ``loopOutputs(...)``."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from ..dialect import LOOP, guide_page, task_nodes
from .common import EACH, Note, Upgrade, replace_in_place, rewrite_pebble, rewrite_strings

_CHILD_LISTS = ("tasks", "errors", "finally", "then", "else", "cases", "defaults")
#: the value keys of a task's outputs inside nested loops: ``[parent.taskrun.value][taskrun.value]``
_KEYS = r"(?:\[\s*(?:parent\.|parents\[\d+\]\.)?taskrun\.value\s*\])+"
_TASKRUN_VALUE = re.compile(r"(?<![\w.])(?:(parent)\.|parents\[(\d+)\]\.)?taskrun\.(value|iteration)\b")


def _loop_path(document: dict[str, Any]) -> dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """id(task) -> (the flowable ancestors of the task, outermost first; the loops among them)."""
    found: dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}

    def visit(node: Any, ancestors: list[dict[str, Any]]) -> None:
        if isinstance(node, dict):
            is_task = isinstance(node.get("id"), str) and isinstance(node.get("type"), str)
            if is_task:
                found[id(node)] = (ancestors, [a for a in ancestors if a.get("type") in EACH])
            inner = [*ancestors, node] if is_task else ancestors
            for value in node.values():
                visit(value, inner)
        elif isinstance(node, list):
            for value in node:
                visit(value, ancestors)

    for key in ("tasks", "errors", "finally"):
        visit(document.get(key), [])
    return found


def upgrade_loops(document: dict[str, Any], result: Upgrade) -> None:
    """Rewrite the expressions inside each ``ForEach``/``Each*`` for ``Loop``, then the tasks themselves."""
    page = guide_page("foreach-loop")
    paths = _loop_path(document)
    for path, task in list(task_nodes(document)):
        ancestors, loops = paths.get(id(task), ([], []))
        if not loops:
            continue

        def item(
            match: re.Match[str],
            ancestors: list[dict[str, Any]] = ancestors,
            loops: list[dict[str, Any]] = loops,
            path: str = path,
        ) -> str:
            up = (
                0
                if not (match.group(1) or match.group(2))
                else (1 if match.group(1) else int(match.group(2)) + 1)
            )
            owner = ancestors[-up] if up else None  # the ancestor whose task run is meant
            enclosing = (
                loops
                if owner is None
                else [lp for lp in loops if lp is not owner and ancestors.index(lp) < ancestors.index(owner)]
            )
            if not enclosing:
                result.notes.append(Note("error", path, f"{match.group(0)} refers to no loop", page))
                return match.group(0)
            depth = len(loops) - len(enclosing)
            name = "item" if depth == 0 else "item.parent" if depth == 1 else f"item.parents[{depth - 1}]"
            return f"{name}.{'value' if match.group(3) == 'value' else 'index'}"

        def own_outputs(body: str, loops: list[dict[str, Any]] = loops) -> str:
            for loop in loops:
                for _p, inner in task_nodes({"tasks": loop.get("tasks") or []}):
                    body = re.sub(
                        r"outputs\." + re.escape(inner["id"]) + _KEYS,
                        f"outputs.{inner['id']}",
                        body,
                    )
            return body

        def body(
            text: str, item: Callable[[re.Match[str]], str] = item, own: Callable[[str], str] = own_outputs
        ) -> str:
            return _TASKRUN_VALUE.sub(item, own(text))

        for key, value in list(task.items()):
            if key not in _CHILD_LISTS:  # child tasks are rewritten in their own turn
                task[key] = rewrite_strings(value, functools.partial(rewrite_pebble, rewrite=body))
    for path, task in list(task_nodes(document)):
        if task.get("type") in EACH:
            _to_loop(path, task, document, result)


def _to_loop(path: str, task: dict[str, Any], document: dict[str, Any], result: Upgrade) -> None:
    kind = task["type"]
    new: dict[str, Any] = {}
    for key, value in task.items():
        if key == "type":
            new["type"] = LOOP
        elif key == "value":
            new["values"] = value
        elif key == "concurrent":
            new["concurrencyLimit"] = value
        else:
            new[key] = value
    if kind.endswith("EachSequential") and "concurrencyLimit" not in new:
        new["concurrencyLimit"] = 1
    if kind.endswith("EachParallel") and "concurrencyLimit" not in new:
        new["concurrencyLimit"] = 0
    inner_ids = [t["id"] for _p, t in task_nodes({"tasks": task.get("tasks") or []})]
    outputs: list[dict[str, Any]] = []
    if inner_ids:
        ids = "|".join(re.escape(i) for i in inner_ids)
        keyed = re.compile(r"outputs\.(" + ids + r")\[[^\]]*\]\.(\w+)")

        def collect(match: re.Match[str]) -> str:
            output_id = f"{match.group(1)}_{match.group(2)}"
            if output_id not in [o["id"] for o in outputs]:
                outputs.append(
                    {
                        "id": output_id,
                        "type": "STRING",
                        "value": "{{ outputs." + match.group(1) + "." + match.group(2) + " }}",
                    }
                )
            return f"loopOutputs(outputs.{task['id']}.outputs, '{output_id}')"

        for key in ("tasks", "errors", "finally", "outputs"):
            if isinstance(document.get(key), list):
                _rewrite_outside(document[key], task, keyed, collect)
    if outputs:
        new["outputs"] = outputs
        result.notes.append(
            Note(
                "warning",
                path,
                f"outputs keyed by the ForEach value ({', '.join(o['id'] for o in outputs)}) are now lists in iteration order, read with loopOutputs(); check what used one value",
                guide_page("foreach-loop"),
            )
        )
    warned = [
        t["id"]
        for _p, t in task_nodes({"tasks": task.get("tasks") or []})
        if str(t.get("type", "")).endswith("AllowFailure") or t.get("allowFailure") is True
    ]
    if warned:
        result.notes.append(
            Note(
                "warning",
                path,
                f"an iteration ending WARNING ({', '.join(warned)} can end it so) no longer makes the loop "
                "WARNING: a Loop ends SUCCESS once every iteration ended (Kestra 2.0's "
                "LoopExecutionEventMessageHandler), where the ForEach took its tasks' worst state",
                guide_page("foreach-loop"),
            )
        )
    replace_in_place(task, new)
    result.changes.append(f"{path}: {kind.rsplit('.', 1)[-1]} -> Loop")


def _rewrite_outside(
    node: Any, loop: dict[str, Any], pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str]
) -> Any:
    """``node`` with ``pattern`` rewritten in its Pebble, except inside ``loop``."""
    if node is loop:
        return node
    if isinstance(node, str):
        return rewrite_pebble(node, lambda b: pattern.sub(replace, b))
    if isinstance(node, dict):
        rewritten = {k: _rewrite_outside(v, loop, pattern, replace) for k, v in node.items()}
        replace_in_place(node, rewritten)
        return node
    if isinstance(node, list):
        node[:] = [_rewrite_outside(v, loop, pattern, replace) for v in node]
        return node
    return node
