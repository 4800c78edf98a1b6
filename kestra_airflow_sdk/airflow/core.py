"""The sans-I/O core of the Airflow client: every operation is written once, as a generator.

An operation yields *effects* — an :class:`httpx.Request` to send, a :class:`Sleep` to wait, or a
:class:`Gather` of operations to run concurrently — and receives the response (``None`` after a
sleep, the list of outcomes after a gather). It never performs I/O itself, so the same
request building, response parsing, version handling, pagination and polling serve both
:class:`~kestra_airflow_sdk.AirflowClient` (``httpx.Client`` + ``time.sleep``) and
:class:`~kestra_airflow_sdk.AsyncAirflowClient` (``httpx.AsyncClient`` + ``asyncio.sleep``).

Public methods are declared here once with :class:`operation`; each driver only says how to execute
effects (see :mod:`.client`).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import itertools
import json
import logging
import secrets
import time
import warnings
from collections.abc import Callable, Coroutine, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Concatenate, Generic, Literal, TypeVar, overload
from urllib.parse import quote

import httpx
from pydantic import BaseModel, SecretStr, ValidationError
from typing_extensions import ParamSpec

from .auth import ANONYMOUS, AirflowPasswordAuth, BearerTokenAuth
from .errors import (
    AirflowConnectionError,
    AirflowError,
    ApiError,
    ConflictError,
    DagPausedError,
    DagPausedWarning,
    InvalidArgumentError,
    NotFoundError,
    error_from_response,
    error_from_transport,
)
from .logs import log_text
from .models import Dag, DagRun, DagRunState, DagTask, TaskInstance, VersionInfo
from .retry import DEFAULT_RETRY, NO_RETRY, RetryPolicy, is_transient
from .versions import DIALECTS, ApiVersion, Dialect

if TYPE_CHECKING:
    from .client import AirflowClient, AsyncAirflowClient

__all__ = ["ClientCore", "Driving", "Gather", "Op", "Sleep", "operation"]

logger = logging.getLogger("kestra_airflow_sdk")

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
P = ParamSpec("P")
C = TypeVar("C", bound="ClientCore")

#: the largest page asked for; the server silently clamps it to its ``maximum_page_limit``
PAGE_SIZE = 1000
#: offset pages in flight at once once the first page told the total (servers without cursors)
PAGE_CONCURRENCY = 4
#: bound on log continuation requests (a log that never ends must not hang a call)
MAX_LOG_CHUNKS = 1000
#: a waited-on run queued this long (seconds) gets its DAG checked for being paused, and again
#: every PAUSED_CHECK_INTERVAL while it stays queued (runs of an active DAG start within seconds)
PAUSED_CHECK_AFTER = 15.0
PAUSED_CHECK_INTERVAL = 60.0
#: what to do about a paused DAG in trigger_dag_run / wait_for_dag_run
IfPaused = Literal["warn", "raise", "ignore"]


@dataclass(frozen=True)
class Sleep:
    """Effect: pause the operation for ``seconds``."""

    seconds: float


@dataclass(frozen=True)
class Gather:
    """Effect: run these operations concurrently, at most ``limit`` at a time, on the same client.

    The operation receives their outcomes in order: each one's result, or the
    :class:`AirflowError` it raised (after its own retries). The drivers only execute; build one
    with :func:`gather`, which captures the errors.
    """

    ops: tuple[Op[Any], ...]
    limit: int


Effect = httpx.Request | Sleep | Gather
#: an operation: yields effects, receives responses, returns ``T``
Op = Generator[Effect, Any, T]


def _captured(op: Op[T]) -> Op[T | AirflowError]:
    try:
        return (yield from op)
    except AirflowError as exc:
        return exc


def gather(ops: Iterable[Op[T]], limit: int) -> Op[list[T]]:
    """Run ``ops`` concurrently (at most ``limit`` in flight); their results in order.

    Raises the first error (in order) once all have ended, so no request is left running.
    """
    outcomes: list[T | AirflowError] = yield Gather(tuple(_captured(op) for op in ops), limit)
    for outcome in outcomes:
        if isinstance(outcome, AirflowError):
            raise outcome
    return outcomes  # type: ignore[return-value]


class Driving(Generic[T]):
    """One operation being driven: the effect it asks for next, and what it returned.

    The drivers (:mod:`.client`) only execute effects; this is the part of their loop that is the
    same for both: sending replies or errors into the operation, and converting transport failures
    to SDK errors (:meth:`sending`).
    """

    def __init__(self, op: Op[T]) -> None:
        self._op = op
        self._reply: Any = None
        self._error: BaseException | None = None
        self.result: T

    def next_effect(self) -> Effect | None:
        """The operation's next effect, or None once it has returned (see :attr:`result`)."""
        reply, error = self._reply, self._error
        self._reply, self._error = None, None
        try:
            return self._op.throw(error) if error is not None else self._op.send(reply)
        except StopIteration as stop:
            self.result = stop.value
            return None

    def reply(self, value: Any) -> None:
        """What the next :meth:`next_effect` sends into the operation."""
        self._reply = value

    @contextlib.contextmanager
    def sending(self, request: httpx.Request) -> Iterator[None]:
        """Around sending ``request``: a transport failure or an SDK error is thrown into the operation."""
        try:
            yield
        except httpx.TransportError as exc:
            self._error = error_from_transport(request, exc)
        except AirflowError as exc:
            self._error = exc


class operation(Generic[C, P, T]):
    """Declare a public client method once, as a generator of effects.

    On an :class:`AirflowClient` the method runs to completion and returns ``T``; on an
    :class:`AsyncAirflowClient` it returns a coroutine of ``T``.
    """

    def __init__(self, fn: Callable[Concatenate[C, P], Op[T]]) -> None:
        self.fn = fn
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]
        signature = inspect.signature(fn)
        self._signature = signature.replace(parameters=list(signature.parameters.values())[1:])

    @overload
    def __get__(self, obj: None, owner: type[Any] | None = None) -> operation[C, P, T]: ...
    @overload
    def __get__(self, obj: AirflowClient, owner: type[Any] | None = None) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, obj: AsyncAirflowClient, owner: type[Any] | None = None
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, obj: Any, owner: type[Any] | None = None) -> Any:
        if obj is None:
            return self
        fn = self.fn

        @functools.wraps(fn)
        def bound(*args: Any, **kwargs: Any) -> Any:
            return obj._execute(fn(obj, *args, **kwargs))

        bound.__signature__ = self._signature  # type: ignore[attr-defined]
        return bound


def _segment(value: str, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(f"{name}: expected a non-empty string, got {value!r}")
    return quote(value, safe="")


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidArgumentError(f"{name}: expected a timezone-aware datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidArgumentError(
            f"{name}: got the naive datetime {value.isoformat()}; Airflow needs a timezone-aware one "
            "(for example datetime(..., tzinfo=timezone.utc))"
        )
    return value


def _states(state: str | Iterable[str] | None) -> list[str]:
    if state is None:
        return []
    values = [state] if isinstance(state, str) else list(state)
    return [str(s.value if isinstance(s, DagRunState) else s) for s in values]


def _positive(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise InvalidArgumentError(f"{name}: expected a positive number of seconds, got {value!r}")
    return float(value)


class ClientCore:
    """Everything the two clients share; no I/O happens here.

    Args:
        base_url: the Airflow webserver (Airflow 2) or API server (Airflow 3) root URL, e.g.
            ``http://localhost:8080`` (a trailing ``/api/v1`` or ``/api/v2`` is accepted).
        username: an Airflow user; HTTP basic auth on Airflow 2, a JWT from
            ``POST /auth/token`` on Airflow 3, fetched again when Airflow rejects it.
        password: that user's password (kept as a ``SecretStr``).
        token: a static bearer token, for managed services (Astronomer, Cloud Composer, ...).
        auth: any :class:`httpx.Auth`.
        api_version: ``"auto"`` (probe ``/api/v2`` then ``/api/v1`` once), ``"v1"`` or ``"v2"``.
        timeout: seconds (or an :class:`httpx.Timeout`) for each request.
        verify: TLS verification, as in httpx.
        headers: extra headers sent with every request.
        retry: the :class:`~kestra_airflow_sdk.airflow.retry.RetryPolicy` for transient failures
            (default :data:`~kestra_airflow_sdk.airflow.retry.DEFAULT_RETRY`; ``NO_RETRY`` to
            disable). :meth:`with_retry` gives a view of the client with another policy.
        max_connections: at most this many requests in flight at once (others wait for a free
            connection). Airflow's API server has a small database pool: 200 concurrent waits
            with one connection each exhausted it and wedged an Airflow 3.3 API server in tests.
    """

    _http: httpx.Client | httpx.AsyncClient

    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        password: str | SecretStr | None = None,
        token: str | SecretStr | None = None,
        auth: httpx.Auth | None = None,
        api_version: Literal["auto", "v1", "v2"] | ApiVersion = "auto",
        timeout: float | httpx.Timeout = 30.0,
        verify: bool | str = True,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        max_connections: int = 10,
    ) -> None:
        self.base_url, hinted = _root_url(base_url)
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise InvalidArgumentError(f"retry: expected a RetryPolicy, got {type(retry).__name__}")
        self.retry: RetryPolicy = retry or DEFAULT_RETRY
        if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
            raise InvalidArgumentError(f"max_connections: expected an integer >= 1, got {max_connections!r}")
        if api_version not in ("auto", "v1", "v2"):
            raise InvalidArgumentError(f"api_version: expected 'auto', 'v1' or 'v2', got {api_version!r}")
        forced = None if api_version == "auto" else ApiVersion(api_version)
        if forced is not None and hinted is not None and forced is not hinted:
            raise InvalidArgumentError(
                f"api_version={forced.value!r} contradicts base_url, which ends in /api/{hinted.value}"
            )
        self._forced: ApiVersion | None = forced or hinted
        self._dialect: Dialect | None = None
        #: DAG id -> (when checked, paused or None while a check is in flight), shared by waiters
        self._paused_checks: dict[str, tuple[float, bool | None]] = {}
        self._version_info: VersionInfo | None = None
        self.username = username
        self._auth = _build_auth(self.base_url, username, password, token, auth)
        self._http = self._open(
            {
                "auth": self._auth,
                "timeout": timeout,
                "verify": verify,
                "headers": {"Accept": "application/json", **(headers or {})},
                "follow_redirects": True,
                "limits": httpx.Limits(
                    max_connections=max_connections, max_keepalive_connections=max_connections
                ),
            }
        )

    def _open(self, options: dict[str, Any]) -> httpx.Client | httpx.AsyncClient:
        """Create the HTTP client the driver sends requests with."""
        raise NotImplementedError

    def _now(self) -> float:
        """The driver's monotonic clock, in seconds: the clock its :class:`Sleep` effects run on.

        Operations read the time only through this, so a test driver that fast-forwards ``Sleep``
        (see ``tests/virtual_time.py``) also moves the time the operations see.
        """
        return time.monotonic()

    def __repr__(self) -> str:
        parts = [f"base_url={self.base_url!r}", f"api_version={self.api_version!r}"]
        if self.server_version:
            parts.append(f"server_version={self.server_version!r}")
        if self.username:
            parts.append(f"username={self.username!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def with_retry(self: C, retry: RetryPolicy) -> C:
        """A view of this client that uses another retry policy (same connections, same login).

        Example:
            >>> client.with_retry(NO_RETRY).get_dag("hello_world_dag")

        Close the original client, not the view.
        """
        if not isinstance(retry, RetryPolicy):
            raise InvalidArgumentError(f"retry: expected a RetryPolicy, got {type(retry).__name__}")
        view = copy.copy(self)
        view.retry = retry
        return view

    # ------------------------------------------------------------------ version detection

    @property
    def api_version(self) -> str | None:
        """``"v1"`` (Airflow 2) or ``"v2"`` (Airflow 3): forced, or detected on the first call."""
        if self._dialect is not None:
            return self._dialect.version.value
        return self._forced.value if self._forced else None

    @property
    def server_version(self) -> str | None:
        """Airflow's version string (e.g. ``"3.3.2"``), known after the first call."""
        return self._version_info.version if self._version_info else None

    def _api(self) -> Op[Dialect]:
        """The server's dialect, probing ``/api/v2/version`` then ``/api/v1/version`` once."""
        if self._dialect is not None:
            return self._dialect
        candidates = [self._forced] if self._forced else [ApiVersion.V2, ApiVersion.V1]
        answers = []
        for version in candidates:
            dialect = DIALECTS[version]
            response = yield from self._send(
                functools.partial(self._request, "GET", f"{dialect.prefix}/version", anonymous=True)
            )
            if response.status_code == 200:
                try:
                    info = VersionInfo.model_validate({**response.json(), "api_version": version.value})
                except (ValueError, ValidationError):
                    answers.append(f"{dialect.prefix}/version answered 200 without a version")
                    continue
                self._dialect, self._version_info = dialect, info
                return dialect
            answers.append(f"{dialect.prefix}/version answered {response.status_code}")
        if self._forced:
            other = "v1" if self._forced is ApiVersion.V2 else "v2"
            raise InvalidArgumentError(
                f"api_version={self._forced.value!r}: {self.base_url} does not serve /api/{self._forced.value} "
                f"({'; '.join(answers)}). Airflow 3 speaks v2 and Airflow 2 speaks v1; try "
                f"api_version={other!r} or 'auto'."
            )
        raise AirflowError(
            f"No Airflow REST API found at {self.base_url}: {'; '.join(answers)}. "
            "Expected an Airflow 2 (/api/v1) or Airflow 3 (/api/v2) webserver/API server."
        )

    # ------------------------------------------------------------------ request / response helpers

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        anonymous: bool = False,
    ) -> httpx.Request:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        request = self._http.build_request(
            method,
            self.base_url + path,
            params=clean or None,
            json=json_body,
            headers=headers,
            extensions={ANONYMOUS: True} if anonymous else None,
        )
        logger.debug("%s %s", method, request.url.copy_with(query=None))
        return request

    def _send(
        self, build: Callable[[], httpx.Request], *, retry: RetryPolicy | None = None
    ) -> Op[httpx.Response]:
        """Send the request ``build()`` makes, retrying transient failures as the policy says.

        Returns the last response, whatever its status; raises :class:`AirflowConnectionError`
        when Airflow could not be reached (after the retries). A POST is repeated only when it
        never reached Airflow or was refused with 429 (see :mod:`.retry`).
        """
        policy = retry or self.retry
        for attempt in itertools.count(1):
            request = build()
            safe = request.method != "POST"
            try:
                response: httpx.Response = yield request
            except AirflowConnectionError as exc:
                delay = policy.delay(exc, attempt, sent_is_safe=safe)
                if delay is None:
                    if attempt > 1:
                        exc.args = (f"{exc} (gave up after {attempt} attempts)",)
                    raise
                reason = str(exc)
            else:
                if response.status_code < 400:
                    return response
                error = error_from_response(response)
                delay = policy.delay(error, attempt, sent_is_safe=safe)
                if delay is None:
                    return response
                reason = f"Airflow answered {response.status_code}"
            logger.warning(
                "%s %s failed (%s); retry %d of %d in %.1fs",
                request.method,
                request.url.copy_with(query=None),
                reason,
                attempt,
                policy.max_attempts - 1,
                delay,
            )
            yield Sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _call(
        self,
        method: str,
        path: str,
        *,
        action: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
    ) -> Op[Any]:
        """Send one request to the versioned API and return its JSON body (raise on error status)."""
        dialect = yield from self._api()
        response = yield from self._send(
            functools.partial(
                self._request,
                method,
                dialect.prefix + path,
                params=params,
                json_body=json_body,
                headers=headers,
            ),
            retry=retry,
        )
        if response.status_code >= 400:
            raise error_from_response(response, action=action)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                f"{action}: Airflow answered {response.status_code} with a body that is not JSON "
                f"({response.headers.get('content-type', 'no content type')})",
                status=response.status_code,
                method=method,
                path=response.request.url.path,
            ) from None

    def _page(
        self,
        method: str,
        path: str,
        key: str,
        *,
        action: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
    ) -> Op[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """One page of a collection: the body and its rows (plain dicts)."""
        body = yield from self._call(method, path, action=action, params=params, json_body=json_body)
        if not isinstance(body, dict):
            raise ApiError(
                f"{action}: expected a JSON object from Airflow, got {type(body).__name__}", status=200
            )
        rows = body.get(key) or []
        return body, [row for row in rows if isinstance(row, dict)]

    def _offset_pages(
        self,
        page: Callable[[int, int], Op[tuple[dict[str, Any], list[dict[str, Any]]]]],
        *,
        size: int,
        received: int,
        end: int,
    ) -> Op[list[dict[str, Any]]]:
        """The offset pages from ``received`` to ``end``, ``PAGE_CONCURRENCY`` in flight, in order.

        For servers without cursors, once the first page told the total: ``size`` is what the server
        answered for it (the clamped page size), ``page(offset, limit)`` fetches one page.
        """
        offsets = range(received, end, max(size, 1))
        pages = yield from gather(
            (page(offset, min(size, end - offset)) for offset in offsets), PAGE_CONCURRENCY
        )
        return [row for _, rows in pages for row in rows]

    def _pages(
        self,
        path: str,
        key: str,
        *,
        action: str,
        params: Mapping[str, Any],
        limit: int | None,
        stop: Callable[[list[dict[str, Any]]], bool] | None = None,
    ) -> Op[list[dict[str, Any]]]:
        """Every page of a GET collection, as plain dict rows.

        Uses Airflow 3.3's cursor pagination where the server offers it (sequential, constant cost
        per page). Otherwise offsets: once the first page gave ``total_entries``, the other pages are
        fetched ``PAGE_CONCURRENCY`` at a time. Asks for the largest page (``PAGE_SIZE``) and advances
        by the number of items actually received (servers silently clamp ``limit``); stops at
        ``total_entries``, an empty page, the caller's ``limit`` or when ``stop(rows)`` says so.
        """
        dialect = yield from self._api()
        rows: list[dict[str, Any]] = []
        cursor: str | None = "" if dialect.cursor_pagination else None
        concurrent = stop is None
        while limit is None or len(rows) < limit:
            wanted = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(rows))
            where = {"cursor": cursor} if cursor is not None else {"offset": len(rows)}
            body, got = yield from self._page(
                "GET", path, key, action=action, params={**params, "limit": wanted, **where}
            )
            rows.extend(got)
            if stop is not None and stop(rows):
                break
            if cursor is not None and "next_cursor" in body:
                cursor = body["next_cursor"]
                if not cursor or not got or _complete(body, len(rows)):
                    break
                continue
            cursor = None  # an Airflow 3 older than 3.3 ignores the cursor: offsets from here on
            total = body.get("total_entries")
            if not got or (isinstance(total, int) and len(rows) >= total):
                break
            if concurrent and isinstance(total, int):
                concurrent = False  # once; a page that came back short continues sequentially

                def page(offset: int, size: int) -> Op[tuple[dict[str, Any], list[dict[str, Any]]]]:
                    query = {**params, "limit": size, "offset": offset}
                    return self._page("GET", path, key, action=action, params=query)

                end = total if limit is None else min(total, limit)
                more = yield from self._offset_pages(page, size=len(got), received=len(rows), end=end)
                rows.extend(more)
                if not more or len(rows) >= end:
                    break
        return rows[:limit] if limit is not None else rows

    def _paginate(
        self,
        path: str,
        key: str,
        model: type[M],
        *,
        action: str,
        params: Mapping[str, Any],
        limit: int | None,
    ) -> Op[list[M]]:
        """Every page of a collection (see :meth:`_pages`), parsed into ``model``."""
        rows = yield from self._pages(path, key, action=action, params=params, limit=limit)
        return _parse_rows(model, rows)

    # ------------------------------------------------------------------ operations

    @operation
    def get_version(self) -> Op[VersionInfo]:
        """Airflow's version and the REST API generation it speaks (detected once, then cached)."""
        yield from self._api()
        assert self._version_info is not None
        return self._version_info

    @operation
    def list_dags(
        self, *, paused: bool | None = None, tags: Iterable[str] | None = None, limit: int | None = None
    ) -> Op[list[Dag]]:
        """Every DAG the credentials can see (all pages), optionally filtered.

        Args:
            paused: only paused (True) or only active (False) DAGs.
            tags: only DAGs with any of these tags.
            limit: stop after this many DAGs.
        """
        params: dict[str, Any] = {"paused": None if paused is None else str(paused).lower()}
        if tags:
            params["tags"] = list(tags)
        return (
            yield from self._paginate("/dags", "dags", Dag, action="Listing DAGs", params=params, limit=limit)
        )

    @operation
    def get_dag(self, dag_id: str) -> Op[Dag]:
        """One DAG. Raises :class:`NotFoundError` when Airflow does not know ``dag_id``."""
        return (yield from self._get_dag(dag_id))

    def _set_paused(self, dag_id: str, paused: bool) -> Op[Dag]:
        body = yield from self._call(
            "PATCH",
            f"/dags/{_segment(dag_id, 'dag_id')}",
            action=f"{'Pausing' if paused else 'Unpausing'} DAG {dag_id!r}",
            params={"update_mask": "is_paused"},
            json_body={"is_paused": paused},
        )
        return Dag.model_validate(body)

    @operation
    def pause_dag(self, dag_id: str) -> Op[Dag]:
        """Pause a DAG (its scheduled and triggered runs stay queued until it is unpaused)."""
        return (yield from self._set_paused(dag_id, True))

    @operation
    def unpause_dag(self, dag_id: str) -> Op[Dag]:
        """Unpause a DAG so that its queued runs start."""
        return (yield from self._set_paused(dag_id, False))

    @operation
    def list_dag_tasks(self, dag_id: str) -> Op[list[DagTask]]:
        """The tasks of a DAG's definition (task id, operator, ...), in Airflow's order."""
        body = yield from self._call(
            "GET", f"/dags/{_segment(dag_id, 'dag_id')}/tasks", action=f"Listing the tasks of DAG {dag_id!r}"
        )
        return _parse_rows(DagTask, body.get("tasks") or [])

    @operation
    def trigger_dag_run(
        self,
        dag_id: str,
        conf: Mapping[str, Any] | None = None,
        dag_run_id: str | None = None,
        logical_date: datetime | None = None,
        note: str | None = None,
        *,
        if_paused: IfPaused = "ignore",
    ) -> Op[DagRun]:
        """Trigger exactly one DAG run and return it (usually ``queued``).

        The client chooses the run id (``manual__<UTC time>_<random>``) unless ``dag_run_id`` is
        given, so that a failure with an unknown outcome (read timeout, dropped connection, 5xx,
        409) is settled by looking that run id up: an existing run is returned, a missing one is
        triggered again. A retry never creates a second run.

        Args:
            dag_id: the DAG to run.
            conf: the run's configuration, a JSON object (``dag_run.conf`` in the DAG).
            dag_run_id: the run id; generated when omitted.
            logical_date: timezone-aware logical date; none by default (Airflow 3 then runs
                without a logical date, Airflow 2 uses the trigger time).
            note: a note shown on the run in the Airflow UI.
            if_paused: ``"warn"`` or ``"raise"`` look the DAG up first (one more request) and, when
                it is paused (its runs stay queued), emit a :class:`DagPausedWarning` or raise
                :class:`DagPausedError` before triggering; ``"ignore"`` (default) does not check.

        Raises:
            InvalidArgumentError: ``conf`` is not a JSON object, ``logical_date`` is naive, ... (checked
                before any request).
            NotFoundError: the DAG does not exist.
            ConflictError: a run with the given ``dag_run_id`` (or logical date) exists already.
            DagPausedError: the DAG is paused and ``if_paused="raise"``.
        """
        path = f"/dags/{_segment(dag_id, 'dag_id')}/dagRuns"
        if dag_run_id is not None:
            _segment(dag_run_id, "dag_run_id")
        body_conf = _json_object(conf, "conf")
        _aware(logical_date, "logical_date")
        _if_paused(if_paused)
        dialect = yield from self._api()
        if if_paused != "ignore":
            dag = yield from self._get_dag(dag_id)
            if dag.is_paused:
                _paused(dag_id, if_paused, f"triggering a run of DAG {dag_id!r}")
        run_id = dag_run_id or new_run_id()
        body = dialect.trigger_body(conf=body_conf, dag_run_id=run_id, logical_date=logical_date, note=note)
        action = f"Triggering DAG {dag_id!r} (run id {run_id!r})"
        for attempt in itertools.count(1):
            try:
                created = yield from self._call("POST", path, action=action, json_body=body)
                return DagRun.model_validate(created)
            except ConflictError as exc:
                if attempt == 1 and dag_run_id is not None:
                    raise  # the caller's run id was taken before we sent anything
                failure: AirflowError = exc
            except (AirflowConnectionError, ApiError) as exc:
                ambiguous = is_transient(exc) and getattr(exc, "request_sent", True)
                if not ambiguous or getattr(exc, "status", 500) == 429:
                    raise  # never reached Airflow (retried already) or refused: nothing to settle
                failure = exc
            existing = yield from self._settle_trigger(dag_id, run_id, action, failure)
            if existing is not None:
                return existing
            if isinstance(failure, ConflictError) or attempt >= self.retry.max_attempts:
                raise failure
            delay = self.retry.backoff(attempt)
            logger.warning("%s: no run was created (%s); retry %d in %.1fs", action, failure, attempt, delay)
            yield Sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _settle_trigger(
        self, dag_id: str, run_id: str, action: str, failure: AirflowError
    ) -> Op[DagRun | None]:
        """After a trigger with an unknown outcome: the run if Airflow created it, else None."""
        try:
            run = yield from self._get_run(dag_id, run_id)
        except NotFoundError:
            return None
        except AirflowError as exc:
            raise AirflowConnectionError(
                f"{action}: the outcome is unknown. The trigger failed ({failure}) and looking up the "
                f"run id failed too ({exc}). Check get_dag_run({dag_id!r}, {run_id!r}) before "
                "triggering again."
            ) from exc
        logger.info("%s: settled after '%s': the run exists", action, failure)
        return run

    def _get_dag(self, dag_id: str, retry: RetryPolicy | None = None) -> Op[Dag]:
        body = yield from self._call(
            "GET", f"/dags/{_segment(dag_id, 'dag_id')}", action=f"Getting DAG {dag_id!r}", retry=retry
        )
        return Dag.model_validate(body)

    def _get_run(self, dag_id: str, dag_run_id: str, retry: RetryPolicy | None = None) -> Op[DagRun]:
        body = yield from self._call(
            "GET",
            f"/dags/{_segment(dag_id, 'dag_id')}/dagRuns/{_segment(dag_run_id, 'dag_run_id')}",
            action=f"Getting DAG run {dag_run_id!r} of DAG {dag_id!r}",
            retry=retry,
        )
        return DagRun.model_validate(body)

    @operation
    def get_dag_run(self, dag_id: str, dag_run_id: str) -> Op[DagRun]:
        """One DAG run, with its current state."""
        return (yield from self._get_run(dag_id, dag_run_id))

    @operation
    def list_dag_runs(
        self,
        dag_id: str | None = None,
        *,
        state: str | DagRunState | Iterable[str | DagRunState] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        order_by: str | Iterable[str] | None = None,
        limit: int | None = None,
    ) -> Op[list[DagRun]]:
        """DAG runs, all pages fetched transparently.

        Args:
            dag_id: one DAG, or None for the runs of every DAG.
            state: only runs in this state (or any of these states).
            since: only runs due at or after this timezone-aware time (Airflow 3 ``run_after``,
                Airflow 2 ``execution_date``).
            until: only runs due at or before this timezone-aware time.
            order_by: field name(s), ``-`` prefix for descending, e.g. ``"-start_date"``
                (Airflow 2 accepts one field).
            limit: stop after this many runs.
        """
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise InvalidArgumentError(f"limit: expected a non-negative integer, got {limit!r}")
        dialect = yield from self._api()
        orders = [order_by] if isinstance(order_by, str) else list(order_by or [])
        if len(orders) > 1 and not dialect.multi_order_by:
            raise InvalidArgumentError(
                f"order_by: Airflow 2 (/api/v1) sorts by one field only, got {orders!r}"
            )
        field = dialect.run_time_field
        params: dict[str, Any] = {
            "state": _states(state) or None,
            f"{field}_gte": _iso(_aware(since, "since")),
            f"{field}_lte": _iso(_aware(until, "until")),
            "order_by": (orders if dialect.multi_order_by else orders[0]) if orders else None,
        }
        path = f"/dags/{'~' if dag_id is None else _segment(dag_id, 'dag_id')}/dagRuns"
        action = f"Listing runs of DAG {dag_id!r}" if dag_id else "Listing DAG runs"
        return (
            yield from self._paginate(path, "dag_runs", DagRun, action=action, params=params, limit=limit)
        )

    @operation
    def list_task_instances(self, dag_id: str, dag_run_id: str) -> Op[list[TaskInstance]]:
        """The task instances of one DAG run (one per task, and per map index for mapped tasks)."""
        path = (
            f"/dags/{_segment(dag_id, 'dag_id')}/dagRuns/{_segment(dag_run_id, 'dag_run_id')}/taskInstances"
        )
        return (
            yield from self._paginate(
                path,
                "task_instances",
                TaskInstance,
                action=f"Listing task instances of DAG run {dag_run_id!r} of DAG {dag_id!r}",
                params={},
                limit=None,
            )
        )

    @operation
    def get_task_log(
        self,
        dag_id: str,
        dag_run_id: str,
        task_id: str,
        try_number: int | None = None,
        *,
        map_index: int = -1,
    ) -> Op[str]:
        """The whole log of one task try as plain text (continuation tokens followed).

        ``try_number=None`` reads the task's latest try.
        """
        run_path = f"/dags/{_segment(dag_id, 'dag_id')}/dagRuns/{_segment(dag_run_id, 'dag_run_id')}"
        ti_path = f"{run_path}/taskInstances/{_segment(task_id, 'task_id')}"
        action = f"Reading the log of task {task_id!r} in DAG run {dag_run_id!r} of DAG {dag_id!r}"
        if try_number is None:
            path = ti_path if map_index < 0 else f"{ti_path}/{map_index}"
            ti = yield from self._call("GET", path, action=action)
            try_number = max(int(TaskInstance.model_validate(ti).try_number), 1)
        chunks: list[str] = []
        params: dict[str, Any] = {"full_content": "true", "map_index": map_index}
        seen: set[str] = set()
        for _ in range(MAX_LOG_CHUNKS):
            body = yield from self._call(
                "GET", f"{ti_path}/logs/{int(try_number)}", action=action, params=params
            )
            text = log_text(body.get("content") if isinstance(body, dict) else body)
            chunks.append(text)
            token = body.get("continuation_token") if isinstance(body, dict) else None
            if not token or not text or token in seen:
                break
            seen.add(token)
            params = {**params, "token": token}
        return "".join(chunks)

    @operation
    def set_dag_run_state(self, dag_id: str, dag_run_id: str, state: str | DagRunState) -> Op[DagRun]:
        """Mark a DAG run ``success``, ``failed`` (this stops its running tasks) or ``queued``."""
        value = str(state.value if isinstance(state, DagRunState) else state)
        if value not in ("success", "failed", "queued"):
            raise InvalidArgumentError(f"state: expected 'success', 'failed' or 'queued', got {state!r}")
        body = yield from self._call(
            "PATCH",
            f"/dags/{_segment(dag_id, 'dag_id')}/dagRuns/{_segment(dag_run_id, 'dag_run_id')}",
            action=f"Setting DAG run {dag_run_id!r} of DAG {dag_id!r} to {value!r}",
            json_body={"state": value},
        )
        return DagRun.model_validate(body)

    @operation
    def clear_dag_run(self, dag_id: str, dag_run_id: str, *, only_failed: bool = False) -> Op[DagRun]:
        """Clear a DAG run so that it runs again (for real: ``dry_run`` is false)."""
        path = f"/dags/{_segment(dag_id, 'dag_id')}/dagRuns/{_segment(dag_run_id, 'dag_run_id')}/clear"
        dialect = yield from self._api()
        body: dict[str, Any] = {"dry_run": False}
        if only_failed or dialect.version is ApiVersion.V2:
            body["only_failed"] = only_failed
        yield from self._call(
            "POST", path, action=f"Clearing DAG run {dag_run_id!r} of DAG {dag_id!r}", json_body=body
        )
        return (yield from self._get_run(dag_id, dag_run_id))

    @operation
    def wait_for_dag_run(
        self,
        dag_id: str,
        dag_run_id: str,
        *,
        poll_frequency: float = 1.0,
        timeout: float = 3600.0,
        if_paused: IfPaused = "warn",
        on_poll: Callable[[DagRun, list[TaskInstance] | None], object] | None = None,
        task_instances: bool = False,
    ) -> Op[DagRun]:
        """Poll a DAG run until it is ``success`` or ``failed`` and return the final run.

        Concurrent waits of one client (e.g. ``asyncio.gather``) share one poll per DAG per tick.
        Transient failures (Airflow restarting, connection refused, 5xx, 429, an expired token,
        which is renewed) do not end the wait: polling goes on, with backoff, until ``timeout``.

        Args:
            poll_frequency: seconds between two polls.
            timeout: seconds to wait in total.
            if_paused: when the run is still queued 15 s into the wait, its DAG is checked (then every minute);
                when the DAG is paused, ``"warn"`` emits a :class:`DagPausedWarning` once,
                ``"raise"`` raises :class:`DagPausedError`, ``"ignore"`` does not check.
            on_poll: called as ``on_poll(run, task_instances)`` after every poll, the last time with
                the final run (e.g. ``RunProgress.update``, or your own logging).
            task_instances: also read the run's task instances at each poll and pass them to
                ``on_poll`` (one more request per poll); otherwise ``on_poll`` gets ``None``.

        Raises:
            WaitTimeoutError: the run was not final after ``timeout`` seconds (the message says how
                long it waited, the last state seen, the last error and whether the DAG is paused).
            DagPausedError: the DAG is paused and ``if_paused="raise"``.
        """
        from ..history.waits import wait_runs  # the one waiting loop, with the batched polling

        (run,) = yield from wait_runs(
            self,
            [(dag_id, dag_run_id)],
            poll_frequency=poll_frequency,
            timeout=timeout,
            if_paused=if_paused,
            on_poll=on_poll,
            task_instances=task_instances,
        )
        return run

    def _check_paused(
        self, dag_id: str, dag_run_id: str, if_paused: IfPaused, *, warned: bool
    ) -> Op[bool | None]:
        """Whether the DAG of a queued run is paused (None if that could not be checked now).

        One check per DAG and ``PAUSED_CHECK_INTERVAL`` serves every waiter of this client, so 100
        waits on a paused DAG cost one request, not 100 (and warn once)."""
        checked = self._paused_checks.get(dag_id)
        if checked is not None and self._now() - checked[0] < PAUSED_CHECK_INTERVAL:
            return checked[1]
        self._paused_checks[dag_id] = (self._now(), None)  # concurrent waiters: being checked
        try:
            dag = yield from self._get_dag(dag_id, retry=NO_RETRY)
        except AirflowError as exc:
            if is_transient(exc):
                return None
            raise
        self._paused_checks[dag_id] = (self._now(), bool(dag.is_paused))
        if dag.is_paused and not warned:
            _paused(dag_id, if_paused, f"waiting for DAG run {dag_run_id!r}")
        return bool(dag.is_paused)


def new_run_id(now: datetime | None = None) -> str:
    """A fresh run id in Airflow's manual style, unique per call: ``manual__<UTC iso time>_<8 hex>``."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"manual__{moment.isoformat()}_{secrets.token_hex(4)}"


def _if_paused(value: str) -> None:
    if value not in ("warn", "raise", "ignore"):
        raise InvalidArgumentError(f"if_paused: expected 'warn', 'raise' or 'ignore', got {value!r}")


def _paused(dag_id: str, if_paused: IfPaused, doing: str) -> None:
    message = (
        f"DAG {dag_id!r} is paused: {doing}, but its runs stay queued until it is unpaused "
        f"(client.unpause_dag({dag_id!r}))"
    )
    if if_paused == "raise":
        raise DagPausedError(message, dag_id=dag_id)
    logger.warning("%s", message)
    warnings.warn(message, DagPausedWarning, stacklevel=4)


def _complete(body: Mapping[str, Any], received: int) -> bool:
    """True when a cursor page's ``total_entries`` (exact below ``total_entries_limit``) is reached:
    saves the request that would only return an empty last page."""
    total, cap = body.get("total_entries"), body.get("total_entries_limit")
    if not isinstance(total, int) or (isinstance(cap, int) and total >= cap):
        return False
    return received >= total


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _json_object(conf: Mapping[str, Any] | None, name: str) -> dict[str, Any] | None:
    if conf is None:
        return None
    if not isinstance(conf, Mapping):
        raise InvalidArgumentError(f"{name}: expected a JSON object (a dict), got {type(conf).__name__}")
    try:
        return dict(json.loads(json.dumps(dict(conf), allow_nan=False)))
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"{name}: must be JSON-serialisable: {exc}") from None


def _parse_rows(model: type[M], rows: Iterable[Any]) -> list[M]:
    """Parse a page; one odd row is logged and skipped, never fails the page."""
    parsed = []
    for row in rows:
        try:
            parsed.append(model.model_validate(row))
        except ValidationError as exc:
            logger.warning("skipping a %s Airflow returned that does not parse: %s", model.__name__, exc)
    return parsed


def _root_url(base_url: str) -> tuple[str, ApiVersion | None]:
    """Validate ``base_url`` and strip a trailing ``/api/v1`` or ``/api/v2`` (returned as a hint)."""
    expected = f"base_url: expected an http(s) URL such as http://localhost:8080, got {_shown_url(base_url)}"
    if not isinstance(base_url, str) or not base_url.strip():
        raise InvalidArgumentError(expected)
    try:
        url = httpx.URL(base_url.strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        raise InvalidArgumentError(expected) from None
    if url.username or url.password:
        raise InvalidArgumentError(
            "base_url: must not contain credentials; pass username= and password= (or token=) instead"
        )
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidArgumentError(expected)
    root = str(url.copy_with(query=None, fragment=None)).rstrip("/")
    for version in ApiVersion:
        suffix = f"/api/{version.value}"
        if root.endswith(suffix):
            return root[: -len(suffix)], version
    return root, None


def _shown_url(value: object) -> str:
    """``repr`` of a rejected URL with any ``user:password@`` part masked (never echo a secret)."""
    if not isinstance(value, str):
        return repr(value)
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "", value
    if "@" in rest:  # mask up to the last "@": a password may contain "/", ":" or "@"
        rest = "***@" + rest.rpartition("@")[2]
    return repr(f"{scheme}{sep}{rest}")


def _build_auth(
    base_url: str,
    username: str | None,
    password: str | SecretStr | None,
    token: str | SecretStr | None,
    auth: httpx.Auth | None,
) -> httpx.Auth | None:
    given = [
        name
        for name, value in (("username/password", username or password), ("token", token), ("auth", auth))
        if value
    ]
    if len(given) > 1:
        raise InvalidArgumentError(
            f"credentials: pass only one of username/password, token or auth; got {given}"
        )
    if auth is not None:
        if not isinstance(auth, httpx.Auth):
            raise InvalidArgumentError(f"auth: expected an httpx.Auth, got {type(auth).__name__}")
        return auth
    if token:
        return BearerTokenAuth(token)
    if username or password:
        if not username or not password:
            raise InvalidArgumentError("username/password: both are needed, got only one of them")
        return AirflowPasswordAuth(username, password, root_url=base_url)
    return None
