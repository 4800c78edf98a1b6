"""Shared fixtures: real Airflow 3 and Airflow 2 servers for integration tests.

Any test that uses the ``airflow`` fixture (or one built on it) runs once per Airflow version and is
marked ``integration``. A server that cannot start fails the tests; it never skips them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.airflow_servers import PASSWORD, USERNAME, AirflowServer, start_server

VERSIONS = ["3", "2"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "airflow" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", params=VERSIONS, ids=[f"airflow{v}" for v in VERSIONS])
def airflow(request: pytest.FixtureRequest) -> Iterator[AirflowServer]:
    """A running real Airflow server (3.3.2 and 2.10.5), started once per test session."""
    try:
        server = start_server(request.param)
    except Exception as exc:  # the server must be there: fail, never skip
        pytest.fail(f"could not start real Airflow {request.param}: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def credentials() -> dict[str, str]:
    return {"username": USERNAME, "password": PASSWORD}
