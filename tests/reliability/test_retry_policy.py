"""Property-based tests of the retry policy: bounded attempts, bounded and growing backoff, Retry-After."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kestra_airflow_sdk import RetryPolicy
from kestra_airflow_sdk.airflow.errors import (
    AirflowConnectionError,
    ApiError,
    error_from_transport,
    parse_retry_after,
)
from kestra_airflow_sdk.transport.retry import RetryPolicyError

policies = st.builds(
    RetryPolicy,
    max_attempts=st.integers(1, 20),
    initial_delay=st.floats(0, 60),
    multiplier=st.floats(1, 1e6),
    max_delay=st.floats(0, 600),
    jitter=st.floats(0, 1),
    max_retry_after=st.floats(0, 3600),
)
connection_errors = st.builds(
    AirflowConnectionError, st.just("boom"), request_sent=st.booleans(), retryable=st.booleans()
)
api_errors = st.builds(
    ApiError,
    st.just("boom"),
    status=st.integers(400, 599),
    retry_after=st.none() | st.floats(0, 7200),
)


@given(policies, st.integers(1, 10_000), st.integers(0, 2**32))
def test_backoff_is_within_bounds(policy: RetryPolicy, retry: int, seed: int) -> None:
    delay = policy.backoff(retry, rng=random.Random(seed))
    try:
        ceiling = min(policy.max_delay, policy.initial_delay * policy.multiplier ** (retry - 1))
    except OverflowError:  # far beyond max_delay, unless there is no delay at all
        ceiling = policy.max_delay if policy.initial_delay > 0 else 0.0
    assert 0 <= delay <= policy.max_delay
    assert ceiling * (1 - policy.jitter) - 1e-9 <= delay <= ceiling + 1e-9


@given(policies, st.integers(1, 50))
def test_backoff_ceiling_never_shrinks(policy: RetryPolicy, retry: int) -> None:
    """Without jitter the delay grows (or stays at max_delay) from one retry to the next."""
    no_jitter = RetryPolicy(
        max_attempts=policy.max_attempts,
        initial_delay=policy.initial_delay,
        multiplier=policy.multiplier,
        max_delay=policy.max_delay,
        jitter=0,
    )
    assert no_jitter.backoff(retry) <= no_jitter.backoff(retry + 1)


@given(policies, connection_errors | api_errors, st.integers(1, 40), st.booleans())
def test_never_more_than_max_attempts(
    policy: RetryPolicy, error: Exception, attempt: int, safe: bool
) -> None:
    delay = policy.delay(error, attempt, sent_is_safe=safe)
    if attempt >= policy.max_attempts:
        assert delay is None
    if delay is not None:
        assert delay >= 0


@given(policies, connection_errors, st.integers(1, 40))
def test_post_retried_only_when_it_never_reached_airflow(
    policy: RetryPolicy, error: AirflowConnectionError, attempt: int
) -> None:
    delay = policy.delay(error, attempt, sent_is_safe=False)
    if delay is not None:
        assert not error.request_sent and error.retryable


@given(policies, api_errors, st.integers(1, 40), st.booleans())
def test_status_retries(policy: RetryPolicy, error: ApiError, attempt: int, safe: bool) -> None:
    delay = policy.delay(error, attempt, sent_is_safe=safe)
    if delay is None:
        return
    assert error.status in policy.statuses
    assert safe or error.status == 429
    if error.retry_after is not None:  # Retry-After honoured, within the policy's bound
        assert delay >= error.retry_after
        assert error.retry_after <= policy.max_retry_after


@given(st.integers(0, 10**6))
def test_retry_after_seconds(seconds: int) -> None:
    assert parse_retry_after(str(seconds)) == seconds


@given(st.integers(-(10**6), 10**6))
def test_retry_after_http_date(offset: int) -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    value = format_datetime(now + timedelta(seconds=offset), usegmt=True)
    assert parse_retry_after(value, now=now) == max(0, offset)


@given(st.text())
def test_retry_after_never_raises(value: str) -> None:
    parsed = parse_retry_after(value)
    assert parsed is None or parsed >= 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": True}, "max_attempts"),
        ({"initial_delay": -1}, "initial_delay"),
        ({"max_delay": float("inf")}, "max_delay"),
        ({"multiplier": 0.5}, "multiplier"),
        ({"jitter": 1.5}, "jitter"),
        ({"statuses": frozenset({200})}, "statuses"),
    ],
)
def test_bad_policies_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(RetryPolicyError, match=field):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "sent", "retryable"),
    [
        (httpx.ConnectError, False, True),
        (httpx.ConnectTimeout, False, True),
        (httpx.PoolTimeout, False, True),
        (httpx.ReadTimeout, True, True),
        (httpx.WriteTimeout, True, True),
        (httpx.ReadError, True, True),
        (httpx.RemoteProtocolError, True, True),
        (httpx.UnsupportedProtocol, False, False),
        (httpx.LocalProtocolError, True, False),
    ],
)
def test_transport_errors_are_classified(
    exc: type[httpx.TransportError], sent: bool, retryable: bool
) -> None:
    request = httpx.Request("POST", "http://airflow.test/api/v2/dags/d/dagRuns?x=1")
    error = error_from_transport(request, exc("boom", request=request))
    assert (error.request_sent, error.retryable) == (sent, retryable)
    assert error.url == "http://airflow.test/api/v2/dags/d/dagRuns"
    assert "http://airflow.test/api/v2/dags/d/dagRuns" in str(error)


def test_a_failed_login_means_the_request_was_not_sent() -> None:
    request = httpx.Request("POST", "http://airflow.test/api/v2/dags/d/dagRuns")
    login = httpx.Request(
        "POST", "http://airflow.test/auth/token", extensions={"kestra_airflow_sdk.login": True}
    )
    error = error_from_transport(request, httpx.ReadTimeout("boom", request=login))
    assert not error.request_sent
