"""A small fault-injecting HTTP proxy on 127.0.0.1, for tests that put it between the client and Airflow.

It runs an asyncio server (streams) on its own event loop in a background thread and handles one
request per client connection: it reads the request, applies the first matching :class:`Fault`
(or none) and otherwise forwards the request upstream with ``Connection: close`` and relays the
whole response, also with ``Connection: close``. Faults:

* ``drop_before``: close the client's connection without forwarding (Airflow never sees it);
* ``drop_after``: forward, let Airflow answer, then close without replying (outcome unknown);
* ``delay``: wait ``seconds`` before forwarding (provokes read timeouts);
* ``status``: answer ``status`` itself (500/503/429, with ``Retry-After`` when given).

:meth:`FaultProxy.stop_listening` / :meth:`FaultProxy.start_listening` close and reopen the port
(connection refused in between). Every request seen is recorded in :attr:`FaultProxy.seen`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

Action = Literal["drop_before", "drop_after", "delay", "status"]


@dataclass
class Fault:
    """One fault, applied to the next ``times`` requests whose method and path match."""

    action: Action
    method: str | None = None
    path_contains: str = ""
    times: int = 1
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0
    applied: int = field(default=0, init=False)

    def matches(self, method: str, path: str) -> bool:
        return (
            self.applied < self.times
            and (self.method is None or self.method == method)
            and self.path_contains in path
        )


@dataclass(frozen=True)
class Seen:
    """A request the proxy received, and what it did with it."""

    method: str
    path: str
    action: str


class FaultProxy:
    """Fault-injecting proxy to ``upstream`` (``http://127.0.0.1:PORT``); use as a context manager."""

    def __init__(self, upstream: str) -> None:
        host_port = upstream.removeprefix("http://").rstrip("/")
        host, _, port = host_port.partition(":")
        self.upstream = (host, int(port or 80))
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self.port = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="fault-proxy")
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self.start_listening()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_listening()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    # ---------------------------------------------------------------- control (from the test thread)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def requests(self, method: str, path_contains: str = "") -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.method == method and path_contains in s.path]

    def start_listening(self) -> None:
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    def stop_listening(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    # ---------------------------------------------------------------- proxying

    def _pick(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.applied += 1
                    self.seen.append(Seen(method, path, fault.action))
                    return fault
            self.seen.append(Seen(method, path, "forward"))
            return None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            request = await _read_request(reader)
            if request is None:
                return
            method, path, raw = request
            fault = self._pick(method, path)
            if fault is not None and fault.action == "drop_before":
                return
            if fault is not None and fault.action == "status":
                headers = f"Retry-After: {fault.retry_after}\r\n" if fault.retry_after is not None else ""
                body = b'{"detail": "injected by the fault proxy"}'
                writer.write(
                    f"HTTP/1.1 {fault.status} Injected\r\nContent-Type: application/json\r\n{headers}"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
                return
            if fault is not None and fault.action == "delay":
                await asyncio.sleep(fault.seconds)
            response = await self._forward(raw)
            if fault is not None and fault.action == "drop_after":
                return
            writer.write(response)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _forward(self, raw: bytes) -> bytes:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        try:
            up_writer.write(raw)
            await up_writer.drain()
            data = await up_reader.read()  # Connection: close → the server closes after answering
        finally:
            up_writer.close()
        head, sep, body = data.partition(b"\r\n\r\n")
        lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
        return b"\r\n".join([*lines, b"Connection: close"]) + sep + body


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes] | None:
    """One HTTP/1.1 request (head + Content-Length body), re-headed with ``Connection: close``."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return None
    lines = head[:-4].split(b"\r\n")
    method, path, _ = lines[0].decode("latin-1").split(" ", 2)
    length = 0
    kept = [lines[0]]
    for line in lines[1:]:
        name = line.split(b":", 1)[0].strip().lower()
        if name == b"content-length":
            length = int(line.split(b":", 1)[1])
        if name not in (b"connection", b"keep-alive"):
            kept.append(line)
    body = await reader.readexactly(length) if length else b""
    return method, path, b"\r\n".join([*kept, b"Connection: close"]) + b"\r\n\r\n" + body


@contextlib.contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    """A running :class:`FaultProxy` in front of ``upstream``."""
    with FaultProxy(upstream) as proxy:
        yield proxy
