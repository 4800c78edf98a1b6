"""``FlowInput``: one declared input of a flow, with Kestra's rules for its type.

The rules, as Kestra's input classes (``io.kestra.core.models.flows.input.*``) define them:

========================  ====================================================================
type                      rules
========================  ====================================================================
STRING, SECRET            ``validator``: a regex the whole value must match (Java's ``matches``)
INT, FLOAT                ``min`` / ``max`` (inclusive)
DURATION                  ``min`` / ``max`` (ISO-8601 durations)
DATETIME, DATE, TIME      ``after`` / ``before`` (inclusive)
SELECT (ENUM)             ``values``; ``allowCustomValue`` accepts any value
MULTISELECT               ``values`` (``options`` before Kestra 0.20), ``itemType``, ``allowCustomValue``
ARRAY                     ``itemType`` (required, not ARRAY)
URI, EMAIL                the value's shape
========================  ====================================================================

Every input has ``required`` (default true), ``defaults``, ``prefill`` (a UI suggestion, never a
value), ``description``, ``displayName`` and ``dependsOn`` (``inputs`` + ``condition``). The rules
are checked when the flow is built or loaded; values against them when a run starts
(:func:`kestra_airflow_sdk.runner.inputs.resolve_inputs`).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import AliasChoices, ConfigDict, Field, model_validator

from .base import KestraModel
from .input_values import INPUT_TYPES, InputValueError, java_text, parse_value

__all__ = ["FlowInput", "check_value", "inputs_problems"]

_INPUT_ID = re.compile(r"^[a-zA-Z0-9][.a-zA-Z0-9_-]*$")
#: rule property → the types it applies to
_RULES: dict[str, tuple[str, ...]] = {
    "validator": ("STRING", "SECRET"),
    "min": ("INT", "FLOAT", "DURATION"),
    "max": ("INT", "FLOAT", "DURATION"),
    "after": ("DATETIME", "DATE", "TIME"),
    "before": ("DATETIME", "DATE", "TIME"),
    "values": ("SELECT", "ENUM", "MULTISELECT"),
    "options": ("MULTISELECT",),
    "item_type": ("ARRAY", "MULTISELECT"),
}


class FlowInput(KestraModel):
    """A flow input: ``{id, type, required (default true), defaults, description, ...}`` plus the
    rules of its type (see the module documentation). ``name`` (Kestra's old spelling of ``id``)
    is read too."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    type: str = "STRING"
    required: bool = True
    defaults: Any = None
    prefill: Any = None
    description: str | None = None
    display_name: str | None = None
    depends_on: dict[str, Any] | None = None
    values: list[Any] | None = None
    options: list[Any] | None = None
    expression: str | None = None
    allow_custom_value: bool = Field(
        default=False,
        validation_alias=AliasChoices("allowCustomValue", "allow_custom_value", "allowInput"),
    )
    item_type: str | None = None
    validator: str | None = None
    min: Any = None
    max: Any = None
    after: Any = None
    before: Any = None
    name: str | None = None

    @model_validator(mode="after")
    def _rules_fit_the_type(self) -> FlowInput:
        problems = self.rule_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def input_id(self) -> str:
        """The input's id (``id``, else the older ``name``)."""
        return self.id or self.name or ""

    @property
    def kind(self) -> str:
        """The type, with Kestra's synonyms folded: ENUM → SELECT, BOOL → BOOLEAN."""
        return {"ENUM": "SELECT", "BOOL": "BOOLEAN"}.get(self.type, self.type)

    @property
    def choices(self) -> list[str] | None:
        """The allowed values of a SELECT/MULTISELECT (``values``, else the older ``options``)."""
        found = self.values if self.values is not None else self.options
        return None if found is None else [java_text(v) for v in found]

    def rule_problems(self) -> list[str]:
        """Rules that do not fit the input's type or do not parse (one line each)."""
        where = f"input {self.input_id!r}"
        if not self.input_id:
            return ["an input needs an id"]
        if not _INPUT_ID.match(self.input_id):
            return [f"{where}: an input id must match ^[a-zA-Z0-9][.a-zA-Z0-9_-]*$"]
        if self.type not in INPUT_TYPES:
            return [f"{where}: unknown type {self.type!r}; Kestra's input types are {', '.join(INPUT_TYPES)}"]
        problems = []
        for rule, types in _RULES.items():
            if getattr(self, rule) is not None and self.type not in types:
                alias = self._alias_of(rule) if rule != "item_type" else "itemType"
                problems.append(f"{where}: {alias} applies to {', '.join(types)} inputs, not {self.type}")
        if problems:
            return problems
        for rule in ("min", "max", "after", "before"):
            bound = getattr(self, rule)
            if bound is not None:
                try:
                    parse_value(self.kind, bound)
                except InputValueError as exc:
                    problems.append(f"{where}: {rule} {bound!r} is not a {self.type} value ({exc})")
        if self.validator is not None:
            try:
                re.compile(self.validator)
            except re.error as exc:
                problems.append(f"{where}: validator {self.validator!r} is not a regular expression ({exc})")
        if self.type == "ARRAY" and self.item_type is None:
            problems.append(f"{where}: an ARRAY input needs an itemType")
        if self.item_type is not None and (
            self.item_type not in INPUT_TYPES or self.item_type in ("ARRAY", "MULTISELECT", "FILE")
        ):
            problems.append(
                f"{where}: itemType {self.item_type!r} must be a simple type (not ARRAY/MULTISELECT)"
            )
        if self.kind == "SELECT" and self.values is None and self.expression is None:
            problems.append(f"{where}: a {self.type} input needs values (or an expression)")
        if self.type == "MULTISELECT" and self.values is not None and self.options is not None:
            problems.append(f"{where}: you can't define both `values` and `options`")
        return problems


def check_value(spec: FlowInput, value: Any) -> str | None:
    """The rule of ``spec`` that the typed ``value`` breaks, worded as Kestra words it, or None."""
    kind = spec.kind
    if spec.validator is not None and kind in ("STRING", "SECRET"):
        text = value.get_secret_value() if kind == "SECRET" else value
        if re.fullmatch(spec.validator, text) is None:
            return f"it must match the pattern `{spec.validator}`"
    if kind in ("INT", "FLOAT", "DURATION"):
        low = None if spec.min is None else parse_value(kind, spec.min)
        high = None if spec.max is None else parse_value(kind, spec.max)
        capital = "I" if kind == "DURATION" else "i"  # Kestra's DURATION messages start upper-case
        if low is not None and value < low:
            return f"{capital}t must be more than `{java_text(low)}`"
        if high is not None and value > high:
            return f"{capital}t must be less than `{java_text(high)}`"
    if kind in ("DATETIME", "DATE", "TIME"):
        after = None if spec.after is None else parse_value(kind, spec.after)
        before = None if spec.before is None else parse_value(kind, spec.before)
        if after is not None and value < after:
            return f"it must be after `{java_text(after)}`"
        if before is not None and value > before:
            return f"it must be before `{java_text(before)}`"
    choices = spec.choices
    if choices is not None and not spec.allow_custom_value:
        shown = "[" + ", ".join(choices) + "]"
        # Kestra checks a SELECT only when it is required; a MULTISELECT item by item
        if kind == "SELECT" and spec.required and value not in choices:
            return f"it must match the values `{shown}`"
        if kind == "MULTISELECT":
            for item in value:
                if java_text(item) not in choices:
                    return f"it must match the values `{shown}`, but received `{java_text(item)}`"
    return None


def inputs_problems(inputs: list[FlowInput]) -> list[str]:
    """Kestra's checks across a flow's inputs: unique ids, ``dependsOn`` naming declared inputs,
    no dependency cycle (one line each)."""
    ids = [spec.input_id for spec in inputs]
    problems = [
        f"inputs: input id {i!r} is declared more than once" for i in sorted(set(ids)) if ids.count(i) > 1
    ]
    graph = {spec.input_id: [str(d) for d in (spec.depends_on or {}).get("inputs") or []] for spec in inputs}
    for input_id, needs in graph.items():
        problems += [
            f"inputs: input {input_id!r} depends on {need!r}, which the flow does not declare"
            for need in needs
            if need not in graph
        ]
    for input_id in graph:  # a path from an input back to itself
        seen, todo = set(), list(graph[input_id])
        while todo:
            current = todo.pop()
            if current == input_id:
                problems.append(f"inputs: input {input_id!r} depends on itself through dependsOn (a cycle)")
                break
            if current not in seen:
                seen.add(current)
                todo.extend(graph.get(current, []))
    return problems
