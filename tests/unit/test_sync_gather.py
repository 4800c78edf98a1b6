"""The sync driver's ``Gather``: the operations' own code runs in the calling thread (as on the
async driver's event loop), only their requests and sleeps run on threads, at most ``limit`` at
once; results come in order, nested gathers resume their operation, errors end the gather.

No test here depends on the machine's speed: concurrency is shown with a barrier the requests
must all reach together (it fails after a generous timeout instead of hanging), sleeps run on the
virtual clock of ``tests/virtual_time.py``.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from kestra_airflow_sdk.airflow.errors import AirflowError
from kestra_airflow_sdk.airflow.session import Session
from kestra_airflow_sdk.transport.effects import Delay, Op, gather
from tests.virtual_time import VirtualTimeClient

BARRIER_TIMEOUT = 60.0  # only reached when the requests are not concurrent (the test then fails)


def _client(handler: Any) -> VirtualTimeClient:
    return VirtualTimeClient(
        "http://airflow.test", username="admin", password="pw", transport=httpx.MockTransport(handler)
    )


def _echo(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"path": request.url.path})


def _get(client: Session, path: str, steps: list[int]) -> Op[str]:
    """One GET, recording the thread the operation's code runs on before and after it."""
    steps.append(threading.get_ident())
    response: httpx.Response = yield client._build_request("GET", path, anonymous=True)
    steps.append(threading.get_ident())
    return str(response.json()["path"])


def test_operations_run_in_the_calling_thread_and_requests_concurrently_at_most_limit() -> None:
    limit, count = 4, 12
    barrier = threading.Barrier(limit, timeout=BARRIER_TIMEOUT)
    lock, in_flight, most, request_threads = threading.Lock(), [0], [0], set()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            request_threads.add(threading.get_ident())
        barrier.wait()  # every batch of `limit` requests is in flight at the same time
        with lock:
            in_flight[0] -= 1
        return _echo(request)

    steps: list[int] = []
    with _client(handler) as client:
        results = client.execute(gather((_get(client, f"/p{i}", steps) for i in range(count)), limit))
    assert results == [f"/p{i}" for i in range(count)]  # in the order of the operations
    assert most[0] == limit
    assert set(steps) == {threading.get_ident()}  # parsing and the rest: the calling thread only
    assert len(steps) == 2 * count
    assert threading.get_ident() not in request_threads


def test_a_nested_gather_resumes_its_operation_with_its_results() -> None:
    steps: list[int] = []

    def outer(client: Session, name: str) -> Op[list[str]]:
        first = yield from _get(client, f"/{name}", steps)
        inner = yield from gather((_get(client, f"/{name}/{i}", steps) for i in range(3)), 2)
        return [first, *inner]

    with _client(_echo) as client:
        results = client.execute(gather((outer(client, n) for n in "ab"), 2))
        empty = client.execute(gather((), 3))
    assert results == [["/a", "/a/0", "/a/1", "/a/2"], ["/b", "/b/0", "/b/1", "/b/2"]]
    assert empty == []
    assert set(steps) == {threading.get_ident()}


def test_sleeps_of_gathered_operations_run_on_the_drivers_clock() -> None:
    def napping(seconds: float) -> Op[float]:
        yield Delay(seconds)
        return seconds

    with _client(_echo) as client:
        results = client.execute(gather((napping(s) for s in (5.0, 1.0, 3.0)), 3))
        assert results == [5.0, 1.0, 3.0]
        assert sorted(client.clock.sleeps) == [1.0, 3.0, 5.0]


def test_an_airflow_error_is_raised_once_every_operation_has_ended() -> None:
    ended: list[str] = []

    def failing(client: Session) -> Op[None]:
        yield from _get(client, "/x", [])
        raise AirflowError("Listing things failed: Airflow answered 500")

    def fine(client: Session, name: str) -> Op[str]:
        result = yield from _get(client, f"/{name}", [])
        ended.append(name)
        return result

    with _client(_echo) as client, pytest.raises(AirflowError, match="Listing things failed"):
        client.execute(gather([failing(client), fine(client, "a"), fine(client, "b")], 2))
    assert sorted(ended) == ["a", "b"]


def test_a_transport_failure_reaches_the_operation_as_an_sdk_error() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def attempt(client: Session) -> Op[str]:
        try:
            yield client._build_request("GET", "/down", anonymous=True)
        except AirflowError as exc:
            return type(exc).__name__
        return "sent"

    with _client(refused) as client:
        assert client.execute(gather([attempt(client), attempt(client)], 2)) == [
            "AirflowConnectionError",
            "AirflowConnectionError",
        ]


def test_a_bug_in_an_operation_propagates_from_the_gather() -> None:
    def broken(client: Session) -> Op[None]:
        yield from _get(client, "/x", [])
        raise KeyError("not an SDK error")

    with _client(_echo) as client, pytest.raises(KeyError, match="not an SDK error"):
        client.execute(gather([broken(client), _get(client, "/y", [])], 2))
