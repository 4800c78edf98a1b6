"""The public clients: every REST operation and every DataFrame operation, sync or async.

:class:`AirflowClient` and :class:`AsyncAirflowClient` compose the Airflow REST layer
(:mod:`kestra_airflow_sdk.airflow`, which knows nothing of pandas), the run-history DataFrames
(:mod:`kestra_airflow_sdk.history`) and the migration inventory; pandas loads when a DataFrame
operation first runs, not when the SDK is imported.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .airflow.client import AirflowRestClient, AsyncAirflowRestClient
from .display.backfill import BackfillHandles
from .display.hitl import HitlFormOperations
from .history.hitl import HitlFrameOperations
from .history.operations import HistoryOperations
from .history.records import RecordOperations
from .transport.effects import Op
from .transport.operation import operation

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AirflowClient", "AsyncAirflowClient", "DataFrameOperations"]


class DataFrameOperations(
    HitlFormOperations, HitlFrameOperations, BackfillHandles, HistoryOperations, RecordOperations
):
    """The DataFrame operations of both public clients: run history and the migration inventory."""

    @operation
    def inventory(
        self,
        dag_ids: str | Iterable[str] | None = None,
        *,
        since: datetime | None = None,
        window: timedelta = timedelta(days=30),
        native: bool = False,
    ) -> Op[pd.DataFrame]:
        """One row per DAG to plan a migration (columns: :data:`~kestra_airflow_sdk.migration.INVENTORY`).

        dag_id, description, owners, tags, is_paused, schedule and the Kestra cron it maps to, the
        number of tasks and their operators, the latest run's state and time, and over the window:
        runs, success rate, p50/p95 duration of finished runs; whether the DAG converts to a native
        Kestra flow (``native=True``) and the last parity check's result.

        Args:
            dag_ids: one DAG id, several, or None for every DAG.
            since: start of the window (timezone-aware); default: ``window`` before now.
            window: length of the window when ``since`` is not given (default 30 days).
            native: fill the ``native`` column: read each DAG's source file (one more request per
                DAG) and translate it (no other request); missing when False.

        Example:
            >>> client.inventory().sort_values("runs", ascending=False)[["dag_id", "runs", "success_rate"]]
        """
        from .migration.inventory import inventory_op

        return (yield from inventory_op(self, dag_ids, since=since, window=window, native=native))


class AirflowClient(DataFrameOperations, AirflowRestClient):
    """Synchronous client for the Airflow REST API (Airflow 2 ``/api/v1`` and Airflow 3 ``/api/v2``).

    Example:
        >>> with AirflowClient("http://localhost:8080", username="admin", password="admin") as client:
        ...     run = client.trigger_dag_run("hello_world_dag", conf={"source": "notebook"})
        ...     run = client.wait_for_dag_run(run.dag_id, run.dag_run_id)

    Constructor arguments are described on :class:`~kestra_airflow_sdk.airflow.session.Session`
    (``transport=`` takes an :class:`httpx.BaseTransport`, e.g. for tests).
    """


class AsyncAirflowClient(DataFrameOperations, AsyncAirflowRestClient):
    """Asynchronous twin of :class:`AirflowClient`: the same methods and arguments, awaited.

    Example:
        >>> async with AsyncAirflowClient("http://localhost:8080", username="admin", password="admin") as client:
        ...     run = await client.trigger_dag_run("hello_world_dag", conf={"n": 1})
        ...     run = await client.wait_for_dag_run(run.dag_id, run.dag_run_id)

    ``transport=`` takes an :class:`httpx.AsyncBaseTransport`.
    """
