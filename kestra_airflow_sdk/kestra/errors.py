"""Errors of the Kestra server client."""

from __future__ import annotations

from ..flows.errors import FlowError
from ..transport.errors import ConnectionFailure

__all__ = ["KestraApiError", "KestraConnectionError", "KestraError"]


class KestraError(FlowError):
    """Something went wrong talking to a Kestra server (bad input is raised before any request)."""


class KestraConnectionError(KestraError, ConnectionFailure):
    """The Kestra server could not be reached (the message names the URL, never credentials).

    Attributes:
        transient: retrying may help (a refused or dropped connection, a timeout).
        request_sent: False when the request certainly never reached Kestra.
    """

    def __init__(self, message: str, *, transient: bool = False, request_sent: bool = True) -> None:
        super().__init__(message)
        self.transient = self.retryable = transient
        self.request_sent = request_sent


class KestraApiError(KestraError):
    """Kestra answered with an HTTP error status.

    Attributes:
        status: the HTTP status code.
        method: the HTTP method of the request.
        path: the request path.
        detail: Kestra's message, when it sent one.
        transient: the status says "not now, try again" (429, 5xx).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str,
        path: str,
        detail: str | None,
        transient: bool = False,
    ) -> None:
        super().__init__(message)
        self.status, self.method, self.path, self.detail = status, method, path, detail
        self.transient = transient
