"""Virtual time for tests of waits, polling and progress: no test depends on the machine's speed.

The client's operations are sans-I/O: a wait yields ``Delay`` effects and reads the time only
through the ``NOW`` effect, both executed by the driver on its clock. So the tests drive time
instead of spending it:

* sync: :class:`VirtualClock` + :class:`VirtualTimeClient` (an ``AirflowClient`` whose driver
  runs on the virtual clock: a ``Delay`` advances it instead of blocking; a request takes no
  virtual time at all), and :class:`VirtualTimeKestraServer`, the same for the Kestra server client;
* async: :func:`run_virtual` runs a coroutine on a :class:`VirtualTimeLoop`, whose clock jumps to
  the next timer whenever every task waits; the async driver's ``NOW`` reads that loop's clock.
  (``looptime`` does the same but needs Python >= 3.11 and its auto-loaded pytest plugin breaks
  fixture set-up without pytest-asyncio; the project supports 3.10.)

Either way a poll every 5 s with a 60 s timeout runs in milliseconds and polls exactly as often
as the arithmetic says, however busy the CPU is.
"""

from __future__ import annotations

import asyncio
import selectors
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from kestra_airflow_sdk import AirflowClient, KestraServer

T = TypeVar("T")


class VirtualClock:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()  # the sync driver runs Gather effects on threads

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


class VirtualTimeClient(AirflowClient):
    """The sync driver on a :class:`VirtualClock`: its delays fast-forward the clock."""

    def __init__(self, *args: Any, clock: VirtualClock | None = None, **kwargs: Any) -> None:
        self.clock = self._clock = clock or VirtualClock()
        super().__init__(*args, **kwargs)


class VirtualTimeKestraServer(KestraServer):
    """The Kestra server client on the sync driver, on a :class:`VirtualClock`."""

    def __init__(self, *args: Any, clock: VirtualClock | None = None, **kwargs: Any) -> None:
        self.clock = self._clock = clock or VirtualClock()
        super().__init__(*args, **kwargs)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock starts at 0 and moves only when every task waits on a timer.

    asyncio asks its selector to wait until the next timer is due when nothing is ready; this loop
    first polls for I/O without waiting and, if there is none, moves its clock to that timer
    instead of sleeping. Waiting on I/O alone (no timer) still blocks for real.
    """

    def __init__(self) -> None:
        super().__init__(selectors.DefaultSelector())
        self._virtual_now = 0.0
        selector: Any = self._selector  # type: ignore[attr-defined]
        real_select = selector.select

        def select(timeout: float | None = None) -> list[Any]:
            ready: list[Any] = real_select(0)
            if ready or timeout is None:
                return ready or real_select(timeout)
            self._virtual_now += max(timeout, 0.0)
            return ready

        selector.select = select

    def time(self) -> float:
        return self._virtual_now


def run_virtual(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on a :class:`VirtualTimeLoop`."""
    return run_virtual_timed(main)[0]


def run_virtual_timed(main: Coroutine[Any, Any, T]) -> tuple[T, float]:
    """:func:`run_virtual`, and the virtual seconds ``main`` took."""
    loop = VirtualTimeLoop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(main), loop.time()
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
