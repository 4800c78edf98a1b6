"""The request core's effects beyond requests: the clock, blocking work, signals.

* ``NOW`` reads the driver's clock (the virtual one in tests), so operations never read the time
  themselves;
* ``Blocking`` work runs in place on the sync driver and on a worker thread on the async one, so
  the event loop goes on serving other operations: shown with an event only a coroutine on that
  loop can set, which the blocking work waits for (it would time out on a blocked loop);
* an operation waiting for a ``Signal`` is woken by the operation that fires it, never by polling: a waiter that finds another's refresh of a DAG in flight yields an
  ``AwaitSignal``, not a delay.

No test depends on the machine's speed: waits on events have generous timeouts that only a broken
implementation reaches, and time is virtual (tests/virtual_time.py).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from kestra_airflow_sdk import AsyncAirflowClient
from kestra_airflow_sdk.airflow.session import Session
from kestra_airflow_sdk.airflow.waits import RunPoller
from kestra_airflow_sdk.transport.effects import (
    NOW,
    AwaitSignal,
    Delay,
    Effect,
    Op,
    Signal,
    blocking,
    gather,
    now,
    wait_for,
)
from tests.fake_airflow import FakeAirflow, fake_client
from tests.virtual_time import VirtualTimeClient, run_virtual

GENEROUS = 60.0  # seconds; reached only when the loop is blocked (the test then fails, it does not hang)


def _waiting(loop_event: asyncio.Event, seen_on: list[int]) -> Callable[[], str]:
    """Blocking work that needs a coroutine of the event loop to run before it can end."""
    done = threading.Event()

    def work() -> str:
        seen_on.append(threading.get_ident())
        if not done.wait(GENEROUS):
            raise AssertionError("the event loop was blocked while the blocking work ran")
        return "written"

    async def unblock() -> None:
        await loop_event.wait()
        done.set()

    work.unblock = unblock  # type: ignore[attr-defined]
    return work


def test_blocking_work_runs_off_the_event_loop_on_the_async_driver() -> None:
    threads: list[int] = []

    async def main() -> tuple[str, int]:
        async with AsyncAirflowClient("http://airflow.test") as client:
            started = asyncio.Event()
            work = _waiting(started, threads)
            ticker = asyncio.create_task(work.unblock())  # type: ignore[attr-defined]
            started.set()  # the coroutine can only run if the loop is free while `work` blocks
            result = await client.execute(blocking(work))
            await ticker
            return result, threading.get_ident()

    result, loop_thread = run_virtual(main())
    assert result == "written"
    assert threads and threads[0] != loop_thread


def test_blocking_work_runs_in_place_on_the_sync_driver_and_its_error_reaches_the_operation() -> None:
    def broken() -> None:
        raise OSError("disk full")

    def op() -> Op[str]:
        try:
            yield from blocking(broken)
        except OSError as exc:
            return f"caught {exc}"
        return "no error"

    with VirtualTimeClient("http://airflow.test") as client:
        assert client.execute(blocking(threading.get_ident)) == threading.get_ident()
        assert client.execute(op()) == "caught disk full"


def test_now_reads_the_drivers_clock() -> None:
    def op() -> Op[tuple[float, float]]:
        before = yield from now()
        yield Delay(90)
        return before, (yield from now())

    with VirtualTimeClient("http://airflow.test") as client:
        client.clock.now = 1000.0
        assert client.execute(op()) == (1000.0, 1090.0)

    async def main() -> tuple[float, float]:
        async with AsyncAirflowClient("http://airflow.test") as client:
            return await client.execute(op())

    assert run_virtual(main()) == (0.0, 90.0)


def test_a_signal_wakes_its_waiters_on_both_drivers() -> None:
    signal = Signal()
    order: list[str] = []

    def waiter(name: str) -> Op[None]:
        yield from wait_for(signal, 0)
        order.append(name)

    def firer() -> Op[None]:
        yield Delay(5)
        order.append("fire")
        signal.fire()

    with VirtualTimeClient("http://airflow.test") as client:
        client.execute(gather([waiter("a"), waiter("b"), firer()], 3))
        assert order[0] == "fire" and sorted(order[1:]) == ["a", "b"]  # woken after the fire, both
        client.execute(wait_for(signal, 0))  # fired once already: no wait at all
    assert signal.fired == 1

    async def main() -> list[str]:
        late = Signal()
        woke: list[str] = []

        async def fire_later() -> None:
            await asyncio.sleep(3)
            late.fire()

        async with AsyncAirflowClient("http://airflow.test") as client:
            task = asyncio.create_task(fire_later())
            await client.execute(wait_for(late, 0))
            woke.append(f"woken at {asyncio.get_running_loop().time():g}")
            await task
        return woke

    assert run_virtual(main()) == ["woken at 3"]


class _Driven:
    """One operation driven by hand: ``NOW`` answered with 0, requests by the fake Airflow."""

    def __init__(self, op: Op[Any], fake: FakeAirflow) -> None:
        self.op, self.fake = op, fake
        self._reply: Any = None

    def until(self, stop: Callable[[Effect], bool]) -> Effect | None:
        """Run until the operation yields an effect ``stop`` accepts (returned, not executed), or
        returns (None)."""
        while True:
            try:
                effect = self.op.send(self._reply)
            except StopIteration:
                return None
            if stop(effect):
                self._reply = None
                return effect
            if effect is NOW:
                self._reply = 0.0
            elif isinstance(effect, httpx.Request):
                self._reply = self.fake.handle(effect)
            elif isinstance(effect, Delay):
                self._reply = None
            else:
                raise AssertionError(f"unexpected effect {effect!r}")

    def answer(self, request: httpx.Request) -> None:
        """The reply to a request :meth:`until` stopped at."""
        self._reply = self.fake.handle(request)


def _is_list_request(effect: Effect) -> bool:
    return isinstance(effect, httpx.Request) and effect.url.path.endswith("/dagRuns")


def test_a_waiter_finding_a_refresh_in_flight_is_woken_by_its_signal_not_by_polling() -> None:
    fake = FakeAirflow(api="v1")
    for run_id in ("a", "b"):
        fake.add_run("d", run_id, "running")
    with fake_client(fake) as client:
        session: Session = client
        poller = RunPoller()
        poller.watch("d", "a", 0.0)
        poller.watch("d", "b", 0.0)
        first = _Driven(poller.refresh(session, "d", -1, 5.0), fake)
        second = _Driven(poller.refresh(session, "d", -1, 5.0), fake)

        in_flight = first.until(_is_list_request)
        assert isinstance(in_flight, httpx.Request)  # the first waiter's list request is on its way
        waiting = second.until(lambda effect: not isinstance(effect, httpx.Request) and effect is not NOW)
        assert isinstance(waiting, AwaitSignal)  # not a Delay: no polling for the answer
        woken: list[str] = []
        waiting.signal.subscribe(waiting.seen, lambda: woken.append("woken"))
        assert woken == []

        first.answer(in_flight)
        assert first.until(lambda effect: False) is None  # the refresh ended...
        assert woken == ["woken"]  # ...and woke the waiter
        lists = fake.count("GET", "/dagRuns")
        assert second.until(lambda effect: isinstance(effect, httpx.Request)) is None
        assert fake.count("GET", "/dagRuns") == lists  # it read the first waiter's answer
        assert poller.known("d", "a") is not None and poller.known("d", "b") is not None


def test_concurrent_async_waits_on_a_slow_server_share_each_refresh() -> None:
    """Two waits started together on one DAG, on a server whose answers take 2 virtual seconds: the
    second waiter waits for the first one's refresh instead of sending its own."""
    fake = FakeAirflow(api="v1", default_script=["running", "running", "success"])
    for run_id in ("a", "b"):
        fake.add_run("d", run_id)

    class Slow(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(2)
            await request.aread()
            return fake.handle(request)

    async def main() -> list[str]:
        async with AsyncAirflowClient(
            "http://airflow.test", username="u", password="p", api_version="v1", transport=Slow()
        ) as client:
            runs = await asyncio.gather(
                client.wait_for_dag_run("d", "a", poll_frequency=5, timeout=120),
                client.wait_for_dag_run("d", "b", poll_frequency=5, timeout=120),
            )
            return [str(run.state) for run in runs]

    assert run_virtual(main()) == ["success", "success"]
    # each run needs 3 polls to end: 3 list requests in all, each one serving both waiters
    assert fake.log == [("GET", "/api/v1/version")] + [("GET", "/api/v1/dags/d/dagRuns")] * 3


@pytest.mark.parametrize("fired", [0, 2])
def test_signal_subscribers_are_called_once(fired: int) -> None:
    signal = Signal()
    for _ in range(fired):
        signal.fire()
    calls: list[int] = []
    signal.subscribe(fired, lambda: calls.append(1))
    assert calls == []
    signal.fire()
    signal.fire()
    assert calls == [1]


def test_per_session_state_lives_in_typed_slots_shared_by_views() -> None:
    from kestra_airflow_sdk.airflow.waits import POLLER
    from kestra_airflow_sdk.transport.retry import NO_RETRY
    from kestra_airflow_sdk.transport.state import Slot

    counter: Slot[list[int]] = Slot("counter", list)
    with VirtualTimeClient("http://airflow.test") as client, VirtualTimeClient("http://other.test") as other:
        view = client.with_retry(NO_RETRY)
        assert POLLER.of(view) is POLLER.of(client) is not POLLER.of(other)
        counter.of(client).append(1)
        assert counter.of(view) == [1] and counter.of(other) == []
