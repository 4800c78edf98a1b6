"""Batched waits: every wait of one client on runs of one DAG shares one poll per tick.

A client keeps one :class:`RunPoller`. Each waiter registers its runs, then on each tick asks the
poller to refresh the DAG: if another waiter refreshed it within the waiter's poll period (or is
refreshing it right now), the waiter reads that answer instead of sending its own request. A refresh
sends ONE list request per DAG (one page unless more runs than a page answer it), either

* the runs of the DAG that changed since the previous such request (``updated_at_gte=<its start -
  overlap>``, every run state): the usual tick; or, instead of it,
* the DAG's unfinished runs (``state=queued&state=running``, newest first): when some watched runs
  were never seen (a new waiter) and every ``RECONCILE_EVERY`` seconds. Watched runs missing from it
  have finished: runs never seen before are read one by one (they finished before the wait began);
  runs seen unfinished before show up in the next tick's "changed since" list, which still reaches
  back to before they finished (the discovery tick does not move its time), else are read one by one.

So 100 concurrent ``wait_for_dag_run`` on one DAG (``asyncio.gather``), or one
``wait_for_dag_runs`` of 100 runs, cost one request per tick instead of 100. A waiter that finds
another's refresh in flight waits for it to end (:class:`~kestra_airflow_sdk.transport.effects.Signal`):
it is woken when the answer is there, never polls for it. The whole thing is sans-I/O (it yields
requests, delays, the time and signals), so it serves the sync and async clients alike.

A wait on ONE run (``wait_for_dag_run``, a TriggerDagRun task, a one-run progress display) follows
Airflow's ``/wait`` stream instead, where the server has it (3.1+, :mod:`.wait_stream`) and the
client follows fewer than ``wait_streams`` streams: a line per poll period, no request per tick.
It polls again when the stream is refused, keeps breaking or the server predates it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from ..transport.effects import Delay, Op, Signal, close_stream, now, wait_for
from ..transport.retry import NO_RETRY, is_transient
from ..transport.state import Slot
from . import arguments, lookups
from .arguments import IfPaused
from .errors import AirflowConnectionError, AirflowError, ApiError, InvalidArgumentError, WaitTimeoutError
from .fetch import RunQuery, fetch_runs
from .lookups import check_paused, read_run, read_task_instances
from .models import DagRun, DagRunState, TaskInstance
from .session import Session, logger
from .wait_stream import LineParser, can_stream, open_wait, read_states, streams_of

__all__ = ["OnPoll", "RunPoller", "wait_runs"]

#: how far back the "finished since the previous refresh" filter reaches (covers clock skew between
#: this machine and Airflow's database, and updates committed while a refresh was running)
WAIT_OVERLAP = timedelta(seconds=10)
#: every this many seconds a refresh lists the DAG's unfinished runs instead of the changed ones, so a
#: finish that the time filter missed (a clock skewed by more than the overlap) delays a wait by this
#: much (and one poll) at most
RECONCILE_EVERY = 30.0
#: every state of a run: the "changed since" list asks for all of them
_ALL_STATES = tuple(state.value for state in DagRunState)
_UNFINISHED = (DagRunState.QUEUED.value, DagRunState.RUNNING.value)

RunRef = tuple[str, str]


@dataclass
class _DagState:
    """What the poller knows about the watched runs of one DAG."""

    watchers: Counter[str] = field(default_factory=Counter)
    runs: dict[str, DagRun] = field(default_factory=dict)
    errors: dict[str, AirflowError] = field(default_factory=dict)
    generation: int = 0
    in_flight: bool = False
    #: fired when a refresh ends: the waiters that found it in flight read its answer
    refreshed: Signal = field(default_factory=Signal)
    refreshed_at: float = float("-inf")
    #: the start of the last "changed since" list (or of the first wait): the next one reaches back to it
    changed_since: datetime | None = None
    reconciled_at: float = 0.0
    #: runs seen unfinished before that left the unfinished list: their final state is still to be read
    finishing: set[str] = field(default_factory=set)


class RunPoller:
    """Per-client registry of the runs being waited on, and their latest known state."""

    def __init__(self) -> None:
        self._dags: dict[str, _DagState] = {}

    def watch(self, dag_id: str, run_id: str, now: float) -> None:
        """Register one waiter of a run (``now``: the driver's clock)."""
        state = self._dags.setdefault(dag_id, _DagState(reconciled_at=now))
        if not state.watchers:
            state.changed_since = datetime.now(timezone.utc)
        state.watchers[run_id] += 1

    def unwatch(self, dag_id: str, run_id: str) -> None:
        """Unregister one waiter of a run; forget runs (and DAGs) nobody waits on."""
        state = self._dags.get(dag_id)
        if state is None:
            return
        state.watchers[run_id] -= 1
        if state.watchers[run_id] <= 0:
            del state.watchers[run_id]
            state.runs.pop(run_id, None)
            state.errors.pop(run_id, None)
        if not state.watchers and not state.in_flight:
            del self._dags[dag_id]

    def known(self, dag_id: str, run_id: str) -> DagRun | None:
        """The latest state seen of a watched run, or raise the error reading it gave."""
        state = self._dags[dag_id]
        if run_id in state.errors:
            raise state.errors[run_id]
        return state.runs.get(run_id)

    def generation(self, dag_id: str) -> int:
        """How many refreshes of this DAG have completed."""
        return self._dags[dag_id].generation

    def refresh(self, client: Session, dag_id: str, seen: int, max_age: float) -> Op[None]:
        """Bring the DAG's watched runs up to date, at most once per ``max_age`` seconds for all waiters.

        ``seen`` is the generation the caller last read; a refresh newer than that and younger
        than ``max_age`` (or one in flight) is shared instead of sending new requests.
        """
        state = self._dags[dag_id]
        moment = yield from now()
        while state.in_flight:  # another waiter's refresh is on its way: woken when it has answered
            yield from wait_for(state.refreshed, state.refreshed.fired)
            moment = yield from now()
        # reading the time is no switch to another operation: nothing can start a refresh from here on
        if state.generation > seen and moment - state.refreshed_at < max_age:
            return
        state.in_flight = True
        state.refreshed_at = moment  # what a failed refresh leaves
        try:
            yield from self._refresh(client, dag_id, state)
            state.refreshed_at = yield from now()
        finally:
            state.in_flight = False
            state.generation += 1
            if not state.watchers:
                self._dags.pop(dag_id, None)
            state.refreshed.fire()

    def _refresh(self, client: Session, dag_id: str, state: _DagState) -> Op[None]:
        """One list request (see the module's docstring), then single reads of runs it cannot tell."""
        started = datetime.now(timezone.utc)
        watched = frozenset(state.watchers)
        if len(watched) == 1:  # a lone wait: reading the run itself costs the same one request
            (run_id,) = watched
            try:
                state.runs[run_id] = yield from read_run(client, dag_id, run_id)
                state.errors.pop(run_id, None)
            except AirflowError as exc:
                state.errors[run_id] = exc
            state.changed_since, state.finishing = started, set()
            return
        open_runs = {r for r in watched if not _is_final(state.runs.get(r))}
        if not open_runs:  # every watched run is final already: nothing to ask
            return
        unknown = open_runs - state.runs.keys()  # never seen, or the read of it failed
        # runs that left the unfinished list one refresh ago: this refresh is their last chance to be
        # seen final in a list before they are read one by one
        overdue, state.finishing = state.finishing & open_runs, set()
        ticked = yield from now()
        if unknown or ticked - state.reconciled_at >= RECONCILE_EVERY:
            # the unfinished runs replace this tick's "changed since" list, whose time does not move
            state.reconciled_at = ticked
            found = yield from _list(client, dag_id, watched, _UNFINISHED, None, look_for=open_runs)
            gone = open_runs - found.keys()
            to_read = (gone & unknown) | overdue
            state.finishing = gone - to_read
        else:
            since = state.changed_since or started
            found = yield from _list(client, dag_id, watched, _ALL_STATES, since - WAIT_OVERLAP)
            state.changed_since = started
            to_read = {r for r in overdue if not _is_final(found.get(r))}
        state.runs.update(found)
        for run_id in found:
            state.errors.pop(run_id, None)
        for run_id in sorted(to_read):
            # finished before this wait started, finished unseen by the time filter (a skewed clock),
            # or unknown to Airflow: read it once
            try:
                state.runs[run_id] = yield from read_run(client, dag_id, run_id)
                state.errors.pop(run_id, None)
            except AirflowError as exc:
                state.errors[run_id] = exc


def _list(
    client: Session,
    dag_id: str,
    run_ids: frozenset[str],
    states: Sequence[str],
    updated: datetime | None,
    *,
    look_for: set[str] | None = None,
) -> Op[dict[str, DagRun]]:
    query = RunQuery(
        dag_ids=(dag_id,),
        states=tuple(states),
        updated_since=updated,
        run_ids=run_ids,
        newest_first=look_for is not None,
    )

    def found_all(rows: list[dict[str, Any]]) -> bool:
        return look_for is not None and look_for <= {row.get("dag_run_id") for row in rows}

    rows = yield from fetch_runs(client, query, stop=found_all if look_for else None)
    return {row["dag_run_id"]: DagRun.model_validate(row) for row in rows}


#: the client's poller (created on first use)
POLLER: Slot[RunPoller] = Slot("poller", RunPoller)


def poller_of(client: Session) -> RunPoller:
    """The client's poller (created on first use)."""
    return POLLER.of(client)


def run_refs(runs: Iterable[DagRun | RunRef | Any]) -> list[RunRef]:
    """``DagRun`` objects or ``(dag_id, dag_run_id)`` pairs as validated pairs."""
    refs: list[RunRef] = []
    for index, run in enumerate(runs if not isinstance(runs, (str, DagRun)) else [runs]):
        if isinstance(run, DagRun):
            refs.append((run.dag_id, run.dag_run_id))
        elif isinstance(run, tuple) and len(run) == 2 and all(isinstance(x, str) and x for x in run):
            refs.append((run[0], run[1]))
        else:
            raise InvalidArgumentError(
                f"runs[{index}]: expected a DagRun or a (dag_id, dag_run_id) pair of strings, got {run!r}"
            )
    return refs


#: what a wait calls after each poll of a run: the run, and its task instances when asked for; if it
#: returns an operation (a generator of effects), the wait runs it before going on
OnPoll = Callable[[DagRun, "list[TaskInstance] | None"], object]


def wait_runs(
    client: Session,
    refs: Sequence[RunRef],
    *,
    poll_frequency: float,
    timeout: float,
    if_paused: IfPaused = "warn",
    on_poll: OnPoll | None = None,
    task_instances: bool = False,
) -> Op[list[DagRun]]:
    """Wait until every run is ``success`` or ``failed``; return the final runs in ``refs`` order.

    The one waiting loop of the SDK (``wait_for_dag_run``, ``wait_for_dag_runs``, the progress
    display and the flow runner all come here): runs are read through the client's
    :class:`RunPoller` (one request per DAG per tick, shared with every other wait of the client);
    transient failures (Airflow restarting, 5xx, 429, an expired token) do not end the wait, polling
    goes on with backoff until ``timeout``; a run still queued ``PAUSED_CHECK_AFTER`` seconds in has
    its DAG checked for being paused (see ``if_paused``).

    ``on_poll(run, task_instances)`` is called for each run after every poll that read it, the
    last time with its final state; with ``task_instances=True`` the run's task instances are read
    on each of those polls too (a poll whose task instances could not be read does not count),
    else ``None`` is passed.
    """
    arguments.positive(poll_frequency, "poll_frequency")
    arguments.positive(timeout, "timeout")
    arguments.check_if_paused(if_paused)
    for dag_id, run_id in refs:
        arguments.segment(dag_id, "dag_id")
        arguments.segment(run_id, "dag_run_id")
    poller = poller_of(client)
    started = yield from now()
    for dag_id, run_id in refs:
        poller.watch(dag_id, run_id, started)
    try:
        yield Delay(0)  # let waits started together (asyncio.gather) register before the first poll
        return (
            yield from _Wait(client, poller, refs, if_paused, on_poll, task_instances).loop(
                poll_frequency, timeout
            )
        )
    finally:
        for dag_id, run_id in refs:
            poller.unwatch(dag_id, run_id)


class _Wait:
    """The state of one wait on one or more runs (see :func:`wait_runs`)."""

    def __init__(
        self,
        client: Session,
        poller: RunPoller,
        refs: Sequence[RunRef],
        if_paused: IfPaused,
        on_poll: OnPoll | None,
        task_instances: bool,
    ) -> None:
        self.client, self.poller, self.refs = client, poller, list(refs)
        self.if_paused, self.on_poll, self.task_instances = if_paused, on_poll, task_instances
        self.latest: dict[RunRef, DagRun | None] = dict.fromkeys(self.refs)
        self.seen: dict[str, int] = {}
        self.error: AirflowError | None = None
        self.failures = 0
        self.paused: dict[str, bool | None] = {}
        self.next_paused_check: dict[str, float] = {}

    def loop(self, poll_frequency: float, timeout: float) -> Op[list[DagRun]]:
        started = yield from now()
        for dag_id, _ in self.refs:
            self.next_paused_check[dag_id] = started + lookups.PAUSED_CHECK_AFTER
        streamable = len(self.refs) == 1
        while True:
            failed = False
            pending = [ref for ref in dict.fromkeys(self.refs) if not _is_final(self.latest[ref])]
            for dag_id in dict.fromkeys(dag for dag, _ in pending):
                ok = yield from self._poll_dag(
                    dag_id, [ref for ref in pending if ref[0] == dag_id], poll_frequency
                )
                failed = failed or not ok
            self.failures = self.failures + 1 if failed else 0
            if not failed:
                self.error = None
            if all(_is_final(self.latest[ref]) for ref in self.refs):
                return [run for run in (self.latest[ref] for ref in self.refs) if run is not None]
            waited = (yield from now()) - started
            if waited >= timeout:
                raise self._timeout(timeout, waited)
            if streamable:  # after the first poll (the run in full, or already final): its stream
                streamable = False
                if (yield from self._follow(poll_frequency, timeout, started)):
                    return [run for run in (self.latest[ref] for ref in self.refs) if run is not None]
                waited = (yield from now()) - started
                if waited >= timeout:
                    raise self._timeout(timeout, waited)
            pause = poll_frequency
            if self.failures:
                pause = max(poll_frequency, self.client.retry.backoff(self.failures))
            yield Delay(min(pause, timeout - waited))

    def _poll_dag(self, dag_id: str, refs: list[RunRef], poll_frequency: float) -> Op[bool]:
        """Read the runs of one DAG; False when a transient failure hid one of them this tick."""
        try:
            # one refresh per DAG and tick serves every waiter of this client on that DAG
            yield from self.poller.refresh(self.client, dag_id, self.seen.get(dag_id, -1), poll_frequency)
            self.seen[dag_id] = self.poller.generation(dag_id)
        except AirflowError as exc:
            return self._transient(exc, dag_id, refs[0][1])
        ok = True
        for ref in refs:
            try:
                run = self.poller.known(*ref)
                if run is None:
                    run = yield from read_run(self.client, *ref, retry=NO_RETRY)
            except AirflowError as exc:
                ok = self._transient(exc, *ref) and ok
                continue
            tis = None
            if self.task_instances:
                try:
                    tis = yield from read_task_instances(self.client, *ref)
                except AirflowError as exc:  # read the run again next tick, with its task instances
                    ok = self._transient(exc, *ref) and ok
                    continue
            self.latest[ref] = run
            yield from self._report(run, tis)
        yield from self._check_paused(dag_id, refs)
        return ok

    def _check_paused(self, dag_id: str, refs: list[RunRef]) -> Op[None]:
        """When a run is still queued, check (now and then) whether its DAG is paused."""
        queued = [ref for ref in refs if _state(self.latest[ref]) == DagRunState.QUEUED]
        ticked = yield from now()
        if queued and self.if_paused != "ignore" and ticked >= self.next_paused_check[dag_id]:
            self.next_paused_check[dag_id] = ticked + lookups.PAUSED_CHECK_INTERVAL
            self.paused[dag_id] = yield from check_paused(
                self.client, dag_id, queued[0][1], self.if_paused, warned=bool(self.paused.get(dag_id))
            )

    def _follow(self, poll_frequency: float, timeout: float, started: float) -> Op[bool]:
        """Follow the lone run's ``/wait`` stream until the run is final: True. False to poll
        instead (what was seen kept): the server predates the stream or refuses it, the client
        follows ``wait_streams`` streams already, or it broke ``retry.max_attempts`` times in a
        row (a stream that delivered a line counts as a success), or the next line would come
        after ``timeout`` (the last poll is then at the timeout, as when polling). A read never
        blocks past the timeout: the stream's read timeout is the time left at most."""
        client = self.client
        if not (yield from can_stream(client)):
            return False
        budget = streams_of(client)
        if not budget.take(client.wait_streams):
            return False
        ref = self.refs[0]
        failures = 0
        try:
            while True:
                left = yield from self._left(timeout, started)
                if left < poll_frequency:  # the next line would come after the timeout
                    return False
                delivered = False
                try:
                    stream = yield from open_wait(client, *ref, interval=poll_frequency, left=left)
                    closing = True
                    try:
                        parser = LineParser()
                        while True:
                            for state in (yield from read_states(stream, parser)):
                                delivered = True
                                if (yield from self._streamed(ref, state)):
                                    return True
                            if (yield from self._left(timeout, started)) < poll_frequency:
                                return False  # polled once more at the timeout, as polling does
                            yield from self._check_paused(ref[0], [ref])
                    except GeneratorExit:  # the wait was dropped (a cancelled task): no effect can run now
                        closing = False
                        raise
                    finally:
                        if closing:
                            yield from close_stream(stream)
                except (ApiError, AirflowConnectionError) as exc:
                    failures = 1 if delivered else failures + 1
                    if not is_transient(exc) or failures >= client.retry.max_attempts:
                        logger.info(
                            "Following DAG run %r of DAG %r: %s; polling instead", ref[1], ref[0], exc
                        )
                        return False
                    self.error = exc
                    logger.warning("Following DAG run %r of DAG %r: %s (reopening)", ref[1], ref[0], exc)
                left = yield from self._left(timeout, started)
                yield Delay(min(client.retry.backoff(failures), left))
        finally:
            budget.give_back()

    def _left(self, timeout: float, started: float) -> Op[float]:
        """Seconds left before ``timeout``; raises :class:`WaitTimeoutError` once it has passed."""
        waited = (yield from now()) - started
        if waited >= timeout:
            raise self._timeout(timeout, waited)
        return timeout - waited

    def _streamed(self, ref: RunRef, state: str) -> Op[bool]:
        """One state the stream sent, reported as a poll would be; True once it is final (the
        run then read in full: its end date, its duration)."""
        try:
            parsed = DagRunState(state)
        except ValueError:
            logger.warning("Airflow's /wait stream sent an unknown run state %r (skipped)", state)
            return False
        last = self.latest[ref]
        if parsed.is_final:
            run = yield from read_run(self.client, *ref)
        elif last is not None:
            run = last.model_copy(update={"state": parsed})
        else:
            run = DagRun(dag_id=ref[0], dag_run_id=ref[1], state=parsed)
        tis = (yield from read_task_instances(self.client, *ref)) if self.task_instances else None
        self.latest[ref] = run
        self.error = None
        yield from self._report(run, tis)
        return _is_final(run)

    def _report(self, run: DagRun, tis: list[TaskInstance] | None) -> Op[None]:
        """Tell ``on_poll`` about a run just read (polled or streamed), and run the operation it
        may give back (e.g. a display's read of the run's pending human-in-the-loop request)."""
        if self.on_poll is not None:
            more = self.on_poll(run, tis)
            if isinstance(more, Generator):
                yield from more

    def _transient(self, exc: AirflowError, dag_id: str, run_id: str) -> bool:
        if not is_transient(exc):
            raise exc
        self.error = exc
        logger.warning("Waiting for DAG run %r of DAG %r: %s (will keep trying)", run_id, dag_id, exc)
        return False

    def _timeout(self, timeout: float, waited: float) -> WaitTimeoutError:
        open_refs = [ref for ref in self.refs if not _is_final(self.latest[ref])]
        states = [str(_state(self.latest[ref]) or "unknown") for ref in open_refs]
        if len(self.refs) == 1:
            dag_id, run_id = open_refs[0]
            run = self.latest[open_refs[0]]
            message = f"DAG run {run_id!r} of DAG {dag_id!r} did not finish within {timeout:g}s: waited {waited:.1f}s, "
            message += (
                f"last state seen {states[0]}" if run is not None else "no state seen (every poll failed)"
            )
        else:
            shown = ", ".join(f"{d}/{r}: {s}" for (d, r), s in zip(open_refs[:5], states, strict=False))
            message = (
                f"{len(open_refs)} of {len(self.refs)} DAG runs did not finish within {timeout:g}s: "
                f"waited {waited:.1f}s, still open: {shown}{', ...' if len(open_refs) > 5 else ''}"
            )
        if self.error is not None:
            message += f"; the last poll failed: {self.error}"
        paused = sorted(
            {
                d
                for (d, r) in open_refs
                if self.paused.get(d) and _state(self.latest[(d, r)]) == DagRunState.QUEUED
            }
        )
        runs = "the run stays" if len(self.refs) == 1 else "its runs stay"
        for dag_id in paused:
            message += f"; DAG {dag_id!r} is paused, so {runs} queued until it is unpaused"
        last = _state(self.latest[open_refs[0]]) if open_refs else None
        return WaitTimeoutError(message, waited=waited, last_state=None if last is None else str(last))


def _state(run: DagRun | None) -> DagRunState | None:
    return None if run is None else run.state


def _is_final(run: DagRun | None) -> bool:
    return run is not None and run.state is not None and run.state.is_final
