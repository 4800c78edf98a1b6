"""The columns of the asset, XCom, task-try and event-log DataFrames, and the frames of their models.

Same conventions as :mod:`.schemas`: UTC ``datetime64[us, UTC]`` times, nullable integers,
``string`` text, lists and JSON values in ``object`` columns; an empty result has the same columns
and dtypes.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ..airflow.asset_models import Asset, AssetEvent
from ..airflow.event_log_models import EventLog
from ..airflow.models import TaskInstance
from ..airflow.xcom_models import XCom
from .frames import task_instances_frame
from .schemas import Column, Schema

__all__ = [
    "ASSETS",
    "ASSET_EVENTS",
    "EVENT_LOGS",
    "XCOMS",
    "asset_events_frame",
    "assets_frame",
    "event_logs_frame",
    "task_tries_frame",
    "xcoms_frame",
]

ASSETS = Schema(
    "assets",
    (
        Column("asset_id", "int"),
        Column("name", "str"),
        Column("uri", "str"),
        Column("group", "str"),
        Column("scheduled_dags", "object"),
        Column("producing_dags", "object"),
        Column("producing_tasks", "object"),
        Column("consuming_dags", "object"),
        Column("extra", "object"),
        Column("created_at", "datetime"),
        Column("updated_at", "datetime"),
        Column("last_event_at", "datetime"),
    ),
)

ASSET_EVENTS = Schema(
    "asset_events",
    (
        Column("event_id", "int"),
        Column("asset_id", "int"),
        Column("name", "str"),
        Column("uri", "str"),
        Column("timestamp", "datetime"),
        Column("source_dag_id", "str"),
        Column("source_task_id", "str"),
        Column("source_run_id", "str"),
        Column("source_map_index", "int"),
        Column("extra", "object"),
        Column("created_dag_runs", "object"),
    ),
)

XCOMS = Schema(
    "xcoms",
    (
        Column("dag_id", "str"),
        Column("dag_run_id", "str"),
        Column("task_id", "str"),
        Column("map_index", "int"),
        Column("key", "str"),
        Column("value", "object"),
        Column("timestamp", "datetime"),
        Column("logical_date", "datetime"),
        Column("run_after", "datetime"),
    ),
)

EVENT_LOGS = Schema(
    "event_logs",
    (
        Column("event_log_id", "int"),
        Column("when", "datetime"),
        Column("event", "str"),
        Column("dag_id", "str"),
        Column("dag_run_id", "str"),
        Column("task_id", "str"),
        Column("map_index", "int"),
        Column("try_number", "int"),
        Column("logical_date", "datetime"),
        Column("owner", "str"),
        Column("extra", "str"),
    ),
)


def _ordered(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    ordered: pd.DataFrame = frame.sort_values(by, kind="stable", na_position="last").reset_index(drop=True)
    return ordered


def assets_frame(assets: Iterable[Asset]) -> pd.DataFrame:
    """One row per asset, ordered by name; the DAGs and tasks as lists (``"dag_id.task_id"``)."""
    rows = [
        {
            **asset.model_dump(exclude={"producing_tasks", "consuming_tasks"}),
            "producing_dags": asset.producing_dags,
            "producing_tasks": [f"{t.dag_id}.{t.task_id}" for t in asset.producing_tasks],
            "consuming_dags": asset.consuming_dags,
        }
        for asset in assets
    ]
    return _ordered(ASSETS.frame(rows), ["name", "asset_id"])


def asset_events_frame(events: Iterable[AssetEvent]) -> pd.DataFrame:
    """One row per asset event, oldest first; ``created_dag_runs`` lists the runs each one took part
    in as dicts (``dag_id``, ``dag_run_id``, ``state``, ``triggering``: this event started it)."""
    rows = [
        {
            **event.model_dump(exclude={"created_dag_runs"}),
            "created_dag_runs": [
                {
                    "dag_id": run.dag_id,
                    "dag_run_id": run.dag_run_id,
                    "state": None if run.state is None else str(run.state),
                    "triggering": run.triggering,
                }
                for run in event.created_dag_runs
            ],
        }
        for event in events
    ]
    return _ordered(ASSET_EVENTS.frame(rows), ["timestamp", "event_id"])


def xcoms_frame(xcoms: Iterable[XCom]) -> pd.DataFrame:
    """One row per (run, task, map index, key), runs in the order they were due."""
    frame = XCOMS.frame([xcom.model_dump() for xcom in xcoms])
    return _ordered(frame, ["run_after", "dag_run_id", "task_id", "map_index", "key"])


def task_tries_frame(tries: Iterable[TaskInstance]) -> pd.DataFrame:
    """The tries of a task instance as the ``task_instances`` view (one row per try)."""
    return task_instances_frame([ti.model_dump() for ti in tries])


def event_logs_frame(logs: Iterable[EventLog]) -> pd.DataFrame:
    """One row per event log entry, in the order Airflow recorded them."""
    return _ordered(EVENT_LOGS.frame([log.model_dump() for log in logs]), ["event_log_id"])
