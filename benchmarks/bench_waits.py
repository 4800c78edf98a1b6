"""The waits part of the history benchmark: 100 concurrent waits on one DAG, batched (the SDK) or per run."""

from __future__ import annotations

import asyncio
import threading
import time
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
