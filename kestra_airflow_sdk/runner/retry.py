"""Kestra's ``retry`` shape, in its two uses.

* A task's ``retry`` re-runs the whole task after it failed (:class:`RetrySchedule`), as Kestra does.
* ``options.retry`` of a ``TriggerDagRun`` sets how its HTTP requests to Airflow are retried
  (:func:`http_retry_policy` maps it onto the client's :class:`~kestra_airflow_sdk.RetryPolicy`).
"""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

from ..flows.durations import parse_duration
from ..flows.task import TaskRetry
from ..transport.retry import DEFAULT_RETRY, RetryPolicy

__all__ = ["RetrySchedule", "http_retry_policy"]

_DEFAULT_INTERVAL = timedelta(seconds=1)


class RetrySchedule:
    """Decide whether a failed attempt is tried again and after which delay."""

    def __init__(self, retry: TaskRetry | None) -> None:
        self.retry = retry

    def allows(self, attempt: int, elapsed: timedelta) -> bool:
        """True when attempt number ``attempt + 1`` may start after ``elapsed`` since the first."""
        retry = self.retry
        if retry is None:
            return False
        if retry.max_attempts is not None and attempt >= retry.max_attempts:
            return False
        if retry.max_duration is not None and elapsed + self.delay(attempt) > parse_duration(
            retry.max_duration
        ):
            return False
        return retry.max_attempts is not None or retry.max_duration is not None

    def delay(self, attempt: int) -> timedelta:
        """The wait before the attempt after number ``attempt`` (1-based)."""
        retry = self.retry
        if retry is None:
            return timedelta(0)
        interval = parse_duration(retry.interval) if retry.interval else _DEFAULT_INTERVAL
        cap = parse_duration(retry.max_interval) if retry.max_interval else None
        if retry.type == "exponential":
            delay = interval * (retry.delay_factor or 2.0) ** (attempt - 1)
        elif retry.type == "random":
            low = parse_duration(retry.min_interval) if retry.min_interval else timedelta(0)
            high = cap or interval
            delay = low + (high - low) * random.random()
        else:
            delay = interval
        return min(delay, cap) if cap is not None else delay


def http_retry_policy(retry: TaskRetry) -> RetryPolicy:
    """The client :class:`~kestra_airflow_sdk.RetryPolicy` for Kestra's ``options.retry``.

    * ``maxAttempts`` → ``max_attempts`` (every attempt, the first included; default 5);
    * ``maxDuration`` → as many attempts as the delays allow within it (with ``maxAttempts``: the
      smaller of the two);
    * ``interval`` → ``initial_delay``; ``maxInterval`` → ``max_delay``;
    * ``exponential`` → ``multiplier`` = ``delayFactor`` (default 2), with the client's jitter;
      ``constant`` → ``multiplier`` 1, no jitter: ``interval`` every time; ``random`` → a delay
      drawn between ``minInterval`` (default 0) and ``maxInterval`` (or ``interval``) by jitter.

    Which failures are retried is the client's rule (connection errors, timeouts, 429, 502/503/504;
    a trigger only when it cannot have created a run): see ``docs/reliability.md``.
    """
    interval = _seconds(retry.interval, DEFAULT_RETRY.initial_delay)
    cap = parse_duration(retry.max_interval).total_seconds() if retry.max_interval else None
    if retry.type == "constant":
        initial, multiplier, max_delay, jitter = interval, 1.0, interval, 0.0
    elif retry.type == "random":
        high = interval if cap is None else cap
        low = _seconds(retry.min_interval, 0.0)
        initial, multiplier, max_delay = high, 1.0, high
        jitter = 0.0 if high <= 0 else min(1.0, max(0.0, 1 - low / high))
    else:
        initial, multiplier = interval, retry.delay_factor or 2.0
        max_delay = cap if cap is not None else max(interval, DEFAULT_RETRY.max_delay)
        jitter = DEFAULT_RETRY.jitter
    policy = RetryPolicy(
        max_attempts=retry.max_attempts or DEFAULT_RETRY.max_attempts,
        initial_delay=initial,
        multiplier=multiplier,
        max_delay=max_delay,
        jitter=jitter,
    )
    if retry.max_duration is None:
        return policy
    budget, attempts = parse_duration(retry.max_duration).total_seconds(), 1
    limit = retry.max_attempts or _MAX_ATTEMPTS_IN_DURATION
    while attempts < limit and budget >= policy.backoff(attempts, rng=_NO_JITTER):
        budget -= policy.backoff(attempts, rng=_NO_JITTER)
        attempts += 1
    return dataclasses.replace(policy, max_attempts=attempts)


#: attempts allowed by a ``maxDuration`` without ``maxAttempts`` (at most)
_MAX_ATTEMPTS_IN_DURATION = 100


def _seconds(duration: str | None, default: float) -> float:
    return parse_duration(duration).total_seconds() if duration else default


class _Fixed(random.Random):
    """A draw of 0: the longest delay jitter allows (to fit retries in ``maxDuration``)."""

    def random(self) -> float:
        return 0.0


_NO_JITTER = _Fixed()
