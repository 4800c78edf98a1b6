"""``KestraServer`` / ``AsyncKestraServer``: validate, deploy and run flows on a Kestra server.

The operations are written once, as generators of effects, and run by the Airflow layer's two
drivers (sync and async), with the same retries and the same transient-error rules.

Every call is one documented endpoint of Kestra's REST API. Where Kestra 1.3 and 2.0 differ
(task run outputs, the execution actions' paths), the server's API generation is read once from
``GET /api/v1/configs`` (or forced with ``version=``) and each operation asks the right endpoint.
The tests check each request against Kestra's 2.0 spec with a Prism mock, and parse recorded 1.3
and 2.0 answers (no Kestra server can be installed on the build machines).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from pydantic import ValidationError

from ..flows.execution import Execution
from ..flows.flow import Flow
from ..flows.hooks import FlowServer
from ..flows.observer import Observer
from ..transport.drivers import AsyncDriver, SyncDriver
from ..transport.effects import Op
from ..transport.operation import operation
from ..transport.retry import RetryPolicy
from .errors import KestraApiError, KestraConnectionError, KestraError
from .executions import execution_from_kestra, executions_frame, executions_schema, with_outputs
from .files import ServerFiles
from .flow_admin import FlowAdministration, FlowRef, flow_ref
from .follow import follow_execution
from .history import (
    execution_rows,
    search_page,
    search_params,
    search_rows,
    task_runs_schema,
    with_task_runs,
)
from .kv import ServerKV
from .models import DeployedFlow, FlowValidation, KestraLogEntry, KestraVersion, TaskOutputInfo
from .session import KestraSession, segment

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AsyncKestraServer", "KestraServer"]

logger = logging.getLogger("kestra_airflow_sdk.kestra")

ExecutionRef = Execution | str
_VERSIONS = ("auto", *(v.value for v in KestraVersion))
Server = TypeVar("Server", bound="KestraOperations")


def _flows(flows: Flow | Iterable[Flow]) -> list[Flow]:
    items = [flows] if isinstance(flows, Flow) else list(flows)
    bad = [type(f).__name__ for f in items if not isinstance(f, Flow)]
    if bad or not items:
        raise KestraError(f"flows: expected one or more Flow objects, got {bad or 'none'}")
    for flow in items:
        flow.validate_flow()
    return items


def _yaml(flows: list[Flow]) -> bytes:
    """Several flows as one YAML stream, separated by ``---`` (what Kestra's bulk endpoints read)."""
    return "---\n".join(flow.to_yaml() for flow in flows).encode("utf-8")


class KestraOperations(FlowAdministration, KestraSession):
    """Every Kestra server operation, written once as a generator of effects (see :mod:`.session`).

    Args:
        version: ``"auto"`` (ask the server once, ``GET /api/v1/configs``), ``"1.3"`` or ``"2.0"``
            (force that API generation, no request). Other arguments: see :class:`.session.KestraSession`.
    """

    def __init__(self, url: str, *, version: str = "auto", **options: Any) -> None:
        if version not in _VERSIONS:
            raise KestraError(f"version: expected one of {', '.join(map(repr, _VERSIONS))}, got {version!r}")
        super().__init__(url, **options)
        self._forced = None if version == "auto" else KestraVersion(version)
        self._detected: KestraVersion | None = None
        #: Kestra's release string (e.g. ``"2.0.3"``), known once detected
        self.server_version: str | None = None

    def __repr__(self) -> str:
        known = self._forced or self._detected
        return super().__repr__()[:-1] + f", version={known.value if known else 'auto'!r})"

    # ------------------------------------------------------------------ version

    @operation
    def version(self) -> Op[KestraVersion]:
        """The API generation the server speaks: forced by ``version=``, else read once from
        ``GET /api/v1/configs`` (its ``version``, e.g. ``"2.0.3"``) and kept for this server object.

        Raises:
            KestraError: the server's answer names no Kestra release.
            KestraApiError / KestraConnectionError: the request failed.
        """
        return (yield from self._api())

    def _api(self) -> Op[KestraVersion]:
        if self._forced is not None:
            return self._forced
        if self._detected is not None:
            return self._detected
        body = yield from self._configs()
        release = body.get("version") if isinstance(body, dict) else None
        detected = KestraVersion.of_release(release) if isinstance(release, str) else None
        if detected is None:
            raise KestraError(
                f"Detecting the Kestra version: GET {self.url}/api/v1/configs answered version={release!r}, "
                "expected a release such as '1.3.5' or '2.0.3'; pass version='1.3' or version='2.0'"
            )
        self._detected, self.server_version = detected, release
        logger.debug("Kestra at %s is %s (API %s)", self.url, release, detected.value)
        return detected

    def _configs(self) -> Op[Any]:
        """``GET /api/v1/configs``: the one call outside ``/api/v1/{tenant}``."""
        path, action = "/api/v1/configs", "Detecting the Kestra version"
        build = functools.partial(self._http.build_request, "GET", self.url + path)
        try:
            response = yield from self._send(build)
        except KestraConnectionError as exc:
            raise KestraConnectionError(
                f"{action} failed: {exc}", transient=exc.transient, request_sent=exc.request_sent
            ) from None
        if response.status_code >= 400:
            hint = {
                401: " (check username/password or token)",
                403: " (this user may not read the configuration)",
            }.get(response.status_code, "; if this is a Kestra server, pass version='1.3' or version='2.0'")
            raise KestraApiError(
                f"{action} failed: Kestra answered {response.status_code} to GET {path}{hint}",
                status=response.status_code,
                method="GET",
                path=path,
                detail=None,
                transient=response.status_code in (429, 502, 503, 504),
            )
        try:
            return response.json()
        except ValueError:
            raise KestraError(f"{action}: GET {path} did not answer JSON: {response.text[:200]!r}") from None

    def _label(self, version: KestraVersion) -> str:
        """How errors name the server: its release when detected, else the API generation."""
        return f"Kestra {self.server_version}" if self.server_version else f"Kestra {version.value} API"

    # ------------------------------------------------------------------ flows

    @operation
    def validate(self, flows: Flow | Iterable[Flow]) -> Op[list[FlowValidation]]:
        """Ask Kestra to validate flows (``POST /flows/validate``); one result per flow, in order.

        Raises:
            KestraApiError: Kestra refused the request.
        """
        items = _flows(flows)
        body = yield from self._call(
            "POST",
            "/flows/validate",
            action=f"Validating {len(items)} flow(s)",
            content=_yaml(items),
            headers={"Content-Type": "application/x-yaml"},
        )
        return _parse(FlowValidation, body, "validate")

    @operation
    def deploy(self, flows: Flow | Iterable[Flow]) -> Op[list[DeployedFlow]]:
        """Create or update flows (``POST /flows/bulk?delete=false``): an idempotent upsert.

        ``delete=false`` is always sent: Kestra's default for this endpoint deletes the other flows
        of the namespace, which this SDK never does.
        """
        items = _flows(flows)
        body = yield from self._call(
            "POST",
            "/flows/bulk",
            action=f"Deploying {len(items)} flow(s)",
            params={"delete": "false"},
            content=_yaml(items),
            headers={"Content-Type": "application/x-yaml"},
        )
        return _parse(DeployedFlow, body, "deploy")

    # ------------------------------------------------------------------ a namespace's KV store and files

    def kv(self: Server, namespace: str) -> ServerKV[Server]:
        """The KV store of ``namespace`` on this server, typed as the local
        :class:`~kestra_airflow_sdk.storage.KVStore` (``get``, ``set``, ``delete``, ``keys``,
        ``list``, ``frame``; awaited on an :class:`AsyncKestraServer`). See :mod:`.kv`."""
        return ServerKV(self, namespace)

    def files(self: Server, namespace: str) -> ServerFiles[Server]:
        """The files of ``namespace`` on this server (``list``, ``upload`` a folder, ``download``
        one, ``download_all``, ``delete``; awaited on an :class:`AsyncKestraServer`). See :mod:`.files`."""
        return ServerFiles(self, namespace)

    # ------------------------------------------------------------------ executions

    @operation
    def run(
        self,
        flow: FlowRef,
        inputs: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        *,
        wait: bool = True,
        poll_interval: float = 1.0,
        timeout: float = 3600.0,
        observers: Sequence[Observer] | None = None,
        stream: bool = True,
    ) -> Op[Execution]:
        """Start an execution of a deployed flow (``POST /executions/{namespace}/{id}``).

        Args:
            flow: a :class:`Flow` or ``(namespace, flow_id)``.
            inputs: the flow's inputs (sent as multipart form fields).
            labels: execution labels (``labels=key:value`` query parameters).
            wait: follow the execution to its end, as :meth:`follow` does.
            poll_interval: seconds between polls, when polling.
            timeout: seconds to wait at most (then :class:`KestraError` with the last state).
            observers: progress observers (``task_started``, ``log_written``, ``task_ended``, ...
                as for local runs), fed as things happen.
            stream: follow Kestra's event streams (False: poll from the start).

        Returns:
            The :class:`Execution` (the same type local runs return), final when ``wait``.
        """
        namespace, flow_id = flow_ref(flow)
        _check_wait(poll_interval, timeout)
        types = {t.id: t.type for t in flow.walk()} if isinstance(flow, Flow) else {}
        params = [("labels", f"{k}:{v}") for k, v in (labels or {}).items()]
        files = [(str(k), (None, str(v))) for k, v in (inputs or {}).items()]
        body = yield from self._call(
            "POST",
            f"/executions/{segment(namespace)}/{segment(flow_id)}",
            action=f"Starting flow {namespace}.{flow_id}",
            params=params,
            files=files or None,
        )
        execution = _execution(body, types)
        if not wait:
            return execution
        return (
            yield from follow_execution(
                self,
                body,
                types,
                poll_interval=poll_interval,
                timeout=timeout,
                observers=list(observers or []),
                stream=stream,
            )
        )

    @operation
    def follow(
        self,
        execution: ExecutionRef,
        *,
        poll_interval: float = 1.0,
        timeout: float = 3600.0,
        observers: Sequence[Observer] | None = None,
        stream: bool = True,
    ) -> Op[Execution]:
        """Follow an execution to its end, its states and log lines as they happen.

        Reads Kestra's event streams (``GET /executions/{id}/follow`` and ``GET /logs/{id}/follow``):
        ``observers`` get ``task_started``, ``task_ended`` and ``log_written`` when Kestra sends
        them. A broken stream is opened again (what was already reported is not reported twice);
        after ``retry.max_attempts`` failures in a row, or when the server has no such stream, the
        execution is polled (``GET /executions/{id}`` every ``poll_interval``; a transient failure
        is tried again on the next tick, a permanent one ends the wait). Once it has ended, its task
        runs' outputs (on 2.0 from ``/outputs``) and every log line (``GET /logs/{id}``) are read.

        Args:
            execution: an :class:`Execution` or an execution id.
            poll_interval: seconds between polls, when polling.
            timeout: seconds to wait at most (then :class:`KestraError` with the last state).
            observers: progress observers, as for local runs.
            stream: False to poll from the start.

        Returns:
            The final :class:`Execution`, with its outputs and ``logs``.
        """
        _check_wait(poll_interval, timeout)
        types = (
            {r.task_id: r.type for r in execution.task_runs if r.type}
            if isinstance(execution, Execution)
            else {}
        )
        body = yield from self._read_execution(_id(execution))
        return (
            yield from follow_execution(
                self,
                body,
                types,
                poll_interval=poll_interval,
                timeout=timeout,
                observers=list(observers or []),
                stream=stream,
            )
        )

    @operation
    def execution(self, execution_id: str) -> Op[Execution]:
        """An execution as Kestra has it now (``GET /executions/{id}``), with its task runs' outputs
        (on Kestra 2.0 read from ``GET /outputs/{executionId}``, see :meth:`outputs`)."""
        body = yield from self._read_execution(execution_id)
        return _execution((yield from self._with_outputs(body)), {})

    @operation
    def outputs(self, execution: ExecutionRef) -> Op[dict[str, dict[str, Any]]]:
        """The outputs of an execution's task runs, by task run id (task runs without outputs left out).

        Kestra 2.0: ``GET /outputs/{executionId}`` lists the task runs that have outputs, then
        ``GET /outputs/{executionId}/{taskRunId}`` reads each one's. Kestra 1.3:
        ``GET /executions/{id}``, whose task runs carry their outputs.
        """
        execution_id = _id(execution)
        version = yield from self._api()
        if version is KestraVersion.V1_3:
            body = yield from self._read_execution(execution_id)
            return {r.id: r.outputs for r in _execution(body, {}).task_runs if r.outputs}
        return (yield from self._read_outputs(execution_id, version))

    def _read_outputs(self, execution_id: str, version: KestraVersion) -> Op[dict[str, dict[str, Any]]]:
        where = f"/outputs/{segment(execution_id)}"
        label = self._label(version)
        listing = yield from self._call(
            "GET", where, action=f"Listing the outputs of execution {execution_id} ({label})"
        )
        outputs: dict[str, dict[str, Any]] = {}
        for info in _parse(TaskOutputInfo, listing, f"outputs of execution {execution_id} ({label})"):
            if not info.task_run_id or info.task_run_id in outputs:
                continue
            value = yield from self._call(
                "GET",
                f"{where}/{segment(info.task_run_id)}",
                action=f"Reading the outputs of task run {info.task_run_id} ({info.task_id}) ({label})",
            )
            if not isinstance(value, dict):
                raise KestraError(
                    f"Reading the outputs of task run {info.task_run_id} ({label}): expected a JSON object "
                    f"from Kestra, got {type(value).__name__}"
                )
            outputs[info.task_run_id] = value
        return outputs

    def _with_outputs(self, body: Any) -> Op[Any]:
        """An execution body with its task runs' outputs: as sent on 1.3, read separately on 2.0."""
        version = yield from self._api()
        if version is KestraVersion.V1_3 or not isinstance(body, dict) or not body.get("id"):
            return body
        return with_outputs(body, (yield from self._read_outputs(str(body["id"]), version)))

    @operation
    def executions(
        self,
        namespace: str | None = None,
        flow_id: str | None = None,
        *,
        state: str | None = None,
        labels: Mapping[str, str] | None = None,
        since: datetime | None = None,
        page: int | None = 1,
        size: int = 25,
    ) -> Op[pd.DataFrame]:
        """Executions, newest first, as a typed DataFrame (``GET /executions/search`` with Kestra's
        query filters ``filters[field][EQUALS]=value``, the same on 1.3 and 2.0).

        Columns (:func:`~kestra_airflow_sdk.kestra.executions.executions_schema`): ``id``, ``namespace``,
        ``flow_id`` (``string``), ``flow_revision`` (``Int64``), ``state`` (Kestra's state, a
        category), ``start_date``, ``end_date`` (UTC), ``duration`` (``timedelta64``, ended
        executions), ``labels`` (dicts). Search results carry no task runs on Kestra 2.0 (and no
        outputs on either): read one with :meth:`execution`, or all with :meth:`task_runs`.
        The frame has the ``.kestra`` accessor (``summary()``: success rate, p50/p95 durations).

        Args:
            namespace: only this namespace (exact).
            flow_id: only this flow.
            state: only executions in this Kestra state (e.g. ``"FAILED"``, ``"RUNNING"``).
            labels: only executions with these labels.
            since: only executions started at or after this (timezone-aware) time.
            page: the page, from 1; ``None`` for every page (100 executions a page, read 4 at a
                time after the first; each page is turned into rows as it arrives).
            size: executions per page (one page).
        """
        if page is not None:
            for name, number in (("page", page), ("size", size)):
                if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                    raise KestraError(f"{name}: expected an integer >= 1, got {number!r}")
        params: list[tuple[str, Any]] = [*search_params(namespace, flow_id, state, since)]
        params += [(f"filters[labels][EQUALS][{k}]", str(v)) for k, v in (labels or {}).items()]
        if page is None:
            return executions_schema().frame((yield from search_rows(self, params, execution_rows)))
        results, _ = yield from search_page(self, params, page, size)
        return executions_frame(results)

    @operation
    def task_runs(
        self,
        namespace: str | None = None,
        flow_id: str | None = None,
        *,
        since: datetime | None = None,
        state: str | None = None,
    ) -> Op[pd.DataFrame]:
        """Every task run of the executions found, as a typed DataFrame (one row per task run).

        Kestra's open-source API has no task run search: the executions are searched (every page,
        as :meth:`executions` with ``page=None``) and, on Kestra 2.0 whose search results carry no
        task runs, each execution is read (``GET /executions/{id}``, 4 at a time).

        Columns (:func:`~kestra_airflow_sdk.kestra.history.task_runs_schema`): ``id``,
        ``execution_id``, ``namespace``, ``flow_id``, ``task_id``, ``parent_task_run_id``,
        ``value`` (``string``), ``state`` (Kestra's, a category), ``attempts`` (``Int64``),
        ``start_date``, ``end_date`` (UTC), ``duration`` (``timedelta64``, ended task runs).

        Args:
            namespace: only executions of this namespace.
            flow_id: only executions of this flow.
            since: only executions started at or after this (timezone-aware) time.
            state: only task runs in this Kestra state (e.g. ``"FAILED"``).
        """
        if state is not None and (not isinstance(state, str) or not state):
            raise KestraError(f"state: expected a non-empty string, got {state!r}")
        params = search_params(namespace, flow_id, None, since)
        rows = yield from search_rows(self, params, functools.partial(with_task_runs, self))
        if state is not None:
            rows = [row for row in rows if row["state"] == state]
        return task_runs_schema().frame(rows)

    # ------------------------------------------------------------------ actions on an execution

    @operation
    def kill(self, execution: ExecutionRef) -> Op[Execution]:
        """Kill a running execution (1.3: ``DELETE /executions/{id}/kill``; 2.0: ``.../actions/kill``).

        Kestra accepts the kill (often 202 without a body) and stops the execution asynchronously:
        the execution returned is as Kestra has it then (``KILLING`` shows as RUNNING).
        """
        return (yield from self._act(execution, "kill"))

    @operation
    def pause(self, execution: ExecutionRef) -> Op[Execution]:
        """Pause a running execution (``POST .../pause``; 2.0: ``.../actions/pause``)."""
        return (yield from self._act(execution, "pause"))

    @operation
    def resume(self, execution: ExecutionRef, inputs: Mapping[str, Any] | None = None) -> Op[Execution]:
        """Resume a paused execution (``POST .../resume``; 2.0: ``.../actions/resume``), giving the
        ``Pause`` task's ``onResume`` inputs as multipart form fields."""
        form = _form(inputs)
        if form is None:  # Kestra requires a multipart body: an empty one
            return (yield from self._act(execution, "resume", content=_EMPTY_FORM, headers=_EMPTY_FORM_TYPE))
        return (yield from self._act(execution, "resume", files=form))

    @operation
    def restart(self, execution: ExecutionRef, *, revision: int | None = None) -> Op[Execution]:
        """Restart a failed execution from its failed task runs (``POST .../restart``; 2.0:
        ``.../actions/restart``), optionally on another flow ``revision``."""
        return (yield from self._act(execution, "restart", params=_optional(revision=revision)))

    @operation
    def replay(
        self,
        execution: ExecutionRef,
        *,
        task_run_id: str | None = None,
        revision: int | None = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> Op[Execution]:
        """A new execution replaying this one (``POST .../replay``; 2.0: ``.../actions/replay``), from
        ``task_run_id`` if given; with new ``inputs``, ``.../replay-with-inputs`` (multipart fields).

        Returns:
            The new execution (it has its own id).
        """
        params = _optional(taskRunId=task_run_id, revision=revision)
        if inputs is None:
            return (yield from self._act(execution, "replay", params=params))
        return (yield from self._act(execution, "replay-with-inputs", params=params, files=_form(inputs)))

    def _act(self, execution: ExecutionRef, action: str, **request: Any) -> Op[Execution]:
        execution_id = _id(execution)
        version = yield from self._api()
        method, path_1_3, path_2_0 = _ACTIONS[action]
        path = f"/executions/{segment(execution_id)}/" + (
            path_2_0 if version is KestraVersion.V2_0 else path_1_3
        )
        label = self._label(version)
        headers = {"Accept": "application/json, text/json", **request.pop("headers", {})}  # kill: text/json
        body = yield from self._call(
            method,
            path,
            action=f"{action.capitalize()} of execution {execution_id} ({label})",
            headers=headers,
            **request,
        )
        if body is None:  # 202 Accepted / 204 No Content: what Kestra has now
            if action.startswith("replay"):
                raise KestraError(
                    f"{action.capitalize()} of execution {execution_id} ({label}): Kestra answered without "
                    "the new execution"
                )
            body = yield from self._read_execution(execution_id)
        return _execution(body, {})

    @operation
    def logs(self, execution: Execution | str) -> Op[list[KestraLogEntry]]:
        """The log lines of an execution (``GET /logs/{executionId}``)."""
        execution_id = _id(execution)
        body = yield from self._call(
            "GET", f"/logs/{segment(execution_id)}", action=f"Reading the logs of execution {execution_id}"
        )
        return _parse(KestraLogEntry, body, "logs")

    def _read_execution(self, execution_id: str, retry: RetryPolicy | None = None) -> Op[Any]:
        if not isinstance(execution_id, str) or not execution_id:
            raise KestraError(f"execution_id: expected an execution id, got {execution_id!r}")
        return (
            yield from self._call(
                "GET",
                f"/executions/{segment(execution_id)}",
                action=f"Reading execution {execution_id}",
                retry=retry,
            )
        )


class KestraServer(KestraOperations, SyncDriver):
    """A Kestra server: validate, deploy (upsert, never delete) and run flows; read executions and logs.

    Constructor arguments are described on :class:`~kestra_airflow_sdk.kestra.session.KestraSession`
    (``url``, ``username``/``password`` or ``token``, ``tenant``, ``timeout``, ``retry``, ``transport``).
    Requests are retried on transient failures with the Airflow client's
    :class:`~kestra_airflow_sdk.transport.retry.RetryPolicy`.

    Example:
        >>> server = KestraServer("http://localhost:8080", username="admin@kestra.io", password="...")
        >>> server.deploy(flows)
        >>> execution = server.run(flow, inputs={"day": "2026-11-24"})
    """

    _http: httpx.Client


class AsyncKestraServer(KestraOperations, AsyncDriver):
    """Asynchronous twin of :class:`KestraServer`: the same methods and arguments, awaited.

    Example:
        >>> async with AsyncKestraServer("http://localhost:8080", token="...") as server:
        ...     execution = await server.run(("company.team", "hello"))
    """

    _http: httpx.AsyncClient


#: action → (method, path under /executions/{id}/ on Kestra 1.3, on Kestra 2.0)
_ACTIONS = {
    "kill": ("DELETE", "kill", "actions/kill"),
    "pause": ("POST", "pause", "actions/pause"),
    "resume": ("POST", "resume", "actions/resume"),
    "restart": ("POST", "restart", "actions/restart"),
    "replay": ("POST", "replay", "actions/replay"),
    "replay-with-inputs": ("POST", "replay-with-inputs", "actions/replay-with-inputs"),
}


_EMPTY_FORM, _EMPTY_FORM_TYPE = (
    b"--kestra-sdk--\r\n",
    {"Content-Type": "multipart/form-data; boundary=kestra-sdk"},
)


def _id(execution: Any) -> str:
    execution_id = execution.id if isinstance(execution, Execution) else execution
    if not isinstance(execution_id, str) or not execution_id:
        raise KestraError(f"execution: expected an Execution or an execution id, got {execution!r}")
    return execution_id


def _check_wait(poll_interval: float, timeout: float) -> None:
    for name, value in (("poll_interval", poll_interval), ("timeout", timeout)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise KestraError(f"{name}: expected positive seconds, got {value!r}")


def _form(inputs: Mapping[str, Any] | None) -> list[tuple[str, tuple[None, str]]] | None:
    """Inputs as multipart form fields (what Kestra reads), or None for none."""
    if inputs is not None and not isinstance(inputs, Mapping):
        raise KestraError(f"inputs: expected a mapping of input id to value, got {type(inputs).__name__}")
    return [(str(k), (None, str(v))) for k, v in (inputs or {}).items()] or None


def _optional(**params: Any) -> dict[str, Any]:
    for name, value in params.items():
        if (
            name == "revision"
            and value is not None
            and (isinstance(value, bool) or not isinstance(value, int))
        ):
            raise KestraError(f"revision: expected a flow revision number, got {value!r}")
        if name == "taskRunId" and value is not None and (not isinstance(value, str) or not value):
            raise KestraError(f"task_run_id: expected a task run id, got {value!r}")
    return {name: value for name, value in params.items() if value is not None}


def _parse(model: Any, body: Any, what: str) -> list[Any]:
    if not isinstance(body, list):
        raise KestraError(f"{what}: expected a JSON list from Kestra, got {type(body).__name__}")
    try:
        return [model.model_validate(item) for item in body]
    except ValidationError as exc:
        raise KestraError(
            f"{what}: Kestra's answer does not have the expected shape: {exc.errors()[0]['msg']}"
        ) from None


def _execution(body: Any, types: dict[str, str]) -> Execution:
    if not isinstance(body, dict) or not body.get("id"):
        raise KestraError(f"Kestra's answer is not an execution: {str(body)[:200]!r}")
    return execution_from_kestra(body, types)


def run_flow_on(
    server: FlowServer,
    flow: Flow,
    inputs: Mapping[str, Any] | None,
    secrets: Mapping[str, Any] | None,
    labels: Mapping[str, str] | None,
    options: Mapping[str, Any],
    progress_observers: Callable[[Any], list[Observer]],
) -> Execution:
    """``flow.run(on=server)``: deploy the flow (upsert), run it on Kestra, follow it to its end
    (``progress_observers``: the runtime's, for the ``progress=`` option)."""
    if not isinstance(server, KestraServer):
        raise KestraError(f"on: expected a KestraServer, got {type(server).__name__}")
    if secrets:
        raise KestraError(
            "secrets: on a Kestra server, secret('NAME') reads the server's own secrets "
            "(e.g. SECRET_NAME environment variables of the server); do not pass secrets= with on="
        )
    unknown = sorted(set(options) - {"observers", "progress"})
    if unknown:
        raise KestraError(f"{', '.join(unknown)}: not available when running on a Kestra server")
    # the same progress display as a local run: the Airflow runs the TriggerDagRun tasks report
    observers = [*(options.get("observers") or []), *progress_observers(options.get("progress", True))]
    server.deploy([flow])
    return server.run(flow, inputs, labels, observers=observers)
