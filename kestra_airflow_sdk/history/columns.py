"""Rows gathered page by page into the typed columns of a view (the sink of full exports).

Arrow buffers come from Arrow's system (malloc) pool, and the memory of joined chunks goes back to
the system before each column is put in order: see docs/benchmarks.md, "Where the memory went".
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, cast

import numpy as np
import pandas as pd

from .schemas import Column, Schema

__all__ = ["Columns"]


class Columns:
    """Rows of one view gathered page by page into typed columns; :meth:`frame` is the view.

    The sink of a full export: each page is split into its columns at once (the row dicts are
    dropped), and every ``chunk`` rows the pending values become compact chunks (Arrow text,
    datetime64, one small integer code per state), so an export holds about the final frame plus
    one chunk, whatever its size. Pages come from one thread (both drivers run the operations'
    code on one thread; see :class:`~kestra_airflow_sdk.transport.drivers.SyncDriver`).
    Subclasses name the view: its :attr:`schema`, the columns it is ordered by, the texts that
    repeat from row to row, and the values that fill missing ones before ordering.
    """

    schema: Schema
    order_by: tuple[str, ...]
    repeated: frozenset[str] = frozenset()
    filled: Mapping[str, Any] = MappingProxyType({})

    def __init__(self, chunk: int = 2000) -> None:
        self._chunk = chunk
        self.clear()

    def clear(self) -> None:
        """Forget every row added so far."""
        self._pending: dict[str, list[Any]] = {c.name: [] for c in self.schema.columns}
        self._parts: dict[str, list[Any]] = {c.name: [] for c in self.schema.columns}
        self._codes: dict[str | None, int] = {None: -1}  # state text -> its code, in order of arrival
        self._shared: dict[Any, Any] = {}  # one object per repeated text

    def add(self, rows: list[dict[str, Any]]) -> None:
        """Take one page of normalised rows."""
        shared = self._shared
        for name, values in self._pending.items():
            if name in self.repeated:
                values.extend(shared.setdefault(row.get(name), row.get(name)) for row in rows)
            else:
                values.extend(row.get(name) for row in rows)
        if len(self._pending[self.schema.columns[0].name]) >= self._chunk:
            self._flush()

    def _flush(self) -> None:
        """The pending values as one chunk per column."""
        codes = self._codes
        for column in self.schema.columns:
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
        """The frame of every row added, in the view's order.

        Column by column: the chunks of one column are joined, put in order and released before
        the next one, so building the frame holds the frame plus about one column.
        """
        self._flush()
        parts, codes = self._parts, self._codes
        self.clear()
        by_name = {column.name: column for column in self.schema.columns}
        # a few chunks or more (an export, not one small page): give their memory back as they go
        release = _release_freed_memory if len(parts[self.schema.columns[0].name]) > 2 else _nothing
        keys = {}
        for name in self.order_by:
            keys[name] = self._joined(by_name[name], parts.pop(name))
            release()  # its chunks, before the next key column is allocated
        order = _order(keys, self.order_by)
        data: dict[str, pd.Series] = {}
        for column in self.schema.columns:
            if column.name in keys:
                joined = keys.pop(column.name)
            else:
                joined = self._joined(column, parts.pop(column.name))
                release()  # its chunks, before the column in order is allocated
            if column.kind == "category":
                data[column.name] = _states(column, joined, codes, order)
            elif isinstance(joined, pd.Series):
                data[column.name] = joined.take(order).reset_index(drop=True)
            else:
                data[column.name] = _taken_text(column, joined, order)
            del joined
        data["duration"] = data["duration"].fillna(data["end_date"] - data["start_date"])
        frame: pd.DataFrame = pd.DataFrame(data, columns=self.schema.names, copy=False)
        return frame

    def _joined(self, column: Column, chunks: list[Any]) -> Any:
        """A column's chunks as one, missing values filled as the view fills them."""
        joined = _joined(column, chunks)
        if column.name in self.filled:
            joined = joined.fillna(self.filled[column.name])
        return joined


# Arrow text: the chunks and the result of Columns take their buffers from Arrow's system (malloc)
# memory pool, not the default one (mimalloc), which adds a heap for every thread that allocates
# and keeps freed memory (measured when the sync client's threads built the chunks: a third more
# peak memory on a full export).


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


def _nothing() -> None:
    """Nothing to release (see :func:`_release_freed_memory`)."""


def _release_freed_memory() -> None:
    """Give the memory freed so far back to the system (glibc only; elsewhere nothing to do).

    glibc keeps freed blocks in its heaps (one per thread that allocated) and returns only the
    free top of a heap, so the chunks a column is joined from would stay resident while the
    ordered column is allocated beside them.
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
    """A column's chunks as one: a Series, an Arrow array (text) or an array of codes (states)."""
    if column.kind == "category":
        return np.concatenate(chunks) if chunks else np.empty(0, np.int32)
    if column.kind == "str" and _arrow_text():
        import pyarrow as pa

        if not chunks:
            return pa.array([], pa.large_string())
        # one array, so that the chunks are freed before the column is put in order (Arrow's take
        # of a chunked array joins the chunks itself, beside them and its result: 3x the column)
        return pa.concat_arrays(chunks, memory_pool=pa.system_memory_pool())
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


def _order(keys: Mapping[str, Any], by: Sequence[str]) -> Any:
    """The positions that put the rows in the order of the ``by`` columns (missing values last).

    Arrow sorts the key columns in place when pyarrow is there (pandas would first turn the Arrow
    strings into one Python object per row); pandas sorts them otherwise. Both sorts are stable,
    so they give the order a stable pandas sort of the same rows gives.
    """
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # pragma: no cover - depends on the environment
        frame = pd.DataFrame({name: keys[name] for name in by}, copy=False)
        return frame.sort_values(list(by), kind="stable", na_position="last").index.to_numpy()
    pool = pa.system_memory_pool()
    table = pa.table(
        {
            name: key if isinstance(key, pa.ChunkedArray) else pa.array(key, memory_pool=pool)
            for name, key in ((name, keys[name]) for name in by)
        }
    )
    sort_keys = [(name, "ascending") for name in by]
    return pc.sort_indices(table, sort_keys=sort_keys, memory_pool=pool).to_numpy()
