"""Retry policy of the request core: what is retried, how often, and how long to wait in between.

Sans-I/O like the rest of the core: a :class:`RetryPolicy` only *decides* (retry or not, and the
delay); ``HttpSession._send`` (:mod:`.session`) turns a decision into a :class:`~.effects.Delay`
effect that the sync or async driver executes. It decides on the failure kinds of :mod:`.errors`,
so the same policy serves the Airflow and the Kestra clients.

What is transient:

* a connection that could not be made or a request that could not be sent (connection refused,
  DNS failure, connect or pool timeout): the request never reached the server;
* a read timeout or a connection dropped after the request was sent: the server may have acted on it;
* HTTP 429 (honouring ``Retry-After``) and 502/503/504.

Idempotent requests (GET, PATCH to an absolute value, ...) are retried on all of these. A POST is
retried blindly only when it never reached the server; the Airflow client's ``trigger_dag_run``
settles every ambiguous failure by looking up the run id it chose (see ``docs/reliability.md``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ..errors import KestraAirflowError
from .errors import ConnectionFailure, StatusFailure

__all__ = ["DEFAULT_RETRY", "NO_RETRY", "RetryPolicy", "RetryPolicyError", "is_transient", "transient_status"]

#: statuses that say "not now, try again" and are retried for idempotent requests
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})


class RetryPolicyError(KestraAirflowError, ValueError):
    """A :class:`RetryPolicy` argument was rejected (the message names the field and the value)."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter.

    The delay before retry ``n`` (``n`` = 1 for the first retry) is
    ``min(max_delay, initial_delay * multiplier ** (n - 1))``, of which a random fraction up to
    ``jitter`` is taken off (so that many clients do not retry in lockstep). A ``Retry-After``
    header on a 429/503 is honoured when it asks for a longer wait, up to ``max_retry_after``;
    a longer ``Retry-After`` ends the retries.

    Args:
        max_attempts: attempts in total, including the first (1 = never retry).
        initial_delay: seconds before the first retry.
        multiplier: growth factor of the delay per retry (>= 1).
        max_delay: upper bound of one backoff delay, in seconds.
        jitter: fraction (0..1) of the delay that is randomised away.
        max_retry_after: the longest ``Retry-After`` (seconds) that is waited for.
        statuses: HTTP statuses that are retried for idempotent requests.

    Example:
        >>> AirflowClient(url, username="admin", password="...", retry=RetryPolicy(max_attempts=8))
        >>> client.with_retry(NO_RETRY).get_dag("hello_world_dag")  # one call without retries
    """

    max_attempts: int = 5
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 10.0
    jitter: float = 0.5
    max_retry_after: float = 120.0
    statuses: frozenset[int] = field(default=TRANSIENT_STATUSES)

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_attempts, bool)
            or not isinstance(self.max_attempts, int)
            or self.max_attempts < 1
        ):
            raise RetryPolicyError(f"max_attempts: expected an integer >= 1, got {self.max_attempts!r}")
        for name in ("initial_delay", "max_delay", "max_retry_after"):
            _non_negative(getattr(self, name), name)
        _non_negative(self.multiplier, "multiplier")
        if self.multiplier < 1:
            raise RetryPolicyError(f"multiplier: expected a number >= 1, got {self.multiplier!r}")
        _non_negative(self.jitter, "jitter")
        if self.jitter > 1:
            raise RetryPolicyError(f"jitter: expected a fraction between 0 and 1, got {self.jitter!r}")
        if not all(isinstance(s, int) and 400 <= s <= 599 for s in self.statuses):
            raise RetryPolicyError(f"statuses: expected HTTP error statuses (400-599), got {self.statuses!r}")
        object.__setattr__(self, "statuses", frozenset(self.statuses))

    def backoff(self, retry: int, *, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1-based), jitter included."""
        if retry < 1:
            raise RetryPolicyError(f"retry: expected an integer >= 1, got {retry!r}")
        try:  # a float power that would overflow raises (it never silently becomes inf)
            ceiling = min(self.max_delay, self.initial_delay * float(self.multiplier) ** (retry - 1))
        except OverflowError:  # far beyond max_delay, unless there is no delay at all
            ceiling = self.max_delay if self.initial_delay > 0 else 0.0
        draw = (rng or random).random()
        return ceiling * (1 - self.jitter * draw)

    def delay(
        self, error: BaseException, attempt: int, *, sent_is_safe: bool, rng: random.Random | None = None
    ) -> float | None:
        """Whether to retry after ``error`` on attempt ``attempt`` (1-based), and after how long.

        Args:
            error: what the attempt raised (a :class:`~.errors.ConnectionFailure` or a
                :class:`~.errors.StatusFailure`, e.g. the Airflow client's ``AirflowConnectionError``
                or ``ApiError``); any other error is not retried.
            attempt: the attempt that just failed.
            sent_is_safe: the request may be repeated even if the server may have received it
                (idempotent requests); False for a POST, which is then retried only when it never
                reached the server, or when the server refused it with 429.

        Returns:
            seconds to sleep before the next attempt, or None to give up and raise ``error``.
        """
        if isinstance(error, StatusFailure):
            return self.status_delay(
                error.status, error.retry_after, attempt, sent_is_safe=sent_is_safe, rng=rng
            )
        if attempt >= self.max_attempts or not is_transient(error):
            return None
        assert isinstance(error, ConnectionFailure)
        return self.backoff(attempt, rng=rng) if (sent_is_safe or not error.request_sent) else None

    def status_delay(
        self,
        status: int,
        retry_after: float | None,
        attempt: int,
        *,
        sent_is_safe: bool,
        rng: random.Random | None = None,
    ) -> float | None:
        """:meth:`delay` for an answer with an error ``status`` (and its ``Retry-After``, in seconds)."""
        if attempt >= self.max_attempts or not transient_status(status):
            return None
        wait = self.backoff(attempt, rng=rng)
        if status not in self.statuses or (not sent_is_safe and status != 429):
            return None
        if retry_after is None:
            return wait
        return max(wait, retry_after) if retry_after <= self.max_retry_after else None


def transient_status(status: int) -> bool:
    """True for an HTTP status that says "not now, try again" (429, 5xx)."""
    return status in TRANSIENT_STATUSES or status >= 500


def is_transient(error: BaseException) -> bool:
    """True for errors that may go away by themselves (see the module docstring)."""
    if isinstance(error, ConnectionFailure):
        return error.retryable
    return isinstance(error, StatusFailure) and transient_status(error.status)


def _non_negative(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise RetryPolicyError(f"{name}: expected a non-negative number, got {value!r}")


#: the client's default: 5 attempts, 0.5 s doubling up to 10 s, half jitter
DEFAULT_RETRY = RetryPolicy()
#: one attempt, no retry
NO_RETRY = RetryPolicy(max_attempts=1)
