"""Shared fixtures: real Airflow 3 and Airflow 2 servers for integration tests.

Any test that uses the ``airflow`` fixture (or one built on it) runs once per Airflow version and is
marked ``integration``. The servers the selected tests need are started once per session, both at
once and in the background as soon as collection ends, so the fast tests run while they boot; the
first test that needs one waits for it, and a server is stopped once its version's tests are done.
A server that cannot start fails the tests; it never skips them.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from tests.airflow_servers import PASSWORD, USERNAME, AirflowServer, start_server

VERSIONS = ["3", "2"]

#: the servers being started (or started) for this session, by major version
_starting: dict[str, Future[AirflowServer]] = {}
_pool = ThreadPoolExecutor(max_workers=len(VERSIONS), thread_name_prefix="airflow-start")


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests on a real server ``integration``."""
    for item in items:
        if "airflow" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(trylast=True)  # after pytest grouped the tests by server, and ``-m`` deselected
def pytest_collection_finish(session: pytest.Session) -> None:
    """Run the tests on a real server last (same order among them), so that every fast test runs
    while the servers boot, and start every server they need, concurrently, in the background."""
    real = [item for item in session.items if "airflow" in getattr(item, "fixturenames", ())]
    chosen = set(real)
    session.items[:] = [item for item in session.items if item not in chosen] + real
    if session.config.option.collectonly:
        return
    for major in _versions_needed(real):
        _server(major)


def _versions_needed(items: list[pytest.Item]) -> list[str]:
    needed: set[str] = set()
    for item in items:
        if "airflow" not in getattr(item, "fixturenames", ()):
            continue
        callspec = getattr(item, "callspec", None)
        version = callspec.params.get("airflow") if callspec is not None else None
        needed.update([version] if version in VERSIONS else VERSIONS)
    return [v for v in VERSIONS if v in needed]


def _server(major: str) -> Future[AirflowServer]:
    if major not in _starting:
        _starting[major] = _pool.submit(start_server, major)
    return _starting[major]


def pytest_sessionfinish(session: pytest.Session) -> None:
    for future in _starting.values():
        try:
            server = future.result()
        except Exception:  # reported by the tests that needed it
            continue
        server.stop()
    _starting.clear()


@pytest.fixture(scope="session", params=VERSIONS, ids=[f"airflow{v}" for v in VERSIONS])
def airflow(request: pytest.FixtureRequest) -> Iterator[AirflowServer]:
    """A running real Airflow server (3.3.2 and 2.10.5), started once per test session."""
    try:
        server = _server(request.param).result()
    except Exception as exc:  # the server must be there: fail, never skip
        pytest.fail(f"could not start real Airflow {request.param}: {exc}", pytrace=False)
    yield server
    # the tests of this version are done (pytest groups them): free the CPU for the other version
    _starting.pop(request.param, None)
    server.stop()


@pytest.fixture
def credentials() -> dict[str, str]:
    return {"username": USERNAME, "password": PASSWORD}
