"""The effects a sans-I/O operation yields, and the part of a driver's loop both drivers share.

An operation is a generator (:data:`Op`): it yields an :class:`httpx.Request` to send, a
:class:`Sleep` to wait, or a :class:`Gather` of operations to run concurrently, and receives the
response (``None`` after a sleep, the list of outcomes after a gather). It never performs I/O, so
the same code serves the sync and the async client (see :mod:`.drivers`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from .errors import AirflowError, error_from_transport

__all__ = ["Driving", "Effect", "Gather", "Op", "Sleep", "gather"]

T = TypeVar("T")


@dataclass(frozen=True)
class Sleep:
    """Effect: pause the operation for ``seconds``."""

    seconds: float


@dataclass(frozen=True)
class Gather:
    """Effect: run these operations concurrently, at most ``limit`` at a time, on the same client.

    The operation receives their outcomes in order: each one's result, or the
    :class:`AirflowError` it raised (after its own retries). The drivers only execute; build one
    with :func:`gather`, which captures the errors.
    """

    ops: tuple[Op[Any], ...]
    limit: int


Effect = httpx.Request | Sleep | Gather
#: an operation: yields effects, receives responses, returns ``T``
Op = Generator[Effect, Any, T]


def _captured(op: Op[T]) -> Op[T | AirflowError]:
    try:
        return (yield from op)
    except AirflowError as exc:
        return exc


def gather(ops: Iterable[Op[T]], limit: int) -> Op[list[T]]:
    """Run ``ops`` concurrently (at most ``limit`` in flight); their results in order.

    Raises the first error (in order) once all have ended, so no request is left running.
    """
    outcomes: list[T | AirflowError] = yield Gather(tuple(_captured(op) for op in ops), limit)
    for outcome in outcomes:
        if isinstance(outcome, AirflowError):
            raise outcome
    return outcomes  # type: ignore[return-value]


class Driving(Generic[T]):
    """One operation being driven: the effect it asks for next, and what it returned.

    The drivers (:mod:`.drivers`) only execute effects; this is the part of their loop that is the
    same for both: sending replies or errors into the operation, and converting transport failures
    to SDK errors (:meth:`sending`).
    """

    def __init__(self, op: Op[T]) -> None:
        self._op = op
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

    def reply(self, value: Any) -> None:
        """What the next :meth:`next_effect` sends into the operation."""
        self._reply = value

    @contextlib.contextmanager
    def sending(self, request: httpx.Request) -> Iterator[None]:
        """Around sending ``request``: a transport failure or an SDK error is thrown into the operation."""
        try:
            yield
        except httpx.TransportError as exc:
            self._error = error_from_transport(request, exc)
        except AirflowError as exc:
            self._error = exc
