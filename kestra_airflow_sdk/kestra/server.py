"""``KestraServer``: validate, deploy and run flows on a Kestra server over its REST API (httpx).

Every call is one documented endpoint of Kestra's OpenAPI 2.0 spec; the tests check each request
against that spec with a Prism mock (no Kestra server can be installed on the build machines).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from pydantic import SecretStr, ValidationError

from ..flows.flow import Flow
from ..runner.execution import Execution
from ..runner.observer import Observer
from .errors import KestraApiError, KestraConnectionError, KestraError
from .executions import TERMINAL, ReportedProgress, execution_from_kestra, kestra_state, log_entry_from_kestra
from .models import DeployedFlow, FlowValidation, LogEntry

__all__ = ["KestraServer"]

logger = logging.getLogger("kestra_airflow_sdk.kestra")

_TENANT = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$")
FlowRef = Flow | tuple[str, str]


def _segment(value: str) -> str:
    return quote(value, safe="")


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


class KestraServer:
    """A Kestra server: validate, deploy (upsert, never delete) and run flows; read executions and logs.

    Args:
        url: the server's root URL, e.g. ``http://localhost:8080``.
        username: basic-auth user (with ``password``).
        password: basic-auth password (kept as a ``SecretStr``).
        token: a bearer token (API token) instead of a user and password.
        tenant: the tenant of every call (open-source Kestra: ``main``).
        timeout: seconds for each HTTP request.
        transport: an httpx transport (tests, proxies).

    Example:
        >>> server = KestraServer("http://localhost:8080", username="admin@kestra.io", password="...")
        >>> server.deploy(flows)
        >>> execution = server.run(flow, inputs={"day": "2026-11-24"})
    """

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | SecretStr | None = None,
        token: str | SecretStr | None = None,
        tenant: str = "main",
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise KestraError(f"url: expected an http(s) URL such as http://localhost:8080, got {url!r}")
        if parts.username or parts.password:
            raise KestraError("url: credentials inside the URL are refused; pass username= and password=")
        if not isinstance(tenant, str) or not _TENANT.match(tenant):
            raise KestraError(f"tenant: expected letters, digits, '_' or '-' (e.g. 'main'), got {tenant!r}")
        if token is not None and (username is not None or password is not None):
            raise KestraError("credentials: give either token= or username= and password=, not both")
        if (username is None) != (password is None):
            raise KestraError("credentials: username= and password= go together")
        self.url = url.rstrip("/")
        self.tenant = tenant
        secret_password = SecretStr(password) if isinstance(password, str) else password
        secret_token = SecretStr(token) if isinstance(token, str) else token
        auth: httpx.Auth | None = None
        if username is not None and secret_password is not None:
            auth = httpx.BasicAuth(username, secret_password.get_secret_value())
            self._auth_kind = "basic"
        elif secret_token is not None:
            auth = _Bearer(secret_token)
            self._auth_kind = "bearer"
        else:
            self._auth_kind = "none"
        self._http = httpx.Client(base_url=self.url, auth=auth, timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return f"KestraServer(url={self.url!r}, tenant={self.tenant!r}, auth={self._auth_kind!r})"

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> KestraServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ HTTP

    def _request(self, method: str, path: str, *, action: str, **kwargs: Any) -> Any:
        full = f"/api/v1/{self.tenant}{path}"
        try:
            response = self._http.request(method, full, **kwargs)
        except httpx.HTTPError as exc:
            raise KestraConnectionError(
                f"{action} failed: could not reach Kestra at {self.url} ({type(exc).__name__}: {exc})"
            ) from None
        if response.status_code >= 400:
            detail = _detail(response)
            hint = {401: " (check username/password or token)", 403: " (this user may not do that)"}
            raise KestraApiError(
                f"{action} failed: Kestra answered {response.status_code} {response.reason_phrase} "
                f"to {method} {full}{hint.get(response.status_code, '')}" + (f": {detail}" if detail else ""),
                status=response.status_code,
                method=method,
                path=full,
                detail=detail,
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise KestraError(f"{action}: Kestra's answer is not JSON: {response.text[:200]!r}") from None

    # ------------------------------------------------------------------ flows

    def validate(self, flows: Flow | Iterable[Flow]) -> list[FlowValidation]:
        """Ask Kestra to validate flows (``POST /flows/validate``); one result per flow, in order.

        Raises:
            KestraApiError: Kestra refused the request.
        """
        items = _flows(flows)
        body = self._request(
            "POST",
            "/flows/validate",
            action=f"Validating {len(items)} flow(s)",
            content=_yaml(items),
            headers={"Content-Type": "application/x-yaml"},
        )
        return _parse(FlowValidation, body, "validate")

    def deploy(self, flows: Flow | Iterable[Flow]) -> list[DeployedFlow]:
        """Create or update flows (``POST /flows/bulk?delete=false``): an idempotent upsert.

        ``delete=false`` is always sent: Kestra's default for this endpoint deletes the other flows
        of the namespace, which this SDK never does.
        """
        items = _flows(flows)
        body = self._request(
            "POST",
            "/flows/bulk",
            action=f"Deploying {len(items)} flow(s)",
            params={"delete": "false"},
            content=_yaml(items),
            headers={"Content-Type": "application/x-yaml"},
        )
        return _parse(DeployedFlow, body, "deploy")

    # ------------------------------------------------------------------ executions

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
    ) -> Execution:
        """Start an execution of a deployed flow (``POST /executions/{namespace}/{id}``).

        Args:
            flow: a :class:`Flow` or ``(namespace, flow_id)``.
            inputs: the flow's inputs (sent as multipart form fields).
            labels: execution labels (``labels=key:value`` query parameters).
            wait: poll ``GET /executions/{id}`` until the execution is terminal.
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
        body = self._request(
            "POST",
            f"/executions/{_segment(namespace)}/{_segment(flow_id)}",
            action=f"Starting flow {namespace}.{flow_id}",
            params=params,
            **({"files": files} if files else {}),
        )
        execution = _execution(body, types)
        if not wait:
            return execution
        return self._follow(body, types, poll_interval, timeout, list(observers or []))

    def execution(self, execution_id: str) -> Execution:
        """An execution as Kestra has it now (``GET /executions/{id}``)."""
        return _execution(self._get_execution(execution_id), {})

    def _get_execution(self, execution_id: str) -> Any:
        if not isinstance(execution_id, str) or not execution_id:
            raise KestraError(f"execution_id: expected an execution id, got {execution_id!r}")
        return self._request(
            "GET", f"/executions/{_segment(execution_id)}", action=f"Reading execution {execution_id}"
        )

    def _follow(
        self,
        body: Any,
        types: dict[str, str],
        poll_interval: float,
        timeout: float,
        observers: list[Observer],
    ) -> Execution:
        execution = _execution(body, types)
        started, reported = self._now(), ReportedProgress(observers)
        reported.update(execution)
        while kestra_state(body) not in TERMINAL:
            waited = self._now() - started
            if waited >= timeout:
                raise KestraError(
                    f"Execution {execution.id} of {execution.namespace}.{execution.flow_id} did not end within "
                    f"{timeout:g}s (last state: {kestra_state(body) or 'unknown'})"
                )
            self._sleep(min(poll_interval, timeout - waited))
            body = self._get_execution(execution.id)
            execution = _execution(body, types)
            reported.update(execution)
        try:
            execution.logs = [log_entry_from_kestra(entry) for entry in self.logs(execution.id)]
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

    def _now(self) -> float:
        """The monotonic clock the waits run on (a test subclass moves it virtually with :meth:`_sleep`)."""
        return time.monotonic()

    def _sleep(self, seconds: float) -> None:
        """Pause between two polls of an execution."""
        time.sleep(seconds)

    def logs(self, execution: Execution | str) -> list[LogEntry]:
        """The log lines of an execution (``GET /logs/{executionId}``)."""
        execution_id = execution.id if isinstance(execution, Execution) else execution
        if not isinstance(execution_id, str) or not execution_id:
            raise KestraError(f"execution: expected an Execution or an execution id, got {execution!r}")
        body = self._request(
            "GET", f"/logs/{_segment(execution_id)}", action=f"Reading the logs of execution {execution_id}"
        )
        return _parse(LogEntry, body, "logs")


class _Bearer(httpx.Auth):
    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request


def _ref(flow: Any) -> tuple[str, str]:
    if isinstance(flow, tuple) and len(flow) == 2 and all(isinstance(x, str) and x for x in flow):
        return flow[0], flow[1]
    raise KestraError(f"flow: expected a Flow or a (namespace, flow_id) pair, got {flow!r}")


def _detail(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or None
    if isinstance(body, dict):
        for key in ("message", "detail", "title"):
            if body.get(key):
                return str(body[key])
    return str(body)[:300]


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
    server: KestraServer,
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
