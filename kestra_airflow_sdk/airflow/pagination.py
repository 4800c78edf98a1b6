"""Collections, every page of them: Airflow 3.3 cursors where offered, concurrent offset pages otherwise.

Operations of every layer page through these functions (rows stay plain dicts until a caller
parses them). Pages are as large as the server allows: it silently clamps ``limit``, so the loops
advance by the number of items received.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..transport.effects import Op, gather
from .errors import ApiError
from .session import Session

__all__ = [
    "PAGE_CONCURRENCY",
    "PAGE_SIZE",
    "Page",
    "by_offsets",
    "offset_pages",
    "page",
    "pages",
    "paginate",
    "parse_rows",
    "stream_pages",
]

logger = logging.getLogger("kestra_airflow_sdk")

M = TypeVar("M", bound=BaseModel)
Row = dict[str, Any]
#: one page: the response body and its rows
Page = tuple[Row, list[Row]]

#: the largest page asked for; the server silently clamps it to its ``maximum_page_limit``
PAGE_SIZE = 1000
#: offset pages in flight at once once the first page told the total (servers without cursors)
PAGE_CONCURRENCY = 4


def page_size(limit: int | None, received: int) -> int:
    """Ask for the largest page (the server clamps it), or just what the caller's limit still needs."""
    return PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - received)


def page(
    session: Session,
    method: str,
    path: str,
    key: str,
    *,
    action: str,
    params: Mapping[str, Any] | None = None,
    json_body: Any = None,
) -> Op[Page]:
    """Operation: one page of a collection, the body and its rows (the list under ``key``)."""
    body = yield from session._call(method, path, action=action, params=params, json_body=json_body)
    if not isinstance(body, dict):
        raise ApiError(
            f"{action}: expected a JSON object from Airflow, got {type(body).__name__}", status=200
        )
    rows = body.get(key) or []
    return body, [row for row in rows if isinstance(row, dict)]


def offset_pages(
    fetch: Callable[[int, int], Op[Page]], *, size: int, received: int, end: int
) -> Op[list[Row]]:
    """Operation: the offset pages from ``received`` to ``end``, ``PAGE_CONCURRENCY`` in flight, in order.

    For servers without cursors, once the first page told the total: ``size`` is what the server
    answered for it (the clamped page size), ``fetch(offset, limit)`` fetches one page.
    """
    offsets = range(received, end, max(size, 1))
    fetched = yield from gather(
        (fetch(offset, min(size, end - offset)) for offset in offsets), PAGE_CONCURRENCY
    )
    return [row for _, rows in fetched for row in rows]


def _complete(body: Mapping[str, Any], received: int) -> bool:
    """True when a cursor page's ``total_entries`` (exact below ``total_entries_limit``) is reached:
    saves the request that would only return an empty last page."""
    total, cap = body.get("total_entries"), body.get("total_entries_limit")
    if not isinstance(total, int) or (isinstance(cap, int) and total >= cap):
        return False
    return received >= total


def by_offsets(
    fetch: Callable[[int, int], Op[Page]],
    *,
    limit: int | None,
    stop: Callable[[list[Row]], bool] | None = None,
    received: Page | None = None,
) -> Op[list[Row]]:
    """Operation: every offset page of a collection, ``fetch(offset, size)`` fetching one.

    The first page tells ``total_entries``; the others are then fetched ``PAGE_CONCURRENCY`` at a
    time (sequentially when ``stop(rows)`` may end the export early, or after a short page).
    ``received``: the first page, when the caller has fetched it already.
    """
    rows: list[Row] = list(received[1]) if received is not None else []
    concurrent = stop is None
    answer = received
    while answer is not None or limit is None or len(rows) < limit:
        if answer is None:
            answer = yield from fetch(len(rows), page_size(limit, len(rows)))
            rows.extend(answer[1])
            if stop is not None and stop(rows):
                break
        (body, got), answer = answer, None
        total = body.get("total_entries")
        if not got or (isinstance(total, int) and len(rows) >= total):
            break
        if concurrent and isinstance(total, int):
            concurrent = False  # once; a page that came back short continues sequentially
            end = total if limit is None else min(total, limit)
            more = yield from offset_pages(fetch, size=len(got), received=len(rows), end=end)
            rows.extend(more)
            if not more or len(rows) >= end:
                break
    return rows[:limit] if limit is not None else rows


def pages(
    session: Session,
    path: str,
    key: str,
    *,
    action: str,
    params: Mapping[str, Any],
    limit: int | None,
    stop: Callable[[list[Row]], bool] | None = None,
) -> Op[list[Row]]:
    """Operation: every page of a GET collection, as plain dict rows.

    Uses Airflow 3.3's cursor pagination where the server offers it (sequential, constant cost
    per page). Otherwise offsets (:func:`by_offsets`): once the first page gave ``total_entries``,
    the other pages are fetched ``PAGE_CONCURRENCY`` at a time. Asks for the largest page
    (``PAGE_SIZE``) and advances by the number of items actually received (servers silently clamp
    ``limit``); stops at ``total_entries``, an empty page, the caller's ``limit`` or when
    ``stop(rows)`` says so.
    """
    dialect = yield from session._dialect()

    def at_offset(offset: int, size: int) -> Op[Page]:
        query = {**params, "limit": size, "offset": offset}
        return page(session, "GET", path, key, action=action, params=query)

    if not dialect.cursor_pagination:
        return (yield from by_offsets(at_offset, limit=limit, stop=stop))
    rows: list[Row] = []
    cursor = ""
    while limit is None or len(rows) < limit:
        query = {**params, "limit": page_size(limit, len(rows)), "cursor": cursor}
        body, got = yield from page(session, "GET", path, key, action=action, params=query)
        if "next_cursor" not in body and not rows:
            # an Airflow 3 older than 3.3 ignores the cursor: that was the first offset page
            if stop is not None and stop(got):
                return got[:limit] if limit is not None else got
            return (yield from by_offsets(at_offset, limit=limit, stop=stop, received=(body, got)))
        rows.extend(got)
        if stop is not None and stop(rows):
            break
        cursor = body.get("next_cursor") or ""
        if not cursor or not got or _complete(body, len(rows)):
            break
    return rows[:limit] if limit is not None else rows


def stream_pages(
    session: Session,
    path: str,
    key: str,
    *,
    action: str,
    params: Mapping[str, Any],
    on_page: Callable[[list[Row]], int],
) -> Op[int]:
    """Operation: every page of a GET collection handed to ``on_page`` as it arrives; the row count.

    Nothing is kept here, so an export holds one page per stream at a time. ``on_page(rows)``
    returns how many of the page's rows are new to it (a row a page repeats is not counted: the
    stream stops at an exact ``total_entries`` of distinct rows, and returns their number). For
    servers that offer Airflow 3.3's cursors: it follows ``next_cursor`` (largest pages, stopping at
    an exact ``total_entries``); an Airflow 3 older than 3.3 ignores the cursor, and the stream goes
    on with offset pages, one after the other (advancing by the rows received).
    """
    received, new, cursor, by_offset = 0, 0, "", False
    while True:
        position = {"offset": received} if by_offset else {"cursor": cursor}
        query = {**params, "limit": PAGE_SIZE, **position}
        body, got = yield from page(session, "GET", path, key, action=action, params=query)
        by_offset = by_offset or "next_cursor" not in body
        new += on_page(got)
        received += len(got)
        if by_offset:
            total = body.get("total_entries")
            if not got or (isinstance(total, int) and received >= total):
                return new
            continue
        cursor = body.get("next_cursor") or ""
        if not got or not cursor or _complete(body, new):
            return new


def parse_rows(model: type[M], rows: Iterable[Any]) -> list[M]:
    """Parse rows into ``model``; one odd row is logged and skipped, never fails the page."""
    parsed = []
    for row in rows:
        try:
            parsed.append(model.model_validate(row))
        except ValidationError as exc:
            logger.warning("skipping a %s Airflow returned that does not parse: %s", model.__name__, exc)
    return parsed


def paginate(
    session: Session,
    path: str,
    key: str,
    model: type[M],
    *,
    action: str,
    params: Mapping[str, Any],
    limit: int | None,
) -> Op[list[M]]:
    """Operation: every page of a collection (see :func:`pages`), parsed into ``model``."""
    rows = yield from pages(session, path, key, action=action, params=params, limit=limit)
    return parse_rows(model, rows)
