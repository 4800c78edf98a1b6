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
import functools
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from .dialect import (
    JSON_FILTER,
    JSON_FUNCTION,
    LEGACY_PREFIXES,
    LOOP,
    RAW,
    constructs,
    detect_kestra,
    guide_page,
    task_nodes,
)
from .errors import FlowValidationError
from .registry import task_class

__all__ = [
    "BEYOND_KESTRA_MIGRATE",
    "KESTRA_MIGRATE_RULES",
    "RULES",
    "Note",
    "Upgrade",
    "check_kestra2",
    "convert",
    "upgrade_document",
]

_CORE = "io.kestra.plugin.core."
_PEBBLE = re.compile(r"(\{\{)(.*?)(\}\})|(\{%)(.*?)(%\})", re.S)
_EACH = {
    f"{_CORE}flow.ForEach",
    f"{_CORE}flow.EachSequential",
    f"{_CORE}flow.EachParallel",
    "io.kestra.core.tasks.flows.EachSequential",
    "io.kestra.core.tasks.flows.EachParallel",
}
_STATE_KINDS = {"state.Get": "Get", "state.Set": "Set", "state.Delete": "Delete"}
_FLOW_TRIGGER = (f"{_CORE}trigger.Flow", "io.kestra.core.models.triggers.types.Flow")
_SUPPLIED_INPUT_TRIGGERS = (
    "trigger.Schedule",
    "trigger.Webhook",
    "triggers.types.Schedule",
    "triggers.types.Webhook",
)
_NEED_AUTH = ("io.kestra.plugin.git.SyncFlows", "io.kestra.plugin.git.Sync", "io.kestra.plugin.git.PushFlows")
_RESERVED_IDS = {
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


# ---------------------------------------------------------------- helpers


def _rename_key(
    node: dict[str, Any], old: str, new: str, value: Any = None, *, keep: bool = True
) -> dict[str, Any]:
    """``node`` with ``old`` renamed ``new`` in place (its value kept, or ``value``)."""
    return {(new if k == old else k): (v if keep or k != old else value) for k, v in node.items()}


def _replace_in_place(target: dict[str, Any], source: dict[str, Any]) -> None:
    target.clear()
    target.update(source)


def _rewrite_strings(node: Any, rewrite: Callable[[str], str]) -> Any:
    if isinstance(node, str):
        return rewrite(node)
    if isinstance(node, dict):
        return {k: _rewrite_strings(v, rewrite) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_strings(v, rewrite) for v in node]
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
        pieces += [_PEBBLE.sub(one, text[start : raw.start()]), raw.group(0)]
        start = raw.end()
    return "".join([*pieces, _PEBBLE.sub(one, text[start:])])


def _unwrap(expression: str) -> str:
    """``{{ x }}`` -> ``x``; anything else as it is."""
    text = expression.strip()
    if text.startswith("{{") and text.endswith("}}") and text.count("{{") == 1:
        return text[2:-2].strip()
    return text


def _join(parts: list[str], operator: str) -> str:
    return parts[0] if len(parts) == 1 else f" {operator} ".join(f"({p})" for p in parts)


# ---------------------------------------------------------------- trigger conditions


class _NotConvertible(Exception):
    pass


def _condition_kind(condition: Any) -> str:
    kind = condition.get("type", "") if isinstance(condition, dict) else ""
    return str(kind).rsplit(".", 1)[-1].removesuffix("Condition")


def _namespace_test(condition: dict[str, Any]) -> str | None:
    """The ``when`` of an ExecutionNamespace with a prefix/suffix comparison; None when exact."""
    namespace = condition.get("namespace")
    comparison = str(condition.get("comparison", "")).upper()
    if condition.get("prefix") is True or comparison == "PREFIX":
        return f"trigger.namespace startsWith '{namespace}'"
    if comparison == "SUFFIX":
        return f"trigger.namespace endsWith '{namespace}'"
    return None


def _date_of(condition: dict[str, Any]) -> None:
    date = condition.get("date")
    if date is not None and _unwrap(str(date)) != "trigger.date":
        raise _NotConvertible(f"a {_condition_kind(condition)} condition on its own date {date!r}")


def _schedule_when(condition: Any) -> str:
    """The ``when`` body of one condition of a Schedule/Webhook/polling trigger."""
    kind = _condition_kind(condition)
    if kind == "Expression":
        return _unwrap(str(condition["expression"]))
    if kind in ("DayWeek", "DayWeekInMonth", "DateTimeBetween"):
        _date_of(condition)
    if kind == "DayWeek":
        return f"dayOfWeek(trigger.date) == '{condition['dayOfWeek']}'"
    if kind == "DayWeekInMonth":
        return f"isDayWeekInMonth(trigger.date, '{condition['dayOfWeek']}', '{condition['dayInMonth']}')"
    if kind == "Weekend":
        _date_of(condition)
        return "isWeekend(trigger.date)"
    if kind == "PublicHoliday":
        _date_of(condition)
        extra = f", '{condition['subDivision']}'" if condition.get("subDivision") else ""
        return f"isPublicHoliday(trigger.date, '{condition['country']}'{extra})"
    if kind == "DateTimeBetween":
        tests = []
        for key, operator in (("after", ">"), ("before", "<")):
            if key in condition:
                bound = str(condition[key])
                if "{{" in bound:
                    raise _NotConvertible(f"a DateTimeBetween with an expression as {key}")
                tests.append(f"(trigger.date | timestamp()) {operator} ('{bound}' | timestamp())")
        return " and ".join(tests)
    if kind == "Not":
        inner = [_schedule_when(c) for c in condition.get("conditions") or []]
        return f"not ({_join(inner, 'and')})"
    if kind == "Or":
        return _join([_schedule_when(c) for c in condition.get("conditions") or []], "or")
    raise _NotConvertible(f"a {kind or 'typeless'} condition")


def _flow_entry(conditions: list[Any], states: Any) -> tuple[dict[str, Any], list[str]]:
    """One ``dependsOn`` entry for the conditions of a Flow trigger, and notes on what was dropped."""
    entry: dict[str, Any] = {}
    whens: list[str] = []
    dropped: list[str] = []

    def when_of(condition: Any) -> str:
        kind = _condition_kind(condition)
        if kind == "ExecutionNamespace" and _namespace_test(condition):
            return str(_namespace_test(condition))
        if kind == "ExecutionNamespace":
            return f"trigger.namespace == '{condition['namespace']}'"
        if kind == "ExecutionFlow":
            return f"trigger.namespace == '{condition['namespace']}' and trigger.flowId == '{condition['flowId']}'"
        if kind == "HasRetryAttempt":
            return "hasRetryAttempt == true"
        if kind == "ExecutionOutputs":
            return _unwrap(str(condition["expression"]))
        raise _NotConvertible(f"a {kind} condition inside Not/Or")

    for condition in conditions:
        kind = _condition_kind(condition)
        if kind == "ExecutionStatus":
            if condition.get("notIn"):
                raise _NotConvertible("an ExecutionStatus with notIn")
            entry["states"] = list(condition.get("in") or [])
        elif kind == "ExecutionFlow":
            entry["flowId"] = condition["flowId"]
            if "namespace" in condition:
                entry["namespace"] = condition["namespace"]
        elif kind == "ExecutionNamespace":
            test = _namespace_test(condition)
            if test is None:
                entry["namespace"] = condition["namespace"]
            else:
                whens.append(test)
        elif kind == "ExecutionLabels":
            entry["labels"] = condition["labels"]
        elif kind == "HasRetryAttempt":
            whens.append("hasRetryAttempt == true")
            if condition.get("in") or condition.get("notIn"):
                dropped.append("HasRetryAttempt in/notIn (2.0 tests only that a retry happened)")
        elif kind == "ExecutionOutputs":
            whens.append(_unwrap(str(condition["expression"])))
        elif kind == "Not" and len(condition.get("conditions") or []) == 1:
            whens.append(f"not ({when_of(condition['conditions'][0])})")
        elif kind == "Or":
            whens.append(_join([when_of(c) for c in condition.get("conditions") or []], "or"))
        else:
            raise _NotConvertible(f"a {kind or 'typeless'} condition on a Flow trigger")
    if whens:
        entry = {"when": "{{ " + _join(whens, "and") + " }}", **entry}
    if states is not None:
        entry["states"] = states
    return entry, dropped


def _upgrade_triggers(document: dict[str, Any], result: Upgrade) -> None:
    for i, trigger in enumerate(document.get("triggers") or []):
        if not isinstance(trigger, dict):
            continue
        where = f"triggers[{i}] (trigger {trigger.get('id')!r})"
        page = guide_page("trigger-conditions-redesign")
        if trigger.pop("minLogLevel", None) is not None:
            result.changes.append(f"{where}: minLogLevel removed")
        if "preconditions" in trigger:
            result.notes.append(
                Note(
                    "error",
                    f"{where}.preconditions",
                    "preconditions have no automatic rewrite here: write dependsOn entries and a window",
                    page,
                )
            )
        key = (
            "conditions"
            if "conditions" in trigger
            else "scheduleConditions"
            if "scheduleConditions" in trigger
            else None
        )
        if key is None:
            continue
        conditions = trigger[key] or []
        try:
            if trigger.get("type") in _FLOW_TRIGGER:
                entry, dropped = _flow_entry(conditions, trigger.get("states"))
                new = {k: v for k, v in trigger.items() if k != "states"}
                new = _rename_key(new, key, "dependsOn", [entry], keep=False)
                result.changes.append(f"{where}: {key} -> dependsOn")
                for text in dropped:
                    result.notes.append(Note("warning", where, f"dropped {text}", page))
            else:
                when = _join([_schedule_when(c) for c in conditions], "and")
                new = _rename_key(trigger, key, "when", "{{ " + when + " }}", keep=False)
                result.changes.append(f"{where}: {key} -> when")
        except (_NotConvertible, KeyError) as exc:
            reason = exc.args[0] if isinstance(exc, _NotConvertible) else f"a condition without {exc.args[0]}"
            result.notes.append(
                Note("error", f"{where}.{key}", f"{reason} cannot be converted to when/dependsOn", page)
            )
            continue
        _replace_in_place(trigger, new)


# ---------------------------------------------------------------- task rules


def _upgrade_task(path: str, task: dict[str, Any], result: Upgrade) -> None:
    kind = task["type"]
    retry = task.get("retry")
    if isinstance(retry, dict) and "maxAttempt" in retry:
        task["retry"] = _rename_key(retry, "maxAttempt", "maxAttempts")
        result.changes.append(f"{path}.retry: maxAttempt -> maxAttempts")
    options = task.get("options")
    if (
        isinstance(options, dict)
        and isinstance(options.get("retry"), dict)
        and "maxAttempt" in options["retry"]
    ):
        options["retry"] = _rename_key(options["retry"], "maxAttempt", "maxAttempts")
    if isinstance(options, dict):
        _upgrade_http_options(path, options, result)
    if kind.endswith("debug.Echo") or kind == "io.kestra.core.tasks.debugs.Echo":
        new = _rename_key(task, "format", "message")
        new["type"] = f"{_CORE}log.Log"
        _replace_in_place(task, new)
        result.changes.append(f"{path}: Echo -> Log (format -> message)")
    elif kind.endswith("execution.Exit") and task.get("state") == "CANCELED":
        task["state"] = "CANCELLED"
        result.changes.append(f"{path}: Exit state CANCELED -> CANCELLED")
    elif kind == f"{_CORE}kv.PurgeKV" and "expiredOnly" in task:
        _replace_in_place(
            task,
            _rename_key(
                task,
                "expiredOnly",
                "behavior",
                {"type": "key", "expiredOnly": task["expiredOnly"]},
                keep=False,
            ),
        )
        result.changes.append(f"{path}: expiredOnly -> behavior")
    elif kind == "io.kestra.plugin.dbt.cli.Build":
        _upgrade_dbt_build(task)
        result.changes.append(f"{path}: dbt Build -> DbtCLI (commands: [dbt build])")
    elif kind.startswith(LEGACY_PREFIXES):
        cls = task_class(kind)
        types: tuple[str, ...] = getattr(cls, "TYPES", ())
        if types:
            task["type"] = types[0]
            result.changes.append(f"{path}: {kind} -> {types[0]}")
        else:
            result.notes.append(
                Note(
                    "error",
                    path,
                    f"legacy type {kind}: Kestra 2.0 resolves no aliases; use its io.kestra.plugin.core.* name",
                )
            )
    if "CANCELED" in (task.get("states") or []) and isinstance(task["states"], list):
        task["states"] = ["CANCELLED" if s == "CANCELED" else s for s in task["states"]]
        result.changes.append(f"{path}.states: CANCELED -> CANCELLED")
    if kind in _NEED_AUTH and "auth" not in task:
        result.notes.append(
            Note(
                "warning",
                path,
                f"{kind} calls the Kestra API, which 2.0 serves only with credentials: set auth (or server/namespace credentials)",
                guide_page("sdk-authentication"),
            )
        )


def _upgrade_http_options(path: str, options: dict[str, Any], result: Upgrade) -> None:
    if {"basicAuthUser", "basicAuthPassword", "connectTimeout", "readTimeout"} & set(options):
        new: dict[str, Any] = {}
        for key, value in options.items():
            if key in ("basicAuthUser", "basicAuthPassword"):
                auth = new.setdefault("auth", options.get("auth") or {"type": "BASIC"})
                auth["username" if key == "basicAuthUser" else "password"] = value
            elif key in ("connectTimeout", "readTimeout"):
                timeout = new.setdefault("timeout", dict(options.get("timeout") or {}))
                timeout.setdefault("connectTimeout" if key == "connectTimeout" else "readIdleTimeout", value)
            elif key not in new:
                new[key] = value
        _replace_in_place(options, new)
        result.changes.append(f"{path}.options: basicAuth*/timeouts -> auth/timeout")


def _upgrade_dbt_build(task: dict[str, Any]) -> None:
    task["type"] = "io.kestra.plugin.dbt.cli.DbtCLI"
    task.pop("dbtPath", None)
    docker = task.pop("dockerOptions", None)
    if isinstance(docker, dict) and docker.get("image") and "containerImage" not in task:
        task["containerImage"] = docker["image"]
    task.setdefault("commands", ["dbt build"])


def _slugify(text: str) -> str:
    """Kestra's ``Slugify.of`` for a flow id (dots go, ``_`` becomes ``-``)."""
    slug = re.sub(r"[^A-Za-z0-9_-]", "", text).replace("_", "-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    return slug.strip("-").lower()


def _upgrade_state_tasks(document: dict[str, Any], result: Upgrade) -> None:
    """State Store tasks -> KV tasks on the key the 1.3 State Store used, so stored state is still
    read; references to a Get's ``data``/``count`` read the KV value (JSON, or base64 of it)."""
    slug = _slugify(str(document.get("id", "")))
    gets: list[str] = []
    for path, task in list(task_nodes(document)):
        suffix = task["type"].replace("io.kestra.core.tasks.states.", "state.").removeprefix(_CORE)
        kind = _STATE_KINDS.get(suffix)
        if kind is None:
            continue
        prefix = "" if task.get("namespace") is True else f"{slug}_"
        key = f"{prefix}states_tasks-states_{task.get('name', 'default')}"
        new: dict[str, Any] = {}
        for name, value in task.items():
            if name in ("namespace", "taskrunValue"):
                continue
            if name == "name":
                new["key"] = key
            elif name == "data" and kind == "Set":
                new["value"] = value
            else:
                new[name] = f"{_CORE}kv.{kind}" if name == "type" else value
            if name == "type" and "name" not in task:
                new["key"] = key
        _replace_in_place(task, new)
        result.changes.append(f"{path}: state.{kind} -> kv.{kind} (key {key})")
        if kind == "Set":
            result.notes.append(
                Note(
                    "warning", path, "state.Set merged data into the stored state, kv.Set replaces the value"
                )
            )
        if kind == "Get":
            gets.append(task["id"])
    if gets:
        ids = "|".join(re.escape(i) for i in gets)
        reference = re.compile(
            r"outputs(\.(?:" + ids + r")|\[\s*['\"](?:" + ids + r")['\"]\s*\])\.(data|count)\b"
        )

        def read(match: re.Match[str]) -> str:
            value = f"outputs{match.group(1)}.value"
            parsed = f"fromJson(({value} ?? '{{}}') contains '{{' ? ({value} ?? '{{}}') : ({value} | base64decode))"
            return f"({parsed} | length)" if match.group(2) == "count" else parsed

        for key in ("tasks", "errors", "finally"):
            if key in document:
                document[key] = _rewrite_strings(
                    document[key], lambda s: rewrite_pebble(s, lambda b: reference.sub(read, b))
                )


def _upgrade_json(document: dict[str, Any], result: Upgrade) -> dict[str, Any]:
    def body(text: str) -> str:
        return JSON_FILTER.sub("| toJson", JSON_FUNCTION.sub("fromJson(", text))

    upgraded = _rewrite_strings(document, lambda s: rewrite_pebble(s, body))
    assert isinstance(upgraded, dict)
    if upgraded != document:
        result.changes.append("Pebble json() -> fromJson(), | json -> | toJson")
    return upgraded


def _upgrade_inputs(document: dict[str, Any], result: Upgrade) -> None:
    for i, spec in enumerate(document.get("inputs") or []):
        if not isinstance(spec, dict):
            continue
        where = f"inputs[{i}]"
        if "name" in spec and "id" not in spec:
            _replace_in_place(spec, _rename_key(spec, "name", "id"))
            result.changes.append(f"{where}: name -> id")
        if spec.get("type") == "MULTISELECT" and "options" in spec and "values" not in spec:
            _replace_in_place(spec, _rename_key(spec, "options", "values"))
            result.changes.append(f"{where}: MULTISELECT options -> values")
        if spec.get("type") == "FILE" and spec.pop("extension", None) is not None:
            result.changes.append(f"{where}: FILE extension removed (2.0 no longer enforces it)")
        if spec.get("required") is False and spec.get("defaults") is not None:
            del spec["required"]
            result.changes.append(
                f"{where}: required: false removed (an input with defaults is required in 2.0)"
            )
        renamed = {"BOOLEAN": "BOOL", "ENUM": "SELECT"}.get(str(spec.get("type")))
        if renamed:
            result.changes.append(f"{where} (input {spec.get('id')!r}): type {spec['type']} -> {renamed}")
            spec["type"] = renamed


# ---------------------------------------------------------------- pluginDefaults


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


def _upgrade_plugin_defaults(document: dict[str, Any], result: Upgrade) -> dict[str, Any]:
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
            _replace_in_place(
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


# ---------------------------------------------------------------- ForEach -> Loop


_CHILD_LISTS = ("tasks", "errors", "finally", "then", "else", "cases", "defaults")
_TASKRUN_VALUE = re.compile(r"(?<![\w.])(?:(parent)\.|parents\[(\d+)\]\.)?taskrun\.(value|iteration)\b")


def _loop_path(document: dict[str, Any]) -> dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """id(task) -> (the flowable ancestors of the task, outermost first; the loops among them)."""
    found: dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}

    def visit(node: Any, ancestors: list[dict[str, Any]]) -> None:
        if isinstance(node, dict):
            is_task = isinstance(node.get("id"), str) and isinstance(node.get("type"), str)
            if is_task:
                found[id(node)] = (ancestors, [a for a in ancestors if a.get("type") in _EACH])
            inner = [*ancestors, node] if is_task else ancestors
            for value in node.values():
                visit(value, inner)
        elif isinstance(node, list):
            for value in node:
                visit(value, ancestors)

    for key in ("tasks", "errors", "finally"):
        visit(document.get(key), [])
    return found


def _upgrade_loops(document: dict[str, Any], result: Upgrade) -> None:
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
                        r"outputs\." + re.escape(inner["id"]) + r"\[\s*taskrun\.value\s*\]",
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
                task[key] = _rewrite_strings(value, functools.partial(rewrite_pebble, rewrite=body))
    for path, task in list(task_nodes(document)):
        if task.get("type") in _EACH:
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
    _replace_in_place(task, new)
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
        _replace_in_place(node, rewritten)
        return node
    if isinstance(node, list):
        node[:] = [_rewrite_outside(v, loop, pattern, replace) for v in node]
        return node
    return node


# ---------------------------------------------------------------- what stays for a person


def _review(document: dict[str, Any], result: Upgrade) -> None:
    for path, text in _strings_of(document):
        if re.search(r"(?<![\w.])(read|fileURI)\s*\([^)]*\bversion\s*=", text):
            result.notes.append(Note("warning", path, "read()/fileURI() take revision= in 2.0, not version="))
    if document.get("id") in _RESERVED_IDS:
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
        if isinstance(trigger, dict) and str(trigger.get("type", "")).endswith(_SUPPLIED_INPUT_TRIGGERS):
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


# ---------------------------------------------------------------- entry points


def _tasks_rule(document: dict[str, Any], result: Upgrade) -> dict[str, Any]:
    for path, task in list(task_nodes(document)):
        _upgrade_task(path, task, result)
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
    "plugin-defaults": (_upgrade_plugin_defaults, False),
    "inputs": (_step(_upgrade_inputs), True),
    "state-store": (_step(_upgrade_state_tasks), True),
    "tasks": (_tasks_rule, True),
    "trigger-conditions": (_step(_upgrade_triggers), True),
    "pebble-json": (_upgrade_json, True),
    "loop": (_step(_upgrade_loops), False),
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
    from .yaml_io import dump_document, load_document

    document, _node = load_document(text, name)
    if detect_kestra(document, None, name) == "2.0":
        return text, Upgrade(document)
    result = upgrade_document(document)
    upgraded = dump_document(result.document)
    if not result.errors:
        from .flow import Flow

        try:
            Flow.from_yaml(upgraded, kestra="2.0")
        except FlowValidationError as exc:
            result.notes += [
                Note("error", name, f"the upgraded flow does not load: {p}") for p in exc.problems
            ]
    return upgraded, result
