"""Benchmark: run history export, incremental refresh and batched waits against real Airflow 3.

One command (see docs/benchmarks.md):

    .venv/bin/python benchmarks/history_bench.py            # starts Airflow 3.3.2, seeds, measures

It starts Airflow 3.3.2 with ``scripts/airflow.sh`` on a free port with the 20 paused DAGs of
``benchmarks/dags`` (or uses ``--base-url`` / ``--home`` of one already running), on SQLite with one API
worker or, with ``--profile production``, on the production profile (PostgreSQL, Redis, Celery, 4 API
workers), seeds ``--runs`` runs over the DAGs (with Airflow's own REST trigger code path, see
``seed_airflow3.py``), then measures, each in a fresh subprocess, median of ``--repeat``:

* full export of every run into a DataFrame with (a) this SDK ``client.dag_runs()``,
  (b) ``apache-airflow-client`` 3.x + ``pandas.DataFrame`` the obvious way, (c)-(e) hand-written
  httpx baselines (the practical limit);
* full export of every task instance (every DAG) with ``client.task_instances()`` and hand-written
  httpx baselines;
* ``client.run_history()`` refreshing after 10 runs changed, vs the full export;
* 100 concurrent waits on one DAG: the SDK's batched ``wait_for_dag_run`` under ``asyncio.gather``
  vs per-run polling with ``get_dag_run``.

Wall time, client CPU time (user+sys), peak memory growth (max RSS minus RSS before the work) and the
number of API requests, counted in the API server's access log, are reported with ratios. The measured
work and the warm-up every child does first are in ``bench_work.py``, the waits in ``bench_waits.py``,
the tables in ``bench_report.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from bench_report import EXPORTS, TI_EXPORTS, export_report, report
from bench_waits import STREAM_MODES, stream_report, stream_waits, waits
from bench_work import REPO, USER, api, cpu_seconds, write

from kestra_airflow_sdk import AirflowClient
from kestra_airflow_sdk.history.operations import DEFAULT_OVERLAP

DAGS = [f"bench_dag_{i:02d}" for i in range(int(os.environ.get("BENCH_DAG_COUNT", "20")))]


# --------------------------------------------------------------------------- server and seeding


PROFILES = ("sqlite", "production")


def airflow_sh(command: list[str], port: int, home: Path, profile: str, **extra: str) -> list[str]:
    """``scripts/airflow.sh 3 COMMAND`` for the server of ``profile`` on ``port`` / ``home``, in its
    environment (what the script exports: the venv on PATH, AIRFLOW_HOME, the profile's ``AIRFLOW__*``
    config); its stdout lines (its stderr goes to ours)."""
    env = {
        **os.environ,
        "AIRFLOW_PROFILE": profile,
        "AIRFLOW_PORT": str(port),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW_DAGS_DIR": str(REPO / "benchmarks" / "dags"),
        **extra,
    }
    script = REPO / "scripts" / "airflow.sh"
    out = subprocess.run([str(script), "3", *command], env=env, stdout=subprocess.PIPE, text=True)
    if out.returncode:
        raise RuntimeError(f"scripts/airflow.sh 3 {command[0]} failed ({out.returncode}): {out.stdout}")
    return out.stdout.splitlines()


def start_server(port: int, home: Path, profile: str) -> str:
    lines = airflow_sh(["start"], port, home, profile, AIRFLOW_RESET="1", WAIT_FOR_DAG=DAGS[-1])
    return next(line.split("=", 1)[1] for line in lines if line.startswith("AIRFLOW_BASE_URL="))


def stop_server(port: int, home: Path, profile: str) -> None:
    airflow_sh(["stop"], port, home, profile)


def seed(base_url: str, home: Path, runs: int, profile: str) -> float:
    """Seed runs up to ``runs`` over the DAGs with Airflow's own trigger code (benchmarks/seed_airflow3.py,
    run in the server's environment - ``scripts/airflow.sh 3 exec``: its venv's Python, its database,
    SQLite or the production profile's PostgreSQL), check that the API serves them; when seeding ended
    (``time.monotonic()``)."""
    with api(base_url) as http:
        have = http.get("/dags/~/dagRuns", params={"limit": 1}).json()["total_entries"]
        if runs > have:
            script = str(REPO / "benchmarks" / "seed_airflow3.py")
            port = int(urlsplit(base_url).port or 80)
            quiet = {"AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"}
            command = ["exec", "python", script, str(have), str(runs), *DAGS]
            airflow_sh(command, port, home, profile, **quiet)
        served = http.get("/dags/~/dagRuns", params={"limit": 1}).json()["total_entries"]
        if served < runs:
            raise RuntimeError(f"the API serves {served} runs after seeding, expected at least {runs}")
    return time.monotonic()


class AccessLog:
    """The API requests the server logged (``request finished`` lines of api-server.log): how many,
    and the server time they took (``duration_us``)."""

    def __init__(self, home: Path) -> None:
        self.file = home / "api-server.log"
        self.server_s = 0.0

    def count(self) -> int:
        """The number of API requests logged so far (``server_s``: their total server time)."""
        time.sleep(0.3)  # let the server flush its log
        count, total = 0, 0
        with self.file.open(errors="replace") as f:
            for line in f:
                if "request finished" in line and "path=/api/v2/" in line:
                    count += 1
                    found = re.search(r"duration_us=(\d+)", line)
                    total += int(found.group(1)) if found else 0
        self.server_s = total / 1e6
        return count


def measure(name: str, log: AccessLog, *args: str) -> dict[str, float]:
    before, server_before = log.count(), log.server_s
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_work.py"), name, *args],
        stdout=subprocess.PIPE,  # its stderr (a traceback) goes to ours
        text=True,
        check=True,
        cwd=REPO,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    result["requests"] = log.count() - before
    result["server"] = log.server_s - server_before
    return result


def measure_here(work: Callable[[], int], log: AccessLog) -> dict[str, float]:
    """Measure work in this process (a notebook re-running a cell); memory is not measured here."""
    before, server_before = log.count(), log.server_s
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    rows = work()
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    requests = log.count() - before
    return {
        "wall": wall,
        "cpu": cpu,
        "mem": float("nan"),
        "rows": rows,
        "frame": float("nan"),
        "requests": requests,
        "server": log.server_s - server_before,
    }


def change_ten_runs(base_url: str, runs: int, round_: int) -> None:
    """10 seeded runs change state (what a refresh must pick up)."""
    with api(base_url) as http:
        for i in range(10):
            number = (round_ * 10 + i) * 7 % runs
            url = f"/dags/{DAGS[number % len(DAGS)]}/dagRuns/seed_{number:06d}"
            write(http, "PATCH", url, {"state": "failed" if i % 2 else "success"}, url)


def median(results: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


# --------------------------------------------------------------------------- main


METHODS = (*EXPORTS, *TI_EXPORTS)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5_000, help="runs to seed over the DAGs")
    parser.add_argument("--repeat", type=int, default=5, help="measurements per method (median)")
    parser.add_argument("--base-url", help="use this running Airflow 3 (then --home is needed)")
    parser.add_argument(
        "--home", type=Path, help="AIRFLOW_HOME of --base-url (its api-server.log counts requests)"
    )
    parser.add_argument("--port", type=int, default=38290)
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default="sqlite",
        help="the server: sqlite (1 API worker) or production (PostgreSQL, Redis, Celery, 4 API workers; "
        "AIRFLOW_PROFILE=production of scripts/airflow.sh); also of --base-url",
    )
    parser.add_argument(
        "--exports-only", action="store_true", help="measure the full exports only (no refresh, no waits)"
    )
    parser.add_argument(
        "--stream-waits",
        default="",
        metavar="COUNTS",
        help="measure only streamed waits (/wait) vs batched polling for these numbers of concurrent waits, "
        "comma-separated (e.g. 1,20,200); nothing is seeded",
    )
    parser.add_argument(
        "--stream-waits-after",
        type=float,
        default=3.0,
        metavar="SECONDS",
        help="--stream-waits: mark the runs finished this long into the waits (default 3)",
    )
    parser.add_argument(
        "--methods",
        default=",".join(METHODS),
        help=f"the full exports to measure, comma-separated (default: all of {','.join(METHODS)})",
    )
    parser.add_argument("--warmup", type=int, default=1, help="warm-up rounds before measuring")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="kas-bench-"))
    base_url = args.base_url or start_server(args.port, home, args.profile)
    try:
        if args.stream_waits:
            counts = [int(n) for n in args.stream_waits.split(",")]
            run_stream_waits(base_url, home, counts, args.profile, args.stream_waits_after)
            return
        methods = tuple(args.methods.split(","))
        unknown = set(methods) - set(EXPORTS) - set(TI_EXPORTS)
        if unknown or not {"export_sdk", "ti_sdk"} & set(methods):
            parser.error(
                f"--methods: export_sdk or ti_sdk, and some of {','.join(METHODS)}, got {args.methods}"
            )
        options = {"exports_only": args.exports_only, "methods": methods, "warmup": args.warmup}
        options["profile"] = args.profile
        run(base_url, home, AccessLog(home), args.runs, args.repeat, **options)
    finally:
        if not args.base_url:
            stop_server(args.port, home, args.profile)


def run_stream_waits(base_url: str, home: Path, counts: list[int], profile: str, after: float) -> None:
    """Streamed waits vs batched polling (and the SDK's default client) for each count of concurrent
    waits, on the first benchmark DAG (paused: its runs stay queued until marked), one run of each."""
    with AirflowClient(base_url, **USER) as client:
        version = client.get_version().version
    rows = []
    for n in counts:
        for mode in STREAM_MODES:
            rows.append(stream_waits(base_url, DAGS[0], home / "api-server.log", n, mode, after=after))
            print(rows[-1], f"load {load()}", file=sys.stderr)
    print("\n".join(stream_report(rows, version, profile)))


def load() -> str:
    """The machine's load average (1, 5, 15 minutes), recorded with every result."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(
    base_url: str,
    home: Path,
    log: AccessLog,
    runs: int,
    repeat: int,
    *,
    exports_only: bool,
    methods: tuple[str, ...] = METHODS,
    warmup: int = 1,
    profile: str = "sqlite",
) -> None:
    seeded = seed(base_url, home, runs, profile)

    with AirflowClient(base_url, **USER) as client:
        version = client.get_version().version
    loads = [load()]
    exports: dict[str, list[dict[str, float]]] = {name: [] for name in methods}
    for _ in range(warmup):  # server caches, page cache
        for name in methods:
            measure(name, log, base_url)
    for _ in range(repeat):  # interleaved: a burst of load on the shared box hits every method alike
        for name in methods:
            exports[name].append(measure(name, log, base_url))
        loads.append(load())
    export = {name: median(results) for name, results in exports.items()}
    for name in methods:
        print(name, export[name], file=sys.stderr)
    print(f"load average while exporting: {'; '.join(loads)}", file=sys.stderr)
    if exports_only:
        print("\n".join(export_report(version, profile, repeat, export, loads, len(DAGS))))
        return
    # a refresh re-reads the runs updated within `overlap` before the last sync: measure it on a history
    # older than that (as a notebook's history is), not on runs seeded seconds ago
    settle = seeded + DEFAULT_OVERLAP.total_seconds() + 5 - time.monotonic()
    if settle > 0:
        print(
            f"waiting {settle:.0f}s until the seeded runs are older than the refresh overlap", file=sys.stderr
        )
        time.sleep(settle)
    with tempfile.TemporaryDirectory() as tmp, AirflowClient(base_url, **USER) as client:
        path = str(Path(tmp) / "runs.parquet")
        measure("refresh_sdk", log, base_url, path)  # the first sync: a full export into the file
        client.run_history()  # the first sync of the in-memory cache
        in_memory, from_file = [], []
        for round_ in range(2 * repeat):
            change_ten_runs(base_url, runs, round_)
            if round_ % 2:
                from_file.append(measure("refresh_sdk", log, base_url, path))
            else:
                in_memory.append(measure_here(lambda: len(client.run_history()), log))
        refresh, refresh_file = median(in_memory), median(from_file)
        print("refresh", refresh, refresh_file, file=sys.stderr)
    batched = waits(base_url, DAGS[0], log.count, batched=True)
    print("batched waits", batched, file=sys.stderr)
    naive = waits(base_url, DAGS[0], log.count, batched=False)
    print("per-run waits", naive, file=sys.stderr)
    report(version, profile, repeat, export, loads, len(DAGS), refresh, refresh_file, batched, naive)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
