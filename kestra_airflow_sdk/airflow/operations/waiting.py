"""Waiting for DAG runs to finish: one run, or many at once (see :mod:`..waits` for the loop)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ...transport.effects import Op
from ...transport.operation import operation
from ..arguments import IfPaused
from ..models import DagRun, TaskInstance
from ..session import Session
from ..waits import OnPoll, RunRef, run_refs, wait_runs

__all__ = ["WaitOperations"]


class WaitOperations(Session):
    """``wait_for_dag_run`` and ``wait_for_dag_runs`` of both clients."""

    @operation
    def wait_for_dag_run(
        self,
        dag_id: str,
        dag_run_id: str,
        *,
        poll_frequency: float = 1.0,
        timeout: float = 3600.0,
        if_paused: IfPaused = "warn",
        on_poll: Callable[[DagRun, list[TaskInstance] | None], object] | None = None,
        task_instances: bool = False,
    ) -> Op[DagRun]:
        """Wait until a DAG run is ``success`` or ``failed`` and return the final run.

        On Airflow 3.1+ the wait follows the server's ``/wait`` stream (one line per
        ``poll_frequency``, no request per tick) while the client follows fewer than
        ``wait_streams`` streams; otherwise, or when the stream is refused or keeps breaking, it
        polls (docs/client.md, "Waits that stream").
        Concurrent polled waits of one client (e.g. ``asyncio.gather``) share one poll per DAG per tick.
        Transient failures (Airflow restarting, connection refused, 5xx, 429, an expired token,
        which is renewed) do not end the wait: polling goes on, with backoff, until ``timeout``.

        Args:
            poll_frequency: seconds between two polls.
            timeout: seconds to wait in total.
            if_paused: when the run is still queued 15 s into the wait, its DAG is checked (then every minute);
                when the DAG is paused, ``"warn"`` emits a :class:`DagPausedWarning` once,
                ``"raise"`` raises :class:`DagPausedError`, ``"ignore"`` does not check.
            on_poll: called as ``on_poll(run, task_instances)`` after every poll or streamed line,
                the last time with the final run (e.g. ``RunProgress.update``, or your own logging).
            task_instances: also read the run's task instances at each poll and pass them to
                ``on_poll`` (one more request per poll); otherwise ``on_poll`` gets ``None``.

        Raises:
            WaitTimeoutError: the run was not final after ``timeout`` seconds (the message says how
                long it waited, the last state seen, the last error and whether the DAG is paused).
            DagPausedError: the DAG is paused and ``if_paused="raise"``.
        """
        (run,) = yield from wait_runs(
            self,
            [(dag_id, dag_run_id)],
            poll_frequency=poll_frequency,
            timeout=timeout,
            if_paused=if_paused,
            on_poll=on_poll,
            task_instances=task_instances,
        )
        return run

    @operation
    def wait_for_dag_runs(
        self,
        runs: Iterable[DagRun | RunRef],
        *,
        poll_frequency: float = 1.0,
        timeout: float = 3600.0,
        if_paused: IfPaused = "warn",
        on_poll: OnPoll | None = None,
        task_instances: bool = False,
    ) -> Op[list[DagRun]]:
        """Wait until every run is ``success`` or ``failed``; return the final runs, in order.

        Polls per DAG, not per run: one list request per DAG per tick serves every run of that DAG
        (and every other wait of this client on it, e.g. concurrent ``wait_for_dag_run`` calls).
        Transient failures do not end the wait (see :meth:`wait_for_dag_run`).

        Args:
            runs: :class:`DagRun` objects (e.g. what :meth:`trigger_dag_run` returned) or
                ``(dag_id, dag_run_id)`` pairs.
            poll_frequency: seconds between polls.
            timeout: seconds before :class:`WaitTimeoutError`.
            if_paused: what to do when a run stays queued because its DAG is paused (as in
                :meth:`wait_for_dag_run`).
            on_poll: called as ``on_poll(run, task_instances)`` for each run after every poll.
            task_instances: also read each unfinished run's task instances for ``on_poll``.
        """
        refs = run_refs(runs)
        return (
            yield from wait_runs(
                self,
                refs,
                poll_frequency=poll_frequency,
                timeout=timeout,
                if_paused=if_paused,
                on_poll=on_poll,
                task_instances=task_instances,
            )
        )
