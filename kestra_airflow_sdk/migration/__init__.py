"""Move from Airflow to Kestra one workflow at a time: the inventory of an Airflow, Kestra flows
generated from its DAGs, and the schedule mapping between the two (see ``docs/migration.md``)."""

from .generate import FlowsFromDags, ScheduleNote, flows_for_dags, write_flows
from .inventory import INVENTORY
from .schedules import PRESETS, ScheduleMapping, map_schedule

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
