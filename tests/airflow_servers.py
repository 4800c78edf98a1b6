"""Real Airflow servers for the tests, started and stopped through ``scripts/airflow.sh``.

Each major version runs on free loopback ports with the project's test DAGs (``tests/dags``) and a
fresh SQLite database. Setting ``KAS_AIRFLOW3_URL`` / ``KAS_AIRFLOW2_URL`` reuses a server that is
already running (handy while developing); CI always starts its own. ``KAS_AIRFLOW3_VERSION`` /
``KAS_AIRFLOW2_VERSION`` start another release of that major version instead of the default one
(``AIRFLOW_VERSION`` of scripts/airflow.sh, its own venv; scripts/compat.sh).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "airflow.sh"
USERNAME = "admin"
PASSWORD = "admin"


@dataclass
class AirflowServer:
    major: str
    base_url: str
    api_version: str
    home: Path | None = None
    port: int | None = None
    owned: bool = True  # started by this test session (a reused server is never stopped)
    #: the Airflow release (e.g. ``"2.11.2"``): asked for (``KAS_AIRFLOW<major>_VERSION``), or what
    #: scripts/airflow.sh started; ``None`` for a reused server that did not say
    version: str | None = None

    @property
    def version_id(self) -> str:
        return f"airflow{self.major}"

    def env(self) -> dict[str, str]:
        assert self.port is not None and self.home is not None
        env = {**os.environ, "AIRFLOW_PORT": str(self.port), "AIRFLOW_HOME": str(self.home)}
        if self.version is not None:  # stop, restart-api and exec use that release's venv
            env["AIRFLOW_VERSION"] = self.version
        return env

    def stop(self) -> None:
        """Stop every process it started, then delete its home (database, logs, password file);
        the home goes even when stopping fails. A server this session did not start is left alone."""
        if self.home is None or not self.owned:
            return
        try:
            if self.home.exists():
                subprocess.run(
                    [str(SCRIPT), self.major, "stop"],
                    env=self.env(),
                    check=False,
                    capture_output=True,
                    timeout=300,
                )
        finally:
            self.discard()

    def discard(self) -> None:
        """Delete a stopped server's home."""
        if self.home is not None and self.owned:
            shutil.rmtree(self.home, ignore_errors=True)

    def release(self) -> tuple[int, ...]:
        """The server's Airflow release as numbers, e.g. ``(2, 11, 2)``; a reused server that did not
        say (``KAS_AIRFLOW<major>_VERSION``) is asked (``GET /api/vN/version`` needs no login)."""
        if self.version is None:
            answer = httpx.get(f"{self.base_url}/api/{self.api_version}/version", timeout=30)
            answer.raise_for_status()
            self.version = str(answer.json()["version"])
        return tuple(int(part) for part in re.findall(r"\d+", self.version)[:3])

    def require(self, release: str, feature: str) -> None:
        """Skip the calling test on a server older than ``release`` (e.g. ``"3.2"``) - a feature that
        release added, never a failure: ``needs Airflow 3.2 (feature); this server runs 3.1.8``."""
        wanted = tuple(int(part) for part in release.split("."))
        if self.release()[: len(wanted)] < wanted:
            pytest.skip(f"needs Airflow {release} ({feature}); this server runs {self.version}")

    def restart_api(self) -> None:
        """Restart only the REST component (Airflow 3 api-server, Airflow 2 webserver) on the same
        port and database; the scheduler keeps running. Returns when the API answers again."""
        proc = subprocess.run(
            [str(SCRIPT), self.major, "restart-api"],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"restart-api failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


#: ports a SQLite server derives from its REST port: serve-logs
SQLITE_PORT_OFFSETS = (1000,)


def _free_port_with(offsets: tuple[int, ...]) -> int:
    """A free loopback port p whose p+offset ports are free too."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port + max(offsets) > 65535:
            continue
        try:
            for offset in offsets:
                with socket.socket() as other:
                    other.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return port
    raise RuntimeError("no set of free ports found")


def _run_start(major: str, env: dict[str, str]) -> dict[str, str]:
    proc = subprocess.run(
        [str(SCRIPT), major, "start"], env=env, capture_output=True, text=True, timeout=900, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"scripts/airflow.sh {major} start failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return dict(
        line.split("=", 1) for line in proc.stdout.splitlines() if line.startswith("AIRFLOW_") and "=" in line
    )


def _launch(server: AirflowServer) -> dict[str, str]:
    """Start ``server`` with a fresh database; if that fails (or times out, or is interrupted),
    stop whatever did start and delete its home before raising."""
    try:
        return _run_start(server.major, {**server.env(), "AIRFLOW_RESET": "1"})
    except BaseException:
        server.stop()
        raise


def requested_version(major: str) -> str | None:
    """The release ``KAS_AIRFLOW<major>_VERSION`` asks for (e.g. ``2.11.2``), or ``None``: the default."""
    return os.environ.get(f"KAS_AIRFLOW{major}_VERSION", "").strip() or None


def start_server(major: str) -> AirflowServer:
    existing = os.environ.get(f"KAS_AIRFLOW{major}_URL")
    if existing:
        # KAS_AIRFLOW<major>_HOME (optional) lets tests that restart or reconfigure the server run too
        home = os.environ.get(f"KAS_AIRFLOW{major}_HOME")
        port = int(existing.rstrip("/").rsplit(":", 1)[1]) if home else None
        return AirflowServer(
            major,
            existing.rstrip("/"),
            "v2" if major == "3" else "v1",
            Path(home) if home else None,
            port,
            owned=False,
            version=requested_version(major),
        )
    port = _free_port_with(SQLITE_PORT_OFFSETS)
    home = Path(tempfile.mkdtemp(prefix=f"kas-airflow{major}-"))
    api = "v2" if major == "3" else "v1"
    server = AirflowServer(major, "", api, home, port, version=requested_version(major))
    info = _launch(server)
    server.base_url, server.api_version = info["AIRFLOW_BASE_URL"], info["AIRFLOW_API_VERSION"]
    server.version = info.get("AIRFLOW_VERSION", server.version)
    return server


@dataclass(frozen=True)
class ServerKind:
    """One kind of real server that the ``airflow`` fixture runs tests on."""

    #: the fixture's param: a test picks kinds with ``parametrize("airflow", ["3"], indirect=True)``
    key: str
    start: Callable[[], AirflowServer]
    #: the test modules (paths from the repository root) whose tests run on this kind unless they
    #: pick their kinds themselves; ``None``: every module's
    modules: frozenset[str] | None = None

    @property
    def id(self) -> str:
        """The test id (``test_x[airflow3]``), and the name of the xdist group of its tests."""
        return f"airflow{self.key}"

    def serves(self, module: Path) -> bool:
        """Whether a test module's tests run on this kind by default."""
        return self.modules is None or module.resolve().relative_to(REPO).as_posix() in self.modules


def server_to_json(server: AirflowServer) -> str:
    """A running server, for another process of the session (an xdist worker) to use."""
    fields = {f.name: getattr(server, f.name) for f in dataclasses.fields(server)}
    fields["home"] = None if server.home is None else str(server.home)
    return json.dumps({"class": type(server).__name__, "fields": fields})


def server_from_json(text: str) -> AirflowServer:
    data = json.loads(text)
    cls = {c.__name__: c for c in (AirflowServer, ProductionServer)}[data["class"]]
    fields = data["fields"]
    if fields["home"] is not None:
        fields["home"] = Path(fields["home"])
    server: AirflowServer = cls(**fields)
    return server


# ---------------------------------------------------------------- the production profile (Airflow 3)

#: ports the production profile derives from its REST port: serve-logs, PostgreSQL, Redis
PRODUCTION_PORT_OFFSETS = (1000, 2000, 3000)
#: the throw-away PostgreSQL cluster's role and password (scripts/airflow-production.sh)
PRODUCTION_DB_USER, PRODUCTION_DB_PASSWORD = "airflow", "airflow-not-a-secret"


@dataclass
class ProductionServer(AirflowServer):
    """Airflow 3.3.2 of ``AIRFLOW_PROFILE=production`` (PostgreSQL, Redis, Celery workers)."""

    extra_env: dict[str, str] | None = None

    def env(self) -> dict[str, str]:
        return {**super().env(), "AIRFLOW_PROFILE": "production", **(self.extra_env or {})}

    def discard(self) -> None:
        """Delete a stopped server's home, its database cluster (which may live outside it, see
        scripts/airflow-production.sh) and the copy of the DAGs it was started with."""
        if self.home is None or not self.owned:
            return
        cluster = self.home / "postgres"
        if cluster.is_symlink():
            shutil.rmtree(cluster.resolve(), ignore_errors=True)
        super().discard()
        dags = (self.extra_env or {}).get("AIRFLOW_DAGS_DIR")
        if dags:  # the copy of the DAGs it was started with
            shutil.rmtree(dags, ignore_errors=True)

    def sql(self, statements: str) -> str:
        """Run SQL on the server's PostgreSQL database (``psql``, from Debian's postgresql-client);
        returns what it printed (unaligned, tuples only)."""
        assert self.port is not None
        port = str(self.port + PRODUCTION_PORT_OFFSETS[1])
        proc = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                port,
                "-U",
                PRODUCTION_DB_USER,
                "-d",
                "airflow",
                "-qAt",
                "-f",
                "-",
            ],
            input="\\set ON_ERROR_STOP on\n" + statements,
            env={**os.environ, "PGPASSWORD": PRODUCTION_DB_PASSWORD},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"psql failed (exit {proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout

    def pid(self, component: str) -> int:
        """The pid (and process group) of a running component, e.g. ``celery-worker-1``."""
        assert self.home is not None
        return int((self.home / f"{component}.pid").read_text())


#: the production profile's own DAGs, beside the project's test DAGs
PRODUCTION_DAGS = REPO / "tests" / "dags_production"
#: the scheduler fails a task whose heartbeats stopped after this long (Airflow's default is 300 s);
#: shortened for the Celery-kill test, with room for a loaded box: at 60 s, a hello_world_dag run
#: ended failed once while the API server answered slowly (read timeouts, load average 15-20)
PRODUCTION_HEARTBEAT_TIMEOUT = 180
#: the modules whose tests run on the production profile too (issue 14: client, flows, history,
#: reliability), besides its own (tests/integration/test_production.py); docs, notebooks, the corpus
#: and the rest stay on the SQLite servers
PRODUCTION_MODULES = frozenset(
    f"tests/integration/{name}.py"
    for name in (
        "test_client",
        "test_flows",
        "test_flow_tasks",
        "test_flow_reliability",
        "test_history",
        "test_reliability",
    )
)


def start_production_server() -> ProductionServer:
    """The production profile on free loopback ports with a fresh database and the DAGs of
    tests/dags and tests/dags_production (a copy, deleted with the server).

    ``KAS_AIRFLOW3_PRODUCTION_URL`` (and ``KAS_AIRFLOW3_PRODUCTION_HOME``, for the tests that need
    its processes) reuses a production-profile server that is already running (its DAG folder must
    hold those DAGs)."""
    existing = os.environ.get("KAS_AIRFLOW3_PRODUCTION_URL")
    if existing:
        home = os.environ.get("KAS_AIRFLOW3_PRODUCTION_HOME")
        return ProductionServer(
            "3",
            existing.rstrip("/"),
            "v2",
            Path(home) if home else None,
            int(existing.rstrip("/").rsplit(":", 1)[1]),
            owned=False,
        )
    port = _free_port_with(PRODUCTION_PORT_OFFSETS)
    home = Path(tempfile.mkdtemp(prefix="kas-airflow3-production-"))
    dags = Path(tempfile.mkdtemp(prefix="kas-airflow3-production-dags-"))  # AIRFLOW_RESET wipes the home
    for folder in (REPO / "tests" / "dags", PRODUCTION_DAGS):
        for dag_file in folder.glob("*.py"):
            shutil.copy(dag_file, dags)
    extra_env = {
        "AIRFLOW_DAGS_DIR": str(dags),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(PRODUCTION_HEARTBEAT_TIMEOUT),
    }
    server = ProductionServer("3", "", "v2", home, port, extra_env=extra_env)
    info = _launch(server)  # on failure, PostgreSQL, Redis and any component that started are stopped
    server.base_url = info["AIRFLOW_BASE_URL"]
    return server


#: every kind of real server, in the order their tests run in a single-process session; each kind's
#: tests are one xdist group (scripts/test.sh runs one worker per selected kind, plus one). All three
#: run by default (scripts/test.sh, CI); ``KAS_SERVER_KINDS`` picks some (scripts/test-production.sh)
SERVER_KINDS = (
    ServerKind("3", partial(start_server, "3")),
    ServerKind("2", partial(start_server, "2")),
    ServerKind("3-production", start_production_server, PRODUCTION_MODULES),
)


def selected_kinds() -> tuple[ServerKind, ...]:
    """The kinds whose tests this session runs: those ``KAS_SERVER_KINDS`` names (kind ids such as
    ``airflow3,airflow3-production``, comma-separated), else (unset, or ``all``) every kind."""
    names = os.environ.get("KAS_SERVER_KINDS", "").strip()
    if names in ("", "all"):
        return SERVER_KINDS
    wanted = {name.strip() for name in names.split(",") if name.strip()}
    known = [kind.id for kind in SERVER_KINDS]
    unknown = sorted(wanted.difference(known))
    if unknown:
        raise ValueError(
            f"KAS_SERVER_KINDS: unknown server kind(s) {unknown}; expected some of {known}, or all"
        )
    return tuple(kind for kind in SERVER_KINDS if kind.id in wanted)
