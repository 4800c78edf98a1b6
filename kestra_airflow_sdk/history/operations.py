"""The DataFrame operations of both public clients: run history as pandas DataFrames.

Naming rule of the client: ``get_*`` / ``list_*`` return pydantic models, plural nouns
(``dags``, ``dag_runs``, ``task_instances``, ``run_history``) return DataFrames. Like every client
method these are declared once as sans-I/O operations and work on the sync client (returning the
value) and the async client (returning a coroutine). pandas is imported when one of them first runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..airflow import arguments
from ..airflow.core import ClientCore
from ..airflow.fetch import RunQuery
from ..airflow.models import AirflowDag, DagRunState, TaskInstanceState
from ..airflow.task_instances import export_task_instances
from ..transport.effects import Op
from ..transport.operation import operation

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_OVERLAP", "HistoryOperations"]

States = str | DagRunState | Iterable[str | DagRunState] | None
#: how far back a refresh of :meth:`HistoryOperations.run_history` looks before the previous one
DEFAULT_OVERLAP = timedelta(minutes=2)


class HistoryOperations(ClientCore):
    """Run history as pandas DataFrames (mixed into both public clients)."""

    @operation
    def dags(self, *, paused: bool | None = None, tags: Iterable[str] | None = None) -> Op[pd.DataFrame]:
        """Every DAG as a DataFrame, one row per DAG (columns: :data:`~.schemas.DAGS`).

        Example:
            >>> client.dags(paused=False)[["dag_id", "schedule", "next_dagrun_run_after"]]
        """
        from .frames import dags_frame

        dags: list[AirflowDag] = yield from ClientCore.list_dags.fn(self, paused=paused, tags=tags)
        return dags_frame(dags)

    @operation
    def dag_runs(
        self,
        dag_id: str | Iterable[str] | None = None,
        *,
        state: States = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> Op[pd.DataFrame]:
        """DAG runs as a DataFrame, one row per run (columns: :data:`~.schemas.DAG_RUNS`).

        Every filter is applied by Airflow; all pages are fetched (the largest pages the server
        allows). On Airflow 3.3+ every DAG (or each DAG of a list) is read as its own cursor
        stream, at most ``min(8, max_connections)`` at once: lower the client's
        ``max_connections`` to be gentler on the server. Pages go straight into typed columns.
        Rows are ordered by ``run_after``, ``dag_id``, ``dag_run_id``.

        Args:
            dag_id: one DAG id, a list of DAG ids (one cursor stream each on Airflow 3.3+, one
                batch request per page for all of them on older servers), or None for every DAG.
            state: only runs in this state (or any of these states).
            since: only runs due at or after this timezone-aware time (``run_after`` on
                Airflow 3, ``logical_date`` on Airflow 2).
            until: only runs due at or before this timezone-aware time.
            limit: stop after this many runs (in the server's order, oldest first).

        Example:
            >>> runs = client.dag_runs(["etl", "reports"], since=datetime(2026, 1, 1, tzinfo=timezone.utc))
            >>> runs.airflow.summary()
        """
        from .cache import exported_runs

        query = RunQuery.build(dag_id, state=state, since=since, until=until, limit=limit)
        return (yield from exported_runs(self, query))

    @operation
    def task_instances(
        self,
        dag_id: str | Iterable[str] | None = None,
        dag_run_id: str | None = None,
        *,
        state: str | TaskInstanceState | Iterable[str | TaskInstanceState] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> Op[pd.DataFrame]:
        """Task instances as a DataFrame (columns: :data:`~.schemas.TASK_INSTANCES`).

        One row per task try: a task instance (one per ``map_index`` for mapped tasks) that ran
        more than once (a retry, a clear) has a row for each ``try_number``. Ordered by ``dag_id``,
        ``dag_run_id``, ``task_id``, ``map_index``, ``try_number``, so the frame of several DAGs is
        the frames of each DAG one after the other. Every filter is applied by Airflow; the task
        instances come from one list request per page (the largest pages the server allows). On
        Airflow 3.3 (cursor pagination), several DAGs or every DAG are read as one cursor stream
        per DAG, at most ``min(8, max_connections)`` at once, pages straight into typed columns;
        elsewhere, or with a ``limit``, a list of DAGs is one batch request per page and every DAG
        the ``~`` path. Only those with ``try_number > 1`` cost one more request for their earlier
        tries (Airflow 2.10+ and 3).

        Args:
            dag_id: one DAG id, a list of DAG ids, or None for every DAG.
            dag_run_id: one run of the DAG (``dag_id`` must then be that one DAG), or None for the
                task instances of every run.
            state: only tries in this state (or any of these states). Airflow filters the task
                instances by their latest try, so earlier tries appear only for task instances
                whose latest try matches too.
            since: only task instances of runs due at or after this time (timezone-aware;
                ``run_after`` on Airflow 3, ``logical_date`` on Airflow 2).
            until: only task instances of runs due at or before this time (timezone-aware).
            limit: stop after this many task instances (their earlier tries are added).

        Example:
            >>> tis = client.task_instances(["etl", "reports"], since=datetime(2026, 1, 1, tzinfo=timezone.utc))
            >>> tis.airflow.slowest_tasks()
        """
        from .frames import TaskInstanceColumns

        arguments.aware(since, "since")
        arguments.aware(until, "until")
        columns = TaskInstanceColumns()
        states = arguments.states(state)
        yield from export_task_instances(
            self, dag_id, dag_run_id, state=states, since=since, until=until, limit=limit, sink=columns
        )
        return columns.frame()

    @operation
    def run_history(
        self,
        dag_id: str | Iterable[str] | None = None,
        *,
        state: States = None,
        since: datetime | None = None,
        until: datetime | None = None,
        path: str | os.PathLike[str] | None = None,
        overlap: timedelta = DEFAULT_OVERLAP,
        full: bool = False,
    ) -> Op[pd.DataFrame]:
        """Like :meth:`dag_runs`, but incremental: re-running it costs a handful of requests.

        The first call exports the runs of ``dag_id`` due in ``[since, until]``; later calls with the
        same DAGs and window ask Airflow only for the runs updated since the previous call (minus
        ``overlap``) and merge them, so the frame equals what :meth:`dag_runs` would return. The
        cache lives on the client; with ``path`` it is also kept in that parquet file (needs
        ``pyarrow``) and reused by later sessions. ``state`` is applied to the merged frame (a run
        that changed state leaves or enters it). Runs deleted in Airflow stay until ``full=True``.

        Example:
            >>> runs = client.run_history("etl", since=last_month, path="etl_runs.parquet")
            >>> runs = client.run_history("etl", since=last_month, path="etl_runs.parquet")  # a refresh
        """
        from .cache import sync_runs

        query = RunQuery.build(dag_id, since=since, until=until)
        wanted = arguments.states(state)
        frame = yield from sync_runs(self, query, path=path, overlap=overlap, full=full)
        if wanted:
            frame = frame[frame["state"].isin(wanted)].reset_index(drop=True)
        result: pd.DataFrame = frame.copy()
        return result

    def clear_history_cache(self) -> None:
        """Forget the frames :meth:`run_history` cached in memory (files are left alone)."""
        from .cache import cache_of

        cache_of(self).clear()
