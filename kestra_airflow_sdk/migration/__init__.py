"""Move from Airflow to Kestra one workflow at a time: the inventory of an Airflow, Kestra flows
generated from its DAGs, and the schedule mapping between the two (see ``docs/migration.md``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .generate import FlowsFromDags, ScheduleNote, flows_for_dags, write_flows
from .schedules import PRESETS, ScheduleMapping, map_schedule

if TYPE_CHECKING:
    from .inventory import INVENTORY

__all__ = [
    "INVENTORY",
    "PRESETS",
    "FlowsFromDags",
    "ScheduleMapping",
    "ScheduleNote",
    "flows_for_dags",
    "map_schedule",
    "write_flows",
]


def __getattr__(name: str) -> Any:
    """``INVENTORY`` (a pandas schema) loads pandas on first use (PEP 562)."""
    if name == "INVENTORY":
        from .inventory import INVENTORY

        return INVENTORY
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
