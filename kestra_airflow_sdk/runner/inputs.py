"""Flow inputs: check what a run was given against the flow's declared inputs and convert values
to their Kestra type (values from the command line arrive as strings)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ..flows.durations import parse_duration
from ..flows.flow import FlowInput
from ..flows.validation import flow_error

__all__ = ["resolve_inputs"]


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError("expected true or false")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _array(value: Any) -> list[Any]:
    parsed = _json(value)
    if not isinstance(parsed, list):
        raise ValueError("expected a JSON array")
    return parsed


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "STRING": str,
    "INT": int,
    "FLOAT": float,
    "BOOLEAN": _bool,
    "BOOL": _bool,
    "JSON": _json,
    "DATETIME": _datetime,
    "DURATION": lambda v: parse_duration(v) if isinstance(v, str) else v,
    "ARRAY": _array,
}


def resolve_inputs(declared: list[FlowInput] | None, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The execution's inputs: given values (converted), else defaults; missing required ones and
    values of the wrong type are one error listing every problem."""
    given = dict(given or {})
    declared = declared or []
    values: dict[str, Any] = {}
    problems = []
    for spec in declared:
        if spec.id in given:
            raw = given.pop(spec.id)
        elif spec.defaults is not None:
            raw = spec.defaults
        elif spec.required:
            problems.append(f"inputs.{spec.id}: required input ({spec.type}) has no value and no defaults")
            continue
        else:
            values[spec.id] = None
            continue
        kind = spec.type.upper()
        try:
            value = _CONVERTERS.get(kind, lambda v: v)(raw)
        except (ValueError, TypeError) as exc:
            problems.append(f"inputs.{spec.id}: expected a {kind} value, got {raw!r} ({exc})")
            continue
        if kind == "SELECT" and spec.values is not None and value not in spec.values:
            problems.append(f"inputs.{spec.id}: {value!r} is not one of {spec.values!r}")
            continue
        values[spec.id] = value
    for name, value in given.items():  # undeclared inputs: kept as given, as Kestra's API does not
        values[name] = value
    if problems:
        raise flow_error(problems, "the run's inputs")
    return values
