"""What only the production profile can show: Airflow 3.3.2 on PostgreSQL with 4 API server workers
and Celery workers (``AIRFLOW_PROFILE=production scripts/airflow.sh 3 start``).

* 50 triggers from 5 processes at once through a proxy that drops every third response: exactly 50
  DAG runs on Airflow's side (SQLite would answer concurrent writes with HTTP 500; PostgreSQL takes them);
* 1,000 concurrent waits over 20 DAGs in one event loop: at most one list request per DAG per poll
  tick, and flat memory from one round of 1,000 waits to the next;
* a Celery worker killed while its task runs: the wait ends with the state Airflow settles on (or
  the SDK's timeout error), it never hangs.

The server is the session's production-profile server (tests/airflow_servers.py ``SERVER_KINDS``),
on free loopback ports (PostgreSQL, Redis and serve-logs ports derived from them), with the project's
test DAGs plus those of tests/dags_production (20 paused DAGs and a long-running one). It FAILS (never
skips) when it cannot start.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import multiprocessing
import os
import signal
import threading
import time
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest

from kestra_airflow_sdk import AirflowClient, AsyncAirflowClient, DagRunState, RetryPolicy
from kestra_airflow_sdk.airflow import DagRun, WaitTimeoutError
from kestra_airflow_sdk.airflow.waits import RunPoller, poller_of
from tests.airflow_servers import (
    PASSWORD,
    PRODUCTION_HEARTBEAT_TIMEOUT,
    USERNAME,
    AirflowServer,
    ProductionServer,
)
from tests.faults.proxy import Fault, FaultProxy

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("airflow", ["3-production"], indirect=True, ids=["airflow3-production"]),
]

#: the DAGs of tests/dags_production/production_dags.py
PAUSED_DAGS = [f"production_paused_{i:02d}" for i in range(20)]
#: what a round of 1,000 waits may leave allocated after the round before it
KEPT_LIMIT = 1024 * 1024
KILL_DAG = "production_kill_dag"

#: patient retries: a proxy dropping every third response makes several failures in a row likely
PATIENT = RetryPolicy(
    max_attempts=10, initial_delay=0.2, max_delay=2.0, statuses=frozenset({429, 500, 502, 503, 504})
)


@pytest.fixture
def production(airflow: AirflowServer) -> ProductionServer:
    """The production profile (PostgreSQL, Redis, 4 API workers, 2 Celery workers) of the session."""
    assert isinstance(airflow, ProductionServer)
    return airflow


@pytest.fixture
def direct(production: ProductionServer) -> Iterator[AirflowClient]:
    """A client without proxy, to look at what Airflow really has."""
    with AirflowClient(production.base_url, username=USERNAME, password=PASSWORD, retry=PATIENT) as client:
        yield client


# ---------------------------------------------------------------- 50 triggers from 5 processes


class EveryThird(Fault):
    """Forward every request, but drop the connection instead of the answer of every third one."""

    def __init__(self) -> None:
        super().__init__("drop_after", times=10**9)
        self.requests = 0

    def matches(self, method: str, path: str) -> bool:
        self.requests += 1
        return self.requests % 3 == 0


def _trigger_from_a_process(
    url: str, dag_id: str, batch: str, first: int, count: int, start: Any, results: Any
) -> None:
    """One of the 5 processes: ``count`` concurrent triggers once every process is ready."""

    async def main() -> list[str]:
        async with AsyncAirflowClient(
            url, username=USERNAME, password=PASSWORD, retry=PATIENT, timeout=30.0
        ) as client:
            start.wait(120)  # all processes fire at once
            runs = await asyncio.gather(
                *(client.trigger_dag_run(dag_id, conf={"batch": batch, "n": first + i}) for i in range(count))
            )
            return [run.dag_run_id for run in runs]

    try:
        results.put((first, asyncio.run(main()), None))
    except Exception as exc:  # reported by the test
        results.put((first, [], f"{type(exc).__name__}: {exc}"))


@pytest.mark.timeout(1200)  # the first test also pays for starting the profile
def test_50_triggers_from_5_processes_through_dropped_answers_make_exactly_50_runs(
    production: ProductionServer, direct: AirflowClient
) -> None:
    dag_id, processes, per_process = "reliability_paused_dag", 5, 10
    direct.pause_dag(dag_id)  # runs stay queued and cost nothing
    batch = uuid.uuid4().hex
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(processes), context.Queue()
    with FaultProxy(production.base_url) as proxy:
        fault = proxy.add(EveryThird())
        workers = [
            context.Process(
                target=_trigger_from_a_process,
                args=(proxy.url, dag_id, batch, p * per_process, per_process, start, results),
            )
            for p in range(processes)
        ]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=600) for _ in workers]
        for worker in workers:
            worker.join(60)
    errors = [error for _, _, error in outcomes if error]
    assert not errors, errors
    returned = [run_id for _, run_ids, _ in outcomes for run_id in run_ids]
    assert fault.applied >= processes * per_process // 3, "the proxy dropped fewer answers than asked"
    assert any(seen.action == "drop_after" and seen.method == "POST" for seen in proxy.seen)

    ours = [run for run in direct.list_dag_runs(dag_id) if (run.conf or {}).get("batch") == batch]
    assert len(returned) == len(set(returned)) == processes * per_process
    assert sorted(run.dag_run_id for run in ours) == sorted(returned)  # none doubled, none lost
    assert sorted((run.conf or {})["n"] for run in ours) == list(range(processes * per_process))

    async def settle() -> None:
        async with AsyncAirflowClient(
            production.base_url, username=USERNAME, password=PASSWORD, retry=PATIENT
        ) as client:
            await asyncio.gather(*(client.set_dag_run_state(dag_id, r, "failed") for r in returned))

    asyncio.run(settle())


# ---------------------------------------------------------------- 1,000 waits over 20 DAGs


def _listed_dag(request: httpx.Request) -> list[str]:
    """The DAG(s) a run-list request asks for ([] for any other request)."""
    path = unquote(urlsplit(str(request.url)).path)
    parts = path.rstrip("/").split("/")
    if request.method == "GET" and len(parts) >= 2 and parts[-1] == "dagRuns" and parts[-3] == "dags":
        return [parts[-2]]
    if request.method == "POST" and path.endswith("/dags/~/dagRuns/list"):
        return list(json.loads(request.content or b"{}").get("dag_ids") or ["~"])
    return []


class Hooked(httpx.AsyncBaseTransport):
    """The network, calling ``hooks`` with each request before sending it."""

    def __init__(self) -> None:
        self.network = httpx.AsyncHTTPTransport()
        self.hooks: list[Callable[[httpx.Request], Awaitable[None]]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for hook in self.hooks:
            await hook(request)
        return await self.network.handle_async_request(request)

    async def aclose(self) -> None:
        await self.network.aclose()


def _generation(poller: RunPoller, dag_id: str) -> int:
    """How many refreshes of the DAG completed (0 before its first)."""
    try:
        return poller.generation(dag_id)
    except KeyError:
        return 0


@pytest.mark.timeout(1800)
def test_1000_waits_over_20_dags_poll_once_per_dag_per_tick_with_flat_memory(
    production: ProductionServer, caplog: pytest.LogCaptureFixture
) -> None:
    per_dag = 50  # x 20 DAGs = 1,000 runs waited on at once, in each of 3 rounds
    caplog.set_level(logging.ERROR, logger="kestra_airflow_sdk")
    # (round, DAG, poll tick of that DAG, which runs: "unfinished" or "finished") -> list requests
    lists: Counter[tuple[int, str, int, str]] = Counter()

    async def one_round(
        number: int, client: AsyncAirflowClient, admin: AsyncAirflowClient
    ) -> list[DagRunState | None]:
        poller = poller_of(client)

        async def count_lists(request: httpx.Request) -> None:
            for dag_id in _listed_dag(request):
                # the tick: how many refreshes of that DAG completed before this request
                states = set(parse_qs(request.url.query.decode()).get("state", []))
                kind = "unfinished" if states & {"queued", "running"} else "finished"
                lists[(number, dag_id, poller.generation(dag_id), kind)] += 1

        network.hooks[:] = [count_lists]
        refs = await asyncio.gather(
            *(admin.trigger_dag_run(dag_id) for dag_id in PAUSED_DAGS for _ in range(per_dag))
        )

        async def settle() -> None:
            # after every DAG was polled twice (counted, not timed), half the runs end in success
            # and half in failure at once, written to Airflow's database as its scheduler writes a
            # run's end: 1,000 PATCH requests would take this 2-core box minutes per round
            while min(_generation(poller, d) for d in PAUSED_DAGS) < 2:
                await asyncio.sleep(0.2)
            ended = await asyncio.to_thread(production.sql, _end_runs_sql(refs))
            assert int(ended.strip()) == len(refs), ended

        settler = asyncio.create_task(settle())
        waits = [
            client.wait_for_dag_run(
                run.dag_id, run.dag_run_id, poll_frequency=2.0, timeout=1200, if_paused="ignore"
            )
            for run in refs
        ]
        finals = await asyncio.wait_for(asyncio.gather(*waits), timeout=1500)
        await settler
        network.hooks.clear()
        assert [f.dag_run_id for f in finals] == [r.dag_run_id for r in refs]
        return [f.state for f in finals]

    network = Hooked()

    async def main() -> tuple[list[list[DagRunState | None]], int, int, list[str]]:
        async with (
            AsyncAirflowClient(
                production.base_url,
                username=USERNAME,
                password=PASSWORD,
                retry=PATIENT,
                timeout=120.0,
                transport=network,
            ) as client,
            AsyncAirflowClient(
                production.base_url,
                username=USERNAME,
                password=PASSWORD,
                retry=PATIENT,
                timeout=120.0,
                max_connections=20,
            ) as admin,
        ):
            for dag_id in PAUSED_DAGS:
                await admin.pause_dag(dag_id)
            rounds = [await one_round(1, client, admin)]  # warms caches and the connection pool
            tracemalloc.start()
            rounds.append(await one_round(2, client, admin))
            gc.collect()
            baseline = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            rounds.append(await one_round(3, client, admin))
            gc.collect()
            current, peak = tracemalloc.get_traced_memory()
            kept = []
            if current - baseline >= KEPT_LIMIT:  # only then: a snapshot costs minutes of CPU here
                kept = [str(stat) for stat in _snapshot().statistics("lineno")[:8]]
            tracemalloc.stop()
            return rounds, current - baseline, peak - baseline, kept

    rounds, growth, peak, kept = asyncio.run(main())
    for states in rounds:
        assert (
            states.count(DagRunState.SUCCESS)
            == states.count(DagRunState.FAILED)
            == len(PAUSED_DAGS) * per_dag // 2
        )
    assert lists, "no list request was seen: the waits did not poll through run lists"
    assert {key[1] for key in lists} == set(PAUSED_DAGS)
    repeated = {key: count for key, count in lists.items() if count > 1}
    assert not repeated, (
        f"the same list asked twice for one DAG in one tick (not shared by the waiters): {repeated}"
    )
    # the third round may keep its own few hundred request counts and states, nothing per wait
    assert growth < KEPT_LIMIT, (
        f"the third round of 1,000 waits kept {growth} more bytes than the second; largest now: {kept}"
    )
    assert peak < 128 * 1024 * 1024, f"peak {peak} bytes above the baseline while waiting"
    per_tick = Counter(key[:3] for key in lists)
    doubled = sorted(tick for tick, count in per_tick.items() if count > 1)
    # issue 14: one list request per DAG and tick, the ticks that discover runs (the first of each
    # round) and the reconciles included: they list the unfinished runs INSTEAD of the changed ones
    assert not doubled, (
        f"{len(doubled)} of {len(per_tick)} DAG ticks sent more than one list request: {doubled[:10]}"
    )


def _end_runs_sql(runs: list[DagRun]) -> str:
    """SQL that ends the given (queued) runs, every other one in success and the rest in failure,
    with ``updated_at`` and ``end_date`` set as Airflow sets them; prints how many runs it ended."""
    keys = ", ".join(f"('{run.dag_id}', '{run.dag_run_id}')" for run in runs)  # ids hold no quotes
    return f"""
WITH chosen AS (
    SELECT r.id, row_number() OVER (ORDER BY r.id) AS n
    FROM dag_run AS r JOIN (VALUES {keys}) AS k (dag_id, run_id)
      ON r.dag_id = k.dag_id AND r.run_id = k.run_id
), ended AS (
    UPDATE dag_run AS r
    SET state = CASE WHEN chosen.n % 2 = 1 THEN 'success' ELSE 'failed' END,
        end_date = now(), updated_at = now()
    FROM chosen WHERE r.id = chosen.id
    RETURNING r.id
)
SELECT count(*) FROM ended;
"""


def _snapshot() -> tracemalloc.Snapshot:
    """What is allocated now, without tracemalloc's own snapshots and the test's request counters."""
    return tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)]
    )


# ---------------------------------------------------------------- a Celery worker killed mid-task


def _session_members(leader: int) -> list[int]:
    """Every process of the session ``leader`` started (a worker, its pool, the task processes)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) == leader:
                members.append(int(entry.name))
        except (ProcessLookupError, PermissionError):
            continue
    return members


def _ancestors(pid: int) -> list[int]:
    chain = []
    while pid > 1:
        chain.append(pid)
        stat = Path(f"/proc/{pid}/stat").read_text()
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return chain


@pytest.mark.timeout(900)
def test_a_celery_worker_killed_while_its_task_runs_ends_the_wait(
    production: ProductionServer, direct: AirflowClient
) -> None:
    if production.home is None:
        pytest.fail("this test kills a Celery worker: it needs a server with a known home")
    run = direct.trigger_dag_run(KILL_DAG)
    deadline = time.monotonic() + 300
    task = None
    while time.monotonic() < deadline:  # bounded: the task must start on a worker within 5 minutes
        tis = direct.list_task_instances(KILL_DAG, run.dag_run_id)
        if tis and tis[0].state == "running" and tis[0].pid:
            task = tis[0]
            break
        time.sleep(1.0)
    assert task is not None and task.pid is not None, f"the task never ran: {tis}"
    workers = {production.pid(c): c for c in ("celery-worker-1", "celery-worker-2")}
    (worker,) = [pid for pid in _ancestors(task.pid) if pid in workers]

    wait_timeout = (
        PRODUCTION_HEARTBEAT_TIMEOUT + 240
    )  # Airflow needs the heartbeat timeout + a scheduler pass
    outcome: dict[str, Any] = {}

    def wait() -> None:
        with AirflowClient(
            production.base_url, username=USERNAME, password=PASSWORD, retry=PATIENT
        ) as client:
            try:
                outcome["run"] = client.wait_for_dag_run(
                    KILL_DAG, run.dag_run_id, poll_frequency=2.0, timeout=wait_timeout
                )
            except WaitTimeoutError as exc:
                outcome["timeout"] = exc
            except Exception as exc:  # reported below
                outcome["error"] = exc

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    killed = _session_members(worker)
    assert worker in killed and task.pid in killed
    for pid in killed:  # the worker, its pool and the task it runs: as if its machine died
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    waiter.join(wait_timeout + 120)
    assert not waiter.is_alive(), f"the wait hung past its {wait_timeout}s timeout"
    assert "error" not in outcome, outcome
    settled = direct.get_dag_run(KILL_DAG, run.dag_run_id)
    if "run" in outcome:
        assert outcome["run"].state == settled.state
        assert settled.state == DagRunState.FAILED  # its task died with the worker: it cannot succeed
        (ti,) = direct.list_task_instances(KILL_DAG, run.dag_run_id)
        assert ti.state == "failed"
    else:  # Airflow had not settled within the wait's timeout: the timeout says what it saw
        assert outcome["timeout"].last_state == str(DagRunState.RUNNING)
        direct.set_dag_run_state(KILL_DAG, run.dag_run_id, "failed")
    # the other worker still runs tasks
    alive = [pid for pid in workers if pid != worker]
    assert all(os.path.exists(f"/proc/{pid}") for pid in alive)
