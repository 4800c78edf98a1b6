"""Bad input at the client level: one clear error naming the field and what was expected, before any HTTP call."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from kestra_airflow_sdk import AirflowClient, RetryPolicy
from kestra_airflow_sdk.airflow import InvalidArgumentError
from tests.fake_airflow import FakeAirflow, fake_client


@given(st.text())
def test_any_text_as_base_url_is_accepted_or_rejected_clearly(url: str) -> None:
    try:
        client = AirflowClient(url)
    except InvalidArgumentError as exc:
        assert str(exc).startswith("base_url:")
        return
    with client:
        assert client.base_url.startswith(("http://", "https://"))
        assert not client.base_url.endswith("/")


@given(
    st.sampled_from(["http", "https"]),
    st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,5})?", fullmatch=True),
    st.integers(1, 65535),
    st.sampled_from(["", "/", "/airflow", "/api/v1", "/api/v2/"]),
)
@example("https", "a", 443, "")  # found by the stress run: a default port is dropped
def test_valid_urls_are_normalised(scheme: str, host: str, port: int, path: str) -> None:
    # a scheme's default port (http:80, https:443) is normalised away, as httpx and browsers do
    netloc = host if port == {"http": 80, "https": 443}[scheme] else f"{host}:{port}"
    with AirflowClient(f"{scheme}://{host}:{port}{path}") as client:
        assert client.base_url.startswith(f"{scheme}://{netloc}")
        assert client.base_url[len(f"{scheme}://{netloc}") :] in ("", "/airflow")
        assert "/api/v" not in client.base_url


@given(st.from_regex(r"[A-Za-z0-9/:@]{0,5}[A-Za-z0-9]{8,20}", fullmatch=True))
def test_credentials_in_the_url_are_never_echoed(secret: str) -> None:
    for url in (
        f"http://admin:{secret}@localhost:8080",
        f"ftp://admin:{secret}@localhost",
        f"http://admin:{secret}@[::1",
    ):
        try:
            client = AirflowClient(url)
        except InvalidArgumentError as exc:
            assert secret not in str(exc)
            continue
        with client:  # "/" in the "password" made it a path: then nothing was taken as a password
            assert "@" not in client.base_url.split("/")[2]


@pytest.mark.parametrize("url", ["http://admin:s3cr3t@localhost:8080", "https://u:s3cr3t@h/api/v2"])
def test_credentials_in_the_url_are_refused(url: str) -> None:
    with pytest.raises(InvalidArgumentError, match="must not contain credentials") as info:
        AirflowClient(url)
    assert "s3cr3t" not in str(info.value)


@pytest.mark.parametrize(
    ("conf", "expected"),
    [
        ({"when": object()}, "conf: must be JSON-serialisable"),
        ({"x": math.nan}, "conf: must be JSON-serialisable"),
        (["a"], "conf: expected a JSON object"),
        ("{}", "conf: expected a JSON object"),
    ],
)
def test_conf_is_checked_before_any_request(conf: Any, expected: str) -> None:
    fake = FakeAirflow(api="v1")
    with fake_client(fake) as client, pytest.raises(InvalidArgumentError, match=expected):
        client.trigger_dag_run("d", conf=conf)
    assert fake.log == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"api_version": "v3"}, "api_version"),
        ({"retry": 3}, "retry"),
        ({"max_connections": 0}, "max_connections"),
        ({"username": "u"}, "username/password"),
        ({"token": "t", "username": "u", "password": "p"}, "credentials"),
    ],
)
def test_bad_client_arguments(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgumentError, match=field):
        AirflowClient("http://localhost:8080", **kwargs)


def test_with_retry_checks_its_argument_and_keeps_the_original() -> None:
    fake = FakeAirflow(api="v1")
    with fake_client(fake) as client:
        view = client.with_retry(RetryPolicy(max_attempts=2))
        assert view.retry.max_attempts == 2 and client.retry.max_attempts == 5
        with pytest.raises(InvalidArgumentError, match="retry"):
            client.with_retry(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("if_paused", ["no", None, True])
def test_if_paused_is_checked(if_paused: Any) -> None:
    fake = FakeAirflow(api="v1")
    with fake_client(fake) as client, pytest.raises(InvalidArgumentError, match="if_paused"):
        client.trigger_dag_run("d", if_paused=if_paused)
    assert fake.log == []
