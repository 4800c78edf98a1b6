"""Operations on XComs: list the entries of runs and tasks, read one value, write one.

Reading works on Airflow 2 (``/api/v1``) and Airflow 3 (``/api/v2``) alike:
``GET .../taskInstances/{task_id}/xcomEntries`` (``~`` for every run or task) lists the entries,
without their values; ``GET .../xcomEntries/{key}?stringify=false`` reads one value as JSON.
Writing (``POST .../xcomEntries``, ``PATCH .../xcomEntries/{key}``) came with Airflow 3.0.0.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from ...transport.effects import Op, gather
from ...transport.operation import operation
from ..arguments import limit as checked_limit
from ..arguments import segment
from ..errors import ConflictError, InvalidArgumentError
from ..features import Feature, require
from ..pagination import PAGE_CONCURRENCY, pages, parse_rows
from ..session import Session
from ..versions import ApiVersion
from ..xcom_models import XCom

__all__ = ["XCOM_WRITES", "XComOperations", "read_values"]

#: creating and updating XCom entries over REST (Airflow 3.0.0)
XCOM_WRITES = Feature("XCom writes", "3.0.0")


def _map_index(value: int | None, name: str = "map_index") -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < -1):
        raise InvalidArgumentError(f"{name}: expected an integer >= -1 (-1: not mapped), got {value!r}")
    return value


def _key(value: str | None, *, optional: bool) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(f"key: expected a non-empty XCom key (str), got {value!r}")
    return value


def _entries_path(dag_id: str, dag_run_id: str | None, task_id: str | None) -> str:
    run = "~" if dag_run_id is None else segment(dag_run_id, "dag_run_id")
    task = "~" if task_id is None else segment(task_id, "task_id")
    return f"/dags/{segment(dag_id, 'dag_id')}/dagRuns/{run}/taskInstances/{task}/xcomEntries"


def _instance_path(dag_id: str, dag_run_id: str, task_id: str) -> str:
    """The entries path of one task instance: all three ids required (None is not "every")."""
    for value, name in ((dag_id, "dag_id"), (dag_run_id, "dag_run_id"), (task_id, "task_id")):
        segment(value, name)
    return _entries_path(dag_id, dag_run_id, task_id)


def list_entries(
    session: Session,
    dag_id: str,
    dag_run_id: str | None,
    task_id: str | None,
    *,
    key: str | None,
    map_index: int | None,
    limit: int | None,
) -> Op[list[XCom]]:
    """Operation: the XCom entries (no values) of one run or every run (``None``: ``~``), one task
    or every task, one key or every key; all pages."""
    path = _entries_path(dag_id, dag_run_id, task_id)
    where = f"run {dag_run_id!r}" if dag_run_id is not None else "every run"
    rows = yield from pages(
        session,
        path,
        "xcom_entries",
        action=f"Listing the XComs of DAG {dag_id!r} ({where})",
        params={"xcom_key": key, "map_index": map_index},
        limit=limit,
    )
    dialect = yield from session._dialect()
    if dialect.version is ApiVersion.V1:  # Airflow 2's entries name their run by execution_date only
        if dag_run_id is not None:
            rows = [{**row, "dag_run_id": dag_run_id} for row in rows]
        else:
            runs = yield from _runs_by_date(session, dag_id)
            rows = [{**row, "dag_run_id": runs.get(_when(row.get("execution_date")) or "")} for row in rows]
    return parse_rows(XCom, rows)


def _when(value: Any) -> str | None:
    """An ISO time as one canonical text (UTC), so that the same instant always reads the same."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat()


def _runs_by_date(session: Session, dag_id: str) -> Op[dict[str, str]]:
    """Operation (Airflow 2): the DAG's run ids by execution date (unique per DAG there); one listing."""
    rows = yield from pages(
        session,
        f"/dags/{segment(dag_id, 'dag_id')}/dagRuns",
        "dag_runs",
        action=f"Listing the runs of DAG {dag_id!r} (to name the runs of its XComs)",
        params={},
        limit=None,
    )
    return {
        when: str(row["dag_run_id"])
        for row in rows
        if (when := _when(row.get("execution_date") or row.get("logical_date"))) and row.get("dag_run_id")
    }


def read_value(session: Session, entry: XCom) -> Op[XCom]:
    """Operation: ``entry`` with its value (``GET .../xcomEntries/{key}``, as JSON)."""
    path = f"{_entries_path(entry.dag_id, entry.dag_run_id, entry.task_id)}/{segment(entry.key, 'key')}"
    body = yield from session._call(
        "GET",
        path,
        action=f"Reading XCom {entry.key!r} of task {entry.task_id!r} in DAG run {entry.dag_run_id!r}",
        params={"map_index": entry.map_index, "stringify": "false"},
    )
    # Airflow 2's answer has no run id: the entry's is that run's
    return XCom.model_validate({**body, "dag_run_id": entry.dag_run_id} if isinstance(body, dict) else body)


def read_values(session: Session, entries: Iterable[XCom]) -> Op[list[XCom]]:
    """Operation: the entries with their values, one request each, at most ``PAGE_CONCURRENCY``
    (and the client's ``max_connections``) in flight; in the entries' order."""
    in_flight = min(PAGE_CONCURRENCY, session.max_connections)
    return (yield from gather((read_value(session, entry) for entry in entries), in_flight))


class XComOperations(Session):
    """The XCom operations of both clients."""

    @operation
    def list_xcoms(
        self,
        dag_id: str,
        dag_run_id: str | None = None,
        task_id: str | None = None,
        *,
        key: str | None = "return_value",
        map_index: int | None = None,
        limit: int | None = None,
    ) -> Op[list[XCom]]:
        """The XCom entries of a DAG's runs, all pages fetched, **without their values** (Airflow's
        list does not carry them: :meth:`get_xcom` reads one, the ``xcoms()`` DataFrame reads all).

        Args:
            dag_id: the DAG.
            dag_run_id: one run, or None for every run (one listing, ``~``).
            task_id: one task, or None for every task.
            key: one key (default ``"return_value"``, what tasks return), or None for every key.
            map_index: one map index of a mapped task (-1: not mapped), or None for all.
            limit: stop after this many entries.
        """
        checked_limit(limit)
        return (
            yield from list_entries(
                self,
                dag_id,
                dag_run_id,
                task_id,
                key=_key(key, optional=True),
                map_index=_map_index(map_index),
                limit=limit,
            )
        )

    @operation
    def get_xcom(
        self,
        dag_id: str,
        dag_run_id: str,
        task_id: str,
        key: str = "return_value",
        *,
        map_index: int = -1,
    ) -> Op[XCom]:
        """One XCom entry with its value, as JSON (``stringify=false``): the dict, list, number or
        string the task pushed. Raises :class:`NotFoundError` when there is none."""
        _instance_path(dag_id, dag_run_id, task_id)
        index = _map_index(map_index)
        entry = XCom(
            dag_id=dag_id,
            dag_run_id=dag_run_id,
            task_id=task_id,
            key=str(_key(key, optional=False)),
            map_index=-1 if index is None else index,
        )
        return (yield from read_value(self, entry))

    @operation
    def set_xcom(
        self,
        dag_id: str,
        dag_run_id: str,
        task_id: str,
        key: str,
        value: Any,
        *,
        map_index: int = -1,
    ) -> Op[XCom]:
        """Write an XCom entry (Airflow 3.0.0+): created, or updated when the key is there already.
        ``value`` must be JSON-serialisable. Returns the entry as Airflow stored it."""
        checked = str(_key(key, optional=False))
        index = _map_index(map_index)
        index = -1 if index is None else index
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidArgumentError(f"value: must be JSON-serialisable: {exc}") from None
        path = _instance_path(dag_id, dag_run_id, task_id)
        yield from require(self, XCOM_WRITES)
        action = f"Writing XCom {checked!r} of task {task_id!r} in DAG run {dag_run_id!r}"
        try:
            body = yield from self._call(
                "POST", path, action=action, json_body={"key": checked, "value": value, "map_index": index}
            )
        except ConflictError:
            body = yield from self._call(
                "PATCH",
                f"{path}/{segment(checked, 'key')}",
                action=action,
                json_body={"value": value, "map_index": index},
            )
        return XCom.model_validate(body)
