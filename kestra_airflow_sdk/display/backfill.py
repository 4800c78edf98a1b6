"""A backfill as a handle: ``client.backfill(...)`` and what to do with the backfill it created.

:class:`Backfill` keeps the client that created it and the backfill as Airflow last described it.
Its methods are the client's own operations on that backfill, so they behave as the client does:
on an :class:`~kestra_airflow_sdk.AirflowClient` they return the result, on an
:class:`~kestra_airflow_sdk.AsyncAirflowClient` a coroutine of it (``await`` it). Waiting shows the
backfill's runs in the live DAG-run progress display (:class:`~.progress.RunProgress`, through
:func:`~.watch.watch_op`, the loop of :func:`~.watch.watch_dag_runs`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any, Concatenate, Generic, TypeVar

from typing_extensions import ParamSpec

from ..airflow.backfill_models import AirflowBackfill, BackfillState, ReprocessBehavior
from ..airflow.core import ClientCore
from ..airflow.errors import InvalidArgumentError
from ..airflow.models import DagRun
from ..history.backfills import BackfillFrames
from ..transport.drivers import AsyncDriver, SyncDriver
from ..transport.effects import Op
from ..transport.operation import operation
from .progress import ProgressOption, progress_observer
from .watch import watch_op

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Backfill", "BackfillHandles"]

P = ParamSpec("P")
T = TypeVar("T")


class _on_client(Generic[P, T]):
    """A method of :class:`Backfill` written as an operation and run by the backfill's client:
    the result on the sync client, a coroutine of it on the async client."""

    def __init__(self, fn: Callable[Concatenate[Backfill, P], Op[T]]) -> None:
        self.fn = fn
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]

    def __get__(self, obj: Backfill | None, owner: type[Any] | None = None) -> Any:
        if obj is None:
            return self
        fn = self.fn

        @functools.wraps(fn)
        def bound(*args: P.args, **kwargs: P.kwargs) -> Any:
            return obj._driver.execute(fn(obj, *args, **kwargs))

        return bound


class Backfill:
    """A backfill Airflow is running, and the client that created it (see the module's docstring).

    Attributes:
        client: the client whose operations the methods are.
        info: the backfill as Airflow described it when this handle was made
            (:meth:`refresh` gives a handle with a newer one).

    Example:
        >>> backfill = client.backfill("etl", start, end, dry_run=False)
        >>> backfill.wait()                    # the runs' live progress, until every run is final
        >>> backfill.runs()[["logical_date", "state", "duration"]]
    """

    def __init__(self, client: ClientCore, info: AirflowBackfill) -> None:
        if not isinstance(client, ClientCore) or not isinstance(client, (SyncDriver, AsyncDriver)):
            raise InvalidArgumentError(
                f"client: expected an AirflowClient or AsyncAirflowClient, got {type(client).__name__}"
            )
        if not isinstance(info, AirflowBackfill):
            raise InvalidArgumentError(
                f"info: expected an AirflowBackfill (from get_backfill), got {type(info).__name__}"
            )
        self.client = client
        self._driver: SyncDriver | AsyncDriver = client
        self.info = info

    # ------------------------------------------------------------------ what it is

    @property
    def id(self) -> int:
        """Airflow's id of the backfill."""
        return self.info.id

    @property
    def dag_id(self) -> str:
        """The backfilled DAG."""
        return self.info.dag_id

    @property
    def from_date(self) -> datetime | None:
        """The first logical date."""
        return self.info.from_date

    @property
    def to_date(self) -> datetime | None:
        """The last logical date."""
        return self.info.to_date

    @property
    def state(self) -> BackfillState:
        """``running``, ``paused`` or ``completed``, as of :attr:`info`."""
        return self.info.state

    @property
    def is_paused(self) -> bool:
        """Whether its queued runs wait for :meth:`unpause`, as of :attr:`info`."""
        return self.info.is_paused

    @property
    def completed_at(self) -> datetime | None:
        """When it completed (or was cancelled), as of :attr:`info`."""
        return self.info.completed_at

    # ------------------------------------------------------------------ what it does

    @_on_client
    def refresh(self) -> Op[Backfill]:
        """A handle on the backfill as Airflow describes it now."""
        return self._with((yield from ClientCore.get_backfill.fn(self.client, self.id)))

    @_on_client
    def pause(self) -> Op[Backfill]:
        """Pause it: queued runs are not started until :meth:`unpause` (running ones go on).
        Returns the paused backfill."""
        return self._with((yield from ClientCore.pause_backfill.fn(self.client, self.id)))

    @_on_client
    def unpause(self) -> Op[Backfill]:
        """Let its queued runs start again; returns the backfill."""
        return self._with((yield from ClientCore.unpause_backfill.fn(self.client, self.id)))

    @_on_client
    def cancel(self) -> Op[Backfill]:
        """Cancel it: its queued runs are failed, running ones go on to their end, and it is
        completed. Returns the cancelled backfill."""
        return self._with((yield from ClientCore.cancel_backfill.fn(self.client, self.id)))

    @_on_client
    def list_runs(self) -> Op[list[DagRun]]:
        """Its DAG runs as models, ordered by logical date (see
        :meth:`~kestra_airflow_sdk.airflow.operations.BackfillOperations.list_backfill_runs`)."""
        return (yield from ClientCore.list_backfill_runs.fn(self.client, self.info))

    @_on_client
    def runs(self) -> Op[pd.DataFrame]:
        """Its DAG runs as the ``dag_runs`` view (columns: :data:`~kestra_airflow_sdk.history.DAG_RUNS`)."""
        from ..history.backfill_frames import backfill_runs_frame

        found = yield from ClientCore.list_backfill_runs.fn(self.client, self.info)
        return backfill_runs_frame(found)

    @_on_client
    def wait(
        self, *, progress: ProgressOption = True, poll_frequency: float = 1.0, timeout: float = 3600.0
    ) -> Op[list[DagRun]]:
        """Wait until every run of the backfill is ``success`` or ``failed``, showing their live
        progress; returns the final runs, ordered by logical date.

        The runs are polled as every wait of the client polls (one request per DAG and tick for all
        of them, see :meth:`~kestra_airflow_sdk.AirflowClient.wait_for_dag_runs`). A paused
        backfill's queued runs do not start: unpause it first, or the wait ends at ``timeout``.

        Args:
            progress: ``True`` (a widget in Jupyter, log lines elsewhere), ``False``, ``"widget"``,
                ``"text"``, or an observer with ``update(run, task_instances)`` and ``close()``
                (e.g. a :class:`~kestra_airflow_sdk.display.RunProgress` kept to inspect later).
            poll_frequency: seconds between polls.
            timeout: seconds to wait in all before :class:`~kestra_airflow_sdk.airflow.WaitTimeoutError`.
        """
        observer = progress_observer(progress, client=self.client)
        try:
            found = yield from ClientCore.list_backfill_runs.fn(self.client, self.info)
        except BaseException:
            observer.close()
            raise
        return (
            yield from watch_op(self.client, found, observer, poll_frequency=poll_frequency, timeout=timeout)
        )

    def _with(self, info: AirflowBackfill) -> Backfill:
        return Backfill(self.client, info)

    # ------------------------------------------------------------------ how it shows

    def __repr__(self) -> str:
        info = self.info
        dates = f"{_when(info.from_date)} .. {_when(info.to_date)}"
        return f"Backfill(id={info.id}, dag_id={info.dag_id!r}, {dates}, state={info.state.value!r})"

    def _repr_html_(self) -> str:
        info = self.info
        rows = [
            ("backfill", str(info.id)),
            ("DAG", info.dag_id),
            ("dates", f"{_when(info.from_date)} .. {_when(info.to_date)}"),
            ("state", info.state.value),
            ("reprocess", str(info.reprocess_behavior)),
            ("max active runs", "" if info.max_active_runs is None else str(info.max_active_runs)),
            ("created", _when(info.created_at)),
            ("completed", _when(info.completed_at)),
        ]
        cells = "".join(
            f'<tr><th style="text-align:left;padding:2px 6px">{escape(name)}</th>'
            f'<td style="padding:2px 6px">{escape(value)}</td></tr>'
            for name, value in rows
        )
        return f'<table class="ka-backfill" style="font-family:sans-serif;font-size:12px">{cells}</table>'


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()


class BackfillHandles(BackfillFrames):
    """``client.backfill(...)``: a dry run as a DataFrame, or the backfill created, as a handle."""

    @operation
    def backfill(
        self,
        dag_id: str,
        start: datetime,
        end: datetime,
        *,
        dry_run: bool = True,
        conf: Mapping[str, Any] | None = None,
        reprocess: str | ReprocessBehavior = "none",
        max_active_runs: int = 10,
        run_backwards: bool = False,
    ) -> Op[pd.DataFrame | Backfill]:
        """Backfill a DAG from ``start`` to ``end`` (Airflow 3.0.0+): Airflow runs its schedule
        intervals whose logical dates are in ``[start, end]``.

        With ``dry_run=True`` (the default) nothing is created: the runs the backfill would create,
        as a DataFrame (see :meth:`backfill_dry_run`). With ``dry_run=False`` the backfill is
        created (its runs all at once, queued) and returned as a :class:`Backfill`: ``wait()``
        shows its runs' progress until they end, ``runs()``, ``pause()``, ``unpause()``,
        ``cancel()``.

        Args:
            dag_id: a DAG with a periodic schedule.
            start: the first logical date (timezone-aware).
            end: the last logical date (timezone-aware, not before ``start``).
            dry_run: only say which runs it would create.
            conf: the ``conf`` of every run it creates.
            reprocess: which dates that already have a finished run get one again: ``"none"``,
                ``"failed"`` or ``"completed"``.
            max_active_runs: runs of the backfill running at once.
            run_backwards: start with the latest date.

        Raises:
            UnsupportedFeatureError: the server is older than Airflow 3.0.0.
            ConflictError: another backfill of the DAG has not completed (one at a time per DAG).

        Example:
            >>> client.backfill("etl", datetime(2024, 1, 1, tzinfo=timezone.utc), datetime(2024, 1, 7, tzinfo=timezone.utc))
        """
        if not isinstance(dry_run, bool):
            raise InvalidArgumentError(f"dry_run: expected True or False, got {dry_run!r}")
        options: dict[str, Any] = {
            "conf": conf,
            "reprocess": reprocess,
            "max_active_runs": max_active_runs,
            "run_backwards": run_backwards,
        }
        if dry_run:
            return (yield from BackfillFrames.backfill_dry_run.fn(self, dag_id, start, end, **options))
        info = yield from ClientCore.create_backfill.fn(self, dag_id, start, end, **options)
        return Backfill(self, info)
