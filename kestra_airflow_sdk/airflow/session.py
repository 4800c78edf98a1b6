"""What every Airflow operation stands on: configuration, auth, the API dialect, one API call.

:class:`Session` extends the request core's :class:`~kestra_airflow_sdk.transport.session.HttpSession`
(one request with retries) and holds no driver: :mod:`kestra_airflow_sdk.transport.drivers` says how
requests are sent and delays waited. The operation mixins (:mod:`.operations`) and the operations of
higher layers build on :meth:`Session._call`, :meth:`Session._dialect` and :meth:`Session._build_request`,
which are private to the SDK: a client's public surface is its operations.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import httpx
from pydantic import SecretStr, ValidationError

from ..transport.auth import ANONYMOUS
from ..transport.effects import Op
from ..transport.retry import RetryPolicy
from ..transport.session import HttpSession, Transport, logger
from .auth import AirflowPasswordAuth
from .config import build_auth, root_url
from .errors import (
    AirflowConnectionError,
    AirflowError,
    ApiError,
    InvalidArgumentError,
    PermissionDeniedError,
    error_from_response,
    error_from_transport,
)
from .forbidden import LOGIN_PAGE, Verdict, csrf_token, explain_forbidden, verdict_of_login
from .models import VersionInfo
from .versions import DIALECTS, V1, ApiVersion, Dialect

__all__ = ["Session", "logger"]


class Session(HttpSession):
    """Everything the two Airflow clients share; no I/O happens here.

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
        retry: the :class:`~kestra_airflow_sdk.transport.retry.RetryPolicy` for transient failures
            (default :data:`~kestra_airflow_sdk.transport.retry.DEFAULT_RETRY`; ``NO_RETRY`` to
            disable). :meth:`with_retry` gives a view of the client with another policy.
        max_connections: at most this many requests in flight at once (others wait for a free
            connection). Airflow's API server has a small database pool: 200 concurrent waits
            with one connection each exhausted it and wedged an Airflow 3.3 API server in tests.
        wait_streams: at most this many waits of this client follow Airflow's ``/wait`` stream
            at once (Airflow 3.1+, see docs/client.md, "Waits that stream"); further waits poll, batched. Default:
            half of ``max_connections`` (each stream holds a connection); ``0``: always poll.
        transport: the :class:`httpx.BaseTransport` (:class:`httpx.AsyncBaseTransport` for the
            async client) requests go through, as in httpx; e.g. ``httpx.MockTransport(handler)``
            or an in-memory fake Airflow in tests. Default: httpx's network transport. As in httpx, a
            given transport brings its own TLS settings and limits (``verify``, ``max_connections``).
    """

    service: ClassVar[str] = "Airflow"

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
        wait_streams: int | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.base_url, hinted = root_url(base_url)
        if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
            raise InvalidArgumentError(f"max_connections: expected an integer >= 1, got {max_connections!r}")
        #: requests in flight at most; operations that run requests concurrently stay within it
        self.max_connections = max_connections
        if wait_streams is not None and (
            isinstance(wait_streams, bool) or not isinstance(wait_streams, int) or wait_streams < 0
        ):
            raise InvalidArgumentError(f"wait_streams: expected an integer >= 0, got {wait_streams!r}")
        #: waits that follow the server's ``/wait`` stream at once, at most (the others poll)
        self.wait_streams = max_connections // 2 if wait_streams is None else wait_streams
        if api_version not in ("auto", "v1", "v2"):
            raise InvalidArgumentError(f"api_version: expected 'auto', 'v1' or 'v2', got {api_version!r}")
        forced = None if api_version == "auto" else ApiVersion(api_version)
        if forced is not None and hinted is not None and forced is not hinted:
            raise InvalidArgumentError(
                f"api_version={forced.value!r} contradicts base_url, which ends in /api/{hinted.value}"
            )
        self._forced: ApiVersion | None = forced or hinted
        self._known_dialect: Dialect | None = None
        #: what Airflow's login page said about the credentials (asked on a 403 under basic auth)
        self._login_verdict: Verdict | None = None
        self._version_info: VersionInfo | None = None
        self.username = username
        self._auth = build_auth(self.base_url, username, password, token, auth)
        options: dict[str, Any] = {
            "auth": self._auth,
            "timeout": timeout,
            "verify": verify,
            "headers": {"Accept": "application/json", **(headers or {})},
            "follow_redirects": True,
            "limits": httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        }
        if transport is not None:
            options["transport"] = transport
        self._start(options, retry)

    def _unreachable(self, request: httpx.Request, exc: httpx.TransportError) -> AirflowConnectionError:
        return error_from_transport(request, exc)

    def _invalid(self, message: str) -> InvalidArgumentError:
        return InvalidArgumentError(message)

    def __repr__(self) -> str:
        parts = [f"base_url={self.base_url!r}", f"api_version={self.api_version!r}"]
        if self.server_version:
            parts.append(f"server_version={self.server_version!r}")
        if self.username:
            parts.append(f"username={self.username!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    # ------------------------------------------------------------------ version detection

    @property
    def api_version(self) -> str | None:
        """``"v1"`` (Airflow 2) or ``"v2"`` (Airflow 3): forced, or detected on the first call."""
        if self._known_dialect is not None:
            return self._known_dialect.version.value
        return self._forced.value if self._forced else None

    @property
    def server_version(self) -> str | None:
        """Airflow's version string (e.g. ``"3.3.2"``), known after the first call."""
        return self._version_info.version if self._version_info else None

    def _dialect(self) -> Op[Dialect]:
        """Operation: the server's dialect, probing ``/api/v2/version`` then ``/api/v1/version`` once."""
        if self._known_dialect is not None:
            return self._known_dialect
        candidates = [self._forced] if self._forced else [ApiVersion.V2, ApiVersion.V1]
        answers = []
        for version in candidates:
            dialect = DIALECTS[version]
            response = yield from self._send(
                functools.partial(self._build_request, "GET", f"{dialect.prefix}/version", anonymous=True)
            )
            if response.status_code == 200:
                try:
                    info = VersionInfo.model_validate({**response.json(), "api_version": version.value})
                except (ValueError, ValidationError):
                    answers.append(f"{dialect.prefix}/version answered 200 without a version")
                    continue
                self._known_dialect, self._version_info = dialect, info
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

    # ------------------------------------------------------------------ one request

    def _build_request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        anonymous: bool = False,
    ) -> httpx.Request:
        """A request to ``base_url + path`` (``None`` params dropped; ``anonymous``: no auth)."""
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
        """Operation: one request to the versioned API (``path`` after ``/api/vN``); its JSON body.

        Raises the SDK error for an error status, ``action`` saying what was being done.
        """
        dialect = yield from self._dialect()
        response = yield from self._send(
            functools.partial(
                self._build_request,
                method,
                dialect.prefix + path,
                params=params,
                json_body=json_body,
                headers=headers,
            ),
            retry=retry,
        )
        if response.status_code >= 400:
            error = error_from_response(response, action=action)
            auth = self._auth
            if (
                type(error) is PermissionDeniedError
                and dialect is V1
                and isinstance(auth, AirflowPasswordAuth)
            ):
                verdict = yield from self._judge_credentials(auth)
                error = explain_forbidden(error, verdict, auth.username)
            raise error
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

    def _judge_credentials(self, auth: AirflowPasswordAuth) -> Op[Verdict]:
        """Operation: ask Airflow's web login page whether ``auth``'s username and password are
        valid (:mod:`.forbidden`: Airflow 2.11 answers 403 to wrong ones). The cookies it sets
        are dropped afterwards; a clear verdict is kept for the session."""
        if self._login_verdict is not None:
            return self._login_verdict
        cookies = list(self._http.cookies.jar)
        verdict = Verdict.UNKNOWN
        try:
            page = yield from self._send(
                functools.partial(
                    self._build_request, "GET", LOGIN_PAGE, headers={"Accept": "text/html"}, anonymous=True
                )
            )
            token = csrf_token(page)
            if token is not None:
                answer = yield from self._send(
                    lambda: self._http.build_request(
                        "POST",
                        self.base_url + LOGIN_PAGE,
                        data=auth.login_form(token),
                        headers={"Accept": "text/html"},
                        extensions={ANONYMOUS: True},
                    )
                )
                verdict = verdict_of_login(answer)
        except AirflowConnectionError:
            pass  # the page could not be reached: the error says both possibilities
        finally:
            self._http.cookies.jar.clear()
            for cookie in cookies:
                self._http.cookies.jar.set_cookie(cookie)
        if verdict is not Verdict.UNKNOWN:
            self._login_verdict = verdict
        return verdict
