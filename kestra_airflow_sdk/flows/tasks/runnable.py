"""Kestra's core runnable tasks besides ``Log``: ``Return``, ``Fail``, ``OutputValues``, ``Sleep``, ``Exit``.

Property names and defaults are Kestra's (``io.kestra.plugin.core.*``); the legacy
``io.kestra.core.tasks.*`` names are read too.
"""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from ..durations import Duration
from ..registry import register
from ..task import Task

__all__ = ["EXIT_STATES", "Exit", "Fail", "OutputValues", "Return", "Sleep", "scalar_text"]


def scalar_text(value: Any) -> Any:
    """Kestra reads a string property written as a YAML number or boolean as its text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


@register("io.kestra.plugin.core.debug.Return", "io.kestra.core.tasks.debugs.Return")
class Return(Task):
    """Render ``format`` and return it as the output ``value`` (``{{ outputs.<id>.value }}``)."""

    format: str | bool | int | float | None = None


@register("io.kestra.plugin.core.execution.Fail", "io.kestra.core.tasks.executions.Fail")
class Fail(Task):
    """Fail the task: always, or when ``condition`` renders truthy (anything but ``false``, ``0``,
    ``-0`` and the empty string). ``errorMessage`` (default ``Task failure``) is the error."""

    condition: str | bool | int | float | None = None
    error_message: str = "Task failure"


@register("io.kestra.plugin.core.output.OutputValues")
class OutputValues(Task):
    """Render ``values`` (strings, numbers, lists, maps) and return them as the output ``values``."""

    values: dict[str, Any] | None = None


@register("io.kestra.plugin.core.flow.Sleep")
class Sleep(Task):
    """Wait for ``duration`` (ISO-8601, e.g. ``PT5S``)."""

    duration: Duration


#: the states ``Exit`` may end an execution in (Kestra's ``Exit.ExitState``)
EXIT_STATES = ("SUCCESS", "WARNING", "KILLED", "FAILED", "CANCELLED")


@register("io.kestra.plugin.core.execution.Exit")
class Exit(Task):
    """End the execution now in ``state`` (SUCCESS, WARNING, KILLED, FAILED or CANCELLED, or an
    expression rendering to one; default SUCCESS): no further task starts; with KILLED the running
    ones are killed too. The Exit task run ends in that state as well."""

    state: str = "SUCCESS"

    @field_validator("state")
    @classmethod
    def _exit_state(cls, value: str) -> str:
        if "{{" not in value and value not in EXIT_STATES:
            raise ValueError(f"expected one of {', '.join(EXIT_STATES)} (or an expression), got {value!r}")
        return value
