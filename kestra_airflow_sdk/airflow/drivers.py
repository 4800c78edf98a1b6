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
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
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


def _unbound(response: httpx.Response) -> httpx.Response:
    """``response`` (its body read) without the reference its stream keeps back to it.

    httpx wraps a response's stream in one that refers to the response, a reference cycle: every
    response, body and all, would otherwise wait for Python's cyclic garbage collector, and an
    export of pages piles them up faster than it runs (see docs/benchmarks.md, "Memory, session 8").
    """
    response.stream = httpx.ByteStream(response.content)
    return response


class SyncDriver(HttpSession):
    """Runs operations to completion in the calling thread (a gather's requests run on a thread pool)."""

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
            if isinstance(effect, Gather):
                run.reply(_Gathering(self).run(effect))
            else:
                self._perform(run, effect)
        return run.result

    def _perform(self, run: Driving[Any], effect: httpx.Request | Sleep) -> None:
        """Execute one effect of ``run`` (a request or a sleep) in this thread; its outcome is
        what ``run`` receives next."""
        if isinstance(effect, Sleep):
            self._sleep(effect.seconds)
        else:
            with run.sending(effect):
                run.reply(_unbound(self._http.send(effect)))

    def close(self) -> None:
        """Close the underlying connections."""
        self._http.close()

    def __enter__(self: D) -> D:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _Gathering:
    """The operations of one :class:`Gather` on a :class:`SyncDriver`, like an event loop's tasks.

    The operations' own code (building requests, parsing pages, handing rows to a sink) runs in
    the calling thread, one step at a time, as it does on the async driver's event loop; only
    their effects (requests and sleeps) run on a pool of ``limit`` threads, at most one per
    operation. So a response is parsed as it arrives, one page at a time, and the threads hold
    only what is being sent and received. A gather inside a gathered operation is driven the
    same way and resumes that operation when its operations have all ended.
    """

    def __init__(self, driver: SyncDriver) -> None:
        self._driver = driver
        self._waiting: dict[Future[None], Driving[Any]] = {}
        self._ready: deque[Driving[Any]] = deque()
        self._pools: list[ThreadPoolExecutor] = []
        self._groups: dict[Driving[Any], tuple[_Group, int]] = {}  # a running operation: its group, its place

    def run(self, gather: Gather) -> list[Any]:
        """Every operation of ``gather`` to its end (at most ``gather.limit`` at once); their results."""
        done: list[list[Any]] = []
        try:
            self._start(gather, done.append)
            while not done:
                while self._ready:
                    self._step(self._ready.popleft())
                if done:
                    break
                finished, _ = wait(self._waiting, return_when=FIRST_COMPLETED)
                for future in finished:
                    run = self._waiting.pop(future)
                    future.result()  # the effect's own outcome is already in ``run``
                    self._ready.append(run)
            return done[0]
        finally:  # nothing but I/O runs on the threads: an error here leaves none of our code running
            for pool in self._pools:
                pool.shutdown(wait=False, cancel_futures=True)

    def _start(self, gather: Gather, resume: Callable[[list[Any]], None]) -> None:
        """Begin the operations of ``gather``; ``resume(results)`` once they have all ended."""
        group = _Group(gather, resume, ThreadPoolExecutor(max_workers=max(1, gather.limit)))
        self._pools.append(group.pool)
        if not gather.ops:
            resume([])
        for _ in range(max(1, gather.limit)):
            self._next_of(group)

    def _next_of(self, group: _Group) -> None:
        """Start the group's next operation, if it has one left."""
        started = group.next()
        if started is not None:
            index, run = started
            self._groups[run] = (group, index)
            self._ready.append(run)

    def _step(self, run: Driving[Any]) -> None:
        """Advance ``run`` to its next effect, and start executing that effect."""
        effect = run.next_effect()
        group, index = self._groups[run]
        if effect is None:
            del self._groups[run]
            group.finished(index, run.result)
            self._next_of(group)
            if group.complete:
                group.pool.shutdown(wait=False)
                group.resume(group.results)
        elif isinstance(effect, Gather):
            self._start(effect, lambda results: self._resume(run, results))
        else:
            self._waiting[group.pool.submit(self._driver._perform, run, effect)] = run

    def _resume(self, run: Driving[Any], results: list[Any]) -> None:
        run.reply(results)
        self._ready.append(run)


class _Group:
    """The operations of one :class:`Gather` being driven by a :class:`_Gathering`."""

    def __init__(self, gather: Gather, resume: Callable[[list[Any]], None], pool: ThreadPoolExecutor) -> None:
        self.resume = resume
        self.pool = pool
        self.results: list[Any] = [None] * len(gather.ops)
        self._ops = iter(enumerate(gather.ops))
        self._left = len(gather.ops)

    def next(self) -> tuple[int, Driving[Any]] | None:
        """The next operation to start and its place, or None when all have started."""
        started = next(self._ops, None)
        return None if started is None else (started[0], Driving(started[1]))

    def finished(self, index: int, result: Any) -> None:
        """The operation at ``index`` has returned ``result``."""
        self.results[index] = result
        self._left -= 1

    @property
    def complete(self) -> bool:
        return self._left == 0


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
                    run.reply(_unbound(await self._http.send(effect)))
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
