"""What every API session stands on: the HTTP client, the retry policy, one request with retries.

:class:`HttpSession` knows no API: the Airflow session
(:class:`kestra_airflow_sdk.airflow.session.Session`) and the Kestra session
(:class:`kestra_airflow_sdk.kestra.session.KestraSession`) extend it with their configuration and
say, through two hooks, what their errors are (:meth:`HttpSession._unreachable`,
:meth:`HttpSession._invalid`). The drivers (:mod:`.drivers`) add the I/O.
"""

from __future__ import annotations

import copy
import itertools
import logging
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import httpx

from .effects import Delay, Op
from .errors import ConnectionFailure, parse_retry_after
from .retry import DEFAULT_RETRY, RetryPolicy
from .state import SessionState

__all__ = ["HttpSession", "Transport", "logger"]

logger = logging.getLogger("kestra_airflow_sdk")

S = TypeVar("S", bound="HttpSession")
#: what ``transport=`` takes: a sync transport for the sync driver, an async one for the async driver
Transport = httpx.BaseTransport | httpx.AsyncBaseTransport


class HttpSession:
    """The API-neutral part of a session: the HTTP client, one request with retries, per-session state.

    A subclass calls :meth:`_start` from its constructor; ``service`` names the server in log lines.
    """

    _http: httpx.Client | httpx.AsyncClient
    _state: SessionState
    retry: RetryPolicy
    service: ClassVar[str] = "the server"

    def _start(self, options: dict[str, Any], retry: RetryPolicy | None) -> None:
        """Set up the retry policy, the per-session state and the HTTP client (httpx ``options``)."""
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise self._invalid(f"retry: expected a RetryPolicy, got {type(retry).__name__}")
        self.retry = retry or DEFAULT_RETRY
        self._state = SessionState()
        self._http = self._open(options)

    def _open(self, options: dict[str, Any]) -> httpx.Client | httpx.AsyncClient:
        """Create the HTTP client the driver sends requests with."""
        raise NotImplementedError

    def _unreachable(self, request: httpx.Request, exc: httpx.TransportError) -> ConnectionFailure:
        """The session's error for a transport failure while sending ``request``."""
        raise NotImplementedError

    def _invalid(self, message: str) -> Exception:
        """The session's error for a rejected argument (``message`` names it)."""
        return ValueError(message)

    def with_retry(self: S, retry: RetryPolicy) -> S:
        """A view of this client that uses another retry policy (same connections, same login).

        Example:
            >>> client.with_retry(NO_RETRY).get_dag("hello_world_dag")

        Close the original client, not the view.
        """
        if not isinstance(retry, RetryPolicy):
            raise self._invalid(f"retry: expected a RetryPolicy, got {type(retry).__name__}")
        view = copy.copy(self)
        view.retry = retry
        return view

    def _send(
        self, build: Callable[[], httpx.Request], *, retry: RetryPolicy | None = None
    ) -> Op[httpx.Response]:
        """Operation: send the request ``build()`` makes, retrying transient failures as the policy says.

        Returns the last response, whatever its status; raises the session's
        :class:`~.errors.ConnectionFailure` when the server could not be reached (after the
        retries). A POST is repeated only when it never reached the server or was refused with
        429 (see :mod:`.retry`).
        """
        policy = retry or self.retry
        for attempt in itertools.count(1):
            request = build()
            safe = request.method != "POST"
            try:
                response: httpx.Response = yield request
            except ConnectionFailure as exc:
                delay = policy.delay(exc, attempt, sent_is_safe=safe)
                if delay is None:
                    if attempt > 1:
                        exc.args = (f"{exc} (gave up after {attempt} attempts)",)
                    raise
                reason = str(exc)
            else:
                if response.status_code < 400:
                    return response
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                delay = policy.status_delay(response.status_code, retry_after, attempt, sent_is_safe=safe)
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
            yield Delay(delay)
        raise AssertionError("unreachable")  # pragma: no cover
