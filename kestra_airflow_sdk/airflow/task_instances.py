"""Task instances of one run, of some DAGs or of every DAG, as normalised rows (see :mod:`.fetch`).

:func:`fetch_task_instances` returns them; :func:`export_task_instances` hands them to a sink page by
page where it can (the same requests), so that a full export never holds every raw row at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, cast

from ..transport.effects import Op, gather
from . import arguments, pagination
from .errors import InvalidArgumentError
from .fetch import RowSink, dag_streams, post_pages, requested_dags
from .models import TaskInstance
from .pagination import pages, stream_pages
from .session import Session
from .versions import ApiVersion

__all__ = ["export_task_instances", "fetch_task_instances"]

Row = dict[str, Any]

# the model's own "before" validator makes v1 and v2 rows one shape, without building a model per row
_normal_task_instance = cast(Callable[[Row], Row], TaskInstance._normalise)


def fetch_task_instances(
    client: Session,
    dag_id: str | Iterable[str] | None,
    dag_run_id: str | None,
    *,
    state: Iterable[str],
    since: datetime | None,
    until: datetime | None,
    limit: int | None,
) -> Op[list[Row]]:
    """Every try of the task instances of one run, of every run of some DAGs, or of every DAG.

    ``dag_id``: one DAG (``GET /dags/{dag}/dagRuns/{run or ~}/taskInstances``), several (one batch
    ``POST /dags/~/dagRuns/~/taskInstances/list`` per page) or None for every DAG (``GET
    /dags/~/dagRuns/~/taskInstances``); ``dag_run_id`` needs one DAG. The task instances (their
    latest try) come with the filters pushed to Airflow; only those with ``try_number > 1`` cost one
    more request for their earlier tries (``.../tries``, Airflow 2.10+ and 3), ``PAGE_CONCURRENCY``
    at a time. Earlier tries are kept when their state is one of ``state`` (all of them without a
    state filter). Rows are normalised.
    """
    asked = _asked(dag_id, dag_run_id)
    limit = arguments.limit(limit)
    if asked == ():
        return []  # no DAG asked for
    dialect = yield from client._dialect()
    states = list(state)
    window = _window(dialect.run_time_field, since, until)
    if asked is not None and len(asked) > 1:
        body: dict[str, Any] = {"dag_ids": list(asked), "state": states or None, **window}
        if dialect.version is ApiVersion.V2:
            body["order_by"] = "id"  # a stable order across offset pages (Airflow 2's form has none)
        latest = yield from post_pages(
            client,
            "/dags/~/dagRuns/~/taskInstances/list",
            "task_instances",
            action=f"Listing task instances of DAGs {list(asked)!r}",
            body={k: v for k, v in body.items() if v is not None},
            limit=limit,
        )
    else:
        path, action = _list_path(asked, dag_run_id)
        params = {"state": states or None, **window}
        latest = yield from pages(client, path, "task_instances", action=action, params=params, limit=limit)
    # offset pages of a server being written to can repeat a row that moved to the next page
    latest = list({_ti_key(row): row for row in latest}.values())
    rows = latest + (yield from _earlier(client, latest, states))
    return [_normal_task_instance(row) for row in rows]


def export_task_instances(
    client: Session,
    dag_id: str | Iterable[str] | None,
    dag_run_id: str | None,
    *,
    state: Iterable[str],
    since: datetime | None,
    until: datetime | None,
    limit: int | None,
    sink: RowSink,
) -> Op[None]:
    """What :func:`fetch_task_instances` returns, into ``sink``: page by page where it reads cursor pages.

    Without a ``limit``, on a server with cursor pagination (Airflow 3.3+): every DAG or several
    DAGs are read as one cursor stream per DAG (``GET /dags/{dag}/dagRuns/~/taskInstances``), at
    most ``min(EXPORT_STREAMS, client.max_connections)`` at once, as the run export does (see
    :func:`.fetch.dag_streams`: every DAG is the DAGs ``GET /dags`` lists, checked against one
    count of ``~``, which is read instead when the streams missed rows); one DAG or one run is one
    stream. Each page is normalised and handed to ``sink`` as it arrives (a row its stream repeats
    is added once; only the task instances tried more than once are kept, for their earlier tries,
    added at the end). Otherwise the rows of :func:`fetch_task_instances`, in one piece.
    """
    asked = _asked(dag_id, dag_run_id)
    limit = arguments.limit(limit)
    states = list(state)
    dialect = yield from client._dialect()
    if not dialect.cursor_pagination or limit is not None or asked == ():
        rows = yield from fetch_task_instances(
            client, dag_id, dag_run_id, state=states, since=since, until=until, limit=limit
        )
        sink.add(rows)
        return
    retried: list[Row] = []

    def on_pages() -> Callable[[list[Row]], int]:
        """The page handler of one stream: its rows once each, normalised, into ``sink``; how many
        were new."""
        seen: set[str] = set()  # a stream's own keys: one DAG's, dropped as it ends

        def to_sink(rows: list[Row]) -> int:
            fresh = []
            for row in rows:
                key = _ti_key(row)
                if key not in seen:
                    seen.add(key)
                    fresh.append(row)
            retried.extend(row for row in fresh if _try_number(row) > 1)
            sink.add([_normal_task_instance(row) for row in fresh])
            return len(fresh)

        return to_sink

    params = {"state": states or None, **_window(dialect.run_time_field, since, until)}
    complete = False  # several DAGs, or every DAG the list shows: one cursor stream per DAG
    if asked is None or len(asked) > 1:
        complete = yield from dag_streams(
            client,
            asked,
            "dagRuns/~/taskInstances",
            "task_instances",
            what="task instances",
            params=params,
            on_pages=on_pages,
        )
        if not complete:  # they missed task instances (of DAGs the list does not show): read ``~``
            sink.clear()
            retried.clear()
    if not complete:  # one DAG, one run, or ``~``
        path, action = _list_path(asked, dag_run_id)
        yield from stream_pages(
            client, path, "task_instances", action=action, params=params, on_page=on_pages()
        )
    sink.add([_normal_task_instance(row) for row in (yield from _earlier(client, retried, states))])


def _asked(dag_id: str | Iterable[str] | None, dag_run_id: str | None) -> tuple[str, ...] | None:
    """The DAG ids asked for (None: every DAG), checked against ``dag_run_id`` (a run of one DAG)."""
    asked = requested_dags(dag_id)
    if dag_run_id is not None and (asked is None or len(asked) != 1):
        raise InvalidArgumentError(
            f"dag_run_id: {dag_run_id!r} names a run of one DAG, so dag_id must be that DAG's id, "
            f"got {dag_id!r}"
        )
    return asked


def _window(field_name: str, since: datetime | None, until: datetime | None) -> dict[str, str | None]:
    return {f"{field_name}_gte": arguments.iso(since), f"{field_name}_lte": arguments.iso(until)}


def _list_path(asked: tuple[str, ...] | None, dag_run_id: str | None) -> tuple[str, str]:
    """The GET list of the task instances of every DAG, one DAG or one run; and what it does."""
    dag = "~" if asked is None else arguments.segment(asked[0], "dag_id")
    run = "~" if dag_run_id is None else arguments.segment(dag_run_id, "dag_run_id")
    if asked is None:
        where = "every DAG"
    elif dag_run_id is None:
        where = f"the runs of DAG {asked[0]!r}"
    else:
        where = f"DAG run {dag_run_id!r} of DAG {asked[0]!r}"
    return f"/dags/{dag}/dagRuns/{run}/taskInstances", f"Listing task instances of {where}"


def _earlier(client: Session, latest: list[Row], states: list[str]) -> Op[list[Row]]:
    """The earlier tries of the task instances tried more than once (in ``states``, if any), at most
    ``PAGE_CONCURRENCY`` requests at once (and no more than the client's ``max_connections``)."""
    retried = [row for row in latest if _try_number(row) > 1]
    in_flight = min(pagination.PAGE_CONCURRENCY, client.max_connections)
    earlier = yield from gather((_earlier_tries(client, row) for row in retried), in_flight)
    keep = set(states)
    return [t for tries in earlier for t in tries if not keep or t.get("state") in keep]


def _ti_key(row: Row) -> str:
    """What tells a task instance from the others: one new string, so that a set of the keys seen
    holds none of the rows' own strings (an export frees them as their page is done)."""
    return f"{row.get('dag_id')!r} {row.get('dag_run_id')!r} {row.get('task_id')!r} {row.get('map_index')!r}"


def _try_number(row: Row) -> int:
    number = row.get("try_number")
    return number if isinstance(number, int) else 0


def _earlier_tries(client: Session, latest: Row) -> Op[list[Row]]:
    """The tries of one task instance before its latest one (which the list already gave)."""
    task_id, run_id, map_index = latest.get("task_id"), latest.get("dag_run_id"), latest.get("map_index")
    path = (
        f"/dags/{arguments.segment(str(latest.get('dag_id')), 'dag_id')}"
        f"/dagRuns/{arguments.segment(str(run_id), 'dag_run_id')}"
        f"/taskInstances/{arguments.segment(str(task_id), 'task_id')}"
    )
    if isinstance(map_index, int) and map_index >= 0:
        path += f"/{map_index}"  # a mapped task instance (Airflow 2 answers 404 for /-1/tries)
    tries = yield from pages(
        client,
        f"{path}/tries",
        "task_instances",
        action=f"Listing the tries of task {task_id!r} (map index {map_index}) in DAG run {run_id!r}",
        params={},
        limit=None,
    )
    return [row for row in tries if _try_number(row) < _try_number(latest)]
