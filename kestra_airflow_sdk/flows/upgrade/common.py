"""What every upgrade rule shares: the notes and result, and rewriting a document's maps and Pebble."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..dialect import RAW, guide_page

CORE = "io.kestra.plugin.core."
PEBBLE = re.compile(r"(\{\{)(.*?)(\}\})|(\{%)(.*?)(%\})", re.S)
EACH = {
    f"{CORE}flow.ForEach",
    f"{CORE}flow.EachSequential",
    f"{CORE}flow.EachParallel",
    "io.kestra.core.tasks.flows.EachSequential",
    "io.kestra.core.tasks.flows.EachParallel",
}
STATE_KINDS = {"state.Get": "Get", "state.Set": "Set", "state.Delete": "Delete"}
FLOW_TRIGGER = (f"{CORE}trigger.Flow", "io.kestra.core.models.triggers.types.Flow")
SUPPLIED_INPUT_TRIGGERS = (
    "trigger.Schedule",
    "trigger.Webhook",
    "triggers.types.Schedule",
    "triggers.types.Webhook",
)
NEED_AUTH = ("io.kestra.plugin.git.SyncFlows", "io.kestra.plugin.git.Sync", "io.kestra.plugin.git.PushFlows")


@dataclass(frozen=True)
class Note:
    """Something the upgrade could not do (``error``: Kestra 2.0 rejects the flow) or that may break
    at run time (``warning``), with the place and the page of Kestra's migration guide."""

    severity: str
    where: str
    message: str
    page: str = guide_page()

    def __str__(self) -> str:
        return f"{self.severity}: {self.where}: {self.message} (see {self.page})"


@dataclass
class Upgrade:
    """The upgraded document, what changed (one line each) and the notes."""

    document: dict[str, Any]
    changes: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    @property
    def errors(self) -> list[Note]:
        """Notes Kestra 2.0 would reject the flow for."""
        return [n for n in self.notes if n.severity == "error"]

    @property
    def warnings(self) -> list[Note]:
        """Notes about what may break at run time."""
        return [n for n in self.notes if n.severity == "warning"]


def rename_key(
    node: dict[str, Any], old: str, new: str, value: Any = None, *, keep: bool = True
) -> dict[str, Any]:
    """``node`` with ``old`` renamed ``new`` in place (its value kept, or ``value``)."""
    return {(new if k == old else k): (v if keep or k != old else value) for k, v in node.items()}


def replace_in_place(target: dict[str, Any], source: dict[str, Any]) -> None:
    """Make ``target`` hold ``source`` (the same dict object, so its parents see the change)."""
    target.clear()
    target.update(source)


def rewrite_strings(node: Any, rewrite: Callable[[str], str]) -> Any:
    """``node`` with ``rewrite`` applied to every string in it (maps and lists rebuilt)."""
    if isinstance(node, str):
        return rewrite(node)
    if isinstance(node, dict):
        return {k: rewrite_strings(v, rewrite) for k, v in node.items()}
    if isinstance(node, list):
        return [rewrite_strings(v, rewrite) for v in node]
    return node


def rewrite_pebble(text: str, rewrite: Callable[[str], str]) -> str:
    """``text`` with ``rewrite`` applied to the inside of each ``{{ }}`` and ``{% %}``."""

    def one(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(1) + rewrite(match.group(2)) + match.group(3)
        return match.group(4) + rewrite(match.group(5)) + match.group(6)

    if "{" not in text:
        return text
    pieces, start = [], 0
    for raw in RAW.finditer(text):  # a raw block is text, not Pebble
        pieces += [PEBBLE.sub(one, text[start : raw.start()]), raw.group(0)]
        start = raw.end()
    return "".join([*pieces, PEBBLE.sub(one, text[start:])])


def unwrap(expression: str) -> str:
    """``{{ x }}`` -> ``x``; anything else as it is."""
    text = expression.strip()
    if text.startswith("{{") and text.endswith("}}") and text.count("{{") == 1:
        return text[2:-2].strip()
    return text


def join(parts: list[str], operator: str) -> str:
    """One expression of ``parts`` joined with ``operator`` (each part in brackets when there are several)."""
    return parts[0] if len(parts) == 1 else f" {operator} ".join(f"({p})" for p in parts)
