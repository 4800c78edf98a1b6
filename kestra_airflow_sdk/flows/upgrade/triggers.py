"""Trigger ``conditions`` / ``scheduleConditions`` -> ``when`` (any trigger) and ``dependsOn`` (Flow trigger)."""

from __future__ import annotations

from typing import Any

from ..dialect import guide_page
from .common import FLOW_TRIGGER, Note, Upgrade, join, rename_key, replace_in_place, unwrap


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
    if date is not None and unwrap(str(date)) != "trigger.date":
        raise _NotConvertible(f"a {_condition_kind(condition)} condition on its own date {date!r}")


def _schedule_when(condition: Any) -> str:
    """The ``when`` body of one condition of a Schedule/Webhook/polling trigger."""
    kind = _condition_kind(condition)
    if kind == "Expression":
        return unwrap(str(condition["expression"]))
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
        return f"not ({join(inner, 'and')})"
    if kind == "Or":
        return join([_schedule_when(c) for c in condition.get("conditions") or []], "or")
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
            return unwrap(str(condition["expression"]))
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
            whens.append(unwrap(str(condition["expression"])))
        elif kind == "Not" and len(condition.get("conditions") or []) == 1:
            whens.append(f"not ({when_of(condition['conditions'][0])})")
        elif kind == "Or":
            whens.append(join([when_of(c) for c in condition.get("conditions") or []], "or"))
        else:
            raise _NotConvertible(f"a {kind or 'typeless'} condition on a Flow trigger")
    if whens:
        entry = {"when": "{{ " + join(whens, "and") + " }}", **entry}
    if states is not None:
        entry["states"] = states
    return entry, dropped


def upgrade_triggers(document: dict[str, Any], result: Upgrade) -> None:
    """Rewrite the ``conditions`` of each trigger into ``when`` / ``dependsOn`` (an error note when it cannot)."""
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
            if trigger.get("type") in FLOW_TRIGGER:
                entry, dropped = _flow_entry(conditions, trigger.get("states"))
                new = {k: v for k, v in trigger.items() if k != "states"}
                new = rename_key(new, key, "dependsOn", [entry], keep=False)
                result.changes.append(f"{where}: {key} -> dependsOn")
                for text in dropped:
                    result.notes.append(Note("warning", where, f"dropped {text}", page))
            else:
                when = join([_schedule_when(c) for c in conditions], "and")
                new = rename_key(trigger, key, "when", "{{ " + when + " }}", keep=False)
                result.changes.append(f"{where}: {key} -> when")
        except (_NotConvertible, KeyError) as exc:
            reason = exc.args[0] if isinstance(exc, _NotConvertible) else f"a condition without {exc.args[0]}"
            result.notes.append(
                Note("error", f"{where}.{key}", f"{reason} cannot be converted to when/dependsOn", page)
            )
            continue
        replace_in_place(trigger, new)
