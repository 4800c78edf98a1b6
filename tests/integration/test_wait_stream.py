"""Streamed waits against the REAL Airflow servers: on 3.3.2 ``wait_for_dag_run`` follows
``GET /dags/{dag_id}/dagRuns/{dag_run_id}/wait`` (one request for the whole wait, besides the run read
before and after it); 2.10.5 has no such endpoint, so the wait polls. Both drivers; a run that succeeds
and one that fails (tests/dags/hello_world_dag.py). Every request is counted by a recording transport."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.airflow_servers import AirflowServer
from tests.clients import open_client


class _Recording(httpx.HTTPTransport):
    """httpx's transport, writing down each request's method and path."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.log.append((request.method, request.url.path))
        return super().handle_request(request)


class _AsyncRecording(httpx.AsyncHTTPTransport):
    """:class:`_Recording` for the async client."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.log.append((request.method, request.url.path))
        return await super().handle_async_request(request)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(("dag_id", "final"), [("hello_world_dag", "success"), ("failing_dag", "failed")])
def test_a_wait_follows_the_stream_where_the_server_has_it(
    airflow: AirflowServer, credentials: dict[str, str], mode: str, dag_id: str, final: str
) -> None:
    transport = _Recording() if mode == "sync" else _AsyncRecording()
    seen: list[str] = []
    with open_client(mode, airflow.base_url, transport=transport, **credentials) as client:
        run = client.trigger_dag_run(dag_id, dag_run_id=f"stream_{mode}_{uuid.uuid4().hex[:8]}")
        path = f"dags/{dag_id}/dagRuns/{run.dag_run_id}"

        def on_poll(update: Any, _: Any) -> None:
            seen.append(str(update.state))

        done = client.wait_for_dag_run(
            dag_id, run.dag_run_id, poll_frequency=1.0, timeout=300, on_poll=on_poll
        )
    assert str(done.state) == final
    assert done.end_date is not None  # the final run in full, not just a streamed state
    assert seen[-1] == final
    log = [(m, httpx.URL(p).path) for m, p in transport.log]
    streams = [p for m, p in log if m == "GET" and p.endswith(f"{path}/wait")]
    reads = [p for m, p in log if m == "GET" and p.endswith(path)]
    lists = [p for m, p in log if m == "GET" and p.endswith(f"dags/{dag_id}/dagRuns")]
    if airflow.major == "3":
        assert len(streams) >= 1  # one, unless the server broke it (then it is opened again)
        assert len(reads) == 2, log  # the first poll and the final run: no poll while it streamed
        assert lists == []
        assert len(seen) >= 3  # the first poll, the streamed lines (one a second), the end
    else:
        assert streams == []  # Airflow 2 has no /wait: polled
        assert len(reads) >= 2
