"""Run a coroutine to completion from synchronous code: in a plain script (``asyncio.run``) and
inside an already-running event loop such as Jupyter's, where it runs on its own loop in a worker
thread while the caller waits (the caller's loop is never re-entered); :func:`run_to_end` runs a
:class:`FlowRunner` so (the local ``Flow.run``)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from ..flows.execution import Execution, ExecutionKilled
from .engine import FlowRunner

__all__ = ["run_blocking", "run_to_end"]

T = TypeVar("T")


def run_blocking(start: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``start()`` and return its result. On Ctrl-C the coroutine is cancelled and allowed to
    clean up before ``KeyboardInterrupt`` propagates."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(start())
    return _run_in_worker_thread(start)


def run_to_end(runner: FlowRunner) -> Execution:
    """Run the execution of ``runner`` to its end, blocking (what :meth:`Flow.run` does without
    ``on=``); Ctrl-C raises :class:`ExecutionKilled` with the KILLED execution."""
    try:
        return run_blocking(runner.run)
    except KeyboardInterrupt:
        if runner.execution is not None and runner.execution.state.is_terminal:
            raise ExecutionKilled(runner.execution) from None
        raise


def _run_in_worker_thread(start: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Inside a running loop (a Jupyter kernel's), run ``start()`` on a fresh loop in a worker thread.

    Re-entering the caller's loop (nest-asyncio) would let the kernel handle the next queued cell
    inside this one, and break the kernel when several cells are queued (JupyterLab's *Run All*). The
    worker runs in a copy of the caller's context, so what it displays goes to the caller's cell.
    """
    loop = asyncio.new_event_loop()
    outcome: Future[T] = Future()
    tasks: list[asyncio.Task[T]] = []
    interrupted = threading.Event()

    def work() -> None:
        asyncio.set_event_loop(loop)
        try:
            task = loop.create_task(start())
            tasks.append(task)
            if interrupted.is_set():
                task.cancel()
            outcome.set_result(loop.run_until_complete(task))
        except BaseException as exc:  # handed to the waiting caller
            outcome.set_exception(exc)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    worker = threading.Thread(target=contextvars.copy_context().run, args=(work,), name="kestra-flow-run")
    worker.start()
    try:
        return outcome.result()
    except KeyboardInterrupt:
        interrupted.set()
        for task in tasks:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing left to cancel
                loop.call_soon_threadsafe(task.cancel)
        worker.join()
        raise
