"""Kestra's task ``retry`` policies: how many attempts, and how long to wait between them."""

from __future__ import annotations

import random
from datetime import timedelta

from ..flows.durations import parse_duration
from ..flows.task import Retry

__all__ = ["RetryPolicy"]

_DEFAULT_INTERVAL = timedelta(seconds=1)


class RetryPolicy:
    """Decide whether a failed attempt is tried again and after which delay."""

    def __init__(self, retry: Retry | None) -> None:
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
