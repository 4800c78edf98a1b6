"""Normalised rows → the view DataFrames (one canonical row order, so exports compare row for row)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import pandas as pd

from ..airflow.models import AirflowDag
from .accessor import register_accessor
from .columns import Columns
from .schemas import DAG_RUNS, DAGS, TASK_INSTANCES

__all__ = [
    "RUN_KEY",
    "RUN_ORDER",
    "RunColumns",
    "TaskInstanceColumns",
    "dags_frame",
    "runs_frame",
    "task_instances_frame",
]

#: what identifies a run
RUN_KEY = ["dag_id", "dag_run_id"]
#: the canonical order of a run frame: when runs were due, then by id
RUN_ORDER = ["run_after", "dag_id", "dag_run_id"]
TI_ORDER = ["dag_id", "dag_run_id", "task_id", "map_index", "try_number"]

# ``df.airflow`` on every frame the history layer builds: these functions, the columns of an
# export, the frames the run cache reads back (every one of them loads this module first)
register_accessor()


def _ordered(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    ordered: pd.DataFrame = frame.sort_values(by, kind="stable", na_position="last").reset_index(drop=True)
    return ordered


def _fill_duration(frame: pd.DataFrame) -> pd.DataFrame:
    """Airflow 2 sends no run duration: derive it from start and end, as the models do."""
    frame["duration"] = frame["duration"].fillna(frame["end_date"] - frame["start_date"])
    return frame


def runs_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The ``dag_runs`` view of normalised run rows, in canonical order."""
    return _ordered(_fill_duration(DAG_RUNS.frame(rows)), RUN_ORDER)


class RunColumns(Columns):
    """Run rows gathered page by page into typed columns; :meth:`frame` is the ``dag_runs`` view.

    The sink of :func:`~kestra_airflow_sdk.airflow.fetch.export_runs`. The result equals
    :func:`runs_frame` of the same rows, dtypes and order included.
    """

    schema = DAG_RUNS
    order_by = tuple(RUN_ORDER)
    repeated = frozenset({"dag_id", "run_type"})


class TaskInstanceColumns(Columns):
    """Task instance rows gathered page by page into typed columns; :meth:`frame` is the
    ``task_instances`` view.

    The sink of :func:`~kestra_airflow_sdk.airflow.fetch.export_task_instances`. The result equals
    :func:`task_instances_frame` of the same rows, dtypes and order included.
    """

    schema = TASK_INSTANCES
    order_by = tuple(TI_ORDER)
    repeated = frozenset({"dag_id", "task_id", "operator", "queue", "pool", "hostname"})
    filled = MappingProxyType({"map_index": -1})  # as the model: -1 = not mapped


def merge_runs(cached: pd.DataFrame, changed: pd.DataFrame) -> pd.DataFrame:
    """``cached`` with the rows of ``changed`` added or replacing the rows of the same run."""
    if changed.empty:
        return cached
    merged = pd.concat([cached, changed], ignore_index=True)
    merged = merged.drop_duplicates(RUN_KEY, keep="last")
    return _ordered(DAG_RUNS.conform(merged), RUN_ORDER)


def task_instances_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The ``task_instances`` view of normalised task instance rows, in canonical order."""
    frame = _fill_duration(TASK_INSTANCES.frame(rows))
    frame["map_index"] = frame["map_index"].fillna(-1)  # as the model: -1 = not mapped
    return _ordered(frame, TI_ORDER)


def dags_frame(dags: Iterable[AirflowDag]) -> pd.DataFrame:
    """The ``dags`` view of :class:`AirflowDag` models, ordered by ``dag_id``."""
    return _ordered(DAGS.frame([dag.model_dump() for dag in dags]), ["dag_id"])
