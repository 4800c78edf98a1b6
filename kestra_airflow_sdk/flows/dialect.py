"""Which Kestra a flow document is written for: 1.3 or 2.0, read from the constructs it uses.

Kestra 2.0 removed constructs 1.3 had (``ForEach``/``Each*``, ``pluginDefaults``, trigger
``conditions``, ``retry.maxAttempt``, the Pebble ``json`` filter and function, ...) and added others
(the ``Loop`` task, ``when``/``dependsOn`` on triggers, ``loopOutputs()``). A document using only
1.3 constructs is a 1.3 flow, one using a 2.0-only construct a 2.0 flow; one using neither reads
the same in both (a 2.0 document). One that mixes them is an error naming both places.

``toJson``/``fromJson`` are not 2.0 markers: Kestra 1.3 has them too (kestra-migrate rewrites
``json`` to them on its ``--stay-v1-compatible`` path), so they fit either dialect.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import FlowValidationError

#: flow ids Kestra reserves for its API paths since 1.0 (migration-guide/1.0.0/reserved-flow-ids;
#: kestra2-flow-migration's flows-changes.md lists them again for 2.0)
RESERVED_FLOW_IDS = frozenset(
    {
        "pause",
        "resume",
        "force-run",
        "change-status",
        "kill",
        "executions",
        "search",
        "source",
        "disable",
        "enable",
    }
)

__all__ = [
    "KESTRA_VERSIONS",
    "MIGRATION_GUIDE",
    "RAW",
    "RESERVED_FLOW_IDS",
    "Construct",
    "constructs",
    "detect_kestra",
    "guide_page",
    "pebble_bodies",
    "task_nodes",
]

#: the Kestra versions a document can be read and written for
KESTRA_VERSIONS = ("1.3", "2.0")
#: Kestra's migration guide to 2.0; ``guide_page(slug)`` gives one of its pages
MIGRATION_GUIDE = "https://kestra.io/docs/migration-guide/v2.0.0"


def guide_page(slug: str = "") -> str:
    """The address of a page of Kestra's 2.0 migration guide (the guide itself without a slug)."""
    return f"{MIGRATION_GUIDE}/{slug}" if slug else MIGRATION_GUIDE


_CORE = "io.kestra.plugin.core."
LOOP = f"{_CORE}flow.Loop"
#: Kestra 2.0's review task (no such task in 1.3)
APPROVAL = f"{_CORE}flow.Approval"
#: task and trigger types Kestra 2.0 removed: type -> (what replaces it, guide page)
REMOVED_TYPES: dict[str, tuple[str, str]] = {
    f"{_CORE}flow.ForEach": (f"{LOOP} (item.value for taskrun.value)", "foreach-loop"),
    f"{_CORE}flow.ForEachItem": (f"{LOOP} over the URI, or Split + Loop + Subflow per batch", "foreach-loop"),
    f"{_CORE}flow.EachSequential": (f"{LOOP} (item.value for taskrun.value)", "foreach-loop"),
    f"{_CORE}flow.EachParallel": (f"{LOOP} with concurrencyLimit", "foreach-loop"),
    "io.kestra.core.tasks.flows.EachSequential": (f"{LOOP} (item.value for taskrun.value)", "foreach-loop"),
    "io.kestra.core.tasks.flows.EachParallel": (f"{LOOP} with concurrencyLimit", "foreach-loop"),
    f"{_CORE}flow.Template": (f"{_CORE}flow.Subflow (the template as a flow, templateId -> flowId)", ""),
    "io.kestra.core.tasks.flows.Template": (f"{_CORE}flow.Subflow (the template as a flow)", ""),
    f"{_CORE}debug.Echo": (f"{_CORE}log.Log with message (for format)", ""),
    "io.kestra.core.tasks.debugs.Echo": (f"{_CORE}log.Log with message (for format)", ""),
    f"{_CORE}state.Get": (f"{_CORE}kv.Get", ""),
    f"{_CORE}state.Set": (f"{_CORE}kv.Set", ""),
    f"{_CORE}state.Delete": (f"{_CORE}kv.Delete", ""),
    "io.kestra.core.tasks.states.Get": (f"{_CORE}kv.Get", ""),
    "io.kestra.core.tasks.states.Set": (f"{_CORE}kv.Set", ""),
    "io.kestra.core.tasks.states.Delete": (f"{_CORE}kv.Delete", ""),
    f"{_CORE}execution.Count": ("the KV store or logic of your own", ""),
    f"{_CORE}execution.Resume": ("the API or an SDK", ""),
    f"{_CORE}trigger.Toggle": ("the API or an SDK", ""),
}
SUBFLOW_TYPES = (
    f"{_CORE}flow.Subflow",
    "io.kestra.core.tasks.flows.Subflow",
    "io.kestra.core.tasks.flows.Flow",
)
#: legacy type prefixes (aliases Kestra 2.0 no longer resolves)
LEGACY_PREFIXES = ("io.kestra.core.tasks.", "io.kestra.core.models.triggers.types.")
#: a Pebble tag or print: ``{{ ... }}`` / ``{% ... %}``
_PEBBLE = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)
JSON_FUNCTION = re.compile(r"(?<![\w.])json\s*\(")
JSON_FILTER = re.compile(r"\|\s*json\b(?!\s*\()")
LOOP_OUTPUTS = re.compile(r"(?<![\w.])loopOutputs\s*\(")
#: top-level keys that never hold tasks
NOT_TASKS = ("triggers", "pluginDefaults", "taskDefaults", "inputs", "outputs", "variables", "labels")


@dataclass(frozen=True)
class Construct:
    """One construct that belongs to one Kestra version.

    Attributes:
        kestra: ``"1.3"`` (removed in 2.0) or ``"2.0"`` (new in 2.0).
        name: what it is, e.g. ``task type io.kestra.plugin.core.flow.ForEach``.
        where: its place in the document, e.g. ``tasks[0] (task 'each')``.
        replacement: for a 1.3 construct, what Kestra 2.0 uses instead.
        page: the page of Kestra's migration guide about it.
    """

    kestra: str
    name: str
    where: str
    replacement: str = ""
    page: str = MIGRATION_GUIDE

    def __str__(self) -> str:
        return f"{self.name} at {self.where}"


def _step(path: str, key: Any, node: Any, kind: str) -> str:
    part = f"[{key}]" if isinstance(key, int) else (f".{key}" if path else str(key))
    if isinstance(node, Mapping) and isinstance(node.get("id"), str) and isinstance(key, int):
        part += f" ({kind} {node['id']!r})"
    return path + part


def task_nodes(document: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every task map (``id`` and ``type``) of the document at any depth, with its path."""

    def visit(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(node, dict):
            if isinstance(node.get("id"), str) and isinstance(node.get("type"), str):
                yield path, node
            for key, value in node.items():
                yield from visit(value, _step(path, key, value, "task"))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from visit(value, _step(path, i, value, "task"))

    for key, value in document.items():
        if key not in NOT_TASKS:
            yield from visit(value, str(key))


#: ``{% raw %} ... {% endraw %}``: text Pebble writes as it is
RAW = re.compile(r"\{%-?\s*raw\s*-?%\}.*?\{%-?\s*endraw\s*-?%\}", re.S)


def pebble_bodies(text: str) -> list[str]:
    """The insides of the ``{{ }}`` and ``{% %}`` of a string (not those of a ``raw`` block)."""
    outside = RAW.sub("", text)
    return [m.group(1) if m.group(1) is not None else m.group(2) for m in _PEBBLE.finditer(outside)]


def _strings(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, _step(path, key, value, "task"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, _step(path, i, value, "task"))


def _pebble_constructs(document: Mapping[str, Any]) -> Iterator[Construct]:
    for path, text in _strings(dict(document), ""):
        for body in pebble_bodies(text):
            if JSON_FUNCTION.search(body):
                yield Construct(
                    "1.3", "Pebble function json()", path, "fromJson()", guide_page("json-function-removed")
                )
            if JSON_FILTER.search(body):
                yield Construct(
                    "1.3", "Pebble filter | json", path, "| toJson", guide_page("json-function-removed")
                )
            if LOOP_OUTPUTS.search(body):
                yield Construct("2.0", "Pebble function loopOutputs()", path)


def _task_constructs(document: Mapping[str, Any]) -> Iterator[Construct]:
    for path, task in task_nodes(document):
        kind = task["type"]
        if kind in REMOVED_TYPES:
            replacement, slug = REMOVED_TYPES[kind]
            yield Construct("1.3", f"task type {kind}", path, replacement, guide_page(slug))
        elif kind.startswith(LEGACY_PREFIXES):
            yield Construct("1.3", f"legacy type {kind}", path, "its io.kestra.plugin.core.* name")
        elif kind in (LOOP, APPROVAL):
            yield Construct("2.0", f"task type {kind}", path)
        retry = task.get("retry")
        if isinstance(retry, dict) and "maxAttempt" in retry:
            yield Construct("1.3", "retry.maxAttempt", f"{path}.retry", "maxAttempts")
        options = task.get("options")
        if isinstance(options, dict):
            for key in ("basicAuthUser", "basicAuthPassword"):
                if key in options:
                    yield Construct("1.3", f"options.{key}", f"{path}.options", "options.auth")
        if kind in SUBFLOW_TYPES and "outputs" in task:
            yield Construct(
                "1.3",
                "Subflow outputs",
                f"{path}.outputs",
                "outputs declared by the child flow (outputs.<subflow>.outputs.<id>)",
            )
        if kind.endswith("flow.Pause"):
            for key in ("delay", "tasks"):
                if key in task:
                    yield Construct(
                        "1.3", f"Pause {key}", f"{path}.{key}", "timeout (and the tasks after the Pause)"
                    )
        if kind.endswith("execution.Exit") and task.get("state") == "CANCELED":
            yield Construct("1.3", "Exit state CANCELED", f"{path}.state", "CANCELLED")
        if "CANCELED" in (task.get("states") or []):
            yield Construct("1.3", "state CANCELED", f"{path}.states", "CANCELLED")


def _trigger_constructs(document: Mapping[str, Any]) -> Iterator[Construct]:
    for i, trigger in enumerate(document.get("triggers") or []):
        if not isinstance(trigger, dict):
            continue
        path = _step("triggers", i, trigger, "trigger")
        for key in ("conditions", "scheduleConditions", "preconditions"):
            if key in trigger:
                yield Construct(
                    "1.3",
                    f"trigger {key}",
                    f"{path}.{key}",
                    "when / dependsOn",
                    guide_page("trigger-conditions-redesign"),
                )
        if "minLogLevel" in trigger:
            yield Construct("1.3", "trigger minLogLevel", f"{path}.minLogLevel", "nothing (removed)")
        if "backfills" in trigger:
            yield Construct(
                "1.3", "Schedule backfills", f"{path}.backfills", "a backfill started from the UI or API"
            )
        for key in ("when", "dependsOn", "window"):
            if key in trigger:
                yield Construct("2.0", f"trigger {key}", f"{path}.{key}")


def _input_constructs(document: Mapping[str, Any]) -> Iterator[Construct]:
    for i, spec in enumerate(document.get("inputs") or []):
        if not isinstance(spec, dict):
            continue
        path = f"inputs[{i}] (input {spec.get('id', spec.get('name'))!r})"
        if spec.get("type") == "BOOLEAN":
            yield Construct("1.3", "input type BOOLEAN", path, "BOOL")
        if spec.get("type") == "ENUM":
            yield Construct("1.3", "input type ENUM", path, "SELECT")
        if "name" in spec and "id" not in spec:
            yield Construct("1.3", "input name", path, "id (displayName for the label)")
        if spec.get("type") == "MULTISELECT" and "options" in spec:
            yield Construct("1.3", "MULTISELECT options", f"{path}.options", "values")
        if spec.get("type") == "FILE" and "extension" in spec:
            yield Construct(
                "1.3", "FILE input extension", f"{path}.extension", "nothing (no longer enforced)"
            )
        if spec.get("required") is False and spec.get("defaults") is not None:
            yield Construct(
                "1.3",
                "optional input with defaults",
                f"{path}.required",
                "a required input (inputs with defaults must be required)",
            )


def constructs(document: Mapping[str, Any]) -> list[Construct]:
    """The version-specific constructs of a flow document, in document order of kind."""
    found: list[Construct] = []
    for key in ("pluginDefaults", "taskDefaults"):
        if key in document:
            found.append(
                Construct(
                    "1.3",
                    key,
                    key,
                    "the values inlined onto the tasks (or an EE policy)",
                    guide_page("plugin-defaults-removed"),
                )
            )
    if "policyRefs" in document:
        found.append(Construct("2.0", "policyRefs", "policyRefs"))
    found += _input_constructs(document)
    found += _task_constructs(document)
    found += _trigger_constructs(document)
    found += _pebble_constructs(document)
    return found


def detect_kestra(document: Mapping[str, Any], kestra: str | None = None, source: str = "") -> str:
    """The Kestra version ``document`` is written for ("1.3" or "2.0").

    Args:
        document: the parsed flow document.
        kestra: the version to read it as; None detects it from the constructs used.
        source: the file name, for messages.

    Raises:
        FlowValidationError: ``kestra`` is not a known version; the document mixes 2.0-only and
            1.3-only constructs (naming one of each); or it is read as one version and uses a
            construct of the other (naming it and, for a 1.3 construct, what replaces it).
    """
    where = f" in {source}" if source and source != "<yaml>" else ""
    if kestra is not None and kestra not in KESTRA_VERSIONS:
        raise FlowValidationError(f"kestra: expected one of {', '.join(KESTRA_VERSIONS)}, got {kestra!r}")
    found = constructs(document)
    old = [c for c in found if c.kestra == "1.3"]
    new = [c for c in found if c.kestra == "2.0"]
    if old and new:
        raise FlowValidationError(
            f"Flow{where} mixes Kestra versions: it uses {new[0]} (Kestra 2.0 only) and {old[0]} "
            f"(Kestra 1.3, removed in 2.0); write it for one version"
        )
    if kestra == "2.0" and old:
        problems = [
            f"{c.where}: {c.name} was removed in Kestra 2.0; use {c.replacement} (see {c.page})" for c in old
        ]
        head = f"Not a Kestra 2.0 flow{where}"
        message = (
            f"{head}: {problems[0]}"
            if len(problems) == 1
            else head + ":\n" + "\n".join(f"  - {p}" for p in problems)
        )
        raise FlowValidationError(message, problems)
    if kestra == "1.3" and new:
        problems = [f"{c.where}: {c.name} is Kestra 2.0 only" for c in new]
        head = f"Not a Kestra 1.3 flow{where}"
        message = (
            f"{head}: {problems[0]}"
            if len(problems) == 1
            else head + ":\n" + "\n".join(f"  - {p}" for p in problems)
        )
        raise FlowValidationError(message, problems)
    if kestra is not None:
        return kestra
    return "1.3" if old else "2.0"
