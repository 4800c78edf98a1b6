"""The measured work of the history benchmark, one method per fresh child process.

``history_bench.py`` runs ``python benchmarks/bench_work.py NAME BASE_URL [ARGS...]`` for each measurement; the
child imports and warms up (see :func:`warm_up`), then measures wall time, CPU time and peak memory
growth of one method and prints them as JSON. Also the HTTP helpers the benchmark shares.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx

REPO = Path(__file__).resolve().parent.parent
USER = {"username": "admin", "password": "admin"}

T = TypeVar("T")


# --------------------------------------------------------------------------- HTTP helpers


def token(base_url: str) -> str:
    answer = httpx.post(f"{base_url}/auth/token", json=USER, timeout=300)
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def api(base_url: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{base_url}/api/v2", headers={"Authorization": f"Bearer {token(base_url)}"}, timeout=300
    )


def write(http: httpx.Client, method: str, url: str, body: dict[str, Any], run_url: str) -> dict[str, Any]:
    """One write, retried when SQLite was locked (HTTP 500 that created nothing: GET settles it)."""
    for attempt in range(8):
        answer = http.request(method, url, json=body)
        if answer.status_code < 500:
            answer.raise_for_status()
            return dict(answer.json())
        time.sleep(0.2 * (attempt + 1))
        current = http.get(run_url)
        if method == "POST" and current.status_code == 200:
            return dict(current.json())
    answer.raise_for_status()
    raise RuntimeError("unreachable")


# --------------------------------------------------------------------------- measured work (in a child)


def export_sdk(base_url: str) -> Any:
    from kestra_airflow_sdk import AirflowClient

    with AirflowClient(base_url, **USER) as client:
        return client.dag_runs()


def export_official(base_url: str) -> Any:
    import airflow_client.client as ac
    import pandas as pd
    from airflow_client.client.api.dag_run_api import DagRunApi

    config = ac.Configuration(host=base_url, access_token=token(base_url))
    with ac.ApiClient(config) as client:
        runs_api = DagRunApi(client)
        runs: list[Any] = []
        while True:
            page = runs_api.get_dag_runs("~", limit=100, offset=len(runs))
            runs.extend(page.dag_runs)
            if not page.dag_runs or len(runs) >= page.total_entries:
                break
        return pd.DataFrame([run.to_dict() for run in runs])


DATETIME_COLUMNS = ("run_after", "queued_at", "start_date", "end_date", "logical_date")


def runs_to_frame(rows: list[dict[str, Any]]) -> Any:
    """What a hand-written export does with the rows: one record frame, ISO datetimes parsed."""
    import pandas as pd

    frame = pd.DataFrame.from_records(rows)
    for column in DATETIME_COLUMNS:
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def export_httpx(base_url: str, concurrency: int = 4) -> Any:
    async def main() -> list[dict[str, Any]]:
        headers = {"Authorization": f"Bearer {token(base_url)}"}
        async with httpx.AsyncClient(base_url=f"{base_url}/api/v2", headers=headers, timeout=60) as http:
            first = (await http.get("/dags/~/dagRuns", params={"limit": 100})).json()
            rows: list[dict[str, Any]] = first["dag_runs"]
            size = max(len(rows), 1)
            gate = asyncio.Semaphore(concurrency)

            async def page(offset: int) -> list[dict[str, Any]]:
                async with gate:
                    answer = await http.get("/dags/~/dagRuns", params={"limit": size, "offset": offset})
                    return list(answer.json()["dag_runs"])

            pages = await asyncio.gather(*(page(o) for o in range(size, first["total_entries"], size)))
            return rows + [row for p in pages for row in p]

    return runs_to_frame(asyncio.run(main()))


def cursor_page_stream(
    http: httpx.Client, path: str, key: str, *, unbound: bool = False
) -> Iterator[list[dict[str, Any]]]:
    """The items under ``path``, page by page, with Airflow 3.3 cursor pages: follow ``next_cursor``
    until it is missing, a page comes back short, or ``total_entries`` (exact below its limit) is reached.

    ``unbound``: free each response as soon as its page is parsed. httpx's response and its stream
    refer to each other, so a response dropped the obvious way waits for the cyclic garbage collector,
    body and all (the SDK's drivers break that cycle; see docs/benchmarks.md, "Memory, session 8")."""
    received, cursor = 0, ""
    while True:
        response = http.get(path, params={"limit": 100, "cursor": cursor}).raise_for_status()
        body = response.json()
        if unbound:
            response.stream = httpx.ByteStream(b"")
        del response
        page = body[key]
        received += len(page)
        yield page
        cursor = body.get("next_cursor") or ""
        total, cap = body.get("total_entries"), body.get("total_entries_limit")
        exact = total is not None and (cap is None or total < cap)
        if not cursor or len(page) < 100 or (exact and received >= total):
            return


def cursor_pages(http: httpx.Client, path: str, key: str = "dag_runs") -> list[dict[str, Any]]:
    """Every item under ``path`` (see :func:`cursor_page_stream`)."""
    return [row for page in cursor_page_stream(http, path, key) for row in page]


def export_httpx_cursor(base_url: str) -> Any:
    """Hand-written: sequential cursor pages over every DAG (``~``)."""
    headers = {"Authorization": f"Bearer {token(base_url)}"}
    with httpx.Client(base_url=f"{base_url}/api/v2", headers=headers, timeout=60) as http:
        rows = cursor_pages(http, "/dags/~/dagRuns")
    return runs_to_frame(rows)


def export_httpx_per_dag(base_url: str, in_flight: int = 8) -> Any:
    """Hand-written: one cursor stream per DAG (the DAGs from ``GET /dags``), ``in_flight`` DAGs at once."""
    return runs_to_frame(per_dag_streams(base_url, "/dags/{dag_id}/dagRuns", "dag_runs", in_flight))


def per_dag(base_url: str, path: str, in_flight: int, read: Callable[[httpx.Client, str], T]) -> list[T]:
    """``read(http, dag_path)`` of every DAG (the DAGs from ``GET /dags``), ``in_flight`` DAGs at once
    on a thread pool sharing one ``httpx.Client``; ``path`` has a ``{dag_id}``."""
    from concurrent.futures import ThreadPoolExecutor

    headers = {"Authorization": f"Bearer {token(base_url)}"}
    with httpx.Client(base_url=f"{base_url}/api/v2", headers=headers, timeout=60) as http:
        dags = http.get("/dags", params={"limit": 1000, "exclude_stale": False}).raise_for_status().json()
        dag_paths = [path.format(dag_id=dag["dag_id"]) for dag in dags["dags"]]
        with ThreadPoolExecutor(max_workers=in_flight) as pool:
            return list(pool.map(lambda dag_path: read(http, dag_path), dag_paths))


def per_dag_streams(base_url: str, path: str, key: str, in_flight: int) -> list[dict[str, Any]]:
    """Hand-written: one cursor stream per DAG, ``in_flight`` DAGs at once (see :func:`per_dag`)."""
    streams = per_dag(base_url, path, in_flight, lambda http, dag_path: cursor_pages(http, dag_path, key))
    return [row for rows in streams for row in rows]


def pages_only_per_dag(base_url: str, path: str, key: str, in_flight: int = 8) -> Any:
    """The memory floor of (d): the same cursor streams, each page parsed and dropped (its response
    freed at once), nothing kept.

    A frame with one row per item and no column (its deep size is its index's, about nothing)."""
    import pandas as pd

    def count(http: httpx.Client, dag_path: str) -> int:
        return sum(len(page) for page in cursor_page_stream(http, dag_path, key, unbound=True))

    return pd.DataFrame(index=pd.RangeIndex(sum(per_dag(base_url, path, in_flight, count))))


def export_pages_only(base_url: str) -> Any:
    """The memory floor of (d) for runs: see :func:`pages_only_per_dag`."""
    return pages_only_per_dag(base_url, "/dags/{dag_id}/dagRuns", "dag_runs")


def ti_pages_only(base_url: str) -> Any:
    """The memory floor of (d) for task instances: see :func:`pages_only_per_dag`."""
    return pages_only_per_dag(base_url, "/dags/{dag_id}/dagRuns/~/taskInstances", "task_instances")


# --------------------------------------------------------------------------- task instances of every DAG

TI_DATETIME_COLUMNS = ("logical_date", "run_after", "start_date", "end_date", "queued_when", "scheduled_when")


def task_instances_to_frame(rows: list[dict[str, Any]]) -> Any:
    """What a hand-written export does with task instance rows: one record frame, datetimes parsed."""
    import pandas as pd

    frame = pd.DataFrame.from_records(rows)
    for column in TI_DATETIME_COLUMNS:
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def ti_sdk(base_url: str) -> Any:
    """The SDK: ``client.task_instances()`` of every DAG."""
    from kestra_airflow_sdk import AirflowClient

    with AirflowClient(base_url, **USER) as client:
        return client.task_instances(dag_id=None)


def ti_httpx_cursor(base_url: str) -> Any:
    """Hand-written: sequential cursor pages over every DAG's task instances (``~/dagRuns/~``)."""
    headers = {"Authorization": f"Bearer {token(base_url)}"}
    with httpx.Client(base_url=f"{base_url}/api/v2", headers=headers, timeout=60) as http:
        rows = cursor_pages(http, "/dags/~/dagRuns/~/taskInstances", "task_instances")
    return task_instances_to_frame(rows)


def ti_httpx_per_dag(base_url: str, in_flight: int = 8) -> Any:
    """Hand-written: one cursor stream of task instances per DAG, ``in_flight`` DAGs at once."""
    path = "/dags/{dag_id}/dagRuns/~/taskInstances"
    return task_instances_to_frame(per_dag_streams(base_url, path, "task_instances", in_flight))


def refresh_sdk(base_url: str, path: str) -> Any:
    from kestra_airflow_sdk import AirflowClient

    with AirflowClient(base_url, **USER) as client:
        return client.run_history(path=path)


def history_sdk(base_url: str) -> Any:
    """The first ``run_history()`` of a process: a full export into the in-memory cache."""
    from kestra_airflow_sdk import AirflowClient

    with AirflowClient(base_url, **USER) as client:
        return client.run_history()


WORK: dict[str, Callable[..., Any]] = {
    "export_sdk": export_sdk,
    "history_sdk": history_sdk,
    "export_official": export_official,
    "export_httpx": export_httpx,
    "export_httpx_cursor": export_httpx_cursor,
    "export_httpx_per_dag": export_httpx_per_dag,
    "export_pages_only": export_pages_only,
    "refresh_sdk": refresh_sdk,
    "ti_sdk": ti_sdk,
    "ti_httpx_cursor": ti_httpx_cursor,
    "ti_httpx_per_dag": ti_httpx_per_dag,
    "ti_pages_only": ti_pages_only,
}


def warm_up() -> None:
    """What every child does before it measures, the same whatever the method, so that no method
    pays inside its measurement a set-up that any program pays once per process:

    * the imports: pandas, pyarrow and pyarrow.compute, httpx, the SDK (both clients, the history
      frames) and apache-airflow-client;
    * one ``httpx.Client`` created and closed: the first one builds an SSL context and loads
      certifi's CA bundle (about 3 MB; later clients about 1 MB, which each method still pays);
    * a 2-row frame built by each method's own frame code, ``RunColumns`` (the SDK),
      :func:`runs_to_frame` (the hand-written methods), ``pd.DataFrame`` of dicts (the official
      client) and ``task_instances_frame``: this loads the pandas and Arrow conversion, sort and
      take code they run.

    Nothing is sent to the server. The peak memory is measured from here (the peak so far is
    reset, Linux ``/proc/self/clear_refs``).
    """
    import airflow_client.client  # noqa: F401
    import pandas as pd
    import pyarrow.compute  # noqa: F401

    from kestra_airflow_sdk import AirflowClient, AsyncAirflowClient  # noqa: F401
    from kestra_airflow_sdk.history.frames import RunColumns, task_instances_frame

    httpx.Client().close()
    rows = [
        {
            "dag_id": "d",
            "dag_run_id": f"r{i}",
            "task_id": "t",
            "state": "success",
            "run_type": "manual",
            "run_after": f"2026-01-0{i + 1}T00:00:00Z",
            "queued_at": "2026-01-01T00:00:00Z",
            "logical_date": None,
            "start_date": "2026-01-01T00:00:00Z",
            "end_date": None,
            "duration": 1.0,
            "conf": {},
            "note": None,
        }
        for i in range(2)
    ]
    columns = RunColumns()
    columns.add(rows)
    columns.frame()
    runs_to_frame(rows)
    task_instances_to_frame([{**row, "queued_when": None, "scheduled_when": None} for row in rows])
    pd.DataFrame([dict(row) for row in rows])
    task_instances_frame(rows)


def child(name: str, args: list[str]) -> None:
    """Run one measured piece of work and print its numbers as JSON."""
    warm_up()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak RSS (VmHWM) starts again from the RSS now
    rss_before = _status_mb("VmRSS")
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    frame = WORK[name](*args)
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    peak = _status_mb("VmHWM")
    deep = frame.memory_usage(deep=True).sum() / 2**20
    numbers = {
        "wall": wall,
        "cpu": cpu,
        "mem": max(peak - rss_before, 0.0),
        "rows": len(frame),
        "frame": deep,
    }
    print(json.dumps(numbers))


def cpu_seconds() -> float:
    """The CPU time of this process so far (user and system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _status_mb(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS: resident now, VmHWM: the peak), in MB."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(f"{field}:")) / 1024


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    child(sys.argv[1], sys.argv[2:])
