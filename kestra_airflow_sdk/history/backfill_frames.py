"""The columns of the backfill DataFrames, and the frames built from the backfill models.

Typed as the other history views (:mod:`.schemas`): UTC datetimes, a categorical state, nullable
integers and booleans. An empty result is an empty frame with the same columns and dtypes.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ..airflow.backfill_models import AirflowBackfill, BackfillState, DryRunBackfill, ReprocessBehavior
from ..airflow.models import DagRun
from .frames import runs_frame
from .schemas import Column, Schema

__all__ = ["BACKFILLS", "BACKFILL_DRY_RUN", "backfill_runs_frame", "backfills_frame", "dry_run_frame"]

BACKFILLS = Schema(
    "backfills",
    (
        Column("id", "int"),
        Column("dag_id", "str"),
        Column("state", "category", tuple(s.value for s in BackfillState)),
        Column("from_date", "datetime"),
        Column("to_date", "datetime"),
        Column("is_paused", "bool"),
        Column("reprocess_behavior", "category", tuple(r.value for r in ReprocessBehavior)),
        Column("max_active_runs", "int"),
        Column("dag_run_conf", "object"),
        Column("created_at", "datetime"),
        Column("completed_at", "datetime"),
        Column("updated_at", "datetime"),
        Column("dag_display_name", "str"),
    ),
)

BACKFILL_DRY_RUN = Schema(
    "backfill_dry_run",
    (
        Column("dag_id", "str"),
        Column("logical_date", "datetime"),
        Column("partition_key", "str"),
        Column("partition_date", "datetime"),
    ),
)


def backfills_frame(backfills: Iterable[AirflowBackfill]) -> pd.DataFrame:
    """One row per backfill (columns: :data:`BACKFILLS`), in the order given."""
    return BACKFILLS.frame([backfill.row() for backfill in backfills])


def dry_run_frame(dag_id: str, runs: Iterable[DryRunBackfill]) -> pd.DataFrame:
    """One row per run a backfill would create (columns: :data:`BACKFILL_DRY_RUN`), in the order
    Airflow would run them."""
    return BACKFILL_DRY_RUN.frame([{"dag_id": dag_id, **run.model_dump()} for run in runs])


def backfill_runs_frame(runs: Iterable[DagRun]) -> pd.DataFrame:
    """The runs of a backfill as the ``dag_runs`` view (:data:`~.schemas.DAG_RUNS`), in its order."""
    return runs_frame([run.model_dump() for run in runs])
