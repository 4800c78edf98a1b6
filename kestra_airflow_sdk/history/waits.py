"""Batched waits: every wait of one client on runs of one DAG shares one poll per tick.

A client keeps one :class:`RunPoller`. Each waiter registers its runs, then on each tick asks the
poller to refresh the DAG: if another waiter refreshed it within the waiter's poll period (or is
refreshing it right now), the waiter reads that answer instead of sending its own request. A refresh
costs, per DAG:

* once for runs whose state is not known yet: the DAG's unfinished runs
  (``state=queued&state=running``; runs absent from it are finished and are read one by one),
* then one request per tick: the runs of the DAG that finished since the previous refresh
  (``state=success&state=failed&updated_at_gte=<previous refresh - overlap>``).

So 100 concurrent ``wait_for_dag_run`` on one DAG (``asyncio.gather``), or one
``wait_for_dag_runs`` of 100 runs, cost one request per tick instead of 100. The whole thing is
sans-I/O (it yields requests and :class:`Sleep`), so it serves the sync and async clients alike.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from ..airflow import core
from ..airflow.core import ClientCore, Op, Sleep
from ..airflow.errors import AirflowError, InvalidArgumentError, WaitTimeoutError
from ..airflow.models import DagRun
from .fetch import RunQuery, fetch_runs
from .state import per_client

__all__ = ["RunPoller", "wait_runs"]

#: how far back the "finished since the previous refresh" filter reaches (covers clock skew between
#: this machine and Airflow's database, and updates committed while a refresh was running)
WAIT_OVERLAP = timedelta(seconds=10)
#: every this many seconds a refresh looks again at the DAG's unfinished runs, so a finish that the
#: time filter missed (a clock skewed by more than the overlap) delays a wait by this much at most
RECONCILE_EVERY = 30.0
#: how often a waiter checks whether another waiter's refresh has answered
_SETTLE = 0.01

RunRef = tuple[str, str]


@dataclass
class _DagState:
    """What the poller knows about the watched runs of one DAG."""

    watchers: Counter[str] = field(default_factory=Counter)
    runs: dict[str, DagRun] = field(default_factory=dict)
    errors: dict[str, AirflowError] = field(default_factory=dict)
    generation: int = 0
    in_flight: bool = False
    refreshed_at: float = float("-inf")
    finished_since: datetime | None = None
    reconciled_at: float = field(default_factory=time.monotonic)


class RunPoller:
    """Per-client registry of the runs being waited on, and their latest known state."""

    def __init__(self) -> None:
        self._dags: dict[str, _DagState] = {}

    def watch(self, dag_id: str, run_id: str) -> None:
        """Register one waiter of a run."""
        state = self._dags.setdefault(dag_id, _DagState())
        if not state.watchers:
            state.finished_since = datetime.now(timezone.utc)
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

    def refresh(self, client: ClientCore, dag_id: str, seen: int, max_age: float) -> Op[None]:
        """Bring the DAG's watched runs up to date, at most once per ``max_age`` seconds for all waiters.

        ``seen`` is the generation the caller last read; a refresh newer than that and younger
        than ``max_age`` (or one in flight) is shared instead of sending new requests.
        """
        state = self._dags[dag_id]
        while state.in_flight:  # another waiter's refresh is on its way: use its answer
            yield Sleep(_SETTLE)
        if state.generation > seen and time.monotonic() - state.refreshed_at < max_age:
            return
        state.in_flight = True
        try:
            yield from self._refresh(client, dag_id, state)
        finally:
            state.in_flight = False
            state.generation += 1
            state.refreshed_at = time.monotonic()
            if not state.watchers:
                self._dags.pop(dag_id, None)

    def _refresh(self, client: ClientCore, dag_id: str, state: _DagState) -> Op[None]:
        started = datetime.now(timezone.utc)
        watched = frozenset(state.watchers)
        if len(watched) == 1:  # a lone wait: reading the run itself costs the same one request
            (run_id,) = watched
            try:
                state.runs[run_id] = yield from client._get_run(dag_id, run_id)
                state.errors.pop(run_id, None)
            except AirflowError as exc:
                state.errors[run_id] = exc
            state.finished_since = started
            return
        if time.monotonic() - state.reconciled_at >= RECONCILE_EVERY:
            state.reconciled_at = time.monotonic()
            for run_id in [r for r, run in state.runs.items() if not _is_final(run)]:
                del state.runs[run_id]
        unknown = {run_id for run_id in watched if run_id not in state.runs and run_id not in state.errors}
        if unknown:
            # the DAG's unfinished runs, newest first, until every run not seen yet is found (the
            # runs waited on are usually the newest): absent ones have finished already
            running = yield from _list(client, dag_id, watched, ("queued", "running"), None, look_for=unknown)
            state.runs.update(running)
            _clear_errors(state, running)
        since = state.finished_since or started
        finished = yield from _list(client, dag_id, watched, ("success", "failed"), since - WAIT_OVERLAP)
        state.runs.update(finished)
        _clear_errors(state, finished)
        state.finished_since = started
        for run_id in sorted(unknown - state.runs.keys()):
            # finished before this wait started (or unknown to Airflow): read it once
            try:
                state.runs[run_id] = yield from client._get_run(dag_id, run_id)
            except AirflowError as exc:
                state.errors[run_id] = exc


def _clear_errors(state: _DagState, runs: dict[str, DagRun]) -> None:
    for run_id in runs:
        state.errors.pop(run_id, None)


def _list(
    client: ClientCore,
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


def poller_of(client: ClientCore) -> RunPoller:
    """The client's poller (created on first use)."""
    return per_client(client, "poller", RunPoller)


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


def wait_runs(
    client: ClientCore, refs: Sequence[RunRef], *, poll_frequency: float, timeout: float
) -> Op[list[DagRun]]:
    """Wait until every run is ``success`` or ``failed``; return the final runs in ``refs`` order."""
    core._positive(poll_frequency, "poll_frequency")
    core._positive(timeout, "timeout")
    for dag_id, run_id in refs:
        core._segment(dag_id, "dag_id")
        core._segment(run_id, "dag_run_id")
    poller = poller_of(client)
    for dag_id, run_id in refs:
        poller.watch(dag_id, run_id)
    started = time.monotonic()
    seen: dict[str, int] = {}
    try:
        yield Sleep(0)  # let waits started together (asyncio.gather) register before the first poll
        while True:
            pending = [ref for ref in refs if not _is_final(poller.known(*ref))]
            for dag_id in dict.fromkeys(dag for dag, _ in pending):
                yield from poller.refresh(client, dag_id, seen.get(dag_id, -1), poll_frequency)
                seen[dag_id] = poller.generation(dag_id)
            latest = [poller.known(*ref) for ref in refs]
            if all(_is_final(run) for run in latest):
                return [run for run in latest if run is not None]
            waited = time.monotonic() - started
            if waited >= timeout:
                raise _timeout(refs, latest, timeout, waited)
            yield Sleep(min(poll_frequency, timeout - waited))
    finally:
        for dag_id, run_id in refs:
            poller.unwatch(dag_id, run_id)


def _is_final(run: DagRun | None) -> bool:
    return run is not None and run.state is not None and run.state.is_final


def _timeout(
    refs: Sequence[RunRef], latest: Sequence[DagRun | None], timeout: float, waited: float
) -> WaitTimeoutError:
    open_runs = [(ref, run) for ref, run in zip(refs, latest, strict=False) if not _is_final(run)]
    states = [
        str(run.state) if run is not None and run.state is not None else "unknown" for _, run in open_runs
    ]
    if len(refs) == 1:
        (dag_id, run_id), _ = open_runs[0]
        what = f"DAG run {run_id!r} of DAG {dag_id!r} did not finish"
        detail = f"last state {states[0]}"
    else:
        what = f"{len(open_runs)} of {len(refs)} DAG runs did not finish"
        shown = ", ".join(
            f"{ref[0]}/{ref[1]}: {state}" for (ref, _), state in zip(open_runs[:5], states, strict=False)
        )
        detail = f"still open: {shown}{', ...' if len(open_runs) > 5 else ''}"
    return WaitTimeoutError(
        f"{what} within {timeout:g}s: waited {waited:.1f}s, {detail}", waited=waited, last_state=states[0]
    )
