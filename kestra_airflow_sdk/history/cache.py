"""The incremental run history: a full export once, then only the runs updated since the last sync.

Each client keeps one cached frame per query (DAGs + time window), in memory; a ``path`` also keeps
it in a parquet file, so a notebook restarted tomorrow refreshes instead of exporting again. A
refresh asks Airflow for the runs updated at or after the previous sync minus an overlap (which
covers clock skew and updates committed during the previous sync) and merges them by run id, so the
result equals a full export row for row. Runs *deleted* in Airflow cannot be seen by an incremental
refresh: pass ``full=True`` to export everything again.

Reading and writing the parquet file is blocking work: the operation yields it as a
:class:`~kestra_airflow_sdk.transport.effects.Blocking` effect, which the async client runs on a
worker thread, so the event loop goes on serving other operations meanwhile.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from ..airflow.errors import InvalidArgumentError
from ..airflow.fetch import RunQuery, export_runs, fetch_runs
from ..airflow.session import Session
from ..transport.effects import Op, blocking
from ..transport.state import Slot
from .frames import RunColumns, merge_runs, runs_frame
from .schemas import DAG_RUNS

__all__ = ["HistoryCache", "cache_of", "exported_runs", "sync_runs"]

logger = logging.getLogger("kestra_airflow_sdk")

_META_KEY = b"kestra_airflow_sdk.history"
_FORMAT = 1


@dataclass(frozen=True)
class _Synced:
    frame: pd.DataFrame
    synced_at: datetime


class HistoryCache:
    """The cached run frames of one client, keyed by query."""

    def __init__(self) -> None:
        self._entries: dict[str, _Synced] = {}

    def get(self, key: str) -> _Synced | None:
        """The cached frame of a query, if any."""
        return self._entries.get(key)

    def put(self, key: str, entry: _Synced) -> None:
        """Remember the frame of a query."""
        self._entries[key] = entry

    def clear(self) -> None:
        """Forget every cached frame (the next call exports again)."""
        self._entries.clear()


_CACHE: Slot[HistoryCache] = Slot("history_cache", HistoryCache)


def cache_of(client: Session) -> HistoryCache:
    """The client's history cache (created on first use)."""
    return _CACHE.of(client)


def _query_key(client: Session, query: RunQuery) -> str:
    return json.dumps(
        {
            "base_url": client.base_url,
            "dag_ids": None if query.dag_ids is None else sorted(query.dag_ids),
            "since": None if query.since is None else query.since.isoformat(),
            "until": None if query.until is None else query.until.isoformat(),
        },
        sort_keys=True,
    )


def exported_runs(client: Session, query: RunQuery) -> Op[pd.DataFrame]:
    """The full export of a query as the ``dag_runs`` frame, built column-wise as pages arrive
    (concurrent cursor streams per DAG where the server offers cursors, see :func:`export_runs`)."""
    columns = RunColumns()
    yield from export_runs(client, query, columns)
    return columns.frame()


def sync_runs(
    client: Session,
    query: RunQuery,
    *,
    path: str | os.PathLike[str] | None,
    overlap: timedelta,
    full: bool,
) -> Op[pd.DataFrame]:
    """The query's runs (all states), refreshed incrementally from the cache or the file when possible."""
    if not isinstance(overlap, timedelta) or overlap < timedelta(0):
        raise InvalidArgumentError(f"overlap: expected a non-negative timedelta, got {overlap!r}")
    file = Path(path) if path is not None else None
    key = _query_key(client, query)
    cache = cache_of(client)
    entry = None if full else cache.get(key)
    if entry is None and not full and file is not None:
        entry = yield from blocking(lambda: _load(file, key))
    started = datetime.now(timezone.utc)
    if entry is None:
        frame = yield from exported_runs(client, query)
    else:
        changed = yield from fetch_runs(client, replace(query, updated_since=entry.synced_at - overlap))
        frame = merge_runs(entry.frame, runs_frame(changed))
    entry = _Synced(frame, started)
    cache.put(key, entry)
    if file is not None:
        saved = entry
        yield from blocking(lambda: _save(file, key, saved))
    return frame


def _save(file: Path, key: str, entry: _Synced) -> None:
    pa, pq = _pyarrow()
    out = entry.frame.copy()
    out["conf"] = out["conf"].map(lambda conf: json.dumps(conf, sort_keys=True))
    table = pa.Table.from_pandas(out, preserve_index=False)
    meta = {"format": _FORMAT, "key": key, "synced_at": entry.synced_at.isoformat()}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _META_KEY: json.dumps(meta)})
    partial = file.with_name(file.name + ".partial")
    pq.write_table(table, partial)
    os.replace(partial, file)


def _load(file: Path, key: str) -> _Synced | None:
    if not file.exists():
        return None
    pa, pq = _pyarrow()
    try:
        table = pq.read_table(file)
        meta = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}"))
    except (OSError, ValueError, pa.ArrowException) as exc:
        logger.warning("ignoring the history file %s, which cannot be read (%s): exporting again", file, exc)
        return None
    if meta.get("format") != _FORMAT or meta.get("key") != key:
        logger.warning("the history file %s holds another query: exporting again and replacing it", file)
        return None
    frame = table.to_pandas()
    frame["conf"] = frame["conf"].map(json.loads)
    return _Synced(DAG_RUNS.conform(frame), datetime.fromisoformat(meta["synced_at"]))


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - depends on the environment
        raise InvalidArgumentError(
            "path: keeping the history in a parquet file needs pyarrow: pip install 'kestra-airflow-sdk[parquet]'"
        ) from None
    return pa, pq
