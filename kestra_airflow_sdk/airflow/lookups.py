"""Reading one DAG or one DAG run, and what a paused DAG means for a trigger or a wait.

Building blocks shared by the operations of the client and the waiting loop (:mod:`.waits`).
"""

from __future__ import annotations

import warnings

from ..transport.effects import Op, now
from ..transport.retry import NO_RETRY, RetryPolicy, is_transient
from ..transport.state import Slot
from .arguments import IfPaused, segment
from .errors import AirflowError, DagPausedError, DagPausedWarning
from .models import AirflowDag, DagRun, TaskInstance
from .pagination import paginate
from .session import Session, logger

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
#: per client: when each DAG was last checked for being paused (driver clock), and the answer
#: (None while being checked)
_PAUSED_CHECKS: Slot[dict[str, tuple[float, bool | None]]] = Slot("paused_checks", dict)


def read_dag(session: Session, dag_id: str, retry: RetryPolicy | None = None) -> Op[AirflowDag]:
    """Operation: one DAG (``retry``: another policy than the client's)."""
    body = yield from session._call(
        "GET", f"/dags/{segment(dag_id, 'dag_id')}", action=f"Getting DAG {dag_id!r}", retry=retry
    )
    return AirflowDag.model_validate(body)


def read_run(session: Session, dag_id: str, dag_run_id: str, retry: RetryPolicy | None = None) -> Op[DagRun]:
    """Operation: one DAG run (``retry``: another policy than the client's)."""
    body = yield from session._call(
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
    checks = _PAUSED_CHECKS.of(session)
    checked = checks.get(dag_id)
    started = yield from now()
    if checked is not None and started - checked[0] < PAUSED_CHECK_INTERVAL:
        return checked[1]
    checks[dag_id] = (started, None)  # concurrent waiters: being checked
    try:
        dag = yield from read_dag(session, dag_id, retry=NO_RETRY)
    except AirflowError as exc:
        if is_transient(exc):
            return None
        raise
    checks[dag_id] = ((yield from now()), bool(dag.is_paused))
    if dag.is_paused and not warned:
        paused_dag(dag_id, if_paused, f"waiting for DAG run {dag_run_id!r}")
    return bool(dag.is_paused)
