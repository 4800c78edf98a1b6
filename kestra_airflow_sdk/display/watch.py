"""Wait for DAG runs while showing their progress, with the sync or the async client.

The waiting loop is one sans-I/O generator (:func:`watch_op`) built from the client's own
operations, so :func:`watch_dag_runs` runs it with whichever driver the client is: it returns the
final runs on an :class:`~kestra_airflow_sdk.AirflowClient` and a coroutine of them on an
:class:`~kestra_airflow_sdk.AsyncAirflowClient` (``await`` it, e.g. in a notebook cell).
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterable
from typing import TYPE_CHECKING, Any, overload

from ..airflow.core import ClientCore
from ..airflow.errors import InvalidArgumentError
from ..airflow.models import DagRun, TaskInstance
from ..airflow.operations.hitl import waiting_request
from ..airflow.waits import run_refs, wait_runs
from ..transport.effects import Op
from .progress import ProgressOption, RunObserver, RunProgress, progress_observer

if TYPE_CHECKING:
    from ..transport.drivers import AsyncDriver, SyncDriver

__all__ = ["watch_dag_runs", "watch_op"]


def watch_op(
    client: ClientCore,
    runs: Iterable[DagRun],
    observer: RunObserver,
    *,
    poll_frequency: float = 1.0,
    timeout: float = 3600.0,
) -> Op[list[DagRun]]:
    """Poll every run (and its task instances) until all are final, reporting each poll.

    The client's own waiting loop (batched per DAG, tolerant of transient failures) calls
    ``observer.update(run, task_instances)`` after each poll; ``observer.close()`` is called when
    waiting ends, also on a timeout or an error. Returns the final runs in the order given. A
    :class:`RunProgress` also hears of the human-in-the-loop request a running run waits on
    (:func:`~kestra_airflow_sdk.airflow.operations.hitl.waiting_request`: Airflow 3.1+, one request
    when a task instance waits), and shows "waiting for a person: <subject>".

    Raises:
        WaitTimeoutError: some runs were not final after ``timeout`` seconds.
    """
    try:
        return (
            yield from wait_runs(
                client,
                run_refs(list(runs)),
                poll_frequency=poll_frequency,
                timeout=timeout,
                on_poll=lambda run, task_instances: _report(client, observer, run, task_instances or []),
                task_instances=True,
            )
        )
    finally:
        observer.close()


def _report(client: ClientCore, observer: RunObserver, run: DagRun, tis: list[TaskInstance]) -> Op[None]:
    """One poll of one run to the observer (with the request it waits on, for a RunProgress)."""
    if not isinstance(observer, RunProgress):
        observer.update(run, tis)
        return
    observer.waiting(run, (yield from waiting_request(client, run, tis)))
    observer.update(run, tis)


@overload
def watch_dag_runs(
    client: SyncDriver,
    runs: DagRun | Iterable[DagRun],
    *,
    progress: ProgressOption = True,
    poll_frequency: float = 1.0,
    timeout: float = 3600.0,
) -> list[DagRun]: ...
@overload
def watch_dag_runs(
    client: AsyncDriver,
    runs: DagRun | Iterable[DagRun],
    *,
    progress: ProgressOption = True,
    poll_frequency: float = 1.0,
    timeout: float = 3600.0,
) -> Coroutine[Any, Any, list[DagRun]]: ...
def watch_dag_runs(
    client: SyncDriver | AsyncDriver,
    runs: DagRun | Iterable[DagRun],
    *,
    progress: ProgressOption = True,
    poll_frequency: float = 1.0,
    timeout: float = 3600.0,
) -> list[DagRun] | Coroutine[Any, Any, list[DagRun]]:
    """Wait until every DAG run is ``success`` or ``failed``, showing live progress.

    Args:
        client: an :class:`~kestra_airflow_sdk.AirflowClient` (returns the final runs) or an
            :class:`~kestra_airflow_sdk.AsyncAirflowClient` (returns a coroutine to ``await``).
        runs: one DAG run or several, e.g. what ``trigger_dag_run`` returned.
        progress: ``True`` (a widget in Jupyter, log lines elsewhere), ``False`` (nothing), ``"widget"``,
            ``"text"``, or your own observer with ``update(run, task_instances)`` and ``close()``
            (e.g. a :class:`~kestra_airflow_sdk.display.RunProgress` you keep to inspect later).
        poll_frequency: seconds between polls.
        timeout: seconds to wait in all before raising :class:`~kestra_airflow_sdk.airflow.WaitTimeoutError`.

    Returns:
        The final runs, in the order given.

    Example:
        >>> run = client.trigger_dag_run("hello_world_dag", conf={"who": "notebook"})
        >>> [final] = watch_dag_runs(client, run)
    """
    if not isinstance(client, ClientCore):
        raise InvalidArgumentError(
            f"client: expected an AirflowClient or AsyncAirflowClient, got {type(client).__name__}"
        )
    items = [runs] if isinstance(runs, DagRun) else list(runs)
    bad = [type(r).__name__ for r in items if not isinstance(r, DagRun)]
    if bad:
        raise InvalidArgumentError(f"runs: expected DagRun objects (from trigger_dag_run), got {bad}")
    observer = progress_observer(progress, client=client)
    op = watch_op(client, items, observer, poll_frequency=poll_frequency, timeout=timeout)
    return client.execute(op)
