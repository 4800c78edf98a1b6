"""Kestra's core runnable tasks: ``Log``, ``Return``, ``Fail``, ``OutputValues``, ``Sleep``, ``Exit``; and
:class:`UnknownTask`, any task of a type the SDK does not model.

Property names and defaults are Kestra's (``io.kestra.plugin.core.*``); the legacy
``io.kestra.core.tasks.*`` names are read too.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, field_validator

from ..durations import Duration
from ..registry import register, supported_types
from ..task import Task

__all__ = [
    "EXIT_STATES",
    "Exit",
    "Fail",
    "Log",
    "OutputValues",
    "Return",
    "Sleep",
    "UnknownTask",
    "scalar_text",
]


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
        if "{{" not in value and value not in EXIT_STATES and value != "CANCELED":  # 1.3's alias
            raise ValueError(f"expected one of {', '.join(EXIT_STATES)} (or an expression), got {value!r}")
        return value


@register("io.kestra.plugin.core.log.Log", "io.kestra.core.tasks.log.Log")
class Log(Task):
    """Write a message (or several) to the execution's log; expressions are rendered first."""

    message: str | list[str]
    level: Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] = "INFO"


class UnknownTask(Task):
    """A task of a type the SDK does not model. Its properties are kept exactly as written, so the
    flow round-trips to Kestra; running it locally is an :class:`UnsupportedTaskError`."""

    model_config = ConfigDict(extra="allow")

    type: str

    @field_validator("type")
    @classmethod
    def _present(cls, value: str) -> str:
        if not value:
            raise ValueError(
                f"every task needs a type; the local runner supports {', '.join(supported_types())}"
            )
        return value

    @classmethod
    def _class_order(cls) -> tuple[str, ...]:
        return ("id", "type")
