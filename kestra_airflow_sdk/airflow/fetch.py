"""Fast, server-friendly export of runs and task instances as raw (normalised) rows.

Filters are pushed to the server; pages are as large as the server allows (it silently clamps
``limit``, so the loop advances by the number of items received); Airflow 3.3's cursor pagination is
used where the server offers it (constant cost per page, no COUNT/OFFSET), offsets otherwise. Full
exports of many DAGs read one cursor stream per DAG there (:func:`dag_streams`, runs and task
instances alike); elsewhere many DAGs at once go through the batch endpoints
``POST /dags/~/dagRuns/list`` and ``POST /dags/~/dagRuns/~/taskInstances/list``. Rows stay plain
dicts (no model per row): memory is proportional to the result and parsing stays cheap. Task
instances: :mod:`.task_instances`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast

from ..transport.effects import Op, gather
from . import arguments
from .errors import NotFoundError
from .models import DagRun, DagRunState
from .pagination import Page, by_offsets, page, pages, stream_pages
from .session import Session

__all__ = [
    "EXPORT_STREAMS",
    "RowSink",
    "RunQuery",
    "dag_streams",
    "export_runs",
    "fetch_runs",
    "post_pages",
    "requested_dags",
]

Row = dict[str, Any]

# the models' own "before" validators make v1 and v2 rows one shape, without building a model per row
_normal_run = cast(Callable[[Row], Row], DagRun._normalise)


def requested_dags(dag_id: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """``None`` (all DAGs), or the DAG ids asked for, validated and de-duplicated in order."""
    if dag_id is None:
        return None
    ids = [dag_id] if isinstance(dag_id, str) else list(dag_id)
    for one in ids:
        arguments.segment(one, "dag_id")
    return tuple(dict.fromkeys(ids))


@dataclass(frozen=True)
class RunQuery:
    """What a run export asks for: DAGs, states and a window on the time runs were due.

    ``since`` / ``until`` filter on ``run_after`` (Airflow 3) or ``execution_date`` (Airflow 2),
    inclusive; ``updated_since`` asks only for runs changed at or after that time (the incremental
    refresh); ``run_ids``, when given, keeps only those runs (filtered on the client).
    """

    dag_ids: tuple[str, ...] | None = None
    states: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    updated_since: datetime | None = None
    limit: int | None = None
    run_ids: frozenset[str] | None = field(default=None, compare=False)
    #: newest first (by the time runs were due) instead of the server's default order
    newest_first: bool = False

    @classmethod
    def build(
        cls,
        dag_id: str | Iterable[str] | None = None,
        *,
        state: str | DagRunState | Iterable[str | DagRunState] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> RunQuery:
        """Validate user arguments (before any request) into a query."""
        return cls(
            dag_ids=requested_dags(dag_id),
            states=tuple(arguments.states(state)),
            since=arguments.aware(since, "since"),
            until=arguments.aware(until, "until"),
            limit=arguments.limit(limit),
        )


def post_pages(
    client: Session, path: str, key: str, *, action: str, body: Mapping[str, Any], limit: int | None
) -> Op[list[Row]]:
    """Every page of a batch ``POST .../list`` endpoint (offset pagination, stable order): the first
    page tells the total, the others are fetched concurrently (see :func:`.pagination.by_offsets`)."""

    def at_offset(offset: int, size: int) -> Op[Page]:
        return page(
            client,
            "POST",
            path,
            key,
            action=action,
            json_body={**body, "page_offset": offset, "page_limit": size},
        )

    return (yield from by_offsets(at_offset, limit=limit))


def fetch_runs(
    client: Session, query: RunQuery, *, stop: Callable[[list[Row]], bool] | None = None
) -> Op[list[Row]]:
    """The runs a query selects, as rows normalised like :class:`DagRun` (one shape for v1 and v2).

    ``stop`` (given the raw rows so far) may end a single-DAG or all-DAG export early.
    """
    dialect = yield from client._dialect()
    field_name = dialect.run_time_field
    window = {
        f"{field_name}_gte": arguments.iso(query.since),
        f"{field_name}_lte": arguments.iso(query.until),
    }
    dag_ids = query.dag_ids
    many = dag_ids is not None and len(dag_ids) > 1
    if many and query.updated_since is None:
        assert dag_ids is not None
        body: dict[str, Any] = {"dag_ids": list(dag_ids), "order_by": "id", **window}
        if query.states:
            body["states"] = list(query.states)
        rows = yield from post_pages(
            client,
            "/dags/~/dagRuns/list",
            "dag_runs",
            action=f"Listing runs of DAGs {list(dag_ids)!r}",
            body={k: v for k, v in body.items() if v is not None},
            limit=query.limit,
        )
    else:
        # one DAG, all DAGs, or an incremental refresh (the batch endpoint has no updated_at filter:
        # ask all DAGs for what changed and keep the wanted ones, usually one small page)
        single = dag_ids[0] if dag_ids is not None and len(dag_ids) == 1 else None
        params: dict[str, Any] = {
            "state": list(query.states) or None,
            "updated_at_gte": arguments.iso(query.updated_since),
            "order_by": f"-{field_name}" if query.newest_first else None,
            **window,
        }
        path = f"/dags/{'~' if single is None else arguments.segment(single, 'dag_id')}/dagRuns"
        action = f"Listing runs of DAG {single!r}" if single else "Listing DAG runs"
        rows = yield from pages(
            client,
            path,
            "dag_runs",
            action=action,
            params=params,
            limit=None if many else query.limit,
            stop=stop,
        )
    keep = _row_filter(query)
    return [_normal_run(row) for row in rows if keep(row)]


def _row_filter(query: RunQuery) -> Callable[[Row], bool]:
    dag_ids = set(query.dag_ids) if query.dag_ids is not None and len(query.dag_ids) > 1 else None
    run_ids = query.run_ids
    if dag_ids is None and run_ids is None:
        return lambda row: True
    return lambda row: (
        (dag_ids is None or row.get("dag_id") in dag_ids)
        and (run_ids is None or row.get("dag_run_id") in run_ids)
    )


# --------------------------------------------------------------------------- full run exports


#: DAGs a full export reads at once, one cursor stream each (never more than ``max_connections``)
EXPORT_STREAMS = 8


class RowSink(Protocol):
    """Where a full export puts the rows, page by page (the history layer builds columns).

    ``add`` is called from one thread at a time, the one that drives the operation (the sync
    client runs only the requests of concurrent streams on threads); ``clear`` drops what was added
    (the export starts over another way).
    """

    def add(self, rows: list[Row]) -> None:
        """Take one page of normalised run rows."""

    def clear(self) -> None:
        """Forget every row added so far."""


def export_runs(client: Session, query: RunQuery, sink: RowSink) -> Op[None]:
    """Every run a query selects into ``sink``, page by page, as rows normalised like :class:`DagRun`.

    On servers with cursor pagination (Airflow 3.3+), an export of every DAG or of several DAGs
    reads one cursor stream per DAG, at most ``min(EXPORT_STREAMS, client.max_connections)`` at
    once, and hands every page to ``sink`` as it arrives (nothing else is kept); one DAG is one
    stream. A query with a ``limit``, an ``updated_since`` or ``run_ids``, and servers without
    cursors (Airflow 2), go through :func:`fetch_runs` and reach ``sink`` in one piece.
    """
    dialect = yield from client._dialect()
    streamable = (
        dialect.cursor_pagination
        and query.limit is None
        and query.updated_since is None
        and query.run_ids is None
        and not query.newest_first
    )
    if not streamable:
        sink.add((yield from fetch_runs(client, query)))
        return
    single = query.dag_ids is not None and len(query.dag_ids) == 1
    if not single and (yield from _runs_by_dag(client, query, sink)):
        return
    sink.clear()
    keep = _row_filter(query)
    dag = "~" if not single or query.dag_ids is None else arguments.segment(query.dag_ids[0], "dag_id")
    yield from stream_pages(
        client,
        f"/dags/{dag}/dagRuns",
        "dag_runs",
        action=f"Listing runs of DAG {dag!r}" if single else "Listing DAG runs",
        params=_run_params(query, dialect.run_time_field),
        on_page=lambda rows: _added(sink, [_normal_run(row) for row in rows if keep(row)], len(rows)),
    )


def _added(sink: RowSink, rows: list[Row], received: int) -> int:
    """Hand ``rows`` to ``sink``; ``received``: the rows of the page they came from (all new)."""
    sink.add(rows)
    return received


def _run_params(query: RunQuery, field_name: str) -> dict[str, Any]:
    """The query parameters of a run list: states and the window on the time runs were due."""
    return {
        "state": list(query.states) or None,
        f"{field_name}_gte": arguments.iso(query.since),
        f"{field_name}_lte": arguments.iso(query.until),
    }


def _runs_by_dag(client: Session, query: RunQuery, sink: RowSink) -> Op[bool]:
    """The runs of every DAG or of several, one cursor stream per DAG (see :func:`dag_streams`)."""

    def to_sink(rows: list[Row]) -> int:
        return _added(sink, [_normal_run(row) for row in rows], len(rows))

    params = _run_params(query, (yield from client._dialect()).run_time_field)
    return (
        yield from dag_streams(
            client, query.dag_ids, "dagRuns", "dag_runs", what="runs", params=params, on_pages=lambda: to_sink
        )
    )


def dag_streams(
    client: Session,
    dag_ids: tuple[str, ...] | None,
    collection: str,
    key: str,
    *,
    what: str,
    params: Mapping[str, Any],
    on_pages: Callable[[], Callable[[list[Row]], int]],
) -> Op[bool]:
    """One cursor stream per DAG (``GET /dags/{dag}/{collection}``), bounded; False when they missed rows.

    At most ``min(EXPORT_STREAMS, client.max_connections)`` streams at once, each with the same
    ``params`` (the filters); the pages of a stream go to a handler ``on_pages()`` makes for it as
    the stream starts (dropped when it ends), as they arrive; it returns how many rows of a page
    are new (see :func:`.pagination.stream_pages`). A DAG that does not exist (or no
    longer) has no rows. ``dag_ids`` None: the DAGs Airflow lists (stale ones included), and one
    more request counts the rows of ``~`` (``GET /dags/~/{collection}``, an exact offset-pagination
    total): if the streams read fewer (rows of DAGs the list did not show, or deleted meanwhile),
    False, and the caller reads ``~`` instead. ``what`` names the rows in error messages.
    """
    streamed = dag_ids
    if streamed is None:
        listed = yield from pages(
            client, "/dags", "dags", action="Listing DAGs", params={"exclude_stale": False}, limit=None
        )
        streamed = tuple(str(row["dag_id"]) for row in listed if isinstance(row.get("dag_id"), str))

    def stream(dag_id: str) -> Op[int]:
        try:
            return (
                yield from stream_pages(
                    client,
                    f"/dags/{arguments.segment(dag_id, 'dag_id')}/{collection}",
                    key,
                    action=f"Listing {what} of DAG {dag_id!r}",
                    params=params,
                    on_page=on_pages(),
                )
            )
        except NotFoundError:  # a DAG that does not exist (or no longer) has no rows
            return 0

    def total() -> Op[int]:
        """The exact number of rows of ``~`` (0: nothing to check, the DAGs were given)."""
        if dag_ids is not None:
            return 0
        body, _ = yield from page(
            client,
            "GET",
            f"/dags/~/{collection}",
            key,
            action=f"Counting {what} of every DAG",
            params={**params, "limit": 1},
        )
        counted = body.get("total_entries")
        return counted if isinstance(counted, int) else 0

    in_flight = max(1, min(EXPORT_STREAMS, client.max_connections))
    counted, *received = yield from gather([total(), *(stream(d) for d in streamed)], in_flight)
    return sum(received) >= counted
