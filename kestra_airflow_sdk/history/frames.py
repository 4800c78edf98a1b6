"""Normalised rows → the view DataFrames (one canonical row order, so exports compare row for row)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ..airflow.models import Dag
from . import accessor  # noqa: F401  (registers ``df.airflow`` on every frame these functions build)
from .schemas import DAG_RUNS, DAGS, TASK_INSTANCES

__all__ = ["RUN_KEY", "RUN_ORDER", "RunColumns", "dags_frame", "runs_frame", "task_instances_frame"]

#: what identifies a run
RUN_KEY = ["dag_id", "dag_run_id"]
#: the canonical order of a run frame: when runs were due, then by id
RUN_ORDER = ["run_after", "dag_id", "dag_run_id"]
TI_ORDER = ["dag_id", "dag_run_id", "task_id", "map_index", "try_number"]


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


class RunColumns:
    """Run rows gathered page by page into typed columns; :meth:`frame` is the ``dag_runs`` view.

    The sink of :func:`~kestra_airflow_sdk.airflow.fetch.export_runs`: each page is split into
    its columns at once (the row dicts are dropped), and every ``chunk`` rows the pending values
    become typed Series (Arrow strings, datetime64), so an export holds about the final frame plus
    one chunk, whatever its size. The result equals :func:`runs_frame` of the same rows, dtypes and
    order included. Thread-safe (the sync client adds pages from several threads).
    """

    def __init__(self, chunk: int = 2000) -> None:
        self._chunk = chunk
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        """Forget every row added so far."""
        self._pending: dict[str, list[Any]] = {c.name: [] for c in DAG_RUNS.columns}
        self._parts: dict[str, list[pd.Series]] = {c.name: [] for c in DAG_RUNS.columns}
        self._shared: dict[Any, Any] = {}  # one object per repeated text (DAG ids, states, run types)

    def add(self, rows: list[dict[str, Any]]) -> None:
        """Take one page of normalised run rows."""
        repeated = ("dag_id", "state", "run_type")
        with self._lock:
            shared = self._shared
            for name, values in self._pending.items():
                if name in repeated:
                    values.extend(shared.setdefault(row.get(name), row.get(name)) for row in rows)
                else:
                    values.extend(row.get(name) for row in rows)
            if len(self._pending["dag_id"]) >= self._chunk:
                self._flush()

    def _flush(self) -> None:
        """The pending values as typed Series (states stay texts until the end: their categories
        depend on every row)."""
        for column in DAG_RUNS.columns:
            if column.kind != "category":
                values = self._pending[column.name]
                if values:
                    self._parts[column.name].append(column.series(values))
                self._pending[column.name] = []

    def frame(self) -> pd.DataFrame:
        """The ``dag_runs`` frame of every row added, in canonical order (the parts are released
        column by column as the frame is built)."""
        with self._lock:
            self._flush()
            data: dict[str, pd.Series] = {}
            for column in DAG_RUNS.columns:
                if column.kind == "category":
                    data[column.name] = column.series(self._pending.pop(column.name))
                    continue
                parts = self._parts.pop(column.name)
                data[column.name] = pd.concat(parts, ignore_index=True) if parts else column.series([])
                data[column.name].name = column.name
                del parts
            self.clear()
        data["duration"] = data["duration"].fillna(data["end_date"] - data["start_date"])
        keys = pd.DataFrame({name: data[name] for name in RUN_ORDER}, copy=False)
        order = keys.sort_values(RUN_ORDER, kind="stable", na_position="last").index.to_numpy()
        del keys
        for name in DAG_RUNS.names:  # one column at a time: the unsorted one is released at once
            data[name] = data[name].take(order).reset_index(drop=True)
        frame: pd.DataFrame = pd.DataFrame(data, columns=DAG_RUNS.names, copy=False)
        return frame


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


def dags_frame(dags: Iterable[Dag]) -> pd.DataFrame:
    """The ``dags`` view of :class:`Dag` models, ordered by ``dag_id``."""
    return _ordered(DAGS.frame([dag.model_dump() for dag in dags]), ["dag_id"])
