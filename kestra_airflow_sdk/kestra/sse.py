"""Server-sent events (``text/event-stream``), parsed incrementally as the chunks arrive.

Kestra's follow endpoints (``/executions/{id}/follow``, ``/logs/{id}/follow``) are Micronaut
``Flux<Event<T>>``: each event is ``id: progress`` (``id: end`` for the execution's last one) and
one ``data:`` line of JSON, then a blank line. The parser follows the WHATWG rules (lines ending in
``\\n``, ``\\r\\n`` or ``\\r``; ``:`` comments; several ``data:`` lines joined by ``\\n``), whatever
the chunk boundaries.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

__all__ = ["EventParser", "ServerSentEvent"]


@dataclass(frozen=True)
class ServerSentEvent:
    """One event: its ``data`` (lines joined), its ``id`` and ``event`` name when sent."""

    data: str
    id: str | None = None
    event: str | None = None


class EventParser:
    """Feed it the body's chunks; it returns the events each chunk completes."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._event: str | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events completed by ``chunk`` (a partial line or event waits for the next chunk)."""
        text = self._pending + self._decoder.decode(chunk)
        if text.endswith("\r"):  # maybe the first half of "\r\n": wait for the next chunk
            text, self._pending = text[:-1], "\r"
        else:
            self._pending = ""
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._pending = lines.pop() + self._pending  # the unfinished last line
        events: list[ServerSentEvent] = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:  # a blank line dispatches the event, if it has data
            event = ServerSentEvent("\n".join(self._data), self._id, self._event) if self._data else None
            self._data, self._id, self._event = [], None, None
            return event
        if line.startswith(":"):  # a comment (a keep-alive)
            return None
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "data":
            self._data.append(value)
        elif field == "id" and "\0" not in value:
            self._id = value
        elif field == "event":
            self._event = value
        return None
