"""The virtual clocks the timing tests rely on: an hour of sleeping costs no real time, and the
clocks the drivers read move exactly by what was slept."""

from __future__ import annotations

import asyncio
import time

from kestra_airflow_sdk import AsyncAirflowClient
from kestra_airflow_sdk.transport.effects import Delay, Op, now
from tests.virtual_time import VirtualClock, VirtualTimeClient, run_virtual


def _delays(*seconds: float) -> Op[float]:
    """Delay for each of ``seconds``, then read the driver's clock."""
    for each in seconds:
        yield Delay(each)
    return (yield from now())


def test_an_hour_of_async_sleeps_takes_no_real_time_and_keeps_their_order() -> None:
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        woke.append((name, asyncio.get_running_loop().time()))

    async def main() -> float:
        client = AsyncAirflowClient("http://airflow.test")
        await asyncio.gather(sleeper("late", 3600), sleeper("early", 5), sleeper("middle", 60))
        seen = await client.execute(now())
        await client.aclose()
        return seen

    started = time.monotonic()
    assert run_virtual(main()) == 3600
    assert time.monotonic() - started < 5
    assert woke == [("early", 5), ("middle", 60), ("late", 3600)]


def test_the_sync_driver_sleeps_on_its_virtual_clock() -> None:
    clock = VirtualClock()
    with VirtualTimeClient("http://airflow.test", clock=clock) as client:
        started = time.monotonic()
        assert client.execute(_delays(600, 0.5)) == 600.5
        assert time.monotonic() - started < 5
    assert clock.sleeps == [600, 0.5]
