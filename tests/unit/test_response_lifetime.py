"""A response an operation has read is freed as soon as the operation lets go of it, by both drivers.

httpx's response and its stream refer to each other; left so, every page of an export (its body
held by the response) would wait for the cyclic garbage collector, which a long export outpaces.
The collector is switched off here, so a response still in a cycle stays alive and the test fails.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import httpx
import pytest

from kestra_airflow_sdk import AirflowClient, AsyncAirflowClient
from kestra_airflow_sdk.airflow.session import Session
from kestra_airflow_sdk.transport.effects import Op, gather

URL = "http://airflow.test"


def _page(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"rows": list(range(100)), "path": request.url.path})


def _read(session: Session, path: str, alive: list[weakref.ref[httpx.Response]]) -> Op[int]:
    """One request; a weak reference to its response; the body's size (the response is dropped)."""
    response: httpx.Response = yield session._build_request("GET", path, anonymous=True)
    alive.append(weakref.ref(response))
    size = len(response.json()["rows"])
    del response
    return size


def _reads(session: Session, alive: list[weakref.ref[httpx.Response]]) -> Op[list[int]]:
    first = yield from _read(session, "/one", alive)
    rest = yield from gather([_read(session, f"/page/{i}", alive) for i in range(6)], limit=3)
    return [first, *rest]


@pytest.fixture
def no_cyclic_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_the_sync_driver_frees_each_response_without_the_cyclic_collector(no_cyclic_gc: None) -> None:
    alive: list[weakref.ref[httpx.Response]] = []
    with AirflowClient(URL, api_version="v2", transport=httpx.MockTransport(_page)) as session:
        assert session.execute(_reads(session, alive)) == [100] * 7
    assert len(alive) == 7
    assert [ref() for ref in alive] == [None] * 7


def test_the_async_driver_frees_each_response_without_the_cyclic_collector(no_cyclic_gc: None) -> None:
    alive: list[weakref.ref[httpx.Response]] = []

    async def main() -> list[int]:
        async with AsyncAirflowClient(URL, api_version="v2", transport=httpx.MockTransport(_page)) as session:
            return await session.execute(_reads(session, alive))

    assert asyncio.run(main()) == [100] * 7
    assert len(alive) == 7
    assert [ref() for ref in alive] == [None] * 7


def test_a_freed_response_still_reads_as_before() -> None:
    kept: list[httpx.Response] = []

    def keep(session: Session) -> Op[None]:
        response: httpx.Response = yield session._build_request("GET", "/x", anonymous=True)
        kept.append(response)

    with AirflowClient(URL, api_version="v2", transport=httpx.MockTransport(_page)) as session:
        session.execute(keep(session))
    (response,) = kept
    assert response.json()["path"] == "/x"
    assert response.read() == response.content
    assert response.is_closed
