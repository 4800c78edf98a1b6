"""Following an execution through Kestra's event streams: states and log lines as they happen, a
broken stream resumed without reporting anything twice, polling after repeated failures.

The sync server talks to a real local HTTP server started here, which streams server-sent events
as Kestra does (``id: progress`` / ``id: end``, one JSON ``data:`` line) and breaks the first
connection of each stream midway; the async server reads streaming bodies of an
``httpx.MockTransport``. Waits run on virtual time (tests/virtual_time.py)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from kestra_airflow_sdk import AsyncKestraServer
from kestra_airflow_sdk.flows import Execution, ExecutionState, Observer
from kestra_airflow_sdk.flows.execution import LogEntry, TaskRun
from kestra_airflow_sdk.kestra import KestraError
from kestra_airflow_sdk.kestra.sse import EventParser, ServerSentEvent
from kestra_airflow_sdk.transport.retry import RetryPolicy
from tests.kestra.test_server import _execution
from tests.virtual_time import VirtualTimeKestraServer, run_virtual_timed


def _line(i: int) -> dict[str, Any]:
    return {
        "executionId": "exec1",
        "taskId": f"t{i % 2}",
        "taskRunId": f"tr{i % 2}",
        "attemptNumber": 0,
        "timestamp": f"2026-11-24T10:00:0{i}.000Z",
        "level": "INFO",
        "message": f"line {i}",
    }


def _event(body: Any, event_id: str = "progress") -> bytes:
    return f"id: {event_id}\ndata: {json.dumps(body)}\n\n".encode()


RUNNING_T0 = _execution("RUNNING", ["RUNNING"])
RUNNING_T1 = _execution("RUNNING", ["SUCCESS", "RUNNING"])
DONE = _execution("SUCCESS", ["SUCCESS", "SUCCESS"])


class Recorder(Observer):
    def __init__(self, reported: threading.Event | None = None) -> None:
        self.events: list[str] = []
        self.reported = reported  # set once "line 3" has been reported

    def task_started(self, execution: Execution, task_run: TaskRun) -> None:
        self.events.append(f"start {task_run.task_id}")

    def task_ended(self, execution: Execution, task_run: TaskRun) -> None:
        self.events.append(f"end {task_run.task_id}")

    def log_written(self, execution: Execution, entry: LogEntry) -> None:
        self.events.append(entry.message)
        if entry.message == "line 3" and self.reported is not None:
            self.reported.set()

    def execution_ended(self, execution: Execution) -> None:
        self.events.append(f"ended {execution.state.value}")


# ---------------------------------------------------------------- the parser


def test_events_are_parsed_whatever_the_chunk_boundaries() -> None:
    text = (
        b': keep-alive\r\n\r\nid: progress\r\ndata: {"a": 1}\r\n\r\n'
        b"id: end\nevent: message\ndata: first\ndata: second\n\n"
        b"data: \xc3\xa9t\xc3\xa9\r\r: lone CRs end lines too\n"
    )
    expected = [
        ServerSentEvent('{"a": 1}', "progress"),
        ServerSentEvent("first\nsecond", "end", "message"),
        ServerSentEvent("été"),
    ]
    whole = EventParser().feed(text)
    assert whole == expected
    parser = EventParser()  # one byte at a time: split lines, a split "\r\n", a split UTF-8 character
    assert [event for i in range(len(text)) for event in parser.feed(text[i : i + 1])] == expected
    assert EventParser().feed(b"data: unfinished") == []  # no blank line yet: not dispatched


# ---------------------------------------------------------------- sync: a real HTTP server


class StreamingKestra(http.server.ThreadingHTTPServer):
    """A Kestra 1.3 whose follow streams break midway on their first connection.

    * ``/executions/exec1/follow``: first connection RUNNING (t0), RUNNING (t0 done, t1 running),
      then cut in the middle of an event; second connection: the execution as it is, then, once
      the client has reported line 3 to its observers (:attr:`line3_reported`), SUCCESS with id
      ``end``: a line reported live, not read at the end.
    * ``/logs/exec1/follow``: first connection lines 0 and 1, then cut; second: lines 0 to 3 (the
      first two again, as Kestra replays stored lines), then nothing, never ending by itself.
    * ``/logs/exec1``: lines 0 to 4 (line 4 written after the end).
    """

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections: dict[str, int] = {}
        self.requests: list[str] = []
        self.line3_reported = threading.Event()
        self.stop = threading.Event()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StreamingKestra

    def log_message(self, *args: Any) -> None:
        pass

    def _json(self, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _cut(self) -> None:
        self.wfile.flush()
        self.close_connection = True  # the body's last chunk is never sent: a broken stream

    def do_GET(self) -> None:
        server, path = self.server, self.path
        with server.lock:
            server.requests.append(path)
            n = server.connections[path] = server.connections.get(path, 0) + 1
        if path == "/api/v1/configs":
            self._json({"version": "1.3.5"})
        elif path == "/api/v1/main/executions/exec1/follow":
            self._stream()
            if n == 1:
                self._chunk(_event(RUNNING_T0) + _event(RUNNING_T1))
                self._chunk(_event(DONE)[:20])  # half an event, then the connection drops
                self._cut()
            else:
                self._chunk(_event(RUNNING_T1))
                assert server.line3_reported.wait(30)
                self._chunk(_event(DONE, "end"))
                self._chunk(b"")
        elif path == "/api/v1/main/logs/exec1/follow":
            self._stream()
            if n == 1:
                self._chunk(_event(_line(0)) + _event(_line(1)))
                self._cut()
            else:
                self._chunk(b"".join(_event(_line(i)) for i in range(4)))
                server.stop.wait(30)  # Kestra's log stream: open until the client goes
                self.close_connection = True
        elif path == "/api/v1/main/executions/exec1":
            self._json(RUNNING_T0)
        elif path == "/api/v1/main/logs/exec1":
            self._json([_line(i) for i in range(5)])
        else:
            self.send_error(404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        with self.server.lock:
            self.server.requests.append(f"POST {self.path}")
        self._json(_execution("CREATED", []))


@pytest.fixture
def kestra() -> Iterator[StreamingKestra]:
    server = StreamingKestra()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_run_follows_the_streams_resuming_a_broken_one(kestra: StreamingKestra) -> None:
    recorder = Recorder(kestra.line3_reported)
    with VirtualTimeKestraServer(kestra.url, username="u", password="p") as server:
        execution = server.run(("company.team", "hello"), observers=[recorder])
    assert execution.state is ExecutionState.SUCCESS
    assert execution.outputs == {"t0": {"value": 0}, "t1": {"value": 1}}
    assert [line.message for line in execution.logs] == [f"line {i}" for i in range(5)]
    # each task run and each log line reported once, though both streams started over
    assert sorted(recorder.events[:-1]) == sorted(
        ["start t0", "end t0", "start t1", "end t1", *(f"line {i}" for i in range(5))]
    )
    assert recorder.events.index("line 3") < recorder.events.index("end t1")  # live, before the end
    assert recorder.events.index("end t0") < recorder.events.index("start t1")
    assert recorder.events[-2:] == ["line 4", "ended SUCCESS"]  # line 4: from the logs read at the end
    assert kestra.connections["/api/v1/main/executions/exec1/follow"] == 2
    assert kestra.connections["/api/v1/main/logs/exec1/follow"] == 2
    assert "/api/v1/main/executions/exec1" not in kestra.requests  # never polled
    assert server.clock.sleeps and all(s <= server.retry.max_delay for s in server.clock.sleeps)


def test_follow_an_execution_by_id(kestra: StreamingKestra) -> None:
    kestra.connections["/api/v1/main/executions/exec1/follow"] = 1  # streams that do not break
    kestra.connections["/api/v1/main/logs/exec1/follow"] = 1
    recorder = Recorder(kestra.line3_reported)
    with VirtualTimeKestraServer(kestra.url, username="u", password="p", version="1.3") as server:
        execution = server.follow("exec1", observers=[recorder])
    assert execution.state is ExecutionState.SUCCESS and len(execution.logs) == 5
    assert recorder.events.count("line 0") == 1 and recorder.events[-1] == "ended SUCCESS"
    assert kestra.requests[0] == "/api/v1/main/executions/exec1"  # where it is now, then the streams
    assert server.clock.sleeps == []  # nothing broke: no wait at all


# ---------------------------------------------------------------- async: streaming mock bodies


class ScriptedStreams:
    """A Kestra 2.0 on ``httpx.MockTransport``: each follow connection answers the next script item
    (an error status, or chunks ending with "drop" for a broken connection); the log stream blocks
    after its chunks until the client closes it."""

    def __init__(self, states: list[Any], logs: list[Any]) -> None:
        self.states, self.logs = states, logs
        self.requests: list[str] = []
        self.closed_log_streams = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append(path)
        if path.endswith("/executions/exec1/follow"):
            return self._answer(self.states.pop(0) if len(self.states) > 1 else self.states[0], False)
        if path.endswith("/logs/exec1/follow"):
            return self._answer(self.logs.pop(0) if len(self.logs) > 1 else self.logs[0], True)
        if path.endswith("/executions/exec1"):
            return httpx.Response(200, json=DONE)
        if path.endswith("/logs/exec1"):
            return httpx.Response(200, json=[_line(i) for i in range(3)])
        if path.endswith("/outputs/exec1"):
            return httpx.Response(200, json=[{"taskId": "t1", "taskRunId": "tr1"}])
        if path.endswith("/outputs/exec1/tr1"):
            return httpx.Response(200, json={"value": "from 2.0"})
        return httpx.Response(404, json={"message": f"no {path}"})

    def _answer(self, script: Any, blocks: bool) -> httpx.Response:
        if isinstance(script, int):
            return httpx.Response(script, json={"message": f"status {script}"})
        return httpx.Response(
            200, headers={"Content-Type": "text/event-stream"}, stream=_Body(self, script, blocks)
        )


class _Body(httpx.AsyncByteStream):
    def __init__(self, owner: ScriptedStreams, chunks: list[Any], blocks: bool) -> None:
        self.owner, self.chunks, self.blocks = owner, chunks, blocks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import asyncio

        for chunk in self.chunks:
            if chunk == "drop":
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body"
                )
            yield chunk
        if self.blocks:
            try:
                await asyncio.Event().wait()  # until the client cancels the read
            finally:
                self.owner.closed_log_streams += 1


def _follow_async(fake: ScriptedStreams, **kwargs: Any) -> tuple[Execution, Recorder, float]:
    """``run()`` on an :class:`AsyncKestraServer` over ``fake``, on a virtual-time loop."""
    recorder = Recorder()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(200, json=_execution("CREATED", []))
        return fake(request)

    async def main() -> Execution:
        async with AsyncKestraServer(
            "http://kestra.test", token="t", version="2.0", transport=httpx.MockTransport(handler), **kwargs
        ) as server:
            return await server.run(("company.team", "hello"), observers=[recorder], poll_interval=5)

    execution, took = run_virtual_timed(main())
    return execution, recorder, took


def test_async_resumes_broken_streams_and_reads_2_0_outputs() -> None:
    fake = ScriptedStreams(
        states=[
            [_event(RUNNING_T0) + _event(RUNNING_T1)[:30], "drop"],
            [_event(RUNNING_T1), _event(DONE, "end")],
        ],
        logs=[[_event(_line(0)), "drop"], [_event(_line(0)) + _event(_line(1))]],
    )
    execution, recorder, _ = _follow_async(fake)
    assert execution.state is ExecutionState.SUCCESS
    assert execution.outputs["t1"] == {"value": "from 2.0"}  # 2.0: read from /outputs once ended
    assert sorted(recorder.events[:-1]) == sorted(
        ["start t0", "end t0", "start t1", "end t1", "line 0", "line 1", "line 2"]
    )
    assert recorder.events[-1] == "ended SUCCESS"
    assert fake.requests.count("/api/v1/main/executions/exec1/follow") == 2
    assert "/api/v1/main/executions/exec1" not in fake.requests  # never polled


def test_async_polls_after_repeated_stream_failures() -> None:
    fake = ScriptedStreams(states=[503], logs=[503])
    execution, recorder, took = _follow_async(fake, retry=RetryPolicy(max_attempts=3))
    assert execution.state is ExecutionState.SUCCESS
    assert fake.requests.count("/api/v1/main/executions/exec1/follow") == 3  # then it gave up
    assert fake.requests.count("/api/v1/main/logs/exec1/follow") <= 3  # given up, or stopped at the end
    assert fake.requests.count("/api/v1/main/executions/exec1") == 1  # the first poll saw the end
    assert recorder.events[-4:] == ["line 0", "line 1", "line 2", "ended SUCCESS"]
    assert took >= 5  # backoffs, then one poll_interval: virtual seconds


def test_a_permanent_stream_error_polls_at_once() -> None:
    fake = ScriptedStreams(states=[404], logs=[404])
    execution, _, _ = _follow_async(fake)
    assert execution.state is ExecutionState.SUCCESS
    assert fake.requests.count("/api/v1/main/executions/exec1/follow") == 1
    assert fake.requests.count("/api/v1/main/logs/exec1/follow") <= 1


def test_a_stream_that_never_ends_the_execution_times_out() -> None:
    fake = ScriptedStreams(states=[[_event(RUNNING_T0)]], logs=[[_event(_line(0))]])  # ends, reconnect, ...
    with pytest.raises(
        KestraError, match=r"exec1 of company.team.hello did not end within 30s \(last state: RUNNING\)"
    ):
        _follow_async_timeout(fake)
    assert fake.requests.count("/api/v1/main/executions/exec1/follow") > 2  # resumed while it delivered


def _follow_async_timeout(fake: ScriptedStreams) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(200, json=_execution("CREATED", []))
        return fake(request)

    async def main() -> None:
        async with AsyncKestraServer(
            "http://kestra.test", token="t", version="2.0", transport=httpx.MockTransport(handler)
        ) as server:
            await server.run(("company.team", "hello"), timeout=30)

    run_virtual_timed(main())
