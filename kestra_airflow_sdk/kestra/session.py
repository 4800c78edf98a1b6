"""What every Kestra server operation stands on: configuration, auth, and one call with retries.

The Kestra client is built on the same sans-I/O core as the Airflow client: :class:`KestraSession`
extends :class:`~kestra_airflow_sdk.airflow.session.HttpSession` (one request with the
:class:`~kestra_airflow_sdk.transport.retry.RetryPolicy`), its operations are generators of effects,
and the Airflow layer's two drivers run them (see :mod:`.server`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import SecretStr

from ..transport.auth import BearerAuth
from ..transport.effects import Op, open_stream
from ..transport.errors import transport_failure
from ..transport.retry import RetryPolicy, transient_status
from ..transport.session import HttpSession, Transport
from ..transport.streams import Stream
from .errors import KestraApiError, KestraConnectionError, KestraError

__all__ = ["KestraSession", "segment"]

_TENANT = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$")
_HINTS = {401: " (check username/password or token)", 403: " (this user may not do that)"}


def segment(value: str) -> str:
    """``value`` as one URL path segment."""
    return quote(value, safe="")


class KestraSession(HttpSession):
    """A Kestra server's configuration and its :meth:`_call`; no I/O happens here.

    Args:
        url: the server's root URL, e.g. ``http://localhost:8080``.
        username: basic-auth user (with ``password``).
        password: basic-auth password (kept as a ``SecretStr``).
        token: a bearer token (API token) instead of a user and password.
        tenant: the tenant of every call (open-source Kestra: ``main``).
        timeout: seconds for each HTTP request.
        retry: the :class:`~kestra_airflow_sdk.transport.retry.RetryPolicy` for transient failures
            (503/429/502/504, dropped connections), as for the Airflow clients.
        transport: the httpx transport requests go through (:class:`httpx.BaseTransport` for
            :class:`KestraServer`, :class:`httpx.AsyncBaseTransport` for :class:`AsyncKestraServer`),
            e.g. ``httpx.MockTransport(handler)`` in tests.
    """

    service: ClassVar[str] = "Kestra"

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | SecretStr | None = None,
        token: str | SecretStr | None = None,
        tenant: str = "main",
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: Transport | None = None,
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
        auth: httpx.Auth | None = None
        if username is not None and password is not None:
            secret = password if isinstance(password, SecretStr) else SecretStr(password)
            auth, self._auth_kind = httpx.BasicAuth(username, secret.get_secret_value()), "basic"
        elif token is not None:
            auth, self._auth_kind = BearerAuth(token), "bearer"
        else:
            self._auth_kind = "none"
        options: dict[str, Any] = {
            "auth": auth,
            "timeout": timeout,
            "headers": {"Accept": "application/json"},
        }
        if transport is not None:
            options["transport"] = transport
        self._start(options, retry)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, tenant={self.tenant!r}, auth={self._auth_kind!r})"

    def _unreachable(self, request: httpx.Request, exc: httpx.TransportError) -> KestraConnectionError:
        sent, retryable = transport_failure(request, exc)
        hint = "" if sent else " (the request was not sent)"
        return KestraConnectionError(
            f"could not reach Kestra at {self.url} for {request.method}{hint}: {type(exc).__name__}: "
            f"{str(exc) or type(exc).__name__}",
            transient=retryable,
            request_sent=sent,
        )

    def _invalid(self, message: str) -> KestraError:
        return KestraError(message)

    def _call(
        self,
        method: str,
        path: str,
        *,
        action: str,
        retry: RetryPolicy | None = None,
        **request: Any,
    ) -> Op[Any]:
        """Operation: one request to ``/api/v1/{tenant}{path}`` (retried as the policy says); its JSON body.

        ``request`` holds httpx's ``params``, ``content``, ``files``, ``json`` and ``headers``.

        Raises:
            KestraConnectionError: Kestra could not be reached (after the retries).
            KestraApiError: Kestra answered an error status (after the retries).
        """
        response = yield from self._respond(method, path, action=action, retry=retry, **request)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise KestraError(f"{action}: Kestra's answer is not JSON: {response.text[:200]!r}") from None

    def _respond(
        self,
        method: str,
        path: str,
        *,
        action: str,
        retry: RetryPolicy | None = None,
        **request: Any,
    ) -> Op[httpx.Response]:
        """Operation: :meth:`_call`'s request, its successful response as it came (e.g. a file's bytes)."""
        full = f"/api/v1/{self.tenant}{path}"
        build = functools.partial(self._http.build_request, method, self.url + full, **request)
        try:
            response = yield from self._send(build, retry=retry)
        except KestraConnectionError as exc:
            raise KestraConnectionError(
                f"{action} failed: {exc}", transient=exc.transient, request_sent=exc.request_sent
            ) from None
        if response.status_code >= 400:
            status = response.status_code
            raise _api_error(
                action, method, full, status, _detail(response), transient=transient_status(status)
            )
        return response

    def _open_events(self, path: str, *, action: str) -> Op[Stream]:
        """Operation: open the event stream ``/api/v1/{tenant}{path}`` (``text/event-stream``), once,
        without retries (a follower decides when to reconnect).

        Raises:
            KestraConnectionError: Kestra could not be reached.
            KestraApiError: Kestra answered an error status.
        """
        full = f"/api/v1/{self.tenant}{path}"
        request = self._http.build_request("GET", self.url + full, headers={"Accept": "text/event-stream"})
        try:
            stream = yield from open_stream(request)
        except KestraConnectionError as exc:
            raise KestraConnectionError(
                f"{action} failed: {exc}", transient=exc.transient, request_sent=exc.request_sent
            ) from None
        status = stream.status_code
        if status >= 400:
            detail = _detail(stream.response)
            raise _api_error(action, "GET", full, status, detail, transient=transient_status(status))
        return stream


def _api_error(
    action: str, method: str, path: str, status: int, detail: str | None, *, transient: bool
) -> KestraApiError:
    return KestraApiError(
        f"{action} failed: Kestra answered {status} {httpx.codes.get_reason_phrase(status)} to {method} {path}"
        f"{_HINTS.get(status, '')}" + (f": {detail}" if detail else ""),
        status=status,
        method=method,
        path=path,
        detail=detail,
        transient=transient,
    )


def _detail(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or None
    if isinstance(body, Mapping):
        for key in ("message", "detail", "title"):
            if body.get(key):
                return str(body[key])
    return str(body)[:300]
