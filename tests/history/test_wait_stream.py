"""Waits that follow Airflow's ``/wait`` stream (``kestra_airflow_sdk/airflow/wait_stream.py``), on the
fake Airflow 3 with streamed NDJSON bodies, both drivers, on virtual time (tests/virtual_time.py).

Each opened stream plays the next script of :class:`StreamingAirflow`: its lines come one per
``interval`` of the driver's clock (as Airflow's ``DagRunWaiter`` sends them); a script can break
the connection, or answer an error status instead.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from kestra_airflow_sdk import DagRunState
from kestra_airflow_sdk.airflow import InvalidArgumentError, NotFoundError, WaitTimeoutError
from kestra_airflow_sdk.airflow.wait_stream import LineParser, streams_of
from tests.fake_airflow import FAST, FakeAirflow, fake_async_client, fake_client
from tests.virtual_time import VirtualClock, VirtualTimeClient, run_virtual_timed

RUN = "/api/v2/dags/etl/dagRuns/r1"
#: a script item: the connection drops here
BREAK = "break"
#: a script item: the server sends nothing more (the client's read times out)
SILENCE = "silence"

Script = list[str] | int


class StreamingAirflow:
    """The fake Airflow 3 (tests/fake_airflow.py), plus ``GET .../wait`` streams that play ``scripts``."""

    def __init__(self, scripts: list[Script], *, version: str = "3.3.2", run_script: list[str] | None = None):
        self.fake = FakeAirflow(scripts={"etl": run_script or ["queued"]})
        self.fake.add_run("etl", "r1")
        self.scripts = list(scripts)
        self.version = version
        self.clock: VirtualClock | None = None  # sync: the client's clock; async: the loop's
        self.opened = 0
        self.closed = 0  # async bodies closed (read to the end, or closed by the client)
        self.lines_sent = 0
        self.not_found_detail = "Not Found"

    def waits(self) -> int:
        return self.fake.count("GET", "/wait")

    def reads(self) -> int:
        return sum(1 for m, p in self.fake.log if m == "GET" and p == RUN)

    def lists(self) -> int:
        return sum(1 for m, p in self.fake.log if m == "GET" and p.endswith("/dagRuns"))

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/version"):
            self.fake.requests.append(request)
            self.fake.times.append(None)
            return httpx.Response(200, json={"version": self.version, "git_version": None})
        if not request.url.path.endswith("/wait"):
            return self.fake.handle(request)
        answer = self.fake.handle(request)  # the fake's 404 "no route": recorded, replaced below
        assert answer.status_code == 404
        script = self.scripts.pop(0) if self.scripts else 404
        self.opened += 1
        if isinstance(script, int):
            detail = self.not_found_detail if script == 404 else "busy"
            return httpx.Response(script, json={"detail": detail})
        interval = float(request.url.params["interval"])
        read_timeout = float(request.extensions["timeout"]["read"])
        if self.clock is not None:
            return httpx.Response(200, content=self._lines(script, interval, read_timeout))
        return httpx.Response(200, content=self._alines(script, interval, read_timeout))

    def _line(self, state: str) -> bytes:
        if state in ("success", "failed"):
            self.fake.runs["r1"].forced = state
        self.lines_sent += 1
        return json.dumps({"state": state}).encode() + b"\n"

    def _lines(self, script: list[str], interval: float, read_timeout: float) -> Iterator[bytes]:
        assert self.clock is not None
        for state in script:
            if state == BREAK:
                raise httpx.ReadError("connection reset by peer")
            if state == SILENCE or interval > read_timeout:
                self.clock.sleep(read_timeout)
                raise httpx.ReadTimeout("timed out")
            self.clock.sleep(interval)
            yield self._line(state)

    async def _alines(self, script: list[str], interval: float, read_timeout: float) -> AsyncIterator[bytes]:
        try:
            for state in script:
                if state == BREAK:
                    raise httpx.ReadError("connection reset by peer")
                if state == SILENCE or interval > read_timeout:
                    await asyncio.sleep(read_timeout)
                    raise httpx.ReadTimeout("timed out")
                await asyncio.sleep(interval)
                yield self._line(state)
        finally:
            self.closed += 1


def _sync_client(server: StreamingAirflow, **options: Any) -> VirtualTimeClient:
    return VirtualTimeClient(
        "http://airflow.test",
        username="u",
        password="p",
        api_version="v2",
        transport=httpx.MockTransport(server.handler),
        retry=FAST,
        **options,
    )


def _wait(server: StreamingAirflow, mode: str, calls: int = 1, **kwargs: Any) -> tuple[list[Any], float]:
    """``calls`` waits on run r1 (one after the other, one client): their outcomes (a run or the
    error), and the virtual seconds they took."""
    kwargs.setdefault("poll_frequency", 5.0)
    kwargs.setdefault("timeout", 600)
    client_options = {k: kwargs.pop(k) for k in ("wait_streams",) if k in kwargs}
    if "timeout_s" in kwargs:  # the client's request timeout
        client_options["timeout"] = kwargs.pop("timeout_s")

    def outcome(call: Any) -> Any:
        try:
            return call()
        except Exception as exc:  # the test inspects it
            return exc

    if mode == "sync":
        client = _sync_client(server, **client_options)
        server.clock = client.clock
        with client:
            results = [outcome(lambda: client.wait_for_dag_run("etl", "r1", **kwargs)) for _ in range(calls)]
            assert streams_of(client).open == 0
        return results, client.clock.now

    async def main() -> list[Any]:
        async with fake_async_client(
            server.fake, transport=httpx.MockTransport(server.handler), **client_options
        ) as client:
            results = []
            for _ in range(calls):
                try:
                    results.append(await client.wait_for_dag_run("etl", "r1", **kwargs))
                except Exception as exc:  # the test inspects it
                    results.append(exc)
            assert streams_of(client).open == 0
            return results

    return run_virtual_timed(main())


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_wait_follows_the_stream_one_request_for_the_whole_wait(mode: str) -> None:
    server = StreamingAirflow([["queued", "running", "success"]])
    seen: list[tuple[str, int]] = []
    (run,), took = _wait(
        server, mode, on_poll=lambda r, _: seen.append((str(r.state), server.lines_sent)), poll_frequency=5.0
    )
    assert run.state is DagRunState.SUCCESS and run.end_date is not None  # the final run, read in full
    assert server.waits() == 1 and server.lists() == 0
    assert server.reads() == 2  # the first poll (before the stream), and the final run
    assert took == 15.0  # three lines, one per interval: no poll tick in between
    # each line is reported as it arrives (the auth flow does not read the stream to its end first)
    assert seen == [("queued", 0), ("queued", 1), ("running", 2), ("success", 3)]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_stream_that_breaks_is_opened_again_and_the_final_state_is_not_lost(mode: str) -> None:
    server = StreamingAirflow([["running", BREAK], 503, ["failed"]])
    (run,), _ = _wait(server, mode)
    assert run.state is DagRunState.FAILED
    assert server.opened == 3 and server.lists() == 0


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_silent_stream_times_out_and_is_opened_again(mode: str) -> None:
    server = StreamingAirflow([[SILENCE], ["success"]])
    (run,), took = _wait(server, mode, poll_frequency=5.0, timeout=600, timeout_s=10.0)
    assert run.state is DagRunState.SUCCESS
    assert server.opened == 2
    # silent for the interval plus the client's read timeout (15 s), then a line 5 s into the next
    assert 20.0 <= took < 20.1


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_stream_that_keeps_breaking_gives_way_to_polling(mode: str) -> None:
    server = StreamingAirflow([[BREAK]] * 10, run_script=["queued", "running", "success"])
    (run,), _ = _wait(server, mode)
    assert run.state is DagRunState.SUCCESS
    assert server.opened == 5  # the retry policy's max_attempts in a row, then polling
    assert server.reads() == 2  # the first poll (running), the poll after the streams (success)


@pytest.mark.parametrize(
    ("detail", "remembered"),
    [("Not Found", True), ("The DagRun with dag_id: `etl` and run_id: `r1` was not found", False)],
)
def test_a_refused_stream_falls_back_to_polling(detail: str, remembered: bool) -> None:
    """A 404 of the endpoint (a server or proxy without it) turns streams off for the client; a
    404 about the run does not (polling then reports it)."""
    server = StreamingAirflow([404, ["success"]], run_script=["queued", "running", "success"])
    server.fake.add_run("etl", "r2", "queued", "queued", "success")
    server.not_found_detail = detail
    client = _sync_client(server)
    server.clock = client.clock
    with client:
        assert client.wait_for_dag_run("etl", "r1", poll_frequency=5.0).state is DagRunState.SUCCESS
        assert (streams_of(client).refused is not None) is remembered
        assert server.opened == 1
        assert client.wait_for_dag_run("etl", "r2", poll_frequency=5.0).state is DagRunState.SUCCESS
    assert server.opened == (1 if remembered else 2)


def test_an_unknown_run_is_reported_as_by_polling() -> None:
    server = StreamingAirflow([["success"]])
    client = _sync_client(server)
    server.clock = client.clock
    with client, pytest.raises(NotFoundError):
        client.wait_for_dag_run("etl", "nope", poll_frequency=5.0, timeout=60)
    assert server.opened == 0


@pytest.mark.parametrize("version", ["3.0.6", "2.10.5"])
def test_a_server_before_3_1_is_polled(version: str) -> None:
    server = StreamingAirflow([["success"]], version=version, run_script=["queued", "success"])
    (run,), _ = _wait(server, "sync")
    assert run.state is DagRunState.SUCCESS
    assert server.waits() == 0


def test_wait_streams_0_polls() -> None:
    server = StreamingAirflow([["success"]], run_script=["queued", "success"])
    (run,), _ = _wait(server, "async", wait_streams=0)
    assert run.state is DagRunState.SUCCESS
    assert server.waits() == 0


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_stream_does_not_outlive_the_timeout(mode: str) -> None:
    server = StreamingAirflow([["running"] * 100], run_script=["running"])
    (error,), took = _wait(server, mode, poll_frequency=5.0, timeout=12)
    assert isinstance(error, WaitTimeoutError)
    # lines at 5 s and 10 s; the next one would come after the timeout: one last poll at 12 s
    assert took == 12.0
    assert error.last_state == "running"
    assert server.opened == 1


def test_concurrent_waits_stream_within_the_budget_and_poll_beyond_it() -> None:
    fake = FakeAirflow(scripts={"etl": ["queued", "queued", "success"]})
    for run_id in ("a", "b", "c"):
        fake.add_run("etl", run_id)
    streamed: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/wait"):
            return fake.handle(request)
        run_id = request.url.path.split("/")[-2]
        streamed.append(run_id)

        async def lines() -> AsyncIterator[bytes]:
            await asyncio.sleep(2.0)
            fake.runs[run_id].forced = "success"
            yield b'{"state": "success"}\n'

        return httpx.Response(200, content=lines())

    async def main() -> list[Any]:
        async with fake_async_client(fake, transport=httpx.MockTransport(handler), wait_streams=1) as client:
            waits = [client.wait_for_dag_run("etl", r, poll_frequency=5.0, timeout=600) for r in "abc"]
            return list(await asyncio.gather(*waits))

    runs, _ = run_virtual_timed(main())
    assert all(run.state is DagRunState.SUCCESS for run in runs)
    assert len(streamed) == 1  # one stream; the two other waits polled, batched


def test_wait_streams_is_checked() -> None:
    with pytest.raises(InvalidArgumentError, match="wait_streams: expected an integer >= 0, got -1"):
        fake_client(FakeAirflow(), wait_streams=-1)


def test_line_parser_joins_lines_split_across_chunks_and_skips_bad_ones() -> None:
    parser = LineParser()
    assert parser.feed(b'{"state": "que') == []
    assert parser.feed(b'ued"}\n{"state": "running"}\nnot json\n{"sta') == ["queued", "running"]
    assert parser.feed(b'te": "success", "results": {"t": 1}}\n') == ["success"]


def test_a_cancelled_streamed_wait_gives_its_stream_back(recwarn: pytest.WarningsRecorder) -> None:
    server = StreamingAirflow([["running"] * 100], run_script=["running"])

    async def main() -> tuple[int, int]:
        async with fake_async_client(server.fake, transport=httpx.MockTransport(server.handler)) as client:
            task = asyncio.ensure_future(client.wait_for_dag_run("etl", "r1", poll_frequency=5.0))
            await asyncio.sleep(12)
            following = streams_of(client).open
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return following, streams_of(client).open

    following, after = run_virtual_timed(main())[0]
    assert (following, after) == (1, 0)
    assert server.closed == 1  # the cancelled read closed the body (httpcore then gives its connection back)
    assert not [w for w in recwarn if "GeneratorExit" in str(w.message)]


def test_a_static_token_streams_too() -> None:
    """The bearer-token auth reads error bodies only, so the stream is not read to its end first."""
    server = StreamingAirflow([["running", "success"]])
    server.fake.valid_tokens = {"static"}
    seen: list[tuple[str, int]] = []
    client = VirtualTimeClient(
        "http://airflow.test", token="static", api_version="v2", transport=httpx.MockTransport(server.handler)
    )
    server.clock = client.clock
    with client:
        run = client.wait_for_dag_run(
            "etl",
            "r1",
            poll_frequency=5.0,
            on_poll=lambda r, _: seen.append((str(r.state), server.lines_sent)),
        )
    assert run.state is DagRunState.SUCCESS
    assert seen == [("queued", 0), ("running", 1), ("success", 2)]
