"""Offset pages without cursors: the first page tells the total, the others come concurrently
(the ``Gather`` effect, executed by both drivers), in order, each with its own retries."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from kestra_airflow_sdk import AirflowClient, AsyncAirflowClient
from kestra_airflow_sdk.airflow import pagination
from kestra_airflow_sdk.airflow.errors import ApiError
from kestra_airflow_sdk.transport.retry import RetryPolicy
from tests.fake_airflow import FakeAirflow, make_runs

FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.01, jitter=0.0)


def _offsets(fake: FakeAirflow) -> list[int]:
    return sorted(
        int(r.url.params.get("offset", 0)) for r in fake.requests if r.url.path.endswith("/dagRuns")
    )


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_sync_offset_pages_are_concurrent_bounded_and_ordered(api: str) -> None:
    fake = FakeAirflow(api=api, max_page=3, runs=make_runs(20))
    lock, in_flight, most = threading.Lock(), [0], [0]

    def slow(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/dagRuns") and "offset" in request.url.params:
            with lock:
                in_flight[0] += 1
                most[0] = max(most[0], in_flight[0])
            time.sleep(0.05)
            with lock:
                in_flight[0] -= 1
        return fake.handle(request)

    transport = httpx.MockTransport(slow)
    with AirflowClient("http://airflow.test", username="admin", password="pw", transport=transport) as client:
        runs = client.list_dag_runs("d")
        frame = client.dag_runs("d")
    assert [r.dag_run_id for r in runs] == [f"r{i}" for i in range(20)]
    assert sorted(frame["dag_run_id"]) == sorted(f"r{i}" for i in range(20))
    assert _offsets(fake) == sorted([0, 3, 6, 9, 12, 15, 18] * 2)  # 7 pages each, none empty, none twice
    assert 1 <= most[0] <= pagination.PAGE_CONCURRENCY


def test_async_offset_pages_are_concurrent_bounded_and_ordered() -> None:
    fake = FakeAirflow(api="v1", max_page=3, runs=make_runs(20))
    in_flight, most = [0], [0]

    async def slow(request: httpx.Request) -> httpx.Response:
        if "offset" in request.url.params:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            await asyncio.sleep(0.01)
            in_flight[0] -= 1
        return fake.handle(request)

    async def main() -> list[str]:
        transport = httpx.MockTransport(slow)
        async with AsyncAirflowClient(
            "http://airflow.test", username="admin", password="pw", transport=transport
        ) as client:
            return [r.dag_run_id for r in await client.list_dag_runs("d")]

    assert asyncio.run(main()) == [f"r{i}" for i in range(20)]
    assert _offsets(fake) == [0, 3, 6, 9, 12, 15, 18]
    assert most[0] == pagination.PAGE_CONCURRENCY  # 6 pages after the first, 4 at a time


def test_limit_bounds_the_concurrent_pages() -> None:
    fake = FakeAirflow(api="v1", max_page=3, runs=make_runs(20))
    with AirflowClient(
        "http://airflow.test", username="admin", password="pw", transport=fake.transport()
    ) as client:
        runs = client.list_dag_runs("d", limit=8)
    assert [r.dag_run_id for r in runs] == [f"r{i}" for i in range(8)]
    pages = [r.url.params for r in fake.requests if r.url.path.endswith("/dagRuns")]
    limits = sorted((int(p.get("offset", 0)), int(p["limit"])) for p in pages)
    assert limits == [(0, 8), (3, 3), (6, 2)]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_failing_page_is_retried_on_its_own_then_fails_the_export(mode: str) -> None:
    fake = FakeAirflow(api="v1", max_page=3, runs=make_runs(12))
    failures = {"6": 1}  # offset 6 fails once (503), then answers

    def flaky(request: httpx.Request) -> httpx.Response:
        offset = request.url.params.get("offset")
        if offset in failures and failures[offset] > 0:
            failures[offset] -= 1
            return httpx.Response(503, json={"detail": "busy"})
        return fake.handle(request)

    def export() -> list[str]:
        if mode == "sync":
            transport = httpx.MockTransport(flaky)
            with AirflowClient(
                "http://airflow.test", username="a", password="b", retry=FAST_RETRY, transport=transport
            ) as client:
                return [r.dag_run_id for r in client.list_dag_runs("d")]

        async def main() -> list[str]:
            async with AsyncAirflowClient(
                "http://airflow.test",
                username="a",
                password="b",
                retry=FAST_RETRY,
                transport=httpx.MockTransport(flaky),
            ) as client:
                return [r.dag_run_id for r in await client.list_dag_runs("d")]

        return asyncio.run(main())

    assert export() == [f"r{i}" for i in range(12)]
    assert _offsets(fake) == [0, 3, 6, 9]  # the 503 was answered before the fake saw it
    failures["3"] = 99  # now offset 3 never recovers: the export fails after that page's retries
    fake.requests.clear()
    with pytest.raises(ApiError, match="503"):
        export()
    assert _offsets(fake) == [0, 6, 9]  # the other pages completed; no request left running
