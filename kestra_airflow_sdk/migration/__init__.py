"""Move from Airflow to Kestra one workflow at a time: the inventory of an Airflow, Kestra flows
generated from its DAGs (step 1: Kestra triggers the DAG), native flows rewritten from them (step 2)
with the parity check that proves them equal, and the schedule mapping (see ``docs/migration.md``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .generate import FlowsFromDags, ScheduleNote, flows_for_dags, write_flows
from .native import NativeFlow, TaskReport, native_flow_for_dag, translate_dag
from .operators import OPERATORS
from .schedules import PRESETS, ScheduleMapping, map_schedule

if TYPE_CHECKING:
    from .compare import compare_history, cut_over, history_timeline, plot_history
    from .inventory import INVENTORY
    from .parity_check import last_parity, parity

__all__ = [
    "INVENTORY",
    "OPERATORS",
    "PRESETS",
    "FlowsFromDags",
    "NativeFlow",
    "ScheduleMapping",
    "ScheduleNote",
    "TaskReport",
    "compare_history",
    "cut_over",
    "flows_for_dags",
    "history_timeline",
    "last_parity",
    "map_schedule",
    "native_flow_for_dag",
    "parity",
    "plot_history",
    "translate_dag",
    "write_flows",
]


def __getattr__(name: str) -> Any:
    """``INVENTORY`` (a pandas schema) and the history comparison load pandas on first use (PEP 562)."""
    if name == "INVENTORY":
        from .inventory import INVENTORY

        return INVENTORY
    if name in ("compare_history", "cut_over", "history_timeline", "plot_history"):  # pandas
        from . import compare

        return getattr(compare, name)
    if name in ("parity", "last_parity"):
        from . import parity_check as module

        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
