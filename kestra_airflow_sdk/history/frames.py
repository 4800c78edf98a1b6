"""Normalised rows → the view DataFrames (one canonical row order, so exports compare row for row)."""

from __future__ import annotations

import ctypes
import functools
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import numpy as np
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
    become compact chunks (Arrow text, datetime64, one small integer code per state), so an export
    holds about the final frame plus one chunk, whatever its size. The result equals
    :func:`runs_frame` of the same rows, dtypes and order included. Thread-safe (the sync client
    adds pages from several threads).
    """

    def __init__(self, chunk: int = 2000) -> None:
        self._chunk = chunk
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        """Forget every row added so far."""
        self._pending: dict[str, list[Any]] = {c.name: [] for c in DAG_RUNS.columns}
        self._parts: dict[str, list[Any]] = {c.name: [] for c in DAG_RUNS.columns}
        self._codes: dict[str | None, int] = {None: -1}  # state text -> its code, in order of arrival
        self._shared: dict[Any, Any] = {}  # one object per repeated text (DAG ids, run types)

    def add(self, rows: list[dict[str, Any]]) -> None:
        """Take one page of normalised run rows."""
        with self._lock:
            shared = self._shared
            for name, values in self._pending.items():
                if name in ("dag_id", "run_type"):
                    values.extend(shared.setdefault(row.get(name), row.get(name)) for row in rows)
                else:
                    values.extend(row.get(name) for row in rows)
            if len(self._pending["dag_id"]) >= self._chunk:
                self._flush()

    def _flush(self) -> None:
        """The pending values as one chunk per column."""
        codes = self._codes
        for column in DAG_RUNS.columns:
            values = self._pending[column.name]
            if not values:
                continue
            chunk: Any
            if column.kind == "category":  # categories depend on every row: codes until the end
                texts = (None if v is None else str(v) for v in values)
                chunk = np.fromiter(
                    (codes.setdefault(t, len(codes) - 1) for t in texts), np.int32, len(values)
                )
            elif column.kind == "str" and _arrow_text():
                chunk = _text_chunk(column, values)
            elif column.kind == "datetime" and _arrow_text():
                chunk = _datetime_chunk(column, values)
            else:
                chunk = column.series(values)
            self._parts[column.name].append(chunk)
            self._pending[column.name] = []

    def frame(self) -> pd.DataFrame:
        """The ``dag_runs`` frame of every row added, in canonical order.

        Column by column: the chunks of one column are joined, put in order and released before
        the next one, so building the frame holds the frame plus about one column.
        """
        with self._lock:
            self._flush()
            parts, codes = self._parts, self._codes
            self.clear()
        by_name = {column.name: column for column in DAG_RUNS.columns}
        keys = {name: _joined(by_name[name], parts.pop(name)) for name in RUN_ORDER}
        _release_freed_memory()
        order = _run_order(keys)
        data: dict[str, pd.Series] = {}
        for column in DAG_RUNS.columns:
            if column.name in keys:
                joined = keys.pop(column.name)
            else:
                joined = _joined(column, parts.pop(column.name))
                _release_freed_memory()  # its chunks, before the column in order is allocated
            if column.kind == "category":
                data[column.name] = _states(column, joined, codes, order)
            elif isinstance(joined, pd.Series):
                data[column.name] = joined.take(order).reset_index(drop=True)
            else:
                data[column.name] = _taken_text(column, joined, order)
            del joined
        data["duration"] = data["duration"].fillna(data["end_date"] - data["start_date"])
        frame: pd.DataFrame = pd.DataFrame(data, columns=DAG_RUNS.names, copy=False)
        return frame


# Arrow text: the chunks and the result of RunColumns take their buffers from Arrow's system (malloc)
# memory pool, not the default one (mimalloc), which adds a heap for every thread that allocates
# (the sync client's threads do) and keeps freed memory: a third more peak memory on a full export.


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim`` (None on other C libraries and systems)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # pragma: no cover - musl and others have none
        return None
    return trim


def _release_freed_memory() -> None:
    """Give the memory freed so far back to the system (glibc only; elsewhere nothing to do).

    glibc keeps freed blocks in its heaps (one per thread that allocated: the sync client's
    threads add the pages) and returns only the free top of a heap, so the chunks a column is
    joined from would stay resident while the ordered column is allocated beside them.
    ``malloc_trim`` returns every free page at once, for a few milliseconds of CPU.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _arrow_text() -> bool:
    """True when pandas' ``string`` dtype keeps its text in Arrow (pandas 3 with pyarrow, or the
    ``pyarrow`` string storage option): text columns are then built as Arrow arrays directly."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - depends on the environment
        return False
    empty = pd.Series([], dtype="string").array
    if type(empty) is not pd.arrays.ArrowStringArray:
        return False
    return bool(pd.arrays.ArrowStringArray(pa.array([], pa.large_string())).dtype == empty.dtype)


def _text_chunk(column: Column, values: list[Any]) -> Any:
    """Text values (``None`` = missing) as one Arrow ``large_string`` array; other values are
    turned into text as pandas' ``string`` dtype does."""
    import pyarrow as pa

    pool = pa.system_memory_pool()
    try:
        return pa.array(values, type=pa.large_string(), memory_pool=pool)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        texts = column.series(values)
        return pa.array(
            texts.astype(object).where(texts.notna(), None).tolist(), pa.large_string(), memory_pool=pool
        )


def _datetime_chunk(column: Column, values: list[Any]) -> pd.Series:
    """ISO 8601 texts (``None`` = missing) as a ``datetime64[us, UTC]`` Series, parsed by Arrow
    (pandas' parser takes its scratch memory from Arrow's default pool); pandas parses what Arrow
    does not read."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pool = pa.system_memory_pool()
    try:
        parsed = pc.cast(
            pa.array(values, pa.string(), memory_pool=pool), pa.timestamp("us", "UTC"), memory_pool=pool
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return column.series(values)
    micros = pc.coalesce(
        parsed.view(pa.int64()), pa.scalar(_NAT, pa.int64(), memory_pool=pool), memory_pool=pool
    ).to_numpy()
    series: pd.Series = pd.Series(micros.view("M8[us]"), name=column.name).dt.tz_localize("UTC")
    return series


_NAT = np.iinfo(np.int64).min  # NaT, as an integer


def _joined(column: Column, chunks: list[Any]) -> Any:
    """A column's chunks as one: a Series, an Arrow chunked array (text) or an array of codes (states)."""
    if column.kind == "category":
        return np.concatenate(chunks) if chunks else np.empty(0, np.int32)
    if column.kind == "str" and _arrow_text():
        import pyarrow as pa

        return pa.chunked_array(chunks, type=pa.large_string())
    series = pd.concat(chunks, ignore_index=True) if chunks else column.series([])
    series.name = column.name
    return series


def _taken_text(column: Column, text: Any, order: Any) -> pd.Series:
    """Arrow text in ``order`` as a ``string`` Series."""
    import pyarrow as pa
    import pyarrow.compute as pc

    taken = pc.take(text, pa.array(order), memory_pool=pa.system_memory_pool())
    series: pd.Series = pd.Series(pd.arrays.ArrowStringArray(taken), name=column.name, copy=False)
    return series


def _states(column: Column, codes: Any, known: Mapping[str | None, int], order: Any) -> pd.Series:
    """The state codes (``known``: text -> code) in ``order``, with the categories
    :meth:`Column.series` gives the same texts."""
    texts = [text for text in known if text is not None]  # in code order: 0, 1, ...
    dtype = cast(pd.CategoricalDtype, column.series(texts).dtype)
    # code -> final code (-1, missing, stays -1)
    final = np.append(dtype.categories.get_indexer(pd.Index(texts, dtype=object)), -1)
    states = pd.Categorical.from_codes(final[codes[order]], dtype=dtype)
    series: pd.Series = pd.Series(states, name=column.name, copy=False)
    return series


def _run_order(keys: Mapping[str, Any]) -> Any:
    """The positions that put run columns in :data:`RUN_ORDER` (missing values last).

    Arrow sorts the key columns in place when pyarrow is there (pandas would first turn the Arrow
    strings into one Python object per row); pandas sorts them otherwise. Run keys are unique, so
    both give the one order :func:`runs_frame` gives.
    """
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # pragma: no cover - depends on the environment
        frame = pd.DataFrame({name: keys[name] for name in RUN_ORDER}, copy=False)
        return frame.sort_values(RUN_ORDER, kind="stable", na_position="last").index.to_numpy()
    pool = pa.system_memory_pool()
    table = pa.table(
        {
            name: key if isinstance(key, pa.ChunkedArray) else pa.array(key, memory_pool=pool)
            for name, key in ((name, keys[name]) for name in RUN_ORDER)
        }
    )
    sort_keys = [(name, "ascending") for name in RUN_ORDER]
    return pc.sort_indices(table, sort_keys=sort_keys, memory_pool=pool).to_numpy()


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
