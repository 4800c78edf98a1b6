"""Errors of the Kestra server client."""

from __future__ import annotations

from ..flows.errors import FlowError

__all__ = ["KestraApiError", "KestraConnectionError", "KestraError"]


class KestraError(FlowError):
    """Something went wrong talking to a Kestra server (bad input is raised before any request)."""


class KestraConnectionError(KestraError):
    """The Kestra server could not be reached (the message names the URL, never credentials)."""


class KestraApiError(KestraError):
    """Kestra answered with an HTTP error status.

    Attributes:
        status: the HTTP status code.
        method: the HTTP method of the request.
        path: the request path.
        detail: Kestra's message, when it sent one.
    """

    def __init__(self, message: str, *, status: int, method: str, path: str, detail: str | None) -> None:
        super().__init__(message)
        self.status, self.method, self.path, self.detail = status, method, path, detail
