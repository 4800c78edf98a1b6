"""The version gate of Airflow features: older servers get a clear error before any request of the feature."""

from __future__ import annotations

import httpx
import pytest

from kestra_airflow_sdk import UnsupportedFeatureError
from kestra_airflow_sdk.airflow.client import AirflowRestClient
from kestra_airflow_sdk.airflow.features import Feature, require, version_tuple

FEATURE = Feature("human-in-the-loop requests", "3.1.0")


def client_of(version: str, seen: list[str]) -> AirflowRestClient:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if version.startswith("3") and request.url.path == "/api/v2/version":
            return httpx.Response(200, json={"version": version, "git_version": None})
        if version.startswith("2") and request.url.path == "/api/v1/version":
            return httpx.Response(200, json={"version": version, "git_version": None})
        return httpx.Response(404, json={"detail": "Not Found"})

    return AirflowRestClient(
        "http://airflow.test", username="u", password="p", transport=httpx.MockTransport(answer)
    )


@pytest.mark.parametrize(
    ("text", "parts"),
    [("3.1.0", (3, 1, 0)), ("2.10.5", (2, 10, 5)), ("3.1.0rc1", (3, 1, 0)), ("3.3.2.dev0+abc", (3, 3, 2))],
)
def test_version_tuple_reads_the_leading_numbers(text: str, parts: tuple[int, ...]) -> None:
    assert version_tuple(text) == parts


@pytest.mark.parametrize("version", ["2.10.5", "3.0.6"])
def test_an_older_server_gets_an_error_naming_feature_release_and_server(version: str) -> None:
    seen: list[str] = []
    with client_of(version, seen) as client, pytest.raises(UnsupportedFeatureError) as caught:
        client.execute(require(client, FEATURE))
    error = caught.value
    assert (error.feature, error.since, error.server_version) == (
        "human-in-the-loop requests",
        "3.1.0",
        version,
    )
    assert "Airflow 3.1.0 or later" in str(error) and f"runs Airflow {version}" in str(error)
    assert "http://airflow.test" in str(error)
    assert all(path.endswith("/version") for path in seen)  # nothing but the version probe was sent


@pytest.mark.parametrize("version", ["3.1.0", "3.3.2"])
def test_a_server_with_the_feature_passes(version: str) -> None:
    seen: list[str] = []
    with client_of(version, seen) as client:
        assert client.execute(require(client, FEATURE)) is None
