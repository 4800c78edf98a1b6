"""Authentication as httpx ``auth_flow`` generators: one implementation serves sync and async.

* Airflow 2 (``/api/v1``): HTTP basic auth on every request.
* Airflow 3 (``/api/v2``): a JWT from ``POST /auth/token``, sent as a bearer token and fetched again
  when Airflow rejects it (401 without a token, 403 "Invalid JWT token" for an expired one).
* A static bearer token (managed services such as Astronomer or Cloud Composer).

Credentials live in :class:`pydantic.SecretStr`, so they never show up in a ``repr``.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncGenerator, Generator

import httpx
from pydantic import SecretStr

from ..transport.auth import LOGIN, BearerAuth, is_anonymous
from .errors import AuthenticationError, error_from_response

__all__ = ["AirflowPasswordAuth", "BearerTokenAuth"]


class _ReadsErrorBodies(httpx.Auth):
    """An auth flow that sees the body of an error answer (a 401/403's detail tells a rejected
    token from a denied action) and of its own login, but leaves any other answer unread: a
    streamed answer (``GET .../dagRuns/{id}/wait``) stays streamed. httpx's
    ``requires_response_body`` would read every body, a stream to its end, before returning it."""

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        flow = self.auth_flow(request)
        sent = next(flow)
        while True:
            response = yield sent
            if _needs_body(response):
                response.read()
            try:
                sent = flow.send(response)
            except StopIteration:
                return

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        flow = self.auth_flow(request)
        sent = next(flow)
        while True:
            response = yield sent
            if _needs_body(response):
                await response.aread()
            try:
                sent = flow.send(response)
            except StopIteration:
                return


def _needs_body(response: httpx.Response) -> bool:
    return response.status_code >= 400 or bool(response.request.extensions.get(LOGIN))


class BearerTokenAuth(_ReadsErrorBodies, BearerAuth):
    """Send a fixed ``Authorization: Bearer <token>`` header (for managed Airflow services);
    a rejected token raises :class:`AuthenticationError`."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.authorize(request)
        response = yield request
        if response.status_code in (401, 403) and _is_token_rejection(response):
            raise AuthenticationError(
                f"{request.method} {request.url.path} failed: Airflow rejected the bearer token "
                f"({response.status_code}; expired or invalid?)",
                status=response.status_code,
                method=request.method,
                path=request.url.path,
            )


class AirflowPasswordAuth(_ReadsErrorBodies):
    """Username/password auth for both Airflow generations, chosen by the request's API path.

    ``/api/v1/...`` requests get HTTP basic auth. ``/api/v2/...`` requests get a JWT obtained from
    ``POST {root}/auth/token``; the token is cached and fetched again once when Airflow rejects it.
    """

    def __init__(self, username: str, password: str | SecretStr, *, root_url: str | httpx.URL) -> None:
        self.username = username
        self._password = password if isinstance(password, SecretStr) else SecretStr(password)
        self._token_url = httpx.URL(str(root_url).rstrip("/") + "/auth/token")
        self._basic = httpx.BasicAuth(username, self._password.get_secret_value())
        self._token: SecretStr | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AirflowPasswordAuth(username={self.username!r}, password='**********')"

    def login_form(self, csrf_token: str) -> dict[str, str]:
        """The fields of Airflow's web login form (:mod:`.forbidden` asks it about a 403)."""
        return {
            "username": self.username,
            "password": self._password.get_secret_value(),
            "csrf_token": csrf_token,
        }

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if is_anonymous(request):
            yield request
            return
        if "/api/v2/" not in request.url.path:
            yield from self._basic.auth_flow(request)
            return
        token = self._token
        fresh = token is None
        if token is None:
            token = yield from self._login()
        request.headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        response = yield request
        if response.status_code in (401, 403) and not fresh and _is_token_rejection(response):
            # the cached token expired or the server's secret changed: log in again, once. When
            # another request (e.g. a concurrent wait) has logged in meanwhile, use its token.
            with self._lock:
                current = self._token
                if current is token:
                    self._token = current = None
            token = current if current is not None else (yield from self._login())
            request.headers["Authorization"] = f"Bearer {token.get_secret_value()}"
            yield request

    def _login(self) -> Generator[httpx.Request, httpx.Response, SecretStr]:
        login = httpx.Request(
            "POST",
            self._token_url,
            json={"username": self.username, "password": self._password.get_secret_value()},
            extensions={LOGIN: True},
        )
        response = yield login
        if response.status_code >= 400:
            error = error_from_response(response, action=f"Logging in to Airflow as {self.username!r}")
            if response.status_code in (401, 403):
                raise AuthenticationError(
                    str(error), status=error.status, detail=error.detail, method="POST", path="/auth/token"
                )
            raise error
        try:
            token = SecretStr(str(response.json()["access_token"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthenticationError(
                f"Logging in to Airflow as {self.username!r}: POST /auth/token answered "
                f"{response.status_code} without an access_token",
                status=response.status_code,
                method="POST",
                path="/auth/token",
            ) from exc
        with self._lock:
            self._token = token
        return token


def _is_token_rejection(response: httpx.Response) -> bool:
    """401 always means "no/invalid token"; 403 only when Airflow says the JWT is invalid
    (a 403 for a real permission problem must not trigger a login loop)."""
    if response.status_code == 401:
        return True
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return False
    return isinstance(detail, str) and "token" in detail.lower()
