"""A flow's ``checks``: assertions on the inputs, evaluated before an execution is created.

As Kestra documents them (kestra.io/docs/workflow-components/checks, 1.3 and 2.0): each check has a
Pebble expression that must render ``true``, a ``message`` shown when it does not, a ``style``
(ERROR, SUCCESS, WARNING, INFO; default INFO) and a ``behavior`` (default BLOCK_EXECUTION) for a
check that does not hold: BLOCK_EXECUTION creates no execution (here: :class:`CheckFailedError`),
FAIL_EXECUTION creates it FAILED without running a task, CREATE_EXECUTION runs it anyway.

The expression is ``condition`` in Kestra 1.3 and ``when`` in 2.0, where ``condition`` is still read
as a deprecated alias (kestra2-flow-migration's flows-changes.md, "``checks[].condition`` ->
``checks[].when``"); 1.3 has no ``when`` on a check, so a 1.3 flow using it is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from ..flows.errors import FlowValidationError
from ..flows.expressions import KestraVersion, Renderer
from ..flows.secrets import SecretResolver

__all__ = ["CheckFailedError", "FailedCheck", "evaluate_checks"]

_BEHAVIORS = ("BLOCK_EXECUTION", "FAIL_EXECUTION", "CREATE_EXECUTION")
_STYLES = ("ERROR", "SUCCESS", "WARNING", "INFO")
#: the log level a failed check's message is written at, by its style
LEVELS = {"ERROR": "ERROR", "WARNING": "WARN", "SUCCESS": "INFO", "INFO": "INFO"}


class CheckFailedError(FlowValidationError):
    """A check with ``behavior: BLOCK_EXECUTION`` (the default) does not hold: no execution is created.

    Attributes:
        problems: the message of each blocking check that does not hold.
    """


@dataclass(frozen=True)
class FailedCheck:
    """A check that does not hold (its message, style and behavior)."""

    message: str
    style: str
    behavior: str


def _field(check: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str, where: str) -> str:
    value = str(check.get(key) or default).upper()
    if value not in allowed:
        raise FlowValidationError(
            f"{where}.{key}: expected one of {', '.join(allowed)}, got {check.get(key)!r}"
        )
    return value


def _expression(check: Mapping[str, Any], kestra: KestraVersion, where: str) -> str:
    if kestra == "1.3" and "when" in check:
        raise FlowValidationError(
            f"{where}.when: a check's expression is `condition` in Kestra 1.3 (`when` is Kestra 2.0)"
        )
    expression = check.get("when", check.get("condition"))
    if not isinstance(expression, str) or not expression.strip():
        name = "condition" if kestra == "1.3" else "when"
        raise FlowValidationError(f"{where}.{name}: a check needs an expression, got {expression!r}")
    return expression


def evaluate_checks(
    checks: Any, kestra: KestraVersion, variables: Mapping[str, Any], secrets: SecretResolver, flow: str
) -> list[FailedCheck]:
    """The checks of flow ``flow`` that do not hold with ``variables`` (``flow``, ``inputs``) and
    would still create the execution (FAIL_EXECUTION, CREATE_EXECUTION).

    Raises:
        CheckFailedError: a BLOCK_EXECUTION check does not hold (every such message listed).
        FlowValidationError: a check is malformed, or its expression does not render ``true`` or
            ``false``.
    """
    if checks is None:
        return []
    if not isinstance(checks, list):
        raise FlowValidationError(f"checks: expected a list of checks, got {type(checks).__name__}")
    failed: list[FailedCheck] = []
    for i, check in enumerate(checks):
        where = f"checks[{i}]"
        if not isinstance(check, Mapping):
            raise FlowValidationError(f"{where}: expected a mapping, got {check!r}")
        expression = _expression(check, kestra, where)
        behavior = _field(check, "behavior", _BEHAVIORS, "BLOCK_EXECUTION", where)
        style = _field(check, "style", _STYLES, "INFO", where)
        rendered = Renderer(variables, secrets, kestra=kestra).render(expression, where)
        text = (rendered.get_secret_value() if isinstance(rendered, SecretStr) else str(rendered)).strip()
        if text not in ("true", "false"):
            raise FlowValidationError(f"{where}: its expression must render true or false, got {text!r}")
        if text == "false":
            failed.append(FailedCheck(str(check.get("message") or f"check {i} failed"), style, behavior))
    blocking = [f.message for f in failed if f.behavior == "BLOCK_EXECUTION"]
    if blocking:
        lines = f" {blocking[0]}" if len(blocking) == 1 else "\n" + "\n".join(f"  - {m}" for m in blocking)
        raise CheckFailedError(f"Flow {flow}: no execution created, a check does not hold:{lines}", blocking)
    return failed
