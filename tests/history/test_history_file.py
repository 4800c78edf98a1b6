"""``run_history(path=)`` on the async client reads and writes its parquet file off the event loop.

The file I/O is a ``Blocking`` effect: the async driver runs it on a worker thread. Shown without
timing: the wrapped reader and writer wait for an event that only a coroutine on the loop sets
(with a generous timeout, reached only when the loop is blocked), and record their thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kestra_airflow_sdk.history import cache
from tests.fake_airflow import FakeAirflow, fake_async_client, make_runs
from tests.virtual_time import run_virtual

pytest.importorskip("pyarrow")

GENEROUS = 60.0  # seconds; reached only when the event loop is blocked (the test then fails)


def test_run_history_file_io_runs_on_a_worker_thread_while_the_loop_serves_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeAirflow(api="v1", runs=make_runs(3))
    file = tmp_path / "runs.parquet"
    calls: list[tuple[str, int]] = []
    loop_free = threading.Event()

    def needing_the_loop(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any) -> Any:
            calls.append((name, threading.get_ident()))
            loop_free.clear()
            asyncio.run_coroutine_threadsafe(_set(loop_free), loop).result(GENEROUS)
            assert loop_free.is_set()
            return real(*args)

        return wrapped

    async def _set(event: threading.Event) -> None:
        event.set()

    monkeypatch.setattr(cache, "_save", needing_the_loop("save", cache._save))
    monkeypatch.setattr(cache, "_load", needing_the_loop("load", cache._load))

    async def main() -> tuple[list[int], int]:
        nonlocal loop
        loop = asyncio.get_running_loop()
        sizes = []
        async with fake_async_client(fake) as first:
            sizes.append(len(await first.run_history("d", path=file)))
        async with fake_async_client(fake) as second:  # a new session: reads the file, then refreshes
            sizes.append(len(await second.run_history("d", path=file)))
        return sizes, threading.get_ident()

    loop: asyncio.AbstractEventLoop
    sizes, loop_thread = run_virtual(main())
    assert sizes == [3, 3]
    # the first session finds no file and writes it; the second reads it, refreshes, writes it again
    assert [name for name, _ in calls] == ["load", "save", "load", "save"]
    lists = [r for r in fake.requests if r.url.path.endswith("/dagRuns")]
    assert "updated_at_gte" in lists[-1].url.params  # the refresh started from the file
    assert all(thread != loop_thread for _, thread in calls)
    assert file.exists()
