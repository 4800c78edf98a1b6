"""Normalised rows → the view DataFrames (one canonical row order, so exports compare row for row)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ..airflow.models import Dag
from . import accessor  # noqa: F401  (registers ``df.airflow`` on every frame these functions build)
from .schemas import DAG_RUNS, DAGS, TASK_INSTANCES, Column

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
        """The ``dag_runs`` frame of every row added, in canonical order.

        Column by column: the parts of one column are joined, put in order and released before the
        next one, so building the frame holds the frame plus about one column.
        """
        with self._lock:
            self._flush()
            parts, states = self._parts, self._pending["state"]
            self.clear()

        def joined(column: Column) -> pd.Series:
            if column.kind == "category":
                return column.series(states)
            chunks = parts.pop(column.name)
            series = pd.concat(chunks, ignore_index=True) if chunks else column.series([])
            series.name = column.name
            return series

        by_name = {column.name: column for column in DAG_RUNS.columns}
        keys = {name: joined(by_name[name]) for name in RUN_ORDER}
        order = _run_order(keys)
        data: dict[str, pd.Series] = {}
        for column in DAG_RUNS.columns:
            series = keys.pop(column.name) if column.name in keys else joined(column)
            data[column.name] = series.take(order).reset_index(drop=True)
            del series
        data["duration"] = data["duration"].fillna(data["end_date"] - data["start_date"])
        frame: pd.DataFrame = pd.DataFrame(data, columns=DAG_RUNS.names, copy=False)
        return frame


def _run_order(data: Mapping[str, pd.Series]) -> Any:
    """The positions that put run columns in :data:`RUN_ORDER` (missing values last).

    Arrow sorts the key columns in place when pyarrow is there (pandas would first turn the Arrow
    strings into one Python object per row); pandas sorts them otherwise. Run keys are unique, so
    both give the one order :func:`runs_frame` gives.
    """
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # pragma: no cover - depends on the environment
        keys = pd.DataFrame({name: data[name] for name in RUN_ORDER}, copy=False)
        return keys.sort_values(RUN_ORDER, kind="stable", na_position="last").index.to_numpy()
    table = pa.table({name: data[name] for name in RUN_ORDER})
    return pc.sort_indices(table, sort_keys=[(name, "ascending") for name in RUN_ORDER]).to_numpy()


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
