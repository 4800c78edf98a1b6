"""``KestraServer`` / ``AsyncKestraServer``: validate, deploy and run flows on a Kestra server.

The operations are written once, as generators of effects, and run by the Airflow layer's two
drivers (sync and async), with the same retries and the same transient-error rules.

Every call is one documented endpoint of Kestra's OpenAPI 2.0 spec; the tests check each request
against that spec with a Prism mock (no Kestra server can be installed on the build machines).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpx
from pydantic import ValidationError

from ..flows.execution import Execution
from ..flows.flow import Flow
from ..flows.hooks import FlowServer
from ..flows.observer import Observer
from ..transport.drivers import AsyncDriver, SyncDriver
from ..transport.effects import Delay, Op, now
from ..transport.operation import operation
from ..transport.retry import NO_RETRY, RetryPolicy
from .errors import KestraApiError, KestraConnectionError, KestraError
from .executions import TERMINAL, ReportedProgress, execution_from_kestra, kestra_state, log_entry_from_kestra
from .models import DeployedFlow, FlowValidation, KestraLogEntry
from .session import KestraSession, segment

__all__ = ["AsyncKestraServer", "KestraServer"]

logger = logging.getLogger("kestra_airflow_sdk.kestra")

FlowRef = Flow | tuple[str, str]


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


class KestraOperations(KestraSession):
    """Every Kestra server operation, written once as a generator of effects (see :mod:`.session`)."""

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
    ) -> Op[Execution]:
        """Start an execution of a deployed flow (``POST /executions/{namespace}/{id}``).

        Args:
            flow: a :class:`Flow` or ``(namespace, flow_id)``.
            inputs: the flow's inputs (sent as multipart form fields).
            labels: execution labels (``labels=key:value`` query parameters).
            wait: poll ``GET /executions/{id}`` until the execution is terminal. A poll that fails
                transiently (503, 429, a dropped connection) is tried again on the next tick
                until ``timeout``; a permanent error ends the wait.
            poll_interval: seconds between polls.
            timeout: seconds to wait at most (then :class:`KestraError` with the last state).
            observers: progress observers (``task_started``, ``task_ended``, ... as for local runs).

        Returns:
            The :class:`Execution` (the same type local runs return), final when ``wait``.
        """
        namespace, flow_id = (flow.namespace, flow.id) if isinstance(flow, Flow) else _ref(flow)
        if poll_interval <= 0 or timeout <= 0:
            raise KestraError(
                f"poll_interval and timeout: expected positive seconds, got {poll_interval}, {timeout}"
            )
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
        return (yield from self._follow(body, types, poll_interval, timeout, list(observers or [])))

    @operation
    def execution(self, execution_id: str) -> Op[Execution]:
        """An execution as Kestra has it now (``GET /executions/{id}``)."""
        return _execution((yield from self._read_execution(execution_id)), {})

    @operation
    def logs(self, execution: Execution | str) -> Op[list[KestraLogEntry]]:
        """The log lines of an execution (``GET /logs/{executionId}``)."""
        execution_id = execution.id if isinstance(execution, Execution) else execution
        if not isinstance(execution_id, str) or not execution_id:
            raise KestraError(f"execution: expected an Execution or an execution id, got {execution!r}")
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

    def _follow(
        self,
        body: Any,
        types: dict[str, str],
        poll_interval: float,
        timeout: float,
        observers: list[Observer],
    ) -> Op[Execution]:
        """Poll the execution until it is terminal, riding through transient failures (as the Airflow waits)."""
        execution = _execution(body, types)
        started, reported = (yield from now()), ReportedProgress(observers)
        reported.update(execution)
        failures, error = 0, ""
        while kestra_state(body) not in TERMINAL:
            waited = (yield from now()) - started
            if waited >= timeout:
                raise KestraError(
                    f"Execution {execution.id} of {execution.namespace}.{execution.flow_id} did not end within "
                    f"{timeout:g}s (last state: {kestra_state(body) or 'unknown'})" + error
                )
            pause = max(poll_interval, self.retry.backoff(failures)) if failures else poll_interval
            yield Delay(min(pause, timeout - waited))
            try:  # one attempt per tick: the next tick is the retry
                body = yield from self._read_execution(execution.id, NO_RETRY)
            except (KestraApiError, KestraConnectionError) as exc:
                if not exc.transient:
                    raise KestraError(
                        f"Waiting for execution {execution.id} of {execution.namespace}.{execution.flow_id} "
                        f"stopped: {exc}"
                    ) from None
                failures, error = failures + 1, f"; last poll failed: {exc}"
                logger.warning("Waiting for execution %s: %s (will keep trying)", execution.id, exc)
                continue
            failures, error = 0, ""
            execution = _execution(body, types)
            reported.update(execution)
        try:
            entries = yield from KestraOperations.logs.fn(self, execution.id)
            execution.logs = [log_entry_from_kestra(entry) for entry in entries]
        except KestraError as exc:  # the execution ended: return it, without its log lines
            logger.warning(
                "execution %s ended %s, but its logs could not be read: %s",
                execution.id,
                execution.state,
                exc,
            )
        for entry in execution.logs:
            reported.log(execution, entry)
        reported.end(execution)
        return execution


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


def _ref(flow: Any) -> tuple[str, str]:
    if isinstance(flow, tuple) and len(flow) == 2 and all(isinstance(x, str) and x for x in flow):
        return flow[0], flow[1]
    raise KestraError(f"flow: expected a Flow or a (namespace, flow_id) pair, got {flow!r}")


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
) -> Execution:
    """``flow.run(on=server)``: deploy the flow (upsert), run it on Kestra, follow it to its end."""
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
    from ..runner.engine import progress_observers_for

    # the same progress display as a local run: the Airflow runs the TriggerDagRun tasks report
    observers = [*(options.get("observers") or []), *progress_observers_for(options.get("progress", True))]
    server.deploy([flow])
    return server.run(flow, inputs, labels, observers=observers)
