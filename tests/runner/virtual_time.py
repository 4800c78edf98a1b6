"""An asyncio event loop on virtual time: when nothing is ready, the clock jumps to the next timer
instead of waiting. ``asyncio.sleep``, ``wait_for`` timeouts and retry delays then take no real
time and their order is exact, whatever the machine's speed (no real I/O may be involved)."""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _Selector(selectors.DefaultSelector):
    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise RuntimeError("virtual time: the loop would wait forever (nothing scheduled)")
        self._loop.now += max(timeout, 0.0)
        return super().select(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """``time()`` is virtual and starts at 0."""

    def __init__(self) -> None:
        self.now = 0.0
        super().__init__(_Selector(self))

    def time(self) -> float:
        return self.now


def run_virtual(coro: Coroutine[Any, Any, T]) -> tuple[T, float]:
    """Run ``coro`` on a fresh virtual-time loop; its result and the virtual seconds it took."""
    loop = VirtualTimeLoop()
    try:
        result = loop.run_until_complete(coro)
        return result, loop.now
    finally:
        loop.close()
