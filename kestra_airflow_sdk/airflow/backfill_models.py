"""Models of Airflow 3 backfills (``/api/v2/backfills``, Airflow 3.0.0 and later).

A backfill creates the runs of a DAG's past schedule intervals between two dates (all at once, when
it is created); Airflow starts them ``max_active_runs`` at a time. Airflow reports no state of its
own for a backfill: :attr:`AirflowBackfill.state` derives one from ``completed_at`` (set by the
scheduler once no run of the backfill is queued or running, or by a cancel) and ``is_paused``.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import Field, field_validator

from .models import AwareDatetime, _Model, _TolerantState

__all__ = ["AirflowBackfill", "BackfillState", "DryRunBackfill", "ReprocessBehavior"]


class ReprocessBehavior(_TolerantState):
    """Which existing runs of the backfilled dates a backfill runs again.

    ``none``: none (only dates without a run get one); ``failed``: the failed ones too;
    ``completed``: every finished one. A run still queued or running is never touched.
    """

    NONE = "none"
    FAILED = "failed"
    COMPLETED = "completed"


class BackfillState(str, Enum):
    """What a backfill is doing, derived from ``completed_at`` and ``is_paused``."""

    #: its runs are started as Airflow has room for them
    RUNNING = "running"
    #: its queued runs wait for :meth:`unpause` (runs already running go on)
    PAUSED = "paused"
    #: every run is final, or it was cancelled (its queued runs were failed)
    COMPLETED = "completed"

    def __str__(self) -> str:
        return str(self.value)


class AirflowBackfill(_Model):
    """A backfill as Airflow's REST API describes it (``BackfillResponse``)."""

    id: int
    dag_id: str
    from_date: AwareDatetime = None
    to_date: AwareDatetime = None
    dag_run_conf: dict[str, Any] = Field(default_factory=dict)
    is_paused: bool = False
    reprocess_behavior: ReprocessBehavior = ReprocessBehavior.NONE
    max_active_runs: int | None = None
    created_at: AwareDatetime = None
    completed_at: AwareDatetime = None
    updated_at: AwareDatetime = None
    dag_display_name: str | None = None

    @field_validator("dag_run_conf", mode="before")
    @classmethod
    def _no_conf(cls, value: Any) -> Any:
        return {} if value is None else value  # Airflow sends null for a backfill given no conf

    @property
    def state(self) -> BackfillState:
        """``completed`` once ``completed_at`` is set, else ``paused`` or ``running``."""
        if self.completed_at is not None:
            return BackfillState.COMPLETED
        return BackfillState.PAUSED if self.is_paused else BackfillState.RUNNING

    def row(self) -> dict[str, Any]:
        """The fields and the derived state, as one row of the ``backfills`` frame."""
        return {
            **self.model_dump(),
            "state": self.state.value,
            "reprocess_behavior": str(self.reprocess_behavior),
        }


class DryRunBackfill(_Model):
    """One run a backfill would create (``DryRunBackfillResponse``): its logical date, or the
    partition of a partitioned DAG."""

    logical_date: AwareDatetime = None
    partition_key: str | None = None
    partition_date: AwareDatetime = None
