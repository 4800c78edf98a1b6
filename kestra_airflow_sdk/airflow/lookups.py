"""Reading one DAG or one DAG run, and what a paused DAG means for a trigger or a wait.

Building blocks shared by the operations of the client and the waiting loop (:mod:`.waits`).
"""

from __future__ import annotations

import warnings

from .arguments import IfPaused, segment
from .effects import Op
from .errors import AirflowError, DagPausedError, DagPausedWarning
from .models import Dag, DagRun, TaskInstance
from .pagination import paginate
from .retry import NO_RETRY, RetryPolicy, is_transient
from .session import Session, logger
from .state import per_client

__all__ = [
    "PAUSED_CHECK_AFTER",
    "PAUSED_CHECK_INTERVAL",
    "check_paused",
    "paused_dag",
    "read_dag",
    "read_run",
    "read_task_instances",
]

#: a waited-on run queued this long (seconds) gets its DAG checked for being paused, and again
#: every PAUSED_CHECK_INTERVAL while it stays queued (runs of an active DAG start within seconds)
PAUSED_CHECK_AFTER = 15.0
PAUSED_CHECK_INTERVAL = 60.0


def read_dag(session: Session, dag_id: str, retry: RetryPolicy | None = None) -> Op[Dag]:
    """Operation: one DAG (``retry``: another policy than the client's)."""
    body = yield from session.call(
        "GET", f"/dags/{segment(dag_id, 'dag_id')}", action=f"Getting DAG {dag_id!r}", retry=retry
    )
    return Dag.model_validate(body)


def read_run(session: Session, dag_id: str, dag_run_id: str, retry: RetryPolicy | None = None) -> Op[DagRun]:
    """Operation: one DAG run (``retry``: another policy than the client's)."""
    body = yield from session.call(
        "GET",
        f"/dags/{segment(dag_id, 'dag_id')}/dagRuns/{segment(dag_run_id, 'dag_run_id')}",
        action=f"Getting DAG run {dag_run_id!r} of DAG {dag_id!r}",
        retry=retry,
    )
    return DagRun.model_validate(body)


def read_task_instances(session: Session, dag_id: str, dag_run_id: str) -> Op[list[TaskInstance]]:
    """Operation: the task instances of one DAG run (all pages)."""
    path = f"/dags/{segment(dag_id, 'dag_id')}/dagRuns/{segment(dag_run_id, 'dag_run_id')}/taskInstances"
    action = f"Listing task instances of DAG run {dag_run_id!r} of DAG {dag_id!r}"
    return (
        yield from paginate(
            session, path, "task_instances", TaskInstance, action=action, params={}, limit=None
        )
    )


def paused_dag(dag_id: str, if_paused: IfPaused, doing: str) -> None:
    """A paused DAG found while ``doing``: raise :class:`DagPausedError` or warn (once per call)."""
    message = (
        f"DAG {dag_id!r} is paused: {doing}, but its runs stay queued until it is unpaused "
        f"(client.unpause_dag({dag_id!r}))"
    )
    if if_paused == "raise":
        raise DagPausedError(message, dag_id=dag_id)
    logger.warning("%s", message)
    warnings.warn(message, DagPausedWarning, stacklevel=4)


def check_paused(
    session: Session, dag_id: str, dag_run_id: str, if_paused: IfPaused, *, warned: bool
) -> Op[bool | None]:
    """Operation: whether the DAG of a queued run is paused (None if that could not be checked now).

    One check per DAG and ``PAUSED_CHECK_INTERVAL`` serves every waiter of this client, so 100
    waits on a paused DAG cost one request, not 100 (and warn once)."""
    checks: dict[str, tuple[float, bool | None]] = per_client(session, "paused_checks", dict)
    checked = checks.get(dag_id)
    if checked is not None and session._now() - checked[0] < PAUSED_CHECK_INTERVAL:
        return checked[1]
    checks[dag_id] = (session._now(), None)  # concurrent waiters: being checked
    try:
        dag = yield from read_dag(session, dag_id, retry=NO_RETRY)
    except AirflowError as exc:
        if is_transient(exc):
            return None
        raise
    checks[dag_id] = (session._now(), bool(dag.is_paused))
    if dag.is_paused and not warned:
        paused_dag(dag_id, if_paused, f"waiting for DAG run {dag_run_id!r}")
    return bool(dag.is_paused)
