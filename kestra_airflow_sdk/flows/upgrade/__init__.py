"""Upgrade a Kestra 1.3 flow document to Kestra 2.0, and say what 2.0 would reject.

:func:`upgrade_document` applies every rule Kestra's own migrator (``kestra-migrate``) automates
(trigger ``conditions`` -> ``when``/``dependsOn``, ``retry.maxAttempt`` -> ``maxAttempts``,
``Echo`` -> ``Log``, ``json`` -> ``toJson``/``fromJson``, State Store -> KV tasks, ``CANCELED`` ->
``CANCELLED``, ``PurgeKV.expiredOnly`` -> ``behavior``, HTTP ``options`` auth, dbt ``Build`` ->
``DbtCLI``, ``BOOLEAN``/``ENUM`` input types, input ``name``) and two it leaves to a person:
``ForEach``/``EachSequential``/``EachParallel`` become ``Loop`` (``taskrun.value`` -> ``item.value``,
value-keyed outputs -> ``loopOutputs(...)``) and ``pluginDefaults`` are inlined onto the tasks they
apply to. What cannot be converted is a :class:`Note` of severity ``error`` naming the page of
Kestra's migration guide; what 2.0 accepts but may break at run time is a ``warning``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Collection
from typing import Any

from ..dialect import RESERVED_FLOW_IDS, constructs, detect_kestra, task_nodes
from ..errors import FlowValidationError
from .common import SUPPLIED_INPUT_TRIGGERS, Note, Upgrade
from .defaults import upgrade_plugin_defaults
from .loops import upgrade_loops
from .tasks import upgrade_inputs, upgrade_json, upgrade_state_tasks, upgrade_task
from .triggers import upgrade_triggers

__all__ = [
    "BEYOND_KESTRA_MIGRATE",
    "KESTRA_MIGRATE_RULES",
    "RULES",
    "Note",
    "Upgrade",
    "check_kestra2",
    "convert",
    "upgrade_document",
    "upgrade_text",
]


def _review(document: dict[str, Any], result: Upgrade) -> None:
    for path, text in _strings_of(document):
        if re.search(r"(?<![\w.])(read|fileURI)\s*\([^)]*\bversion\s*=", text):
            result.notes.append(Note("warning", path, "read()/fileURI() take revision= in 2.0, not version="))
    if document.get("id") in RESERVED_FLOW_IDS:
        result.notes.append(
            Note(
                "error",
                "id",
                f"{document['id']!r} is a reserved flow id in 2.0: rename it (e.g. {document['id']}-flow)",
            )
        )
    required = [
        str(s.get("id"))
        for s in document.get("inputs") or []
        if isinstance(s, dict) and s.get("defaults") is None and s.get("required", True) is not False
    ]
    for i, trigger in enumerate(document.get("triggers") or []):
        if isinstance(trigger, dict) and str(trigger.get("type", "")).endswith(SUPPLIED_INPUT_TRIGGERS):
            missing = [r for r in required if r not in (trigger.get("inputs") or {})]
            if missing:
                result.notes.append(
                    Note(
                        "error",
                        f"triggers[{i}] (trigger {trigger.get('id')!r})",
                        f"2.0 needs a value for the required inputs without defaults: {', '.join(missing)} (give them under the trigger's inputs)",
                    )
                )


def _strings_of(node: Any, path: str = "flow") -> list[tuple[str, str]]:
    if isinstance(node, str):
        return [(path, node)]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in _strings_of(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [s for i, v in enumerate(node) for s in _strings_of(v, f"{path}[{i}]")]
    return []


def _tasks_rule(document: dict[str, Any], result: Upgrade) -> dict[str, Any]:
    for path, task in list(task_nodes(document)):
        upgrade_task(path, task, result)
    return document


def _step(
    function: Callable[[dict[str, Any], Upgrade], None],
) -> Callable[[dict[str, Any], Upgrade], dict[str, Any]]:
    def run(document: dict[str, Any], result: Upgrade) -> dict[str, Any]:
        function(document, result)
        return document

    return run


#: the rules, in the order they run: name -> (rewrite, automated by kestra-migrate too)
RULES: dict[str, tuple[Callable[[dict[str, Any], Upgrade], dict[str, Any]], bool]] = {
    "plugin-defaults": (upgrade_plugin_defaults, False),
    "inputs": (_step(upgrade_inputs), True),
    "state-store": (_step(upgrade_state_tasks), True),
    "tasks": (_tasks_rule, True),
    "trigger-conditions": (_step(upgrade_triggers), True),
    "pebble-json": (upgrade_json, True),
    "loop": (_step(upgrade_loops), False),
}
#: the rules Kestra's migrator (kestra-migrate) applies as well
KESTRA_MIGRATE_RULES = tuple(name for name, (_, ours) in RULES.items() if ours)
#: the rules kestra-migrate leaves to a person (it warns and keeps the 1.3 construct)
BEYOND_KESTRA_MIGRATE = tuple(name for name, (_, ours) in RULES.items() if not ours)


def upgrade_document(document: dict[str, Any], *, rules: Collection[str] | None = None) -> Upgrade:
    """The Kestra 2.0 form of a Kestra 1.3 flow document (the input is not changed).

    Args:
        document: the parsed 1.3 document.
        rules: names of :data:`RULES` to apply (default: all, then every 1.3 construct left is an
            ``error`` note and the review notes are added).
    """
    unknown = set(rules or ()) - set(RULES)
    if unknown:
        raise ValueError(f"rules: unknown {sorted(unknown)}; the rules are {', '.join(RULES)}")
    result = Upgrade(copy.deepcopy(document))
    doc = result.document
    for name, (rewrite, _) in RULES.items():
        if rules is None or name in rules:
            doc = rewrite(doc, result)
    result.document = doc
    if rules is not None:
        return result
    _review(doc, result)
    noted = {n.where for n in result.errors}
    for construct in constructs(doc):
        if construct.kestra == "1.3" and not any(
            construct.where.startswith(w) or w.startswith(construct.where) for w in noted
        ):
            result.notes.append(
                Note(
                    "error",
                    construct.where,
                    f"{construct.name} has no automatic rewrite: use {construct.replacement}",
                    construct.page,
                )
            )
    return result


def check_kestra2(document: dict[str, Any]) -> list[Note]:
    """What Kestra 2.0 would say of ``document`` as it is: each 1.3 construct it rejects (``error``,
    saying whether ``upgrade`` converts it, and why not when it does not) and what would break at
    run time (``warning``)."""
    upgraded = upgrade_document(document)
    left = {n.where: n.message for n in upgraded.errors}
    notes = []
    for construct in constructs(document):
        if construct.kestra != "1.3":
            continue
        verdict = (
            f"upgrade cannot convert it: {left[construct.where]}"
            if construct.where in left
            else "kestra-airflow upgrade converts it"
        )
        message = f"{construct.name} was removed in Kestra 2.0; use {construct.replacement} ({verdict})"
        notes.append(Note("error", construct.where, message, construct.page))
    seen = {n.where for n in notes}
    return notes + [n for n in upgraded.notes if n.severity == "warning" or n.where not in seen]


def convert(document: dict[str, Any], kestra: str, name: str) -> dict[str, Any]:
    """``document`` written for Kestra ``kestra``; raise a :class:`FlowValidationError` listing what
    cannot be converted."""
    current = detect_kestra(document)
    if kestra == current:
        return document
    if kestra == "1.3":
        detect_kestra(document, "1.3", name)  # names the 2.0 constructs
        return document
    detect_kestra(document, None, name)
    upgraded = upgrade_document(document)
    if upgraded.errors:
        problems = [f"{n.where}: {n.message} (see {n.page})" for n in upgraded.errors]
        head = f"Cannot write {name} for Kestra {kestra}"
        raise FlowValidationError(f"{head}:\n" + "\n".join(f"  - {p}" for p in problems), problems)
    return upgraded.document


def upgrade_text(text: str, name: str = "<yaml>") -> tuple[str, Upgrade]:
    """The Kestra 2.0 YAML of a flow's YAML text and what the upgrade did (a 2.0 document is
    returned as it is). The result is checked the way :meth:`Flow.from_yaml` reads a 2.0 flow when
    the upgrade left no ``error``.

    Raises:
        FlowYamlError: the text is not a YAML mapping.
        FlowValidationError: the document mixes 1.3-only and 2.0-only constructs.
    """
    from ..yaml_io import dump_document, load_document

    document, _node = load_document(text, name)
    if detect_kestra(document, None, name) == "2.0":
        return text, Upgrade(document)
    result = upgrade_document(document)
    upgraded = dump_document(result.document)
    if not result.errors:
        from ..flow import Flow

        try:
            Flow.from_yaml(upgraded, kestra="2.0")
        except FlowValidationError as exc:
            result.notes += [
                Note("error", name, f"the upgraded flow does not load: {p}") for p in exc.problems
            ]
    return upgraded, result
