"""What every client operation stands on: configuration, the API dialect, and one request with retries.

:class:`Session` holds no driver: :mod:`.drivers` says how requests are sent and sleeps slept, the
operation mixins (:mod:`.operations`) build on :meth:`Session.call`, :meth:`Session.send` and
:meth:`Session.dialect`, which are the documented building blocks for operations of higher layers.
"""

from __future__ import annotations

import copy
import functools
import itertools
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, TypeVar

import httpx
from pydantic import SecretStr, ValidationError

from .auth import ANONYMOUS
from .config import build_auth, root_url
from .effects import Op, Sleep
from .errors import AirflowConnectionError, AirflowError, ApiError, InvalidArgumentError, error_from_response
from .models import VersionInfo
from .retry import DEFAULT_RETRY, RetryPolicy
from .versions import DIALECTS, ApiVersion, Dialect

__all__ = ["HttpSession", "Session", "logger"]

logger = logging.getLogger("kestra_airflow_sdk")

S = TypeVar("S", bound="HttpSession")
Transport = httpx.BaseTransport | httpx.AsyncBaseTransport


class HttpSession:
    """The service-neutral part of a session: the HTTP client, the clock, one request with retries.

    The drivers (:mod:`.drivers`) build on it, and so do the clients of every server the SDK talks
    to (:class:`Session` for Airflow, :class:`~kestra_airflow_sdk.kestra.KestraServer` for Kestra).
    ``service`` names the server in log lines.
    """

    _http: httpx.Client | httpx.AsyncClient
    retry: RetryPolicy
    service: ClassVar[str] = "Airflow"

    def _open(self, options: dict[str, Any]) -> httpx.Client | httpx.AsyncClient:
        """Create the HTTP client the driver sends requests with."""
        raise NotImplementedError

    def _now(self) -> float:
        """The driver's monotonic clock, in seconds: the clock its :class:`~.effects.Sleep` effects run on.

        Operations read the time only through this, so a test driver that fast-forwards ``Sleep``
        (see ``tests/virtual_time.py``) also moves the time the operations see."""
        return time.monotonic()

    def with_retry(self: S, retry: RetryPolicy) -> S:
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

    def send(
        self, build: Callable[[], httpx.Request], *, retry: RetryPolicy | None = None
    ) -> Op[httpx.Response]:
        """Operation: send the request ``build()`` makes, retrying transient failures as the policy says.

        Returns the last response, whatever its status; raises :class:`AirflowConnectionError`
        when the server could not be reached (after the retries). A POST is repeated only when it
        never reached the server or was refused with 429 (see :mod:`.retry`).
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
                reason = f"{self.service} answered {response.status_code}"
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
        retry: the :class:`~kestra_airflow_sdk.airflow.retry.RetryPolicy` for transient failures
            (default :data:`~kestra_airflow_sdk.airflow.retry.DEFAULT_RETRY`; ``NO_RETRY`` to
            disable). :meth:`with_retry` gives a view of the client with another policy.
        max_connections: at most this many requests in flight at once (others wait for a free
            connection). Airflow's API server has a small database pool: 200 concurrent waits
            with one connection each exhausted it and wedged an Airflow 3.3 API server in tests.
        transport: the :class:`httpx.BaseTransport` (:class:`httpx.AsyncBaseTransport` for the
            async client) requests go through, as in httpx; e.g. ``httpx.MockTransport(handler)``
            or an in-memory fake Airflow in tests. Default: httpx's network transport. As in httpx, a
            given transport brings its own TLS settings and limits (``verify``, ``max_connections``).
    """

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
        transport: Transport | None = None,
    ) -> None:
        self.base_url, hinted = root_url(base_url)
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise InvalidArgumentError(f"retry: expected a RetryPolicy, got {type(retry).__name__}")
        self.retry: RetryPolicy = retry or DEFAULT_RETRY
        if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
            raise InvalidArgumentError(f"max_connections: expected an integer >= 1, got {max_connections!r}")
        #: requests in flight at most; operations that run requests concurrently stay within it
        self.max_connections = max_connections
        if api_version not in ("auto", "v1", "v2"):
            raise InvalidArgumentError(f"api_version: expected 'auto', 'v1' or 'v2', got {api_version!r}")
        forced = None if api_version == "auto" else ApiVersion(api_version)
        if forced is not None and hinted is not None and forced is not hinted:
            raise InvalidArgumentError(
                f"api_version={forced.value!r} contradicts base_url, which ends in /api/{hinted.value}"
            )
        self._forced: ApiVersion | None = forced or hinted
        self._dialect: Dialect | None = None
        self._version_info: VersionInfo | None = None
        #: per-client state of higher-level operations (see :func:`.state.per_client`), shared by views
        self._kas_state: dict[str, Any] = {}
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
        self._http = self._open(options)

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
        if self._dialect is not None:
            return self._dialect.version.value
        return self._forced.value if self._forced else None

    @property
    def server_version(self) -> str | None:
        """Airflow's version string (e.g. ``"3.3.2"``), known after the first call."""
        return self._version_info.version if self._version_info else None

    def dialect(self) -> Op[Dialect]:
        """Operation: the server's dialect, probing ``/api/v2/version`` then ``/api/v1/version`` once."""
        if self._dialect is not None:
            return self._dialect
        candidates = [self._forced] if self._forced else [ApiVersion.V2, ApiVersion.V1]
        answers = []
        for version in candidates:
            dialect = DIALECTS[version]
            response = yield from self.send(
                functools.partial(self.build_request, "GET", f"{dialect.prefix}/version", anonymous=True)
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

    # ------------------------------------------------------------------ one request

    def build_request(
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

    def call(
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
        dialect = yield from self.dialect()
        response = yield from self.send(
            functools.partial(
                self.build_request,
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
