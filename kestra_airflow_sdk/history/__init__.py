"""Airflow run history as pandas DataFrames: views, exploration helpers, incremental cache.

The DataFrame operations (``dags``, ``dag_runs``, ``task_instances``, ``run_history``) are methods
of both public clients (:mod:`.client`). pandas is imported on first use: the names below load it
when they are first read, which registers the ``df.airflow`` accessor (so does building a frame).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .accessor import AirflowAccessor
    from .schemas import DAG_RUNS, DAGS, TASK_INSTANCES, Column, Schema

__all__ = ["DAGS", "DAG_RUNS", "TASK_INSTANCES", "AirflowAccessor", "Column", "Schema"]

_HOMES = {
    "AirflowAccessor": ".accessor",
    **dict.fromkeys(["DAGS", "DAG_RUNS", "TASK_INSTANCES", "Column", "Schema"], ".schemas"),
}


def __getattr__(name: str) -> Any:
    """Load the pandas-backed names on first use (PEP 562); that also registers ``df.airflow``."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    importlib.import_module(".accessor", __name__).register_accessor()
    return getattr(importlib.import_module(_HOMES[name], __name__), name)
