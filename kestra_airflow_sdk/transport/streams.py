"""A response whose body is read as it arrives (a server-sent event stream), for both drivers.

An operation opens one with :class:`~.effects.OpenStream`, reads it chunk by chunk with
:class:`~.effects.ReadStream` and ends it with :class:`~.effects.CloseStream`. Another operation of
the same gather may close a stream while a read of it is pending: the read then returns ``b""``
at once (the sync driver shuts the socket down, which wakes a thread blocked in ``recv``; the async
driver cancels the pending read).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Iterator

import httpx

__all__ = ["Stream"]


class Stream:
    """One streamed HTTP response: its status and headers, its body chunk by chunk.

    An error status (>= 400) arrives with its (short) body read and the response closed, so the
    operation can tell what went wrong; :attr:`response` is the response either way.
    """

    def __init__(self, request: httpx.Request, response: httpx.Response) -> None:
        self.request, self.response = request, response
        self.closed = False
        self._lock = threading.Lock()
        self._reading = False
        self._chunks: Iterator[bytes] | None = None
        self._achunks: AsyncIterator[bytes] | None = None
        self._pending: asyncio.Future[bytes] | None = None

    def __repr__(self) -> str:
        return f"Stream({self.request.method} {self.request.url.copy_with(query=None)}, closed={self.closed})"

    @property
    def status_code(self) -> int:
        return self.response.status_code

    # ------------------------------------------------------------------ sync driver

    @classmethod
    def open(cls, http: httpx.Client, request: httpx.Request) -> Stream:
        """Send ``request`` and return once the headers are in (an error status: body read, closed)."""
        response = http.send(request, stream=True)
        if response.status_code >= 400:
            try:
                response.read()
            finally:
                response.close()
        return cls(request, response)

    def read(self) -> bytes:
        """The next chunk of the body; ``b""`` at its end or once closed (a pending read included)."""
        with self._lock:
            if self.closed or self.response.is_closed:
                return b""
            self._reading = True
            if self._chunks is None:
                self._chunks = self.response.iter_bytes()
        try:
            chunk = next(self._chunks, b"")
        except httpx.HTTPError:
            if not self.closed:
                raise
            chunk = b""
        finally:
            with self._lock:
                self._reading = False
                closed = self.closed
            if closed:  # closed during the read: the reading thread releases the response
                self.response.close()
        return b"" if closed else chunk

    def close(self) -> None:
        """End the stream (idempotent); a read pending in another thread returns ``b""``."""
        with self._lock:
            self.closed = True
            if self._reading:  # the reader releases the response once woken
                self._wake_reader()
                return
        self.response.close()

    def _wake_reader(self) -> None:
        """Wake a thread blocked reading the body: shut the socket down (a transport without one,
        such as ``httpx.MockTransport``, is closed instead)."""
        network = self.response.extensions.get("network_stream")
        sock = network.get_extra_info("socket") if network is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        else:
            self.response.close()

    # ------------------------------------------------------------------ async driver

    @classmethod
    async def aopen(cls, http: httpx.AsyncClient, request: httpx.Request) -> Stream:
        """:meth:`open` on an async client."""
        response = await http.send(request, stream=True)
        if response.status_code >= 400:
            try:
                await response.aread()
            finally:
                await response.aclose()
        return cls(request, response)

    async def aread(self) -> bytes:
        """:meth:`read` on an async client: a pending read is cancelled by :meth:`aclose`."""
        if self.closed or self.response.is_closed:
            return b""
        if self._achunks is None:
            self._achunks = self.response.aiter_bytes()
        self._pending = pending = asyncio.ensure_future(_next_chunk(self._achunks))
        try:
            return await pending
        except (asyncio.CancelledError, httpx.HTTPError):
            if self.closed:
                return b""
            raise
        finally:
            self._pending = None

    async def aclose(self) -> None:
        """:meth:`close` on an async client."""
        self.closed = True
        pending = self._pending
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        await self.response.aclose()


async def _next_chunk(chunks: AsyncIterator[bytes]) -> bytes:
    try:
        return await chunks.__anext__()
    except StopAsyncIteration:
        return b""
