"""The two drivers of the sans-I/O core: they only execute effects.

:class:`SyncDriver` sends requests with an ``httpx.Client``, waits on a :class:`Clock`
(``time.monotonic`` + ``time.sleep``) and calls :class:`~.effects.Blocking` work in place;
:class:`AsyncDriver` uses an ``httpx.AsyncClient``, the event loop's clock and ``asyncio.sleep``,
and runs blocking work on a worker thread. Every method, its arguments and its logic come from the
operations (see :mod:`.effects` and :mod:`.operation`). They stand on
:class:`~.session.HttpSession` alone, so they drive the Airflow clients and the Kestra server
client alike. Both own the lifetime of a response (:func:`_unbound`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from types import TracebackType
from typing import Any, Protocol, TypeVar

import httpx

from .effects import (
    AwaitSignal,
    Blocking,
    CloseStream,
    Delay,
    Driving,
    Gather,
    Now,
    Op,
    OpenStream,
    ReadStream,
)
from .session import HttpSession
from .streams import Stream

__all__ = ["SYSTEM_CLOCK", "AsyncDriver", "Clock", "SyncDriver"]

T = TypeVar("T")
D = TypeVar("D", bound="SyncDriver")
A = TypeVar("A", bound="AsyncDriver")


class Clock(Protocol):
    """The clock of the sync driver: what :data:`~.effects.NOW` reads and :class:`~.effects.Delay` waits on."""

    def monotonic(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds``."""
        ...


class _SystemClock:
    """``time.monotonic`` and ``time.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


#: the sync driver's default clock
SYSTEM_CLOCK: Clock = _SystemClock()


def _check_transport(session: HttpSession, options: dict[str, Any], expected: type[Any], hint: str) -> None:
    transport = options.get("transport")
    if transport is not None and not isinstance(transport, expected):
        raise session._invalid(
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
    #: what ``NOW`` reads and ``Delay`` waits on (tests put a virtual clock here)
    _clock: Clock = SYSTEM_CLOCK

    def _open(self, options: dict[str, Any]) -> httpx.Client:
        _check_transport(
            self, options, httpx.BaseTransport, "the async client takes an httpx.AsyncBaseTransport"
        )
        return httpx.Client(**options)

    def execute(self, op: Op[T]) -> T:
        """Run a sans-I/O operation (a generator of effects) to completion and return its result."""
        run = Driving(op, self._unreachable)
        try:
            while (effect := run.next_effect()) is not None:
                if isinstance(effect, Gather):
                    run.reply(_Gathering(self).run(effect))
                elif isinstance(effect, AwaitSignal):
                    woken = threading.Event()
                    effect.signal.subscribe(effect.seen, woken.set)
                    woken.wait()
                else:
                    self._perform(run, effect)
        except BaseException:  # e.g. KeyboardInterrupt while a request or a delay ran
            run.abandon()
            raise
        return run.result

    def _perform(
        self,
        run: Driving[Any],
        effect: httpx.Request | Delay | Now | Blocking | OpenStream | ReadStream | CloseStream,
    ) -> None:
        """Execute one effect of ``run`` (a request, a delay, the clock, blocking work, a stream)
        in this thread; its outcome is what ``run`` receives next."""
        if isinstance(effect, Delay):
            self._clock.sleep(effect.seconds)
        elif isinstance(effect, Now):
            run.reply(self._clock.monotonic())
        elif isinstance(effect, Blocking):
            run.call(effect)
        elif isinstance(effect, OpenStream):
            with run.sending(effect.request):
                run.reply(Stream.open(self._http, effect.request))
        elif isinstance(effect, ReadStream):
            with run.sending(effect.stream.request):
                run.reply(effect.stream.read())
        elif isinstance(effect, CloseStream):
            effect.stream.close()
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
    their effects (requests, delays, blocking work) run on a pool of ``limit`` threads, at most
    one per operation; an operation waiting for a signal holds no thread. So a response is parsed as it arrives, one page at a time, and the threads hold
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
        group = _Group(
            gather, resume, ThreadPoolExecutor(max_workers=max(1, gather.limit)), self._driver._unreachable
        )
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
        """Advance ``run`` to its next effect, and start executing that effect (reading the clock
        is no switch to another operation, as on the async driver)."""
        effect = run.next_effect()
        while isinstance(effect, Now):
            run.reply(self._driver._clock.monotonic())
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
        elif isinstance(effect, AwaitSignal):
            woken: Future[None] = Future()
            effect.signal.subscribe(effect.seen, lambda: woken.set_result(None))
            self._waiting[woken] = run
        else:
            self._waiting[group.pool.submit(self._driver._perform, run, effect)] = run

    def _resume(self, run: Driving[Any], results: list[Any]) -> None:
        run.reply(results)
        self._ready.append(run)


class _Group:
    """The operations of one :class:`Gather` being driven by a :class:`_Gathering`."""

    def __init__(
        self,
        gather: Gather,
        resume: Callable[[list[Any]], None],
        pool: ThreadPoolExecutor,
        unreachable: Callable[[httpx.Request, httpx.TransportError], BaseException],
    ) -> None:
        self.resume = resume
        self._unreachable = unreachable
        self.pool = pool
        self.results: list[Any] = [None] * len(gather.ops)
        self._ops = iter(enumerate(gather.ops))
        self._left = len(gather.ops)

    def next(self) -> tuple[int, Driving[Any]] | None:
        """The next operation to start and its place, or None when all have started."""
        started = next(self._ops, None)
        return None if started is None else (started[0], Driving(started[1], self._unreachable))

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
        _check_transport(
            self, options, httpx.AsyncBaseTransport, "the sync client takes an httpx.BaseTransport"
        )
        return httpx.AsyncClient(**options)

    async def execute(self, op: Op[T]) -> T:
        """Run a sans-I/O operation (a generator of effects) to completion and return its result.

        ``NOW`` reads the event loop's clock, which ``asyncio.sleep`` runs on (so a virtual-time
        loop moves both); :class:`~.effects.Blocking` work runs on a worker thread
        (``asyncio.to_thread``), so the loop serves other operations meanwhile.
        """
        run = Driving(op, self._unreachable)
        try:
            return await self._drive(run)
        except BaseException:  # e.g. the task was cancelled while a request or a delay ran
            run.abandon()
            raise

    async def _drive(self, run: Driving[T]) -> T:
        """Execute the effects of ``run`` until its operation returns."""
        loop = asyncio.get_running_loop()
        while (effect := run.next_effect()) is not None:
            if isinstance(effect, Delay):
                await asyncio.sleep(effect.seconds)
            elif isinstance(effect, Now):
                run.reply(loop.time())
            elif isinstance(effect, Blocking):
                await asyncio.to_thread(run.call, effect)
            elif isinstance(effect, AwaitSignal):
                await _signalled(loop, effect)
            elif isinstance(effect, Gather):
                gate = asyncio.Semaphore(effect.limit)
                run.reply(await asyncio.gather(*(self._bounded(gate, op) for op in effect.ops)))
            elif isinstance(effect, OpenStream):
                with run.sending(effect.request):
                    run.reply(await Stream.aopen(self._http, effect.request))
            elif isinstance(effect, ReadStream):
                with run.sending(effect.stream.request):
                    run.reply(await effect.stream.aread())
            elif isinstance(effect, CloseStream):
                await effect.stream.aclose()
            else:
                with run.sending(effect):
                    run.reply(_unbound(await self._http.send(effect)))
        return run.result

    async def _bounded(self, gate: asyncio.Semaphore, op: Op[T]) -> T:
        async with gate:
            return await self.execute(op)

    async def aclose(self) -> None:
        """Close the underlying connections."""
        await self._http.aclose()

    async def __aenter__(self: A) -> A:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


async def _signalled(loop: asyncio.AbstractEventLoop, effect: AwaitSignal) -> None:
    """Until the effect's signal fires (it may fire from another thread, or have fired already)."""
    woken: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not woken.done():
            woken.set_result(None)

    def schedule() -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(wake)

    effect.signal.subscribe(effect.seen, schedule)
    await woken
