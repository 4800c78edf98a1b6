"""Benchmark: ``KestraServer.executions(page=None)`` paging through 10,000 executions of a fake
Kestra 2.0 (``httpx.MockTransport``, no network), in bounded memory.

    .venv/bin/python benchmarks/kestra_history.py [--sizes 1000 10000] [--mode sync async]

The fake answers ``GET /executions/search`` pages of 100 executions shaped like Kestra 2.0's
(tests/kestra/samples/search-2.0.json: state with histories, labels, no task runs), each page
serialised when asked for, as a server would. For each size: one warm-up export, then one export
for its wall time, then one under ``tracemalloc`` for the peak of Python allocations during the
export. Beside it, the final frame's own size (``memory_usage(deep=True)``) and the size of the
JSON pages the export read: the export keeps rows, never pages, so its peak should track the
frame, not the pages. A "keep the pages" reader (every page's parsed JSON kept, then one frame) is
measured the same way, for contrast. Not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from kestra_airflow_sdk import AsyncKestraServer, KestraServer
from kestra_airflow_sdk.kestra.executions import executions_frame

START = datetime(2026, 11, 1, tzinfo=timezone.utc)
STATES = ("SUCCESS", "SUCCESS", "SUCCESS", "FAILED", "WARNING")


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def execution(i: int) -> dict[str, Any]:
    """Execution ``i`` as Kestra 2.0's search answers it."""
    start = START + timedelta(minutes=i)
    end = start + timedelta(seconds=5 + i % 50)
    state = STATES[i % len(STATES)]
    return {
        "id": f"exec{i:08d}",
        "namespace": "company.team",
        "flowId": f"flow{i % 20}",
        "flowRevision": 1 + i % 3,
        "labels": [
            {"key": "system.correlationId", "value": f"exec{i:08d}"},
            {"key": "team", "value": "data"},
        ],
        "state": {
            "current": state,
            "histories": [
                {"state": "CREATED", "date": _iso(start - timedelta(milliseconds=150))},
                {"state": "RUNNING", "date": _iso(start)},
                {"state": state, "date": _iso(end)},
            ],
            "duration": f"PT{(end - start).total_seconds():g}S",
            "startDate": _iso(start),
            "endDate": _iso(end),
        },
        "originalId": f"exec{i:08d}",
        "deleted": False,
        "kind": None,
        "scheduleDate": None,
    }


class FakeKestra:
    """``GET /executions/search`` over ``size`` executions, pages serialised on demand."""

    def __init__(self, size: int) -> None:
        self.size, self.page_bytes = size, 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        page, per_page = int(request.url.params["page"]), int(request.url.params["size"])
        first = (page - 1) * per_page
        results = [execution(i) for i in range(first, min(first + per_page, self.size))]
        body = json.dumps({"results": results, "total": self.size}).encode()
        self.page_bytes += len(body)
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})


def sdk_sync(size: int) -> Any:
    with KestraServer("http://kestra.test", token="t", transport=httpx.MockTransport(FakeKestra(size))) as s:
        return s.executions("company.team", page=None)


def sdk_async(size: int) -> Any:
    async def main() -> Any:
        transport = httpx.MockTransport(FakeKestra(size))
        async with AsyncKestraServer("http://kestra.test", token="t", transport=transport) as s:
            return await s.executions("company.team", page=None)

    return asyncio.run(main())


def keep_pages(size: int) -> Any:
    """For contrast: every page's JSON kept, one frame at the end."""
    fake, pages = FakeKestra(size), []
    with httpx.Client(transport=httpx.MockTransport(fake)) as client:
        for page in range(1, -(-size // 100) + 1):
            answer = client.get(
                "http://kestra.test/api/v1/main/executions/search", params={"page": page, "size": 100}
            )
            pages.append(answer.json()["results"])
    return executions_frame([item for page in pages for item in page])


READERS: dict[str, Callable[[int], Any]] = {"sync": sdk_sync, "async": sdk_async, "keep-pages": keep_pages}


def measure(reader: Callable[[int], Any], size: int) -> tuple[float, float, float, int]:
    """Wall seconds, peak MB (tracemalloc), frame MB, rows."""
    reader(min(size, 200))  # warm-up: imports, pools
    gc.collect()
    started = time.perf_counter()
    frame = reader(size)
    wall = time.perf_counter() - started
    rows, frame_mb = len(frame), frame.memory_usage(deep=True).sum() / 1e6
    del frame
    gc.collect()
    tracemalloc.start()
    try:
        frame = reader(size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del frame
    return wall, peak / 1e6, frame_mb, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--mode", nargs="+", choices=sorted(READERS), default=["sync", "async", "keep-pages"])
    args = parser.parse_args()
    pages_mb = {
        size: len(json.dumps({"results": [execution(i) for i in range(size)]})) / 1e6 for size in args.sizes
    }
    print(
        f"{'reader':<11} {'executions':>10} {'wall s':>7} {'peak MB':>8} {'frame MB':>9} {'peak/frame':>10} {'JSON MB':>8}"
    )
    for size in args.sizes:
        for mode in args.mode:
            wall, peak, frame_mb, rows = measure(READERS[mode], size)
            assert rows == size, (mode, rows, size)
            print(
                f"{mode:<11} {size:>10,} {wall:>7.2f} {peak:>8.2f} {frame_mb:>9.2f} "
                f"{peak / frame_mb:>9.2f}x {pages_mb[size]:>8.2f}"
            )


if __name__ == "__main__":
    main()
