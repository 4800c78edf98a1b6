"""Kestra's run history as rows: every page of an execution search, read concurrently, and the
task runs of those executions (``GET /executions/search`` has no task runs on 2.0, and Kestra's
open-source API no task run search: each execution is then read, concurrently too).

Each page is turned into compact rows as soon as it arrives, so a history of many thousands of
executions holds its rows, never its JSON pages (``benchmarks/kestra_history.py`` measures it).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..transport.effects import Op, gather
from .errors import KestraError
from .executions import KESTRA_STATES, TERMINAL, execution_row, kestra_state, parse_date
from .session import segment

if TYPE_CHECKING:
    from ..history.schemas import Schema
    from .server import KestraOperations

__all__ = ["PAGE_SIZE", "search_rows", "task_run_rows", "task_runs_schema"]

#: executions per search page when reading them all
PAGE_SIZE = 100
#: pages (or executions) read at once
CONCURRENCY = 4

Row = dict[str, Any]


@functools.cache
def task_runs_schema() -> Schema:
    """The columns and dtypes of :meth:`KestraServer.task_runs` (one row per task run)."""
    from ..history.schemas import Column, Schema
    from .accessor import register_kestra_accessor

    register_kestra_accessor()  # its frames have df.kestra

    return Schema(
        "kestra_task_runs",
        (
            Column("id", "str"),
            Column("execution_id", "str"),
            Column("namespace", "str"),
            Column("flow_id", "str"),
            Column("task_id", "str"),
            Column("parent_task_run_id", "str"),
            Column("value", "str"),
            Column("state", "category", KESTRA_STATES),
            Column("attempts", "int"),
            Column("start_date", "datetime"),
            Column("end_date", "datetime"),
            Column("duration", "duration"),
        ),
    )


def task_run_rows(body: Any) -> list[Row]:
    """The task runs of one execution body as rows of :func:`task_runs_schema`."""
    if not isinstance(body, dict):
        return []
    rows = []
    for item in body.get("taskRunList") or []:
        if not isinstance(item, dict) or not item.get("id"):
            continue
        current = kestra_state(item)
        start = parse_date(item, "startDate")
        end = parse_date(item, "endDate") if current in TERMINAL else None
        rows.append(
            {
                "id": str(item["id"]),
                "execution_id": body.get("id"),
                "namespace": body.get("namespace"),
                "flow_id": body.get("flowId"),
                "task_id": item.get("taskId"),
                "parent_task_run_id": item.get("parentTaskRunId"),
                "value": item.get("value"),
                "state": current or None,
                "attempts": len(item.get("attempts") or []),
                "start_date": start.isoformat() if start else None,
                "end_date": end.isoformat() if end else None,
                "duration": end - start if start and end else None,
            }
        )
    return rows


def search_params(
    namespace: str | None, flow_id: str | None, state: str | None, since: datetime | None
) -> list[tuple[str, str]]:
    """Kestra's query filters (``filters[field][OP]=value``) for an execution search."""
    params: list[tuple[str, str]] = []
    for field, value in (("namespace", namespace), ("flowId", flow_id), ("state", state)):
        if value is not None:
            if not isinstance(value, str) or not value:
                raise KestraError(f"{field}: expected a non-empty string, got {value!r}")
            params.append((f"filters[{field}][EQUALS]", value))
    if since is not None:
        if not isinstance(since, datetime) or since.tzinfo is None:
            raise KestraError(f"since: expected a timezone-aware datetime, got {since!r}")
        params.append(("filters[startDate][GREATER_THAN_OR_EQUAL_TO]", since.isoformat()))
    return params


def search_page(
    server: KestraOperations, params: list[tuple[str, Any]], page: int, size: int
) -> Op[tuple[list[Any], int]]:
    """Operation: one page of ``GET /executions/search``: its results and Kestra's total."""
    body = yield from server._call(
        "GET",
        "/executions/search",
        action=f"Searching executions (page {page})",
        params=[("page", page), ("size", size), ("sort", "state.startDate:desc"), *params],
    )
    results = body.get("results") if isinstance(body, dict) else None
    total = body.get("total") if isinstance(body, dict) else None
    if not isinstance(results, list):
        raise KestraError(f"Searching executions: expected Kestra's paged results, got {str(body)[:200]!r}")
    return results, total if isinstance(total, int) and not isinstance(total, bool) else len(results)


def search_rows(
    server: KestraOperations, params: list[tuple[str, Any]], to_rows: Callable[[list[Any]], Op[list[Row]]]
) -> Op[list[Row]]:
    """Operation: every page of an execution search, pages after the first read ``CONCURRENCY`` at a
    time; ``to_rows`` turns each page's results into rows as it arrives (the pages are not kept)."""
    first, total = yield from search_page(server, params, 1, PAGE_SIZE)
    rows = yield from to_rows(first)
    pages = math.ceil(total / PAGE_SIZE)

    def page(number: int) -> Op[list[Row]]:
        results, _ = yield from search_page(server, params, number, PAGE_SIZE)
        return (yield from to_rows(results))

    for more in (yield from gather((page(n) for n in range(2, pages + 1)), CONCURRENCY)):
        rows.extend(more)
    return rows


def with_task_runs(server: KestraOperations, results: list[Any]) -> Op[list[Row]]:
    """Operation: the task run rows of a page of search results; an execution the search sent
    without its task runs (Kestra 2.0) is read (``GET /executions/{id}``), ``CONCURRENCY`` at a time."""
    rows: list[Row] = []
    missing = []
    for item in results:
        if isinstance(item, dict) and isinstance(item.get("taskRunList"), list):
            rows.extend(task_run_rows(item))
        elif isinstance(item, dict) and item.get("id"):
            missing.append(str(item["id"]))

    def read(execution_id: str) -> Op[list[Row]]:
        body = yield from server._call(
            "GET", f"/executions/{segment(execution_id)}", action=f"Reading execution {execution_id}"
        )
        return task_run_rows(body)

    for more in (yield from gather((read(i) for i in missing), CONCURRENCY)):
        rows.extend(more)
    return rows


def execution_rows(results: list[Any]) -> Op[list[Row]]:
    """Operation (no effect): the rows of a page of search results."""
    return [row for row in map(execution_row, results) if row is not None]
    yield  # pragma: no cover - a generator, for search_rows
