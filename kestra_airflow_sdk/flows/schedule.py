"""Flow ``triggers``: Kestra's ``Schedule`` (a cron), and every other trigger type kept as written.

A flow generated from an Airflow DAG carries the DAG's schedule as a **disabled** ``Schedule`` so
that nothing runs twice until the cut-over (see ``docs/migration.md``). The local runner does not
fire triggers: they are part of the document exported to a Kestra server.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict, Discriminator, Tag, field_validator, model_validator

from .base import KestraModel
from .task import check_task_id

__all__ = ["SCHEDULE_TYPES", "AnyTrigger", "Schedule", "UnknownTrigger", "check_cron"]

SCHEDULE_TYPES = ("io.kestra.plugin.core.trigger.Schedule", "io.kestra.core.models.triggers.types.Schedule")
#: cron nicknames Kestra's Schedule accepts as they are
NICKNAMES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_FIELD = re.compile(r"^[0-9A-Za-z*?/,#LW-]+$")
CRON_RULE = (
    "a cron expression has 5 fields (minute hour day-of-month month day-of-week, e.g. '30 6 * * 1-5'), "
    f"6 with seconds, or is one of {', '.join(NICKNAMES)}"
)


def check_cron(value: Any) -> str:
    """A cron expression as Kestra's ``Schedule`` reads it; the error names the value and the rule."""
    if isinstance(value, str):
        text = value.strip()
        fields = text.split()
        if text in NICKNAMES or (len(fields) in (5, 6) and all(_FIELD.match(f) for f in fields)):
            return text
    raise ValueError(f"{value!r} is not a valid cron: {CRON_RULE}")


class Schedule(KestraModel):
    """``io.kestra.plugin.core.trigger.Schedule``: start the flow on a cron (``disabled`` keeps it off).

    Args:
        id: the trigger id (same rule as task ids).
        cron: e.g. ``"30 6 * * 1-5"`` or ``"@daily"``.
        disabled: a disabled trigger is deployed but never fires.
        timezone: e.g. ``"Europe/Paris"`` (Kestra's default: the server's).
    """

    model_config = ConfigDict(extra="allow")
    _head: ClassVar[tuple[str, ...]] = ("id", "type")

    id: str
    type: str = SCHEDULE_TYPES[0]
    description: str | None = None
    cron: str
    timezone: str | None = None
    disabled: bool = False

    @field_validator("id", mode="before")
    @classmethod
    def _trigger_id(cls, value: Any) -> str:
        return check_task_id(value)

    @field_validator("type")
    @classmethod
    def _schedule_type(cls, value: str) -> str:
        if value not in SCHEDULE_TYPES:
            raise ValueError(f"Schedule has type {SCHEDULE_TYPES[0]!r}, got {value!r}")
        return value

    @field_validator("cron", mode="before")
    @classmethod
    def _cron(cls, value: Any) -> str:
        return check_cron(value)

    @model_validator(mode="after")
    def _type_is_always_written(self) -> Schedule:
        self.model_fields_set.add("type")
        return self


class UnknownTrigger(KestraModel):
    """A trigger of another type (Flow, Webhook, ...): kept exactly as written for the export."""

    model_config = ConfigDict(extra="allow")
    _head: ClassVar[tuple[str, ...]] = ("id", "type")

    id: str
    type: str


def _trigger_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return "Schedule" if kind in SCHEDULE_TYPES else "UnknownTrigger"


#: any trigger: a Schedule validates against its model, any other type is kept as written
AnyTrigger = Annotated[
    Annotated[Schedule, Tag("Schedule")] | Annotated[UnknownTrigger, Tag("UnknownTrigger")],
    Discriminator(_trigger_tag),
]
