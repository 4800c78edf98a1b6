"""The two drivers of the sans-I/O core: they only execute effects.

:class:`SyncDriver` sends requests with an ``httpx.Client`` and sleeps with ``time.sleep``;
:class:`AsyncDriver` uses an ``httpx.AsyncClient`` and ``asyncio.sleep``. Every method, its
arguments and its logic come from the operations (see :mod:`.effects` and :mod:`.operation`).
They stand on :class:`~.session.HttpSession` alone, so they drive the Airflow clients and the
Kestra server client alike.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

import httpx

from .effects import Driving, Gather, Op, Sleep
from .errors import InvalidArgumentError
from .session import HttpSession

__all__ = ["AsyncDriver", "SyncDriver"]

T = TypeVar("T")
D = TypeVar("D", bound="SyncDriver")
A = TypeVar("A", bound="AsyncDriver")


def _transport(options: dict[str, Any], expected: type[Any], hint: str) -> None:
    transport = options.get("transport")
    if transport is not None and not isinstance(transport, expected):
        raise InvalidArgumentError(
            f"transport: expected an {expected.__module__}.{expected.__name__} ({hint}), "
            f"got {type(transport).__name__}"
        )


class SyncDriver(HttpSession):
    """Runs operations to completion in the calling thread (a gather runs on a thread pool)."""

    _http: httpx.Client

    def _open(self, options: dict[str, Any]) -> httpx.Client:
        _transport(options, httpx.BaseTransport, "the async client takes an httpx.AsyncBaseTransport")
        return httpx.Client(**options)

    def _sleep(self, seconds: float) -> None:
        """Execute a :class:`Sleep` effect (a test driver fast-forwards it together with :meth:`_now`)."""
        time.sleep(seconds)

    def execute(self, op: Op[T]) -> T:
        """Run a sans-I/O operation (a generator of effects) to completion and return its result."""
        run = Driving(op)
        while (effect := run.next_effect()) is not None:
            if isinstance(effect, Sleep):
                self._sleep(effect.seconds)
            elif isinstance(effect, Gather):  # threads on the one (thread-safe) httpx.Client
                with ThreadPoolExecutor(max_workers=effect.limit) as pool:
                    run.reply(list(pool.map(self.execute, effect.ops)))
            else:
                with run.sending(effect):
                    run.reply(self._http.send(effect))
        return run.result

    def close(self) -> None:
        """Close the underlying connections."""
        self._http.close()

    def __enter__(self: D) -> D:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncDriver(HttpSession):
    """Runs operations as coroutines on the running event loop (a gather runs them concurrently)."""

    _http: httpx.AsyncClient

    def _open(self, options: dict[str, Any]) -> httpx.AsyncClient:
        _transport(options, httpx.AsyncBaseTransport, "the sync client takes an httpx.BaseTransport")
        return httpx.AsyncClient(**options)

    def _now(self) -> float:
        """The event loop's clock, which ``asyncio.sleep`` runs on (so a virtual-time loop moves both)."""
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:  # outside a running loop: the same clock asyncio's default loop uses
            return time.monotonic()

    async def execute(self, op: Op[T]) -> T:
        """Run a sans-I/O operation (a generator of effects) to completion and return its result."""
        run = Driving(op)
        while (effect := run.next_effect()) is not None:
            if isinstance(effect, Sleep):
                await asyncio.sleep(effect.seconds)
            elif isinstance(effect, Gather):
                gate = asyncio.Semaphore(effect.limit)
                run.reply(await asyncio.gather(*(self._bounded(gate, op) for op in effect.ops)))
            else:
                with run.sending(effect):
                    run.reply(await self._http.send(effect))
        return run.result

    async def _bounded(self, gate: asyncio.Semaphore, op: Op[T]) -> T:
        async with gate:
            return await self.execute(op)

    async def close(self) -> None:
        """Close the underlying connections."""
        await self._http.aclose()

    async def __aenter__(self: A) -> A:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
