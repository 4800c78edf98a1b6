"""A flow's ``outputs``, rendered when its tasks ended and converted to their declared ``type`` as
Kestra's ``FlowInputOutput.typedOutputs`` does (STRING, INT, FLOAT, BOOLEAN/BOOL, JSON, ARRAY;
other types are kept as rendered)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from ..flows.expressions import Renderer
from ..flows.flow import FlowOutput

__all__ = ["render_flow_outputs"]


def _bool(text: str) -> bool:
    if text.strip().lower() not in ("true", "false"):
        raise ValueError("expected true or false")
    return text.strip().lower() == "true"


def _array(text: str) -> list[Any]:
    value = json.loads(text)
    if not isinstance(value, list):
        raise ValueError("expected a JSON array")
    return value


_TYPES: dict[str, Callable[[str], Any]] = {
    "STRING": str,
    "INT": int,
    "FLOAT": float,
    "BOOLEAN": _bool,
    "BOOL": _bool,
    "JSON": json.loads,
    "ARRAY": _array,
}


def _typed(output: FlowOutput, value: Any) -> Any:
    convert = _TYPES.get(output.type.upper())
    if convert is None or not isinstance(value, str):
        return value  # a secret, a map or list given as is, a type kept as rendered
    try:
        return convert(value)
    except ValueError as exc:
        raise ValueError(f"expected a {output.type.upper()} value, got {value!r} ({exc})") from None


def render_flow_outputs(
    outputs: list[FlowOutput] | None, renderer: Renderer
) -> tuple[dict[str, Any], list[str]]:
    """The rendered, typed outputs by id, and one message per output that could not be rendered."""
    values: dict[str, Any] = {}
    problems = []
    for output in outputs or []:
        try:
            rendered = renderer.render(output.value, f"outputs.{output.id}")
            values[output.id] = rendered if isinstance(rendered, SecretStr) else _typed(output, rendered)
        except Exception as exc:
            problems.append(f"flow output {output.id!r}: {exc}")
    return values, problems
