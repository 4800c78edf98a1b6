"""One exception hierarchy for everything the Airflow client raises.

Every error says what was asked (method and path, never credentials) and what Airflow answered
(status and Airflow's problem detail, whatever its shape: string, list of validation errors, object).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from ..errors import KestraAirflowError
from ..transport.errors import ConnectionFailure, StatusFailure, parse_retry_after, transport_failure

__all__ = [
    "AirflowConnectionError",
    "AirflowError",
    "AlreadyAnsweredError",
    "ApiError",
    "AuthenticationError",
    "ConflictError",
    "DagPausedError",
    "DagPausedWarning",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "UnsupportedFeatureError",
    "WaitTimeoutError",
]


class AirflowError(KestraAirflowError):
    """Base class of every error raised by the Airflow client."""


class InvalidArgumentError(AirflowError, ValueError):
    """An argument was rejected by the SDK before any request was sent."""


class UnsupportedFeatureError(InvalidArgumentError):
    """The connected Airflow server predates a feature asked for (checked before any request of it).

    Attributes:
        feature: what was asked for (e.g. ``"human-in-the-loop requests"``).
        since: the first Airflow release that has it (e.g. ``"3.1.0"``).
        server_version: the connected server's version.
    """

    def __init__(self, message: str, *, feature: str, since: str, server_version: str | None) -> None:
        super().__init__(message)
        self.feature = feature
        self.since = since
        self.server_version = server_version


class AlreadyAnsweredError(AirflowError):
    """A human-in-the-loop request was answered already: Airflow keeps the first answer.

    Attributes:
        responded_by: the name of who answered it, when Airflow says.
        chosen_options: what they chose, when Airflow says.
    """

    def __init__(self, message: str, *, responded_by: str | None, chosen_options: list[str] | None) -> None:
        super().__init__(message)
        self.responded_by = responded_by
        self.chosen_options = chosen_options


class AirflowConnectionError(AirflowError, ConnectionFailure):
    """Airflow could not be reached (connection refused, DNS failure, timeout, ...).

    Attributes:
        method / url: the request (no query string, no credentials).
        request_sent: False when the request certainly never reached Airflow (the connection
            could not be made); True when Airflow may have received it (read timeout, connection
            dropped while waiting for the answer).
        retryable: False for errors that cannot go away by retrying (unsupported URL scheme, ...).
    """

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        url: str = "",
        request_sent: bool = True,
        retryable: bool = True,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.request_sent = request_sent
        self.retryable = retryable


class DagPausedError(AirflowError):
    """The DAG is paused, so its runs stay queued (raised when asked to, see ``if_paused``)."""

    def __init__(self, message: str, *, dag_id: str) -> None:
        super().__init__(message)
        self.dag_id = dag_id


class DagPausedWarning(UserWarning):
    """A run was triggered for, or is waiting on, a paused DAG: it stays queued until unpaused."""


class WaitTimeoutError(AirflowError, TimeoutError):
    """A wait for a DAG run ended before the run reached a final state."""

    def __init__(self, message: str, *, waited: float, last_state: str | None) -> None:
        super().__init__(message)
        self.waited = waited
        self.last_state = last_state


class ApiError(AirflowError, StatusFailure):
    """Airflow answered with an HTTP error status.

    Attributes:
        status: the HTTP status code.
        detail: Airflow's problem detail as parsed from the body (str, list or dict), or None.
        method: the HTTP method of the request.
        path: the request path (no host, no credentials).
        retry_after: the ``Retry-After`` header in seconds (429/503), or None.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        detail: Any = None,
        method: str = "",
        path: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.method = method
        self.path = path
        self.retry_after = retry_after


class AuthenticationError(ApiError):
    """Airflow did not accept the credentials (HTTP 401, or a rejected token)."""


class PermissionDeniedError(ApiError):
    """The credentials are valid but not allowed to do this (HTTP 403)."""


class NotFoundError(ApiError):
    """The DAG, DAG run, task or log asked for does not exist (HTTP 404)."""


class ConflictError(ApiError):
    """The request conflicts with existing state, e.g. a DAG run id that already exists (HTTP 409)."""


_BY_STATUS: dict[int, type[ApiError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
}


def describe_detail(detail: Any) -> str:
    """Render Airflow's ``detail`` (v1 problem JSON, v2 FastAPI string / validation list / object)."""
    if detail is None:
        return ""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):  # FastAPI validation errors: [{loc, msg, type, input}, ...]
        parts = []
        for item in detail:
            if isinstance(item, dict) and "msg" in item:
                loc = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
                parts.append(f"{loc}: {item['msg']}" if loc else str(item["msg"]))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    if isinstance(detail, dict):  # v2 409: {"reason", "statement", "orig_error", "message"}
        for key in ("reason", "message", "title"):
            if isinstance(detail.get(key), str):
                return str(detail[key])
    return json.dumps(detail, default=str)


def error_from_response(response: httpx.Response, action: str = "") -> ApiError:
    """Build the matching :class:`ApiError` subclass for an HTTP error response."""
    request = response.request
    method, path = request.method, request.url.path
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text.strip() or None
    if isinstance(body, dict):
        detail = body.get("detail")
        if detail is None:
            detail = body.get("title")
    else:
        detail = body
    text = describe_detail(detail)
    reason = response.reason_phrase or ""
    what = action or f"{method} {path}"
    message = f"{what} failed: Airflow answered {response.status_code} {reason}".rstrip()
    if text:
        message += f": {text}"
    cls = _BY_STATUS.get(response.status_code, ApiError)
    if response.status_code == 403 and isinstance(detail, str) and "token" in detail.lower():
        cls = AuthenticationError  # Airflow 3 answers 403 "Invalid JWT token" for a bad or expired token
    return cls(
        message,
        status=response.status_code,
        detail=detail,
        method=method,
        path=path,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


def error_from_transport(request: httpx.Request, exc: httpx.TransportError) -> AirflowConnectionError:
    """Turn an httpx transport error into an :class:`AirflowConnectionError` naming the URL.

    Classifies it for the retry policy (:func:`~kestra_airflow_sdk.transport.errors.transport_failure`):
    was the request possibly received by Airflow (``request_sent``), and can retrying help
    (``retryable``)? An error of the auth flow's login ``POST /auth/token`` means that ``request``
    itself was not sent.
    """
    url = request.url.copy_with(query=None)
    sent, retryable = transport_failure(request, exc)
    what = type(exc).__name__
    detail = str(exc) or what
    hint = "" if sent else " (the request was not sent)"
    return AirflowConnectionError(
        f"Could not reach Airflow at {url} for {request.method}{hint}: {what}: {detail}",
        method=request.method,
        url=str(url),
        request_sent=sent,
        retryable=retryable,
    )
