"""The one in-memory fake Airflow of the fast tests, reached through the clients' ``transport=`` seam.

It answers like Airflow 3 (``/api/v2``, JWT from ``POST /auth/token``) or Airflow 2 (``/api/v1``,
basic auth) and keeps what a test asserts on: every request, the DAG runs, the logins. It is no
substitute for the real servers (the integration tests are); it drives edge cases deterministically:

* runs that progress: each DAG has a script of states (``scripts``, else ``default_script``); a
  run starts at the first state and moves one step on each poll (a read of the run, or the list of
  the DAG's runs changed since ``updated_at_gte`` that batched waits send on each tick but those
  that list the unfinished runs instead); the last state repeats;
* run lists answer ``state`` and ``updated_at_gte`` as Airflow does: a run's ``updated_at`` is the
  fake's wall clock (``datetime.now`` + ``clock_skew``) when it was created or last changed state;
* paging: ``limit`` silently clamped to ``max_page``, offsets with ``total_entries``, or Airflow
  3.3 cursors (``cursor=True``);
* tokens: each login issues a new token and invalidates the previous ones (``valid_tokens``);
* recorded runs: ``replay(polls)`` serves the polls recorded from a real run, one per read;
* the time of each request on the test's clock (``clock``, e.g. a virtual one): ``times``;
* faults: ``fault(method, path_part, reaction)`` answers the next matching request with the
  reaction (a status, a raised transport error, ...), and ``errors`` counts 5xx answers to the next
  triggers (``"trigger"``) or polls (``"poll"``).

Task instances of many runs and DAGs (``FakeTaskInstances`` at the end: the ``~`` paths, the
batch form, the tries of each task instance) extend it for the history tests.

Use: ``AirflowClient(url, transport=fake.transport())`` (``fake_client`` below), or the runner's
fixture in ``tests/runner/fake_airflow.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

import httpx

from kestra_airflow_sdk import AirflowClient, AsyncAirflowClient, RetryPolicy
from tests.virtual_time import VirtualTimeClient

Reaction = Callable[[httpx.Request], "httpx.Response | None"]

_ROUTE = re.compile(
    r"^/dags/(?P<dag>[^/]+)(?:/(?P<runs>dagRuns)(?:/(?P<run>[^/]+))?(?P<tis>/taskInstances)?)?(?P<tasks>/tasks)?$"
)
#: the default policy's shape with millisecond delays, so unit tests do not sleep
FAST = RetryPolicy(initial_delay=0.001, max_delay=0.004)


@dataclass
class FakeRun:
    """One DAG run: its state is ``script[polls]`` (the last state repeats) unless ``forced``."""

    dag_id: str
    run_id: str
    conf: dict[str, Any]
    script: list[str]
    polls: int = 0
    forced: str | None = None
    #: recorded polls of a real run ({"dag_run": ..., "task_instances": ...}, see ``replay``)
    recorded: list[dict[str, Any]] | None = None
    #: when the run was created or last changed state (Airflow's ``updated_at``, the fake's clock)
    updated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def poll(self, now: datetime) -> None:
        """One step along the script; a change of state is stamped ``now``."""
        before = self.state
        self.polls += 1
        if self.state != before:
            self.updated_at = now

    @property
    def state(self) -> str:
        if self.forced:
            return self.forced
        if self.recorded is not None:
            return str(self._poll()["dag_run"]["state"])
        return self.script[min(self.polls, len(self.script) - 1)]

    def _poll(self) -> dict[str, Any]:
        assert self.recorded is not None  # the first read serves the first recorded poll
        return self.recorded[max(0, min(self.polls - 1, len(self.recorded) - 1))]

    def task_instances(self) -> dict[str, Any]:
        if self.recorded is not None:
            return dict(self._poll()["task_instances"])
        state = self.state if self.state in ("success", "failed") else "running"
        ti = {
            "dag_id": self.dag_id,
            "dag_run_id": self.run_id,
            "task_id": "t1",
            "state": state,
            "try_number": 1,
        }
        return {"task_instances": [ti], "total_entries": 1}

    def body(self) -> dict[str, Any]:
        if self.recorded is not None:
            return {**self._poll()["dag_run"], **({"state": self.forced} if self.forced else {})}
        final = self.state in ("success", "failed")
        return {
            "dag_id": self.dag_id,
            "dag_run_id": self.run_id,
            "state": self.state,
            "conf": self.conf,
            "run_type": "manual",
            "start_date": "2026-01-01T00:00:00Z" if self.state != "queued" else None,
            "end_date": "2026-01-01T00:00:10Z" if final else None,
        }


def make_runs(n: int, dag_id: str = "d") -> dict[str, FakeRun]:
    """``n`` finished runs ``r0`` ... of one DAG, in that order."""
    return {f"r{i}": FakeRun(dag_id, f"r{i}", {}, ["success"]) for i in range(n)}


@dataclass
class FakeAirflow:
    api: str = "v2"
    #: the states a run of each DAG goes through, one step per poll
    scripts: dict[str, list[str]] = field(default_factory=dict)
    #: the script of DAGs not in ``scripts``; None: such DAGs do not exist (404)
    default_script: list[str] | None = field(default_factory=lambda: ["queued"])
    runs: dict[str, FakeRun] = field(default_factory=dict)
    paused: bool = False
    #: the password ``POST /auth/token`` accepts (None: any)
    password: str | None = None
    #: the largest page the server answers (a larger ``limit`` is clamped silently)
    max_page: int = 100
    #: Airflow 3.3 cursor pagination (``next_cursor``) instead of offsets
    cursor: bool = False
    #: answer 500 to the next N triggers / 503 to the next N polls ({"trigger": N, "poll": N})
    errors: dict[str, int] = field(default_factory=dict)
    #: a trigger answered with an error still created the run (as a locked SQLite Airflow may)
    create_on_error: bool = False
    faults: list[tuple[str, str, Reaction]] = field(default_factory=list)
    #: how far the fake's wall clock (``updated_at`` of runs) is ahead of this machine's (behind if < 0)
    clock_skew: timedelta = timedelta(0)
    requests: list[httpx.Request] = field(default_factory=list)
    #: the clock that dates each request in ``times`` (e.g. a virtual clock); None: not dated
    clock: Callable[[], float] | None = None
    times: list[float | None] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)
    logins: int = 0

    # ------------------------------------------------------------------ what tests use

    def transport(self) -> httpx.MockTransport:
        """The transport to give a client (``transport=``); sync and async alike."""
        return httpx.MockTransport(self)

    def add_run(self, dag_id: str, run_id: str, *states: str) -> FakeRun:
        """A run that already exists, going through ``states`` (default: the DAG's script)."""
        run = FakeRun(dag_id, run_id, {}, list(states) or self._script(dag_id) or ["queued"])
        run.updated_at = self.wall_clock()
        self.runs[run_id] = run
        return run

    def wall_clock(self) -> datetime:
        """The fake's wall clock: this machine's, shifted by ``clock_skew``."""
        return datetime.now(timezone.utc) + self.clock_skew

    def replay(self, polls: list[dict[str, Any]]) -> FakeRun:
        """A run that replays recorded polls of a real run (``tests/samples/*_progress_polls*.json``):
        each read of the run serves the next poll, its task instances those of the same poll."""
        first = polls[0]["dag_run"]
        run = FakeRun(first["dag_id"], first["dag_run_id"], {}, [], recorded=polls)
        self.runs[run.run_id] = run
        return run

    def fault(self, method: str, path_part: str, reaction: Reaction) -> None:
        """Answer the next ``method`` request whose path contains ``path_part`` with ``reaction``
        (a reaction that returns None lets the fake answer normally)."""
        self.faults.append((method, path_part, reaction))

    @property
    def log(self) -> list[tuple[str, str]]:
        """Every request as (method, unquoted path)."""
        return [(r.method, unquote(r.url.path)) for r in self.requests]

    @property
    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]

    def when(self, method: str, path_end: str) -> list[float]:
        """The ``clock`` time of each ``method`` request whose path ends with ``path_end``."""
        log = zip(self.log, self.times, strict=True)
        return [t for (m, p), t in log if m == method and p.endswith(path_end) and t is not None]

    def count(self, method: str, path_part: str = "") -> int:
        """How many ``method`` requests had a path containing ``path_part``."""
        return sum(1 for m, p in self.log if m == method and path_part in p)

    # ------------------------------------------------------------------ the server

    def __call__(self, request: httpx.Request) -> httpx.Response:
        return self.handle(request)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Record the request, apply the first matching fault, else answer like Airflow."""
        self.requests.append(request)
        self.times.append(self.clock() if self.clock is not None else None)
        path = unquote(request.url.path)
        for i, (method, part, reaction) in enumerate(self.faults):
            if method == request.method and part in path:
                del self.faults[i]
                answer = reaction(request)
                if answer is not None:
                    return answer
                break
        return self.answer(request)

    def answer(self, request: httpx.Request) -> httpx.Response:
        """Airflow's answer to ``request`` (no fault, not recorded)."""
        path = unquote(request.url.path)
        if path == "/auth/token":
            return self._login(request)
        prefix = f"/api/{self.api}"
        if not path.startswith(prefix + "/"):
            return _error(404, "Not Found")
        path = path[len(prefix) :]
        if path == "/version":
            return httpx.Response(
                200, json={"version": "3.3.2" if self.api == "v2" else "2.10.5", "git_version": None}
            )
        if self.api == "v2":
            auth = request.headers.get("authorization", "")
            if not auth:
                return _error(401, "Not authenticated")
            if auth.removeprefix("Bearer ") not in self.valid_tokens:
                return _error(403, "Invalid JWT token")
        match = _ROUTE.match(path)
        if match is None:
            return _error(404, f"no route {path}")
        dag = match["dag"]
        if dag != "~" and self._script(dag) is None:
            return _error(404, f"Dag with dag_id: '{dag}' not found")
        if match["tasks"]:
            return httpx.Response(200, json={"tasks": [{"task_id": "t1", "operator_name": "BashOperator"}]})
        if not match["runs"]:
            return httpx.Response(200, json={"dag_id": dag, "is_paused": self.paused})
        if match["run"] is None:
            return self._list(request, dag) if request.method == "GET" else self._trigger(request, dag)
        return self._run(request, dag, match["run"], bool(match["tis"]))

    def _script(self, dag: str) -> list[str] | None:
        return self.scripts.get(dag, self.default_script)

    def _error_due(self, kind: str) -> bool:
        if self.errors.get(kind, 0) > 0:
            self.errors[kind] -= 1
            return True
        return False

    def _login(self, request: httpx.Request) -> httpx.Response:
        if self.password is not None and json.loads(request.content).get("password") != self.password:
            return _error(401, "Invalid credentials")
        self.logins += 1
        token = f"token-{self.logins}"
        self.valid_tokens = {token}
        return httpx.Response(201, json={"access_token": token})

    def _trigger(self, request: httpx.Request, dag: str) -> httpx.Response:
        body = json.loads(request.content)
        script = self._script(dag) or ["queued"]
        run = FakeRun(
            dag, body.get("dag_run_id") or f"manual__{len(self.runs)}", body.get("conf") or {}, script
        )
        run.updated_at = self.wall_clock()
        if self._error_due("trigger"):
            if self.create_on_error:
                self.runs[run.run_id] = run
            return _error(500, "database is locked")
        if run.run_id in self.runs:
            return _error(409, "exists")
        self.runs[run.run_id] = run
        return httpx.Response(200, json=run.body())

    def _run(self, request: httpx.Request, dag: str, run_id: str, tis: bool) -> httpx.Response:
        run = self.runs.get(run_id)
        if run is None or run.dag_id != dag:
            return _error(404, "The DagRun was not found")
        if tis:
            return httpx.Response(200, json=run.task_instances())
        if request.method == "PATCH":
            run.forced = json.loads(request.content)["state"]
            run.updated_at = self.wall_clock()
            return httpx.Response(200, json=run.body())
        if self._error_due("poll"):
            return _error(503, "busy")
        run.poll(self.wall_clock())
        return httpx.Response(200, json=run.body())

    def _list(self, request: httpx.Request, dag: str) -> httpx.Response:
        """``GET /dags/{dag}/dagRuns``: a list that asks for finished runs or for those changed since
        a time is the batched poll of waits, which moves every run of the DAG one step along its
        script (before answering)."""
        params = request.url.params
        states = params.get_list("state")
        runs = [run for run in self.runs.values() if dag == "~" or run.dag_id == dag]
        if "success" in states or "updated_at_gte" in params:
            if self._error_due("poll"):
                return _error(503, "busy")
            now = self.wall_clock()
            for run in runs:
                run.poll(now)
        since = params.get("updated_at_gte")
        changed_since = datetime.fromisoformat(since.replace("Z", "+00:00")) if since else None
        rows = [
            run.body()
            for run in runs
            if (not states or run.state in states)
            and (changed_since is None or run.updated_at >= changed_since)
        ]
        if params.get("order_by", "").startswith("-"):
            rows.reverse()
        limit = min(int(params.get("limit", 50)), self.max_page)
        if self.cursor and "cursor" in params:
            start = int(params["cursor"] or 0)
            following = str(start + limit) if start + limit < len(rows) else None
            return httpx.Response(
                200,
                json={
                    "dag_runs": rows[start : start + limit],
                    "total_entries": None,
                    "next_cursor": following,
                },
            )
        offset = int(params.get("offset", 0))
        return httpx.Response(
            200, json={"dag_runs": rows[offset : offset + limit], "total_entries": len(rows)}
        )


def _error(status: int, detail: str) -> httpx.Response:
    return httpx.Response(status, json={"detail": detail, "status": status, "title": detail})


# ---------------------------------------------------------------------- faults and clients


def raising(exc_type: type[httpx.TransportError]) -> Reaction:
    """A fault: the request fails with ``exc_type`` before reaching Airflow."""

    def react(request: httpx.Request) -> None:
        raise exc_type("injected", request=request)

    return react


def answering(status: int, headers: dict[str, str] | None = None) -> Reaction:
    """A fault: Airflow answers ``status``."""
    return lambda request: httpx.Response(status, json={"detail": "injected"}, headers=headers)


def after_forwarding(fake: FakeAirflow, exc_type: type[httpx.TransportError]) -> Reaction:
    """A fault: Airflow acts on the request, then the answer is lost (the outcome is unknown)."""

    def react(request: httpx.Request) -> None:
        fake.answer(request)
        raise exc_type("injected after the server acted", request=request)

    return react


def fake_client(fake: FakeAirflow, **kwargs: Any) -> AirflowClient:
    """A sync client talking to ``fake`` in its dialect (tiny retry delays unless ``retry=`` is given),
    its sleeps (retry backoff, poll ticks) on a virtual clock (``tests/virtual_time.py``)."""
    kwargs.setdefault("retry", FAST)
    return VirtualTimeClient(
        "http://airflow.test",
        username="u",
        password="p",
        api_version=fake.api,
        transport=fake.transport(),
        **kwargs,
    )


def fake_async_client(fake: FakeAirflow, **kwargs: Any) -> AsyncAirflowClient:
    """An async client talking to ``fake`` (or to ``transport=``, e.g. a handler wrapping the fake)."""
    kwargs.setdefault("retry", FAST)
    kwargs.setdefault("transport", fake.transport())
    return AsyncAirflowClient(
        "http://airflow.test",
        username="u",
        password="p",
        api_version=fake.api,
        **kwargs,
    )


# ---------------------------------------------------------------- task instances of many runs and DAGs
# Task instances of many runs and DAGs for the fake Airflow (tests/fake_airflow.py), answered as
# Airflow 3.3.2 (``/api/v2``) and 2.10.5 (``/api/v1``) do:
#
# * ``GET /dags/{dag_id | ~}/dagRuns/~/taskInstances``: ``state`` (repeated), the run window
#   (``run_after_*`` on v2, ``execution_date_*`` on v1), ``limit`` silently clamped to ``max_page``,
#   offsets with ``total_entries``, or cursors (``cursor=True``, as Airflow 3.2+); an unknown DAG is 404;
# * ``POST /dags/~/dagRuns/~/taskInstances/list``: the batch form (``dag_ids``, ``state``, the window,
#   ``page_offset`` / ``page_limit``, v2 also ``order_by``); a key the version's form does not know is
#   refused (v2: 422, v1: 400); ``page_limit`` is not clamped (as on both versions) unless
#   ``batch_max_page`` says so;
# * ``GET /dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}[/{map_index}]/tries``: every try.
#
# Use ``FakeTaskInstances(fake)`` as the transport's handler: other requests go to ``fake``.

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
