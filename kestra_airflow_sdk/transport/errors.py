"""The failures the request core can tell apart, as bases of each API's own errors.

The core knows no API: a session turns an httpx transport error into its API's
:class:`ConnectionFailure` subclass (``HttpSession._unreachable``), and the API's error for an
error status derives from :class:`StatusFailure`. The :class:`~.retry.RetryPolicy` decides on
these bases alone.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx

from ..errors import KestraAirflowError
from .auth import LOGIN

__all__ = ["ConnectionFailure", "StatusFailure", "parse_retry_after", "transport_failure"]


class ConnectionFailure(KestraAirflowError):
    """Base of the errors for a server that could not be reached.

    Attributes:
        request_sent: False when the request certainly never reached the server (the connection
            could not be made); True when the server may have received it.
        retryable: False for failures that retrying cannot fix (an unsupported URL scheme, ...).
    """

    request_sent: bool
    retryable: bool


class StatusFailure(KestraAirflowError):
    """Base of the errors for an HTTP error status.

    Attributes:
        status: the HTTP status code.
        retry_after: the ``Retry-After`` header in seconds (429/503), or None.
    """

    status: int
    retry_after: float | None


#: transport errors raised before the request could reach the server
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
#: transport errors that retrying cannot fix (a bad URL, a client-side protocol misuse)
_PERMANENT = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


def transport_failure(request: httpx.Request, exc: httpx.TransportError) -> tuple[bool, bool]:
    """``(request_sent, retryable)`` of an httpx transport error while sending ``request``.

    An error of another request of the same exchange (the login an auth flow sends on its own,
    marked with the :data:`~.auth.LOGIN` extension) means that ``request`` itself was not sent.
    """
    failed = getattr(exc, "_request", None)  # httpx sets it; the property raises when unset
    login_failed = failed is not None and failed is not request and bool(failed.extensions.get(LOGIN))
    sent = not isinstance(exc, _NOT_SENT) and not login_failed
    return sent, not isinstance(exc, _PERMANENT)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header value in seconds (delta-seconds or HTTP date); None if absent/invalid."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
