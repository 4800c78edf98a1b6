"""Run a coroutine to completion from synchronous code: in a plain script (``asyncio.run``) and
inside an already-running event loop such as Jupyter's (nest-asyncio is applied to that loop then,
never at import)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["run_blocking"]

T = TypeVar("T")


def run_blocking(start: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``start()`` and return its result. On Ctrl-C the coroutine is cancelled and allowed to
    clean up before ``KeyboardInterrupt`` propagates."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(start())
    import nest_asyncio

    nest_asyncio.apply(loop)
    task = loop.create_task(start())
    try:
        return loop.run_until_complete(task)
    except KeyboardInterrupt:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task)
        raise
