"""Run one test body against both drivers: the sync client, and the async client on an event loop.

``BlockingAsync`` forwards every method call to an :class:`AsyncAirflowClient` living on a
background event loop and waits for the result, so a test written once exercises both drivers.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from kestra_airflow_sdk import AirflowClient, AsyncAirflowClient


class BlockingAsync:
    def __init__(self, client: AsyncAirflowClient, loop: asyncio.AbstractEventLoop) -> None:
        self._client = client
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            return asyncio.run_coroutine_threadsafe(attr(*args, **kwargs), self._loop).result()

        return call


@contextmanager
def open_client(mode: str, base_url: str, **kwargs: Any) -> Iterator[Any]:
    """An AirflowClient (mode "sync") or a blocking view of an AsyncAirflowClient (mode "async")."""
    if mode == "sync":
        with AirflowClient(base_url, **kwargs) as client:
            yield client
        return
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def make() -> AsyncAirflowClient:
        return AsyncAirflowClient(base_url, **kwargs)

    client = asyncio.run_coroutine_threadsafe(make(), loop).result()
    try:
        yield BlockingAsync(client, loop)
    finally:
        asyncio.run_coroutine_threadsafe(client.aclose(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


ClientFactory = Callable[..., Any]
