"""Task instances of many runs and DAGs for the fake Airflow (tests/fake_airflow.py), answered as
Airflow 3.3.2 (``/api/v2``) and 2.10.5 (``/api/v1``) do:

* ``GET /dags/{dag_id | ~}/dagRuns/~/taskInstances``: ``state`` (repeated), the run window
  (``run_after_*`` on v2, ``execution_date_*`` on v1), ``limit`` silently clamped to ``max_page``,
  offsets with ``total_entries``, or cursors (``cursor=True``, as Airflow 3.2+); an unknown DAG is 404;
* ``POST /dags/~/dagRuns/~/taskInstances/list``: the batch form (``dag_ids``, ``state``, the window,
  ``page_offset`` / ``page_limit``, v2 also ``order_by``); a key the version's form does not know is
  refused (v2: 422, v1: 400); ``page_limit`` is not clamped (as on both versions) unless
  ``batch_max_page`` says so;
* ``GET /dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}[/{map_index}]/tries``: every try.

Use ``FakeTaskInstances(fake)`` as the transport's handler: other requests go to ``fake``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

import httpx

from tests.fake_airflow import FakeAirflow

_PATH = re.compile(
    r"^/dags/(?P<dag>[^/]+)/dagRuns/(?P<run>[^/]+)/taskInstances"
    r"(?:(?P<list>/list)|/(?P<task>[^/]+)(?:/(?P<map>-?\d+))?/tries)?$"
)
_WINDOW = ("gte", "lte")
_V2_BATCH = {"dag_ids", "dag_run_ids", "task_ids", "state", "page_offset", "page_limit", "order_by"} | {
    f"{f}_{b}"
    for f in ("run_after", "logical_date", "start_date", "end_date")
    for b in ("gte", "gt", "lte", "lt")
}
_V1_BATCH = {"dag_ids", "dag_run_ids", "task_ids", "state", "page_offset", "page_limit"} | {
    f"{f}_{b}" for f in ("execution_date", "start_date", "end_date") for b in _WINDOW
}

Key = tuple[str, str, str, int]


@dataclass
class FakeTaskInstances:
    fake: FakeAirflow
    #: the latest try of each task instance, in creation order (Airflow's ``id`` order)
    latest: list[dict[str, Any]] = field(default_factory=list)
    #: the earlier tries of each task instance
    earlier: dict[Key, list[dict[str, Any]]] = field(default_factory=dict)
    #: clamp the batch endpoint's ``page_limit`` (neither Airflow version does)
    batch_max_page: int | None = None

    @property
    def time_field(self) -> str:
        return "run_after" if self.fake.api == "v2" else "execution_date"

    def add(
        self, dag_id: str, run_id: str, task_id: str, due: datetime, *tries: str, map_index: int = -1
    ) -> None:
        """A task instance whose tries ended in the states ``tries`` (the last one is its latest)."""
        states = list(tries) or ["success"]
        rows = [
            {
                "dag_id": dag_id,
                "dag_run_id": run_id,
                "task_id": task_id,
                "map_index": map_index,
                "try_number": number,
                "state": state,
                self.time_field: due.isoformat(),
                "operator": "BashOperator",
            }
            for number, state in enumerate(states, start=1)
        ]
        self.latest.append(rows[-1])
        self.earlier[(dag_id, run_id, task_id, map_index)] = rows[:-1]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.path).removeprefix(f"/api/{self.fake.api}")
        match = _PATH.match(path)
        if match is None or not (match["run"] == "~" or match["list"] or match["task"]):
            return self.fake.handle(request)
        self.fake.requests.append(request)
        if (
            self.fake.api == "v2"
            and request.headers.get("authorization", "").removeprefix("Bearer ") not in self.fake.valid_tokens
        ):
            return httpx.Response(401, json={"detail": "Not authenticated"})
        if match["list"]:
            return self._batch(request)
        if match["task"]:
            key = (match["dag"], match["run"], match["task"], int(match["map"] or -1))
            rows = [*self.earlier.get(key, []), *(r for r in self.latest if _key(r) == key)]
            return httpx.Response(200, json={"task_instances": rows, "total_entries": len(rows)})
        return self._list(request, match["dag"])

    def _matching(
        self, dags: list[str] | None, states: list[str], window: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lower, upper = window.get(f"{self.time_field}_gte"), window.get(f"{self.time_field}_lte")
        return [
            row
            for row in self.latest
            if (dags is None or row["dag_id"] in dags)
            and (not states or row["state"] in states)
            and (lower is None or _when(row[self.time_field]) >= _when(lower))
            and (upper is None or _when(row[self.time_field]) <= _when(upper))
        ]

    def _list(self, request: httpx.Request, dag: str) -> httpx.Response:
        if dag != "~" and self.fake._script(dag) is None:
            return httpx.Response(404, json={"detail": f"Dag with dag_id: '{dag}' not found"})
        params = request.url.params
        rows = self._matching(None if dag == "~" else [dag], params.get_list("state"), dict(params))
        limit = min(int(params.get("limit", 50 if self.fake.api == "v2" else 100)), self.fake.max_page)
        if self.fake.cursor and "cursor" in params:
            start = int(params["cursor"] or 0)
            following = str(start + limit) if start + limit < len(rows) else None
            page = {"task_instances": rows[start : start + limit], "total_entries": len(rows)}
            return httpx.Response(200, json={**page, "next_cursor": following})
        offset = int(params.get("offset", 0))
        return httpx.Response(
            200, json={"task_instances": rows[offset : offset + limit], "total_entries": len(rows)}
        )

    def _batch(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        unknown = sorted(set(body) - (_V2_BATCH if self.fake.api == "v2" else _V1_BATCH))
        if unknown:
            status = 422 if self.fake.api == "v2" else 400
            return httpx.Response(status, json={"detail": f"extra fields not permitted: {unknown}"})
        rows = self._matching(body.get("dag_ids"), body.get("state") or [], body)
        if body.get("order_by") not in (None, "id"):
            rows = sorted(rows, key=lambda row: str(row.get(body["order_by"].lstrip("-"))))
        offset, limit = int(body.get("page_offset", 0)), int(body.get("page_limit", 100))
        if self.batch_max_page is not None:
            limit = min(limit, self.batch_max_page)
        return httpx.Response(
            200, json={"task_instances": rows[offset : offset + limit], "total_entries": len(rows)}
        )


def _key(row: dict[str, Any]) -> Key:
    return (row["dag_id"], row["dag_run_id"], row["task_id"], row["map_index"])


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
