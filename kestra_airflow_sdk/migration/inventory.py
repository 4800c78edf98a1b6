"""The inventory of an Airflow: one row per DAG, what a team looks at to plan which DAGs to move first.

Gentle on the server: one listing of the DAGs, the runs of the window in one filtered export (the
batch endpoint for several DAGs, cursor pages where offered), one ``/tasks`` request per DAG (four in
flight) and, only for DAGs without a run in the window, one request for their latest run. The
``native`` column is opt-in (``native=True``): it reads each DAG's source file (one more request per
DAG) and translates the DAG from the task rows already read, with no other request. The ``assets``
column costs one ``/details`` request per DAG scheduled by assets (datasets on Airflow 2), none for
the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd

from ..airflow import pagination
from ..airflow.arguments import aware
from ..airflow.core import ClientCore
from ..airflow.errors import InvalidArgumentError, NotFoundError, PermissionDeniedError
from ..airflow.fetch import RunQuery, fetch_runs
from ..airflow.models import AirflowDag, AirflowDagTask, DagRunState
from ..airflow.operations.dag_details import DagDetails
from ..airflow.pagination import parse_rows
from ..history.frames import runs_frame
from ..history.schemas import Column, Schema
from ..transport.effects import Op, gather
from .dag_reads import DagDefinition, DefinedTask
from .native import translate_dag
from .parity_check import last_parity
from .schedules import map_schedule
from .selection import selected_dags

__all__ = ["INVENTORY", "inventory_op", "scheduling_assets"]

INVENTORY = Schema(
    "inventory",
    (
        Column("dag_id", "str"),
        Column("description", "str"),
        Column("owners", "object"),
        Column("tags", "object"),
        Column("is_paused", "bool"),
        Column("schedule", "str"),
        Column("cron", "str"),
        Column("assets", "object"),
        Column("tasks", "int"),
        Column("operators", "object"),
        Column("last_run_state", "category", tuple(s.value for s in DagRunState)),
        Column("last_run_at", "datetime"),
        Column("runs", "int"),
        Column("success_rate", "float"),
        Column("p50_duration", "duration"),
        Column("p95_duration", "duration"),
        Column("native", "bool"),
        Column("parity", "bool"),
    ),
)
"""Columns of :meth:`~kestra_airflow_sdk.AirflowClient.inventory`: ``schedule`` as Airflow reports it,
``cron`` the Kestra cron it maps to (missing when it cannot: see :func:`map_schedule`), ``assets`` the
assets whose events schedule the DAG (see :func:`scheduling_assets`; ``[]`` for a DAG not scheduled by
assets, missing when Airflow would not serve its details), ``tasks`` the
number of tasks, ``operators`` their distinct operator names, ``last_run_*`` the DAG's latest run
(by the time it was due), ``runs`` / ``success_rate`` / ``p50_duration`` / ``p95_duration`` over
the window (success rate and durations of finished runs), ``native`` whether every task translates
to a native Kestra task (:func:`~kestra_airflow_sdk.migration.native_flow_for_dag`; only with
``native=True``, missing otherwise or when Airflow serves no source for the DAG), ``parity`` the result
of the last :func:`~kestra_airflow_sdk.migration.parity` of the DAG on this machine (missing: never
checked)."""


def _window_stats(runs: pd.DataFrame) -> dict[str, dict[str, Any]]:
    stats: dict[str, dict[str, Any]] = {}
    for dag_id, group in runs.groupby("dag_id", sort=False, observed=True):
        finished = group[group["state"].isin(["success", "failed"])]
        durations = finished["duration"].dropna()
        latest = group.sort_values("run_after").iloc[-1]
        stats[str(dag_id)] = {
            "runs": len(group),
            "success_rate": (finished["state"] == "success").mean() if len(finished) else None,
            "p50_duration": durations.quantile(0.5) if len(durations) else None,
            "p95_duration": durations.quantile(0.95) if len(durations) else None,
            "last_run_state": latest["state"],
            "last_run_at": latest["run_after"],
        }
    return stats


def scheduling_assets(expression: Any) -> list[str]:
    """The assets named in a DAG's schedule expression, in order, each once.

    ``expression`` is the ``asset_expression`` of Airflow 3's ``GET /dags/{id}/details`` (since
    3.0.0: ``{"asset": {"name", "uri", "group"}}``, ``{"asset_ref": {"name"} or {"uri"}}``,
    ``{"alias": {"name", "group"}}``, nested in ``{"any": [...]}`` / ``{"all": [...]}``) or the
    ``dataset_expression`` of Airflow 2.9+ (a dataset's URI, ``{"alias": name}``, ``any`` / ``all``).
    An asset is named by its name (Airflow 2: its URI), an alias as ``alias:<name>``.

    Example:
        >>> scheduling_assets({"any": [{"asset": {"name": "orders", "uri": "s3://o"}}, {"alias": {"name": "a"}}]})
        ['orders', 'alias:a']
    """
    names: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            names.append(node)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in ("any", "all"):
                    walk(value)
                elif key in ("asset", "asset_ref", "dataset") and isinstance(value, dict):
                    name = value.get("name") or value.get("uri")
                    if isinstance(name, str) and name:
                        names.append(name)
                elif key == "alias":
                    alias = value.get("name") if isinstance(value, dict) else value
                    if isinstance(alias, str) and alias:
                        names.append(f"alias:{alias}")

    walk(expression)
    return list(dict.fromkeys(names))


def _asset_scheduled(dag: AirflowDag) -> bool:
    """Whether the DAG's schedule (as Airflow summarises it) involves assets or datasets:
    ``Asset``, ``Asset or <cron>``, ``Partitioned Asset``, ``Dataset``, ``Unresolved AssetAlias``..."""
    text = (dag.schedule or "").lower()
    return "asset" in text or "dataset" in text


def _assets_or_none(client: ClientCore, dag_id: str) -> Op[list[str] | None]:
    """The assets that schedule the DAG, from its details; None when Airflow serves none."""
    try:
        details: DagDetails = yield from ClientCore.get_dag_details.fn(client, dag_id)
    except (NotFoundError, PermissionDeniedError):
        return None
    raw = details.raw
    return scheduling_assets(raw.get("asset_expression") or raw.get("dataset_expression"))


def _source_or_none(client: ClientCore, dag: AirflowDag) -> Op[str | None]:
    """The DAG's source text; None when Airflow serves none for it (no file, not allowed to read it)."""
    try:
        text: str = yield from ClientCore.get_dag_source.fn(client, dag.dag_id, file_token=dag.file_token)
    except (NotFoundError, PermissionDeniedError):
        return None
    return text or None


def _is_native(
    client: ClientCore, dag: AirflowDag, rows: list[dict[str, Any]], source: str | None
) -> bool | None:
    """Whether every task of the DAG translates natively (None: no source to read). The params do
    not decide whether a task translates, so the details are not read."""
    if source is None:
        return None
    definition = DagDefinition(
        dag=dag, tasks=tuple(DefinedTask.from_rest(row) for row in rows), source=source
    )
    return translate_dag(definition, namespace="inventory", base_url=client.base_url).native


def inventory_op(
    client: ClientCore,
    dag_ids: str | Iterable[str] | None,
    *,
    since: datetime | None,
    window: timedelta,
    native: bool = False,
) -> Op[pd.DataFrame]:
    """The inventory frame (columns: :data:`INVENTORY`), one row per DAG ordered by ``dag_id``;
    ``native``: fill the ``native`` column (one more request per DAG: its source file)."""
    if not isinstance(native, bool):
        raise InvalidArgumentError(f"native: expected True or False, got {native!r}")
    if since is None:
        if not isinstance(window, timedelta) or window <= timedelta(0):
            raise InvalidArgumentError(f"window: expected a positive timedelta, got {window!r}")
        since = datetime.now(timezone.utc) - window
    since = aware(since, "since")
    all_dags: list[AirflowDag] = yield from ClientCore.list_dags.fn(client)
    dags = sorted(selected_dags(all_dags, dag_ids), key=lambda dag: dag.dag_id)
    if not dags:
        return INVENTORY.empty()
    ids = tuple(dag.dag_id for dag in dags)
    task_rows: list[list[dict[str, Any]]] = yield from gather(
        (ClientCore.get_dag_tasks.fn(client, dag_id) for dag_id in ids), pagination.PAGE_CONCURRENCY
    )
    tasks: list[list[AirflowDagTask]] = [parse_rows(AirflowDagTask, rows) for rows in task_rows]
    sources: list[str | None] = (
        (yield from gather((_source_or_none(client, dag) for dag in dags), pagination.PAGE_CONCURRENCY))
        if native
        else [None] * len(dags)
    )
    scheduled = [dag.dag_id for dag in dags if _asset_scheduled(dag)]
    found: list[list[str] | None] = yield from gather(
        (_assets_or_none(client, dag_id) for dag_id in scheduled), pagination.PAGE_CONCURRENCY
    )
    assets = dict(zip(scheduled, found, strict=True))
    query = RunQuery(dag_ids=None if dag_ids is None else ids, since=since)
    stats = _window_stats(runs_frame((yield from fetch_runs(client, query))))
    quiet = [dag_id for dag_id in ids if dag_id not in stats]
    latest_rows = yield from gather(
        (fetch_runs(client, RunQuery(dag_ids=(d,), newest_first=True, limit=1)) for d in quiet),
        pagination.PAGE_CONCURRENCY,
    )
    latest = runs_frame([rows[0] for rows in latest_rows if rows])
    for _, run in latest.iterrows():
        stats[str(run["dag_id"])] = {
            "runs": 0,
            "last_run_state": run["state"],
            "last_run_at": run["run_after"],
        }
    rows = []
    for dag, dag_tasks, rows_of_dag, source in zip(dags, tasks, task_rows, sources, strict=True):
        row: dict[str, Any] = {
            "dag_id": dag.dag_id,
            "description": dag.description,
            "owners": list(dag.owners),
            "tags": sorted(dag.tags),
            "is_paused": dag.is_paused,
            "schedule": dag.schedule,
            "cron": map_schedule(dag.schedule).cron,
            "assets": assets.get(dag.dag_id, []),
            "tasks": len(dag_tasks),
            "operators": sorted({t.operator_name for t in dag_tasks if t.operator_name}),
            "runs": 0,
            "native": _is_native(client, dag, rows_of_dag, source) if native else None,
            "parity": last_parity(dag.dag_id),
        }
        row.update({k: None if pd.isna(v) else v for k, v in stats.get(dag.dag_id, {}).items()})
        rows.append(row)
    return INVENTORY.frame(rows)
