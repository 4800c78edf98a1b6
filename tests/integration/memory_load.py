"""Three rounds of concurrent waits in one event loop, measured with tracemalloc, in a process of their own.

``python -m tests.integration.memory_load BASE_URL COUNT`` (credentials in ``KAS_LOAD_USERNAME`` /
``KAS_LOAD_PASSWORD``) prints one JSON line: the final states of each round, the memory the third
round kept over the first two (``growth``, bytes, with the five biggest places) and its peak above
that baseline. A process of its own, because tracemalloc counts every allocation of the process:
in a pytest worker that ran other tests first, their leftovers (threads, captured records, caches)
would be counted as the waits' own.

Runs go to ``reliability_paused_dag`` (paused: runs stay queued and cost nothing) and are settled by
a second client with ``set_dag_run_state``, half success and half failed.
"""

from __future__ import annotations

import asyncio
import gc
import json
import linecache
import os
import sys
import tracemalloc
from typing import Any

from kestra_airflow_sdk import AsyncAirflowClient, RetryPolicy

DAG = "reliability_paused_dag"
#: memory that is no leak of a wait: modules imported late (an error path met for the first time
#: in the third round), source lines a formatted traceback cached, tracemalloc's own
NOT_CACHES = (
    tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
    tracemalloc.Filter(False, linecache.__file__),
    tracemalloc.Filter(False, tracemalloc.__file__),
)
TOLERANT = RetryPolicy(
    max_attempts=8, initial_delay=0.2, max_delay=2.0, statuses=frozenset({429, 500, 502, 503, 504})
)


async def one_round(client: AsyncAirflowClient, admin: AsyncAirflowClient, count: int) -> list[str]:
    """Trigger ``count`` runs, wait for all of them at once while another client settles them."""
    ids = []
    for _ in range(count):  # one at a time: SQLite is single-writer
        ids.append((await admin.trigger_dag_run(DAG)).dag_run_id)

    async def settle() -> None:  # another client: its writes do not queue behind the polls
        await asyncio.sleep(3.0)
        for i, run_id in enumerate(ids):
            await admin.set_dag_run_state(DAG, run_id, "success" if i % 2 else "failed")

    settler = asyncio.create_task(settle())
    waits = [
        client.wait_for_dag_run(DAG, run_id, poll_frequency=5.0, timeout=900, if_paused="ignore")
        for run_id in ids
    ]
    finals = await asyncio.wait_for(asyncio.gather(*waits), timeout=1200)
    await settler
    listed = {r.dag_run_id for r in await admin.list_dag_runs(DAG)}
    missing = set(ids) - listed
    if missing:
        raise AssertionError(f"{len(missing)} triggered runs are not listed by Airflow")
    return [str(f.state) for f in finals]


async def measure(base_url: str, count: int, credentials: dict[str, str]) -> dict[str, Any]:
    """The three rounds; the third is measured against the memory the first two left."""
    async with (
        AsyncAirflowClient(base_url, retry=TOLERANT, timeout=120.0, **credentials) as client,
        AsyncAirflowClient(base_url, retry=TOLERANT, timeout=120.0, **credentials) as admin,
    ):
        await admin.pause_dag(DAG)
        tracemalloc.start(8)
        rounds = [await one_round(client, admin, count)]  # the first rounds warm caches and the pool
        rounds.append(await one_round(client, admin, count))
        gc.collect()
        baseline = tracemalloc.take_snapshot()
        base_size = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        rounds.append(await one_round(client, admin, count))
        gc.collect()
        peak = tracemalloc.get_traced_memory()[1] - base_size
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
    diff = after.filter_traces(NOT_CACHES).compare_to(baseline.filter_traces(NOT_CACHES), "traceback")
    where = "\n".join(
        f"{stat.size_diff:+} B, {stat.count_diff:+} blocks:\n  " + "\n  ".join(stat.traceback.format())
        for stat in sorted(diff, key=lambda stat: -stat.size_diff)[:5]
    )
    return {
        "rounds": rounds,
        "growth": sum(stat.size_diff for stat in diff),
        "where": where,
        "peak": peak,
    }


def main(argv: list[str]) -> None:
    base_url, count = argv[1], int(argv[2])
    credentials = {"username": os.environ["KAS_LOAD_USERNAME"], "password": os.environ["KAS_LOAD_PASSWORD"]}
    print(json.dumps(asyncio.run(measure(base_url, count, credentials))))


if __name__ == "__main__":
    main(sys.argv)
