"""Airflow's ``GET /dags/{dag_id}/dagRuns/{dag_run_id}/wait`` stream, which a wait follows instead of polling.

The endpoint (Airflow 3.1.0 and later; "experimental" in the OpenAPI spec) answers NDJSON: a line
``{"state": "queued"}`` with the run's state as it is, then one line every ``interval`` seconds
(the server reads the run from its database that often), the last one with a final state (and the
run's result XComs, which the SDK does not use). ``services/public/dag_run.py::DagRunWaiter`` in
Airflow's source.

This module opens the stream and parses its lines; :mod:`.waits` decides when a wait streams and
falls back to polling. A client follows at most ``wait_streams`` streams at once
(:class:`StreamBudget`): each one holds a connection and costs the server a database read per
interval, so many concurrent waits poll, batched, instead (docs/client.md, "Waits that stream").
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

from ..transport.effects import Op, open_stream, read_stream
from ..transport.state import Slot
from ..transport.streams import Stream
from .arguments import segment
from .errors import AirflowConnectionError, error_from_response
from .features import Feature, supports
from .session import Session, logger

__all__ = [
    "WAIT_STREAM",
    "LineParser",
    "StreamBudget",
    "can_stream",
    "open_wait",
    "read_states",
    "streams_of",
]

#: the ``/wait`` endpoint (apache/airflow#51920, released in 3.1.0)
WAIT_STREAM = Feature("streamed waits (GET /dags/{dag_id}/dagRuns/{dag_run_id}/wait)", "3.1.0")
#: answers that say the server (or a proxy before it) does not serve the stream at all: every
#: later wait of the client polls; any other refusal sends only this wait to polling
REFUSING = frozenset({403, 404, 405, 406, 501})


@dataclass
class StreamBudget:
    """The streams one client follows right now, and whether its server refuses them."""

    open: int = 0
    #: why the server refuses ``/wait`` (then the client's waits poll), or None
    refused: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, limit: int) -> bool:
        """Count one more stream if fewer than ``limit`` are open (and the server serves them)."""
        with self._lock:
            if self.refused is not None or self.open >= limit:
                return False
            self.open += 1
            return True

    def give_back(self) -> None:
        """A stream has ended."""
        with self._lock:
            self.open -= 1


#: the client's stream budget (created on first use)
_STREAMS: Slot[StreamBudget] = Slot("wait streams", StreamBudget)


def streams_of(client: Session) -> StreamBudget:
    """The client's :class:`StreamBudget`."""
    return _STREAMS.of(client)


def can_stream(client: Session) -> Op[bool]:
    """Operation: whether the client's server serves ``/wait`` and the client may stream waits."""
    if client.wait_streams <= 0 or streams_of(client).refused is not None:
        return False
    return (yield from supports(client, WAIT_STREAM))


def open_wait(client: Session, dag_id: str, run_id: str, *, interval: float, left: float) -> Op[Stream]:
    """Operation: the open ``/wait`` stream of one run, lines every ``interval`` seconds.

    A read fails after ``interval`` plus the client's read timeout without a line (the server
    sends one every interval: silence means a broken stream), or once the wait's ``left``
    seconds have passed, whichever comes first. Raises the SDK's error
    for an error status (and, for one in :data:`REFUSING` that is not about the run, remembers
    that the server refuses streams), :class:`AirflowConnectionError` when Airflow is unreachable.
    """
    dialect = yield from client._dialect()
    path = f"{dialect.prefix}/dags/{segment(dag_id, 'dag_id')}/dagRuns/{segment(run_id, 'dag_run_id')}/wait"
    request = client._build_request(
        "GET", path, params={"interval": f"{interval:g}"}, headers={"Accept": "application/x-ndjson"}
    )
    configured = client._http.timeout
    silence = left if configured.read is None else min(left, interval + configured.read)
    request.extensions["timeout"] = configured.as_dict() | {"read": max(silence, 0.001)}
    stream = yield from open_stream(request)
    if stream.status_code < 400:
        return stream
    error = error_from_response(
        stream.response, action=f"Following DAG run {run_id!r} of DAG {dag_id!r} (GET .../wait)"
    )
    if stream.status_code in REFUSING and not _about_the_run(error.detail):
        streams_of(client).refused = str(error)
        logger.info("Airflow refuses the /wait stream (%s): waits of this client poll", error)
    raise error


def _about_the_run(detail: object) -> bool:
    """Whether a refusal is about the run or its DAG (unknown, not allowed to read it) rather
    than about the endpoint (a 404 "Not Found" of a server or proxy without the route)."""
    return isinstance(detail, str) and ("DagRun" in detail or "Dag " in detail or "dag_id" in detail)


class LineParser:
    """Feed it the body's chunks; it returns the run states the lines each chunk completes carry."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> list[str]:
        """The states of the lines ``chunk`` completes (a partial line waits for the next chunk);
        a line that is not ``{"state": ...}`` is skipped, with a warning."""
        lines = (self._pending + chunk).split(b"\n")
        self._pending = lines.pop()
        return [state for line in lines if line.strip() and (state := _state(line)) is not None]


def _state(line: bytes) -> str | None:
    try:
        body = json.loads(line)
    except ValueError:
        body = None
    state = body.get("state") if isinstance(body, dict) else None
    if not isinstance(state, str):
        logger.warning("Airflow's /wait stream sent a line without a state (skipped): %r", line[:200])
        return None
    return state


def read_states(stream: Stream, parser: LineParser) -> Op[list[str]]:
    """Operation: the states of the stream's next chunk (maybe none).

    Raises :class:`AirflowConnectionError` (transient) when the stream ends: a stream ends after
    its final state, which the caller stops at, so an end before it is a break."""
    chunk = yield from read_stream(stream)
    if not chunk:
        raise AirflowConnectionError(
            "Airflow's /wait stream ended before the run did",
            method="GET",
            url=str(stream.request.url.copy_with(query=None)),
        )
    return parser.feed(chunk)
