"""Following an execution to its end: Kestra's event streams as things happen, polling as the fallback.

Two operations run side by side (one :func:`~kestra_airflow_sdk.transport.effects.gather`, so the
sync and the async server share them):

* **states** read ``GET /executions/{id}/follow``: Kestra sends the execution as it is now, then
  again at every change, and an event with id ``end`` once it has ended (``ExecutionController.follow``);
* **logs** read ``GET /logs/{id}/follow``: Kestra sends the lines stored so far, then each new one,
  and never ends the stream by itself (``ExecutionLogService.streamExecutionLogs``); the states
  operation closes it when the execution has ended.

A stream that breaks (a dropped connection, a read timeout on a quiet stream, a 5xx) is opened
again after a backoff; Kestra then starts over (the execution as it is, every stored line), and
what was already reported is not reported again. After ``retry.max_attempts`` failures in a row
(a stream that delivered something counts as a success), or at once on a permanent error status
(the endpoint is not there, e.g. behind a proxy), states are polled instead (``GET
/executions/{id}`` every ``poll_interval``), and the log lines are read once at the end.

Either way the end is the same: on 2.0 the task runs' outputs are read, then ``GET /logs/{id}``
gives every line (those not streamed yet are reported then), and the observers see the end.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..flows.execution import Execution
from ..flows.observer import Observer
from ..transport.effects import Delay, Op, close_stream, gather, now, read_stream
from ..transport.retry import NO_RETRY
from ..transport.streams import Stream
from .errors import KestraApiError, KestraConnectionError, KestraError
from .executions import TERMINAL, ReportedProgress, execution_from_kestra, kestra_state, log_entry_from_kestra
from .models import KestraLogEntry
from .session import segment
from .sse import EventParser, ServerSentEvent

if TYPE_CHECKING:
    from .server import KestraOperations

__all__ = ["follow_execution"]

logger = logging.getLogger("kestra_airflow_sdk.kestra")

#: what makes a log line the same line when a resumed stream sends it again
LogKey = tuple[str | None, int | None, str | None, str | None, str | None]


@dataclass
class _Following:
    """What the two operations of one follow share (their code runs one step at a time: no lock)."""

    server: KestraOperations
    body: dict[str, Any]
    types: dict[str, str]
    reported: ReportedProgress
    started: float
    timeout: float
    ended: bool = False
    log_stream: Stream | None = None
    seen: set[LogKey] = field(default_factory=set)
    execution: Execution = field(init=False)

    def __post_init__(self) -> None:
        self.execution = execution_from_kestra(self.body, self.types)

    @property
    def id(self) -> str:
        return str(self.body["id"])

    def where(self) -> str:
        return f"execution {self.id} of {self.body.get('namespace')}.{self.body.get('flowId')}"

    def update(self, body: Any) -> None:
        """A new snapshot of the execution: reported to the observers."""
        if isinstance(body, dict) and body.get("id") == self.id:
            self.body, self.execution = body, execution_from_kestra(body, self.types)
            self.reported.update(self.execution)

    def check_time(self, error: str = "") -> Op[float]:
        """Seconds left before the timeout; raises once it has passed."""
        waited = (yield from now()) - self.started
        if waited >= self.timeout:
            raise KestraError(
                f"{_cap(self.where())} did not end within {self.timeout:g}s "
                f"(last state: {kestra_state(self.body) or 'unknown'})" + error
            )
        return self.timeout - waited

    def log(self, entry: KestraLogEntry) -> None:
        """Report a log line unless it was reported already."""
        key = (entry.task_run_id, entry.attempt_number, _iso(entry), entry.level, entry.message)
        if key not in self.seen:
            self.seen.add(key)
            self.reported.log(self.execution, log_entry_from_kestra(entry))


def _iso(entry: KestraLogEntry) -> str | None:
    return entry.timestamp.isoformat() if entry.timestamp else None


def follow_execution(
    server: KestraOperations,
    body: Any,
    types: dict[str, str],
    *,
    poll_interval: float,
    timeout: float,
    observers: list[Observer],
    stream: bool = True,
) -> Op[Execution]:
    """Operation: follow the execution ``body`` (as Kestra answered it) to its end; the final
    :class:`Execution`, with its outputs and log lines (see the module docstring)."""
    if not isinstance(body, dict) or not body.get("id"):
        raise KestraError(f"Kestra's answer is not an execution: {str(body)[:200]!r}")
    following = _Following(server, body, types, ReportedProgress(observers), (yield from now()), timeout)
    following.reported.update(following.execution)
    if kestra_state(body) not in TERMINAL:
        streamed = False
        if stream:
            outcomes = yield from gather([_states(following), _logs(following)], 2)
            streamed = bool(outcomes[0])
        if not streamed:
            yield from _poll(following, poll_interval)
    return (yield from _finish(following))


def _events(stream: Stream, parser: EventParser) -> Op[list[ServerSentEvent] | None]:
    """The events of the stream's next chunk (maybe none), or None at its end."""
    chunk = yield from read_stream(stream)
    return parser.feed(chunk) if chunk else None


def _json(event: ServerSentEvent, what: str) -> Any:
    try:
        return json.loads(event.data)
    except ValueError:
        logger.warning("Kestra sent %s that is not JSON (skipped): %r", what, event.data[:200])
        return None


def _gave_up(following: _Following, what: str, failures: int, exc: KestraError) -> bool:
    """Whether a failed stream is given up (a permanent error, or too many failures in a row)."""
    permanent = isinstance(exc, (KestraApiError, KestraConnectionError)) and not exc.transient
    if permanent or failures >= following.server.retry.max_attempts:
        logger.warning("Following the %s of %s: %s; %s", what, following.where(), exc, _FALLBACK[what])
        return True
    logger.warning("Following the %s of %s: %s (reconnecting)", what, following.where(), exc)
    return False


_FALLBACK = {"states": "polling instead", "logs": "its log lines are read when it ends"}


def _states(following: _Following) -> Op[bool]:
    """Follow ``/executions/{id}/follow`` until the execution ends: True, or False to poll instead."""
    server, path = following.server, f"/executions/{segment(following.id)}/follow"
    failures = 0
    try:
        while True:
            yield from following.check_time()
            delivered = False
            try:
                stream = yield from server._open_events(path, action=f"Following {following.where()}")
                try:
                    parser = EventParser()
                    while (events := (yield from _events(stream, parser))) is not None:
                        for event in events:
                            delivered = True
                            following.update(_json(event, "an execution event"))
                            if event.id == "end" or kestra_state(following.body) in TERMINAL:
                                return True
                        yield from following.check_time()
                finally:
                    yield from close_stream(stream)
                raise KestraConnectionError("the stream ended before the execution did", transient=True)
            except (KestraApiError, KestraConnectionError) as exc:
                failures = 1 if delivered else failures + 1
                if _gave_up(following, "states", failures, exc):
                    return False
            yield Delay(min(server.retry.backoff(failures), (yield from following.check_time())))
    finally:  # the log stream never ends by itself
        following.ended = True
        if following.log_stream is not None:
            yield from close_stream(following.log_stream)


def _logs(following: _Following) -> Op[None]:
    """Follow ``/logs/{id}/follow`` until the states operation has seen the end (best effort:
    ``_finish`` reads every line anyway)."""
    server, path = following.server, f"/logs/{segment(following.id)}/follow"
    failures = 0
    while not following.ended:
        delivered = False
        try:
            stream = yield from server._open_events(path, action=f"Following the logs of {following.where()}")
            if following.ended:  # ended while this stream was being opened
                yield from close_stream(stream)
                return
            following.log_stream = stream
            try:
                parser = EventParser()
                while (events := (yield from _events(stream, parser))) is not None:
                    for event in events:
                        delivered = True
                        _log_event(following, _json(event, "a log event"))
            finally:
                following.log_stream = None
                yield from close_stream(stream)
            if following.ended:
                return
            raise KestraConnectionError("the stream ended before the execution did", transient=True)
        except (KestraApiError, KestraConnectionError) as exc:
            failures = 1 if delivered else failures + 1
            if following.ended or _gave_up(following, "logs", failures, exc):
                return
        yield Delay(server.retry.backoff(failures))


def _log_event(following: _Following, data: Any) -> None:
    try:
        entry = KestraLogEntry.model_validate(data)
    except ValueError:
        logger.warning("Kestra sent a log event of another shape (skipped): %r", str(data)[:200])
        return
    following.log(entry)


def _poll(following: _Following, poll_interval: float) -> Op[None]:
    """Poll ``GET /executions/{id}`` until the execution ends, riding through transient failures."""
    server = following.server
    failures, error = 0, ""
    while kestra_state(following.body) not in TERMINAL:
        left = yield from following.check_time(error)
        pause = max(poll_interval, server.retry.backoff(failures)) if failures else poll_interval
        yield Delay(min(pause, left))
        try:  # one attempt per tick: the next tick is the retry
            body = yield from server._read_execution(following.id, NO_RETRY)
        except (KestraApiError, KestraConnectionError) as exc:
            if not exc.transient:
                raise KestraError(f"Waiting for {following.where()} stopped: {exc}") from None
            failures, error = failures + 1, f"; last poll failed: {exc}"
            logger.warning("Waiting for execution %s: %s (will keep trying)", following.id, exc)
            continue
        failures, error = 0, ""
        if not isinstance(body, dict) or not body.get("id"):
            raise KestraError(f"Kestra's answer is not an execution: {str(body)[:200]!r}")
        following.update(body)


def _finish(following: _Following) -> Op[Execution]:
    """The ended execution with its outputs (read on 2.0) and every log line; observers told."""
    server, execution = following.server, following.execution
    if execution.task_runs:  # on 2.0, the outputs are not in the body
        try:
            following.update((yield from server._with_outputs(following.body)))
        except KestraError as exc:
            raise KestraError(
                f"{_cap(following.where())} ended {execution.state}, but its task outputs could not "
                f"be read: {exc}"
            ) from None
        execution = following.execution
    try:
        entries = yield from type(server).logs.fn(server, execution.id)
    except KestraError as exc:  # the execution ended: return it, without its log lines
        logger.warning(
            "execution %s ended %s, but its logs could not be read: %s", execution.id, execution.state, exc
        )
        entries = []
    for entry in entries:
        following.log(entry)
    execution.logs = [log_entry_from_kestra(entry) for entry in entries]
    following.reported.end(execution)
    return execution


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
