"""The effects a sans-I/O operation yields, and the part of a driver's loop both drivers share.

An operation is a generator (:data:`Op`): it yields an effect and receives its outcome:

* an :class:`httpx.Request` to send: the response;
* a :class:`Delay`: ``None`` once that many seconds have passed on the driver's clock;
* :data:`NOW`: the driver's monotonic clock, in seconds (operations read the time only this way,
  so a driver on virtual time moves the time they see together with their delays);
* a :class:`Blocking` call (file I/O, parsing a file): its result, computed off the event loop by
  the async driver;
* an :class:`AwaitSignal`: ``None`` once the :class:`Signal` has fired (at once if it fired already);
* a :class:`Gather` of operations to run concurrently: the list of their outcomes;
* an :class:`OpenStream` request: its :class:`~.streams.Stream` once the headers are in; a
  :class:`ReadStream`: the next chunk of its body (``b""`` at the end); a :class:`CloseStream`: ``None``.

It never performs I/O itself, so the same code serves the sync and the async client (see
:mod:`.drivers`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from ..errors import KestraAirflowError
from .streams import Stream

__all__ = [
    "NOW",
    "AwaitSignal",
    "Blocking",
    "CloseStream",
    "Delay",
    "Driving",
    "Effect",
    "Gather",
    "Now",
    "Op",
    "OpenStream",
    "ReadStream",
    "Signal",
    "blocking",
    "close_stream",
    "gather",
    "now",
    "open_stream",
    "read_stream",
    "wait_for",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Delay:
    """Effect: pause the operation for ``seconds`` on the driver's clock."""

    seconds: float


@dataclass(frozen=True)
class Now:
    """Effect: the driver's monotonic clock, in seconds (use the :data:`NOW` instance)."""


#: the one :class:`Now` effect
NOW = Now()


@dataclass(frozen=True)
class Blocking:
    """Effect: call ``fn()`` (blocking work such as file I/O) and receive its result or its error.

    The sync driver calls it in place; the async driver runs it on a worker thread, so the event
    loop goes on serving other operations meanwhile.
    """

    fn: Callable[[], Any]


class Signal:
    """Something operations wait for (:class:`AwaitSignal`) until another operation fires it.

    Thread-safe: a sync client used from several threads fires and waits across them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: list[Callable[[], None]] = []
        #: how many times it has fired
        self.fired = 0

    def fire(self) -> None:
        """Wake every operation waiting for this signal."""
        with self._lock:
            self.fired += 1
            waiters, self._waiters = self._waiters, []
        for wake in waiters:
            wake()

    def subscribe(self, seen: int, wake: Callable[[], None]) -> None:
        """Call ``wake()`` once the signal has fired more than ``seen`` times (now, if it has).

        For drivers: they suspend the waiting operation and resume it from ``wake``."""
        with self._lock:
            if self.fired == seen:
                self._waiters.append(wake)
                return
        wake()


@dataclass(frozen=True)
class AwaitSignal:
    """Effect: suspend the operation until ``signal`` has fired more than ``seen`` times."""

    signal: Signal
    seen: int


@dataclass(frozen=True)
class Gather:
    """Effect: run these operations concurrently, at most ``limit`` at a time, on the same client.

    The operation receives their outcomes in order: each one's result, or the SDK error
    (:class:`~kestra_airflow_sdk.errors.KestraAirflowError`) it raised (after its own retries).
    The drivers only execute; build one with :func:`gather`, which captures the errors.
    """

    ops: tuple[Op[Any], ...]
    limit: int


@dataclass(frozen=True)
class OpenStream:
    """Effect: send ``request`` and receive its :class:`~.streams.Stream` once the headers are in
    (an error status arrives with its body read). A transport failure is thrown into the operation
    as for a request."""

    request: httpx.Request


@dataclass(frozen=True)
class ReadStream:
    """Effect: the next chunk of ``stream``'s body; ``b""`` at its end or once it is closed."""

    stream: Stream


@dataclass(frozen=True)
class CloseStream:
    """Effect: close ``stream`` (idempotent); a read of it pending in another operation returns ``b""``."""

    stream: Stream


Effect = httpx.Request | Delay | Now | Blocking | AwaitSignal | Gather | OpenStream | ReadStream | CloseStream
#: an operation: yields effects, receives their outcomes, returns ``T``
Op = Generator[Effect, Any, T]


def now() -> Op[float]:
    """Operation: the driver's monotonic clock, in seconds."""
    seconds: float = yield NOW
    return seconds


def blocking(fn: Callable[[], T]) -> Op[T]:
    """Operation: ``fn()``, run off the event loop on the async driver (see :class:`Blocking`)."""
    result: T = yield Blocking(fn)
    return result


def wait_for(signal: Signal, seen: int) -> Op[None]:
    """Operation: until ``signal`` has fired more than ``seen`` times."""
    yield AwaitSignal(signal, seen)


def open_stream(request: httpx.Request) -> Op[Stream]:
    """Operation: send ``request``, its :class:`~.streams.Stream` (see :class:`OpenStream`)."""
    stream: Stream = yield OpenStream(request)
    return stream


def read_stream(stream: Stream) -> Op[bytes]:
    """Operation: the next chunk of ``stream`` (``b""`` at the end)."""
    chunk: bytes = yield ReadStream(stream)
    return chunk


def close_stream(stream: Stream) -> Op[None]:
    """Operation: close ``stream``."""
    yield CloseStream(stream)


def _captured(op: Op[T]) -> Op[T | KestraAirflowError]:
    try:
        return (yield from op)
    except KestraAirflowError as exc:
        return exc


def gather(ops: Iterable[Op[T]], limit: int) -> Op[list[T]]:
    """Run ``ops`` concurrently (at most ``limit`` in flight); their results in order.

    Raises the first SDK error (in order) once all have ended, so no request is left running.
    """
    outcomes: list[T | KestraAirflowError] = yield Gather(tuple(_captured(op) for op in ops), limit)
    for outcome in outcomes:
        if isinstance(outcome, KestraAirflowError):
            raise outcome
    return outcomes  # type: ignore[return-value]


#: what a driver makes of a transport failure: the session's error for it (``HttpSession._unreachable``)
Unreachable = Callable[[httpx.Request, httpx.TransportError], BaseException]


class Driving(Generic[T]):
    """One operation being driven: the effect it asks for next, and what it returned.

    The drivers (:mod:`.drivers`) only execute effects; this is the part of their loop that is the
    same for both: sending replies or errors into the operation, and turning transport failures
    into the session's errors (:meth:`sending`), running blocking work (:meth:`call`).
    """

    def __init__(self, op: Op[T], unreachable: Unreachable) -> None:
        self._op = op
        self._unreachable = unreachable
        self._reply: Any = None
        self._error: BaseException | None = None
        self.result: T

    def next_effect(self) -> Effect | None:
        """The operation's next effect, or None once it has returned (see :attr:`result`)."""
        reply, error = self._reply, self._error
        self._reply, self._error = None, None
        try:
            return self._op.throw(error) if error is not None else self._op.send(reply)
        except StopIteration as stop:
            self.result = stop.value
            return None

    def abandon(self) -> None:
        """Close the operation when its driver stops driving it (a cancelled task, Ctrl-C): its
        ``finally`` blocks run now (e.g. a wait gives back its stream), not when it is collected.
        An operation that would still yield effects then cannot: that is ignored."""
        with contextlib.suppress(RuntimeError):  # "generator ignored GeneratorExit"
            self._op.close()

    def reply(self, value: Any) -> None:
        """What the next :meth:`next_effect` sends into the operation."""
        self._reply = value

    @contextlib.contextmanager
    def sending(self, request: httpx.Request) -> Iterator[None]:
        """Around sending ``request``: a transport failure (as the session's error) or an SDK error
        raised by an auth flow is thrown into the operation."""
        try:
            yield
        except httpx.TransportError as exc:
            self._error = self._unreachable(request, exc)
        except KestraAirflowError as exc:
            self._error = exc

    def call(self, effect: Blocking) -> None:
        """Execute a :class:`Blocking` effect in this thread: its result or its error is what the
        operation receives next."""
        try:
            self._reply = effect.fn()
        except Exception as exc:  # the operation's own code: it sees its error where it yielded
            self._error = exc
