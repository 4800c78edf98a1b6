"""Airflow 3 backfills as DataFrames: the backfills of DAGs, the runs a backfill would create, and
the runs of one (both public clients; pandas is imported when one of them first runs)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..airflow.backfill_models import AirflowBackfill, ReprocessBehavior
from ..airflow.core import ClientCore
from ..airflow.models import DagRun
from ..transport.effects import Op
from ..transport.operation import operation

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BackfillFrames"]


class BackfillFrames(ClientCore):
    """The backfill DataFrames of both public clients (Airflow 3.0.0+)."""

    @operation
    def backfills(self, dag_id: str | Iterable[str] | None = None) -> Op[pd.DataFrame]:
        """The backfills of one DAG, of several or of every DAG (None), one row per backfill
        (columns: :data:`~.backfill_frames.BACKFILLS`: id, dag_id, state, from/to dates, ...),
        ordered by DAG then id. Every DAG's costs one request per DAG (see
        :meth:`~kestra_airflow_sdk.airflow.operations.BackfillOperations.list_backfills`).

        Example:
            >>> client.backfills("etl")[["id", "state", "from_date", "to_date", "completed_at"]]
        """
        from .backfill_frames import backfills_frame

        found: list[AirflowBackfill] = yield from ClientCore.list_backfills.fn(self, dag_id)
        return backfills_frame(found)

    @operation
    def backfill_dry_run(
        self,
        dag_id: str,
        start: datetime,
        end: datetime,
        *,
        conf: Mapping[str, Any] | None = None,
        reprocess: str | ReprocessBehavior = "none",
        max_active_runs: int = 10,
        run_backwards: bool = False,
    ) -> Op[pd.DataFrame]:
        """The runs a backfill with these arguments would create, one row each (columns:
        :data:`~.backfill_frames.BACKFILL_DRY_RUN`: dag_id, logical_date, partition_key,
        partition_date), in the order Airflow would run them; nothing is created."""
        from .backfill_frames import dry_run_frame

        runs = yield from ClientCore.dry_run_backfill.fn(
            self,
            dag_id,
            start,
            end,
            conf=conf,
            reprocess=reprocess,
            max_active_runs=max_active_runs,
            run_backwards=run_backwards,
        )
        return dry_run_frame(dag_id, runs)

    @operation
    def backfill_runs(self, backfill: int | AirflowBackfill) -> Op[pd.DataFrame]:
        """The DAG runs of a backfill (given as itself or its id) as the ``dag_runs`` view (columns:
        :data:`~.schemas.DAG_RUNS`); how runs are told to belong to it: :meth:`~kestra_airflow_sdk.
        airflow.operations.BackfillOperations.list_backfill_runs`."""
        from .backfill_frames import backfill_runs_frame

        runs: list[DagRun] = yield from ClientCore.list_backfill_runs.fn(self, backfill)
        return backfill_runs_frame(runs)
