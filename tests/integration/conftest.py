"""Fixtures of the integration tests (the real servers come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.airflow_servers import AirflowServer
from tests.clients import open_client


@pytest.fixture(params=["sync", "async"])
def client(
    request: pytest.FixtureRequest, airflow: AirflowServer, credentials: dict[str, str]
) -> Iterator[Any]:
    """The sync client, then the async one, so one test body covers both drivers."""
    with open_client(request.param, airflow.base_url, **credentials) as c:
        yield c
