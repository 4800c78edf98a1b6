"""Real Airflow servers for the tests, started and stopped through ``scripts/airflow.sh``.

Each major version runs on free loopback ports with the project's test DAGs (``tests/dags``) and a
fresh SQLite database. Setting ``KAS_AIRFLOW3_URL`` / ``KAS_AIRFLOW2_URL`` reuses a server that is
already running (handy while developing); CI always starts its own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

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

    @property
    def version_id(self) -> str:
        return f"airflow{self.major}"

    def env(self) -> dict[str, str]:
        assert self.port is not None and self.home is not None
        return {**os.environ, "AIRFLOW_PORT": str(self.port), "AIRFLOW_HOME": str(self.home)}

    def stop(self) -> None:
        if self.home is not None and self.owned:
            subprocess.run(
                [str(SCRIPT), self.major, "stop"], env=self.env(), check=False, capture_output=True
            )

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


def _free_port() -> int:
    """A free port p whose p+1000 (serve-logs) is free too."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port + 1000 > 65535:
            continue
        with socket.socket() as s2:
            try:
                s2.bind(("127.0.0.1", port + 1000))
            except OSError:
                continue
        return port
    raise RuntimeError("no pair of free ports found")


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
        )
    port = _free_port()
    home = Path(tempfile.mkdtemp(prefix=f"kas-airflow{major}-"))
    env = {**os.environ, "AIRFLOW_PORT": str(port), "AIRFLOW_HOME": str(home), "AIRFLOW_RESET": "1"}
    info = _run_start(major, env)
    return AirflowServer(major, info["AIRFLOW_BASE_URL"], info["AIRFLOW_API_VERSION"], home, port)
