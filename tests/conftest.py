"""Shared fixtures: real Airflow servers (3.3.2 and 2.10.5) for integration tests.

Any test that uses the ``airflow`` fixture (or one built on it) runs once per server kind that
serves its module (``SERVER_KINDS``: Airflow 3.3.2 and 2.10.5 on SQLite for every module; the 3.3.2
production profile for the client, flows, history and reliability ones and
tests/integration/test_production.py; ``KAS_SERVER_KINDS`` picks some kinds) and is marked ``integration``. The servers the
selected tests need are started once per session, all at once and in the background as soon as
collection ends, so the fast tests run while they boot; the first test that needs one waits for it,
and a server is stopped once its kind's tests are done. A server that cannot start fails the tests;
it never skips them.

Plain ``pytest`` runs everything in one process, the tests on a real server last. ``pytest -n 4``
(scripts/test.sh) runs the groups of the different kinds concurrently, one worker each, while the
other workers take the fast tests (tests/server_pool.py): any ``-n`` run is scheduled that way,
whatever its ``--dist``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.airflow_servers import PASSWORD, SERVER_KINDS, USERNAME, AirflowServer, selected_kinds
from tests.server_pool import KINDS_BY_KEY, ServerPool, group_scheduler, kinds_needed

#: conftest modules that count what the session ran (``export()``, ``merge(data)``,
#: ``write_summary(terminalreporter)``): their lines are printed at the end, summed over xdist workers
TALLIES = ("tests.docs.conftest", "tests.corpus.conftest")

_POOL = pytest.StashKey[ServerPool]()
_WORKER_DIR = "kas_servers_dir"


def _worker_input(config: pytest.Config) -> dict[str, Any] | None:
    return getattr(config, "workerinput", None)


def pytest_configure(config: pytest.Config) -> None:
    worker = _worker_input(config)
    config.stash[_POOL] = ServerPool(None if worker is None else Path(worker[_WORKER_DIR]))


def pytest_unconfigure(config: pytest.Config) -> None:
    pool = config.stash.get(_POOL, None)
    if pool is not None and _worker_input(config) is None:
        pool.close()  # stops every server the session started


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Iterator[None]:
    """Mark the tests on a real server ``integration`` (before ``-m`` deselects by marker); once
    pytest has grouped them by server, deselect those of kinds the session does not run
    (:func:`~tests.airflow_servers.selected_kinds`) and move the others last (same order among them), so that every fast
    test runs while the servers boot. An xdist worker records the kind each one needs."""
    for item in items:
        if _is_real(item):
            item.add_marker(pytest.mark.integration)
    yield
    selected = {kind.key for kind in selected_kinds()}
    off = [item for item in items if _is_real(item) and _kind_key(item) not in selected]
    if off:  # server kinds this session does not run (KAS_SERVER_KINDS)
        config.hook.pytest_deselected(items=off)
        dropped = set(off)
        items[:] = [item for item in items if item not in dropped]
    real = [item for item in items if _is_real(item)]
    chosen = set(real)
    items[:] = [item for item in items if item not in chosen] + real
    worker = _worker_input(config)
    if worker is not None:
        groups = {
            item.nodeid: KINDS_BY_KEY[key].id for item in real if (key := _kind_key(item)) in KINDS_BY_KEY
        }
        config.stash[_POOL].record_groups(groups, worker["workerid"])


def _kind_key(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    key = callspec.params.get("airflow") if callspec is not None else None
    return key if isinstance(key, str) else None


def _is_real(item: pytest.Item) -> bool:
    return "airflow" in getattr(item, "fixturenames", ())


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start every server the selected tests need, concurrently, in the background (an xdist
    worker leaves that to the controller)."""
    if session.config.option.collectonly or _worker_input(session.config) is not None:
        return
    real = [item for item in session.items if _is_real(item)]
    session.config.stash[_POOL].start(kinds_needed(_kind_key(item) for item in real))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    pool = node.config.stash[_POOL]
    needed = set(pool.groups().values())
    pool.start(kind for kind in SERVER_KINDS if kind.id in needed)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    node.workerinput[_WORKER_DIR] = str(node.config.stash[_POOL].directory)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    return group_scheduler(config, log, config.stash[_POOL])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test on a real server runs on every kind that serves its module (``ServerKind.modules``),
    unless it picks its kinds itself (``parametrize("airflow", [...], indirect=True)``)."""
    if "airflow" not in metafunc.fixturenames or _picks_kinds(metafunc):
        return
    kinds = [kind for kind in SERVER_KINDS if kind.serves(metafunc.definition.path)]
    metafunc.parametrize(
        "airflow", [k.key for k in kinds], ids=[k.id for k in kinds], indirect=True, scope="session"
    )


def _picks_kinds(metafunc: pytest.Metafunc) -> bool:
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", ())
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",")]
        if "airflow" in names:
            return True
    return False


@pytest.fixture(scope="session")
def airflow(request: pytest.FixtureRequest) -> Iterator[AirflowServer]:
    """A running real Airflow server (3.3.2 SQLite, 2.10.5 SQLite, 3.3.2 production profile),
    started once per test session."""
    kind = KINDS_BY_KEY[request.param]
    try:
        server = request.config.stash[_POOL].get(kind)
    except Exception as exc:  # the server must be there: fail, never skip
        pytest.fail(f"could not start real Airflow {kind.id}: {exc}", pytrace=False)
    yield server
    # this kind's tests are done (pytest and xdist group them): free the CPU for the others
    server.stop()


@pytest.fixture(autouse=True)
def _local_storage(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test's local state (internal storage, KV store, namespace files) in a folder of its own,
    never the user's cache (``run(storage_dir=...)`` still wins where a test passes it)."""
    root = tmp_path_factory.mktemp("storage")
    monkeypatch.setenv("KAS_STORAGE_DIR", str(root))
    return root


@pytest.fixture
def credentials() -> dict[str, str]:
    return {"username": USERNAME, "password": PASSWORD}


# ------------------------------------------------------------------ summary lines, over xdist workers


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:  # an xdist worker: send the counts to the controller
        output["kas_tallies"] = {name: sys.modules[name].export() for name in TALLIES if name in sys.modules}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    for name, data in getattr(node, "workeroutput", {}).get("kas_tallies", {}).items():
        importlib.import_module(name).merge(data)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for name in TALLIES:
        if name in sys.modules:
            sys.modules[name].write_summary(terminalreporter)
