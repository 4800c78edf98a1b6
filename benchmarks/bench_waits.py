"""The waits part of the history benchmark: 100 concurrent waits on one DAG, batched (the SDK) or per run;
and streamed waits (``/wait``) vs batched polling for 1, 20 and 200 concurrent waits."""

from __future__ import annotations

import asyncio
import re
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from bench_work import USER, api, write


def waits(
    base_url: str, dag_id: str, count: Callable[[], int], batched: bool, n: int = 100, poll: float = 1.0
) -> dict[str, float]:
    """n concurrent waits on one DAG (``count()``: the API requests the server logged so far). Batched: the SDK until the runs, marked finished after ~3 poll
    ticks, are all final. Per-run polling: 2 ticks of one GET per run (at most 8 in flight) (by construction 100 per tick;
    run to completion it overloads this server, which is the point of batching)."""
    from kestra_airflow_sdk import AirflowError, AsyncAirflowClient
    from kestra_airflow_sdk.airflow.waits import RunPoller

    prefix = f"wait_{'b' if batched else 'n'}_{int(time.time())}"
    with api(base_url) as http:
        runs = []
        for i in range(n):
            body = {"dag_run_id": f"{prefix}_{i}", "logical_date": None}
            url = f"/dags/{dag_id}/dagRuns"
            runs.append(write(http, "POST", url, body, f"{url}/{body['dag_run_id']}")["dag_run_id"])

    def mark() -> None:
        time.sleep(3 * poll)
        with api(base_url) as http:
            for run_id in runs:
                url = f"/dags/{dag_id}/dagRuns/{run_id}"
                write(http, "PATCH", url, {"state": "success"}, url)

    ticks: list[int] = []
    original = RunPoller._refresh

    def counted(self: RunPoller, client: Any, dag_id: str, state: Any) -> Any:
        ticks.append(1)
        return original(self, client, dag_id, state)

    gate = asyncio.Semaphore(8)

    async def naive_wait(client: AsyncAirflowClient, run_id: str) -> None:
        for _ in range(2):
            ticks.append(1)
            try:
                async with gate:  # 100 in flight at once exhaust this server's DB pool (HTTP 500s)
                    run = await client.get_dag_run(dag_id, run_id)
            except AirflowError:  # the overloaded server answers 500 (SQLite busy): poll again
                await asyncio.sleep(poll)
                continue
            if run.state is not None and run.state.is_final:
                return
            await asyncio.sleep(poll)

    async def main() -> None:
        async with AsyncAirflowClient(base_url, timeout=300, **USER) as client:
            await client.get_version()
            if batched:
                await asyncio.gather(*(client.wait_for_dag_run(dag_id, r, poll_frequency=poll) for r in runs))
            else:
                await asyncio.gather(*(naive_wait(client, r) for r in runs))

    marker = threading.Thread(target=mark if batched else lambda: None)
    before = count()
    RunPoller._refresh = counted  # type: ignore[method-assign]
    try:
        marker.start()
        started = time.perf_counter()
        asyncio.run(main())
        wall = time.perf_counter() - started
        marker.join()
    finally:
        RunPoller._refresh = original  # type: ignore[method-assign]
    marking = n if batched else 0  # the marker's PATCHes are in the log too
    requests = count() - before - marking
    rounds = len(ticks) if batched else len(ticks) / n
    return {"wall": wall, "requests": requests, "ticks": rounds, "per_tick": requests / rounds}


#: the clients of the streamed-waits benchmark: every wait follows ``/wait``; none does (batched
#: polling); the SDK's default client (10 connections, so at most 5 streams, the rest batched)
STREAM_MODES: dict[str, Callable[[int], dict[str, Any]]] = {
    "stream": lambda n: {"max_connections": n + 10, "wait_streams": n},
    "batched": lambda n: {"wait_streams": 0},
    "default": lambda n: {},
}


def server_cpu(log_file: Any) -> float:
    """CPU seconds (user + system) the API server's processes have used so far: the process in
    ``api-server.pid`` beside ``log_file`` and its descendants (the uvicorn workers)."""
    import os
    from pathlib import Path

    root = int((log_file.parent / "api-server.pid").read_text().split()[0])
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (
                int(fields[1]),
                (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"),
            )
    tree, total = {root}, 0.0
    for _ in range(5):  # descendants, a few generations deep
        tree |= {pid for pid, (parent, _) in stats.items() if parent in tree}
    for pid in tree:
        total += stats.get(pid, (0, 0.0))[1]
    return total


def stream_waits(
    base_url: str, dag_id: str, log_file: Any, n: int, mode: str, poll: float = 1.0, after: float = 3.0
) -> dict[str, Any]:
    """``n`` concurrent ``wait_for_dag_run`` (async, ``asyncio.gather``) on queued runs of one paused DAG,
    marked ``success`` one by one (PATCH) from ``after`` seconds in; the client of ``mode``
    (:data:`STREAM_MODES`). Time-to-notice of a run: its wait's return minus the end of its PATCH. The
    requests are those the API server logged meanwhile (``log_file``: its api-server.log), the PATCHes
    not counted, by kind (``/wait`` streams, single run reads, list requests)."""
    from kestra_airflow_sdk import AsyncAirflowClient

    prefix = f"ws_{mode}_{n}_{int(time.time() * 1000)}"
    with api(base_url) as http:
        runs = []
        for i in range(n):
            body = {"dag_run_id": f"{prefix}_{i}", "logical_date": None}
            url = f"/dags/{dag_id}/dagRuns"
            runs.append(write(http, "POST", url, body, f"{url}/{body['dag_run_id']}")["dag_run_id"])
    time.sleep(0.5)
    offset = log_file.stat().st_size
    marked: dict[str, float] = {}
    ended: dict[str, float] = {}
    go = threading.Event()

    def mark() -> None:
        go.wait()
        time.sleep(after)
        with api(base_url) as http:
            for run_id in runs:
                url = f"/dags/{dag_id}/dagRuns/{run_id}"
                write(http, "PATCH", url, {"state": "success"}, url)
                marked[run_id] = time.perf_counter()

    async def one(client: AsyncAirflowClient, run_id: str) -> None:
        await client.wait_for_dag_run(dag_id, run_id, poll_frequency=poll, timeout=900)
        ended[run_id] = time.perf_counter()

    async def main() -> None:
        async with AsyncAirflowClient(base_url, timeout=300, **USER, **STREAM_MODES[mode](n)) as client:
            await client.get_version()
            go.set()
            await asyncio.gather(*(one(client, r) for r in runs))

    marker = threading.Thread(target=mark)
    marker.start()
    cpu = server_cpu(log_file)
    started = time.perf_counter()
    try:
        asyncio.run(main())
    finally:
        go.set()
        marker.join()
    wall = time.perf_counter() - started
    cpu = server_cpu(log_file) - cpu
    time.sleep(0.5)  # let the server flush its log
    kinds: Counter[str] = Counter()
    with log_file.open(errors="replace") as f:
        f.seek(offset)
        for line in f:
            found = re.search(r"path=(/api/v2/\S+)", line) if "request finished" in line else None
            if found:
                path = found.group(1).split("?")[0]
                kind = (
                    "stream" if path.endswith("/wait") else "list" if path.endswith("/dagRuns") else "other"
                )
                kinds["read" if kind == "other" and f"/dags/{dag_id}/dagRuns/" in path else kind] += 1
    kinds["read"] -= n  # the marker's PATCHes (same path as a read)
    notice = sorted(ended[r] - marked[r] for r in runs)
    return {
        "n": n,
        "after": after,
        "mode": mode,
        "requests": sum(kinds.values()),
        "streams": kinds["stream"],
        "reads": kinds["read"],
        "lists": kinds["list"],
        "other": kinds["other"],
        "notice_median": statistics.median(notice),
        "notice_max": notice[-1],
        "wall": wall,
        "server_cpu": cpu,
    }


def stream_report(rows: list[dict[str, Any]], version: str, profile: str) -> list[str]:
    """The markdown table and ratio lines of :func:`stream_waits` results (one run)."""
    lines = [
        f"Airflow {version} ({profile}), one run of each; poll period / stream interval 1 s.",
        "",
        "| waits | marked after s | client | requests | /wait streams | run reads | list requests | time-to-notice median s "
        "| max s | wall s | API server CPU s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['n']} | {row['after']:g} | {row['mode']} | {row['requests']} | {row['streams']} | {row['reads']} | "
            f"{row['lists']} | {row['notice_median']:.2f} | {row['notice_max']:.2f} | {row['wall']:.1f} | "
            f"{row['server_cpu']:.1f} |"
        )
    lines.append("")
    by = {(row["n"], row["after"], row["mode"]): row for row in rows}
    for n, after in sorted({(row["n"], row["after"]) for row in rows}):
        stream, batched = by.get((n, after, "stream")), by.get((n, after, "batched"))
        if stream and batched:
            lines.append(
                f"* [{profile}] {n} waits marked after {after:g} s, stream / batched polling: requests "
                f"**{stream['requests'] / max(batched['requests'], 1):.2f}x**, time-to-notice (median) "
                f"**{stream['notice_median'] / max(batched['notice_median'], 1e-3):.2f}x**, "
                f"max {stream['notice_max'] / max(batched['notice_max'], 1e-3):.2f}x, API server CPU "
                f"{stream['server_cpu'] / max(batched['server_cpu'], 1e-3):.2f}x"
            )
    return lines
