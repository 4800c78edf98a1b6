"""DataFrames of assets, asset events, XComs, task tries and the event log (both public clients).

Declared once as sans-I/O operations on the REST operations of :mod:`kestra_airflow_sdk.airflow`
(assets need Airflow 3.0.0; XComs, tries and the event log work on Airflow 2.10 too); pandas is
imported when one of them first runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from ..airflow.arguments import limit as checked_limit
from ..airflow.arguments import segment
from ..airflow.asset_models import Asset, AssetEvent
from ..airflow.core import ClientCore
from ..airflow.errors import InvalidArgumentError
from ..airflow.event_log_models import EventLog
from ..airflow.models import TaskInstance
from ..airflow.operations.assets import AssetRef
from ..airflow.operations.xcoms import read_values
from ..airflow.pagination import PAGE_CONCURRENCY
from ..airflow.xcom_models import XCom
from ..transport.effects import Op, gather
from ..transport.operation import operation

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RecordOperations"]


def _run_ids(run_id: str | Iterable[str] | None) -> list[str] | None:
    """None (every run), or the run ids asked for, each a non-empty string, each once."""
    if run_id is None:
        return None
    if isinstance(run_id, str):
        segment(run_id, "run_id")
        return [run_id]
    if not isinstance(run_id, Iterable):
        raise InvalidArgumentError(f"run_id: expected a run id, a list of run ids or None, got {run_id!r}")
    ids = list(run_id)
    for one in ids:
        if not isinstance(one, str) or not one:
            raise InvalidArgumentError(f"run_id: expected non-empty run ids (str), got {one!r} in {ids!r}")
    return list(dict.fromkeys(ids))


class RecordOperations(ClientCore):
    """Assets, asset events, XComs, task tries and event logs as pandas DataFrames."""

    @operation
    def assets(self, *, dag_id: str | None = None) -> Op[pd.DataFrame]:
        """Every asset as a DataFrame, one row per asset (Airflow 3.0.0+; columns:
        :data:`~.record_frames.ASSETS`): id, name, URI, group, the DAGs it schedules
        (``scheduled_dags``), the DAGs and tasks that produce it, the DAGs that consume it, when its
        latest event happened.

        Args:
            dag_id: only the assets of this DAG (scheduled on, produced or consumed by it).

        Example:
            >>> client.assets()[["name", "uri", "scheduled_dags", "producing_dags"]]
        """
        from .record_frames import assets_frame

        found: list[Asset] = yield from ClientCore.list_assets.fn(self, dag_id=dag_id)
        return assets_frame(found)

    @operation
    def asset_events(
        self,
        asset: AssetRef | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> Op[pd.DataFrame]:
        """Asset events as a DataFrame, oldest first (Airflow 3.0.0+; columns:
        :data:`~.record_frames.ASSET_EVENTS`), each with what produced it (``source_*``; none for
        an event created over REST) and ``created_dag_runs``: the runs it took part in.

        Args:
            asset: one asset (its id, name, URI or :class:`~kestra_airflow_sdk.airflow.asset_models.Asset`),
                or None for every asset.
            since: only events at or after this timezone-aware time.
            until: only events at or before this timezone-aware time.
            limit: stop after this many events.

        Example:
            >>> client.asset_events("orders", since=yesterday)[["timestamp", "source_dag_id", "created_dag_runs"]]
        """
        from .record_frames import asset_events_frame

        events: list[AssetEvent] = yield from ClientCore.list_asset_events.fn(
            self, asset, since=since, until=until, limit=limit
        )
        return asset_events_frame(events)

    @operation
    def xcoms(
        self,
        dag_id: str,
        run_id: str | Iterable[str] | None = None,
        task_id: str | None = None,
        key: str | None = "return_value",
        *,
        map_index: int | None = None,
        limit: int | None = None,
    ) -> Op[pd.DataFrame]:
        """XComs across runs as a DataFrame, one row per (run, task, map index, key) with its value
        as JSON (the dict, list, number or string the task pushed; columns:
        :data:`~.record_frames.XCOMS`), runs in the order they were due. Airflow 2.10 and 3.

        Every run is one listing of ``.../dagRuns/~/...`` (all pages); a list of runs is one listing
        per run. Airflow's lists carry no values: each value is one more request, at most
        ``PAGE_CONCURRENCY`` (and the client's ``max_connections``) at once.

        Args:
            dag_id: the DAG.
            run_id: one run id, a list of them, or None for every run.
            task_id: one task, or None for every task.
            key: one key (default ``"return_value"``: what tasks return), or None for every key.
            map_index: one map index of mapped tasks (-1: not mapped), or None for all.
            limit: stop after this many entries (of each listing).

        Example:
            >>> client.xcoms("etl", task_id="total")[["dag_run_id", "value"]]
        """
        from .record_frames import xcoms_frame

        checked_limit(limit)
        segment(dag_id, "dag_id")
        runs = _run_ids(run_id)
        if task_id is not None:
            segment(task_id, "task_id")
        if key is not None and (not isinstance(key, str) or not key):
            raise InvalidArgumentError(f"key: expected a non-empty XCom key (str) or None, got {key!r}")
        list_xcoms = ClientCore.list_xcoms.fn
        if runs is None:
            entries: list[XCom] = yield from list_xcoms(
                self, dag_id, None, task_id, key=key, map_index=map_index, limit=limit
            )
        else:
            in_flight = min(PAGE_CONCURRENCY, self.max_connections)
            listed = yield from gather(
                (
                    list_xcoms(self, dag_id, run, task_id, key=key, map_index=map_index, limit=limit)
                    for run in runs
                ),
                in_flight,
            )
            entries = [entry for entries_of_run in listed for entry in entries_of_run]
        valued = yield from read_values(self, entries)
        return xcoms_frame(valued)

    @operation
    def task_tries(self, dag_id: str, run_id: str, task_id: str, *, map_index: int = -1) -> Op[pd.DataFrame]:
        """Every try of one task instance as a DataFrame, one row per try (columns:
        :data:`~.schemas.TASK_INSTANCES`, as :meth:`task_instances`), by ``try_number``; the
        latest try included. Airflow 2.10.0+ and 3.

        Example:
            >>> client.task_tries("etl", run.dag_run_id, "load")[["try_number", "state", "duration"]]
        """
        from .record_frames import task_tries_frame

        tries: list[TaskInstance] = yield from ClientCore.list_task_tries.fn(
            self, dag_id, run_id, task_id, map_index=map_index
        )
        return task_tries_frame(tries)

    @operation
    def event_logs(
        self,
        dag_id: str | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        event: str | None = None,
        run_id: str | None = None,
        task_id: str | None = None,
        limit: int | None = None,
    ) -> Op[pd.DataFrame]:
        """Airflow's event log (its audit log) as a DataFrame, oldest first (columns:
        :data:`~.record_frames.EVENT_LOGS`): triggers, state changes, clears, XCom writes, ... with
        who did them (``owner``). Every filter is applied by Airflow. Airflow 2 and 3.

        Args:
            dag_id: only the entries of this DAG.
            since: only entries at or after this timezone-aware time.
            until: only entries at or before this timezone-aware time.
            event: only entries of this event (e.g. ``"trigger_dag_run"``).
            run_id: only the entries of this run.
            task_id: only the entries of this task.
            limit: stop after this many entries.

        Example:
            >>> client.event_logs("etl", event="trigger_dag_run")[["when", "owner", "dag_run_id"]]
        """
        from .record_frames import event_logs_frame

        logs: list[EventLog] = yield from ClientCore.list_event_logs.fn(
            self,
            dag_id,
            since=since,
            until=until,
            event=event,
            dag_run_id=run_id,
            task_id=task_id,
            limit=limit,
        )
        return event_logs_frame(logs)
