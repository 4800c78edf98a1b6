"""The real servers of a test session: started in the background as soon as the session knows which
kinds its tests need, shared through a directory so that every process of the session can use them.

* A plain ``pytest`` run: the one process starts the servers after collection and its tests wait
  for them.
* ``pytest -n N`` (pytest-xdist; scripts/test.sh runs one worker per server kind, plus one): the
  controller starts them when the workers report their collection and writes each one (or why it
  could not start) to the directory; the workers read it from there. All the tests of one kind are
  one unit of work (``ServerGroupScheduling``: xdist's ``loadgroup``, over the groups the workers
  record in the directory, since xdist's ``xdist_group`` marks no longer reach the controller under
  pytest 9), so one worker runs them in order: server restarts and server-wide changes never race
  another test.
  A group goes to a worker only once its server is up, so the workers run the fast tests while the
  servers boot, and the groups of different kinds run concurrently.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.airflow_servers import SERVER_KINDS, AirflowServer, ServerKind, server_from_json, server_to_json

#: how long a worker waits for a server the controller is starting (scripts/airflow.sh gives up at 900 s)
WAIT_TIMEOUT = 960.0

KINDS_BY_KEY = {kind.key: kind for kind in SERVER_KINDS}
KINDS_BY_ID = {kind.id: kind for kind in SERVER_KINDS}


class ServerPool:
    """The servers of the session, one per kind, recorded in ``directory`` as ``<kind id>.json``
    (the server) or ``<kind id>.error`` (why it could not start)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.owner = directory is None  # created the directory: removes it at the end
        self.directory = Path(tempfile.mkdtemp(prefix="kas-servers-")) if directory is None else directory
        self._booting: dict[str, Future[None]] = {}
        self._threads = ThreadPoolExecutor(max_workers=len(SERVER_KINDS), thread_name_prefix="airflow-start")

    def start(self, kinds: Iterable[ServerKind]) -> None:
        """Start each kind not started yet, all at once, in the background."""
        for kind in kinds:
            if kind.id not in self._booting:
                self._booting[kind.id] = self._threads.submit(self._boot, kind)

    def _boot(self, kind: ServerKind) -> None:
        try:
            self._publish(kind, ".json", server_to_json(kind.start()))
        except Exception as exc:  # every test of this kind fails with it (never skips)
            self._publish(kind, ".error", str(exc) or repr(exc))

    def _publish(self, kind: ServerKind, suffix: str, text: str) -> None:
        pending = self.directory / f"{kind.id}{suffix}.partial"
        pending.write_text(text)
        os.replace(pending, self.directory / f"{kind.id}{suffix}")  # readers never see half a file

    def record_groups(self, groups: dict[str, str], writer: str) -> None:
        """Record which kind each test on a real server needs (node id -> kind id)."""
        pending = self.directory / f"groups.json.{writer}.partial"
        pending.write_text(json.dumps(groups))
        os.replace(pending, self.directory / "groups.json")

    def groups(self) -> dict[str, str]:
        """The node ids of the tests on a real server, and the kind id each one needs."""
        path = self.directory / "groups.json"
        recorded: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        return recorded

    def ready(self, kind_id: str) -> bool:
        """Whether the server of this kind is up, or has failed to start."""
        return any((self.directory / f"{kind_id}{suffix}").exists() for suffix in (".json", ".error"))

    def get(self, kind: ServerKind) -> AirflowServer:
        """The running server of this kind, once it is up; raises if it could not start."""
        deadline = time.monotonic() + WAIT_TIMEOUT
        while not self.ready(kind.id):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {kind.id} server after {WAIT_TIMEOUT:.0f} s (was it started?)")
            time.sleep(0.2)
        error = self.directory / f"{kind.id}.error"
        if error.exists():
            raise RuntimeError(error.read_text())
        return server_from_json((self.directory / f"{kind.id}.json").read_text())

    def close(self) -> None:
        """Stop every server this session started (those still booting once they are up)."""
        self._threads.shutdown(wait=True)
        for kind in SERVER_KINDS:
            if (self.directory / f"{kind.id}.json").exists():
                self.get(kind).stop()
        if self.owner:
            shutil.rmtree(self.directory, ignore_errors=True)


def kinds_needed(keys: Iterable[str | None]) -> list[ServerKind]:
    """The kinds named by the ``airflow`` params of the tests (``None``: a test on every kind)."""
    wanted = set(keys)
    return [kind for kind in SERVER_KINDS if kind.key in wanted or None in wanted]


def group_scheduler(config: Any, log: Any, pool: ServerPool) -> Any:
    """xdist's ``loadgroup`` scheduling over the groups the workers recorded in ``pool``, except
    that a worker gets a server's group only once that server is up (or has failed to start):
    until then the free workers take fast tests."""
    from xdist.scheduler import LoadGroupScheduling

    class ServerGroupScheduling(LoadGroupScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            if not hasattr(self, "_groups"):
                self._groups = pool.groups()
            group: str = self._groups.get(nodeid, nodeid)
            return group

        def _assign_work_unit(self, node: Any) -> None:
            # the work queue maps scopes to tests: a group's scope is its kind id, a lone test's its id
            groups = [scope for scope in KINDS_BY_ID if scope in self.workqueue]
            scope = next((g for g in groups if pool.ready(g)), None)
            if scope is None:
                scope = next((s for s in self.workqueue if s not in KINDS_BY_ID), None)
            if scope is not None:
                self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)

    return ServerGroupScheduling(config, log)
