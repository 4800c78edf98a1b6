"""Fixtures of the integration tests (the real servers come from tests/conftest.py)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.airflow_servers import PASSWORD, USERNAME, AirflowServer
from tests.clients import open_client


@pytest.fixture(params=["sync", "async"])
def client(
    request: pytest.FixtureRequest, airflow: AirflowServer, credentials: dict[str, str]
) -> Iterator[Any]:
    """The sync client, then the async one, so one test body covers both drivers."""
    with open_client(request.param, airflow.base_url, **credentials) as c:
        yield c


@pytest.fixture
def unique_user(airflow: AirflowServer, credentials: dict[str, str]) -> Iterator[tuple[str, str]]:
    """A user whose password is a fresh random value (Airflow 2: a new user; Airflow 3: admin's
    password changed in the SimpleAuthManager password file, which is read at every login)."""
    password = "pw-" + secrets.token_urlsafe(18)
    if airflow.major == "3":
        if airflow.home is None:
            pytest.fail("needs a server with a known home")
        file = airflow.home / "simple_auth_manager_passwords.json.generated"
        original = file.read_text()
        file.write_text(json.dumps({USERNAME: password}))
        try:
            yield USERNAME, password
        finally:
            file.write_text(original)
        return
    username = "sdk_" + secrets.token_hex(4)
    created = httpx.post(
        f"{airflow.base_url}/api/v1/users",
        auth=(USERNAME, PASSWORD),
        json={
            "username": username,
            "password": password,
            "email": f"{username}@example.com",
            "first_name": "Secret",
            "last_name": "Tester",
            "roles": [{"name": "Admin"}],
        },
    )
    assert created.status_code == 200, created.text
    yield username, password
