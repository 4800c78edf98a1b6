"""Models of Airflow 3's assets: an asset, one of its events, and the DAG runs an event started.

Shaped after ``/api/v2`` (``AssetResponse``, ``AssetEventResponse``, ``DagRunAssetReference``);
unknown fields are ignored, datetimes are timezone-aware (UTC when Airflow sends a naive one).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .models import AwareDatetime, DagRunState

__all__ = ["Asset", "AssetEvent", "AssetEventRun", "AssetTask"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class AssetTask(_Model):
    """A task that produces (an outlet) or consumes (an inlet) an asset."""

    dag_id: str
    task_id: str


class Asset(_Model):
    """An asset (Airflow 3; Airflow 2 called them datasets): its name, URI and group, the DAGs it
    schedules and the tasks that produce or consume it."""

    asset_id: int = Field(alias="id")
    name: str
    uri: str
    group: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    created_at: AwareDatetime = None
    updated_at: AwareDatetime = None
    #: the DAGs scheduled on this asset (an event of it can start a run of each)
    scheduled_dags: list[str] = Field(default_factory=list)
    producing_tasks: list[AssetTask] = Field(default_factory=list)
    consuming_tasks: list[AssetTask] = Field(default_factory=list)
    #: when its latest event happened (None: no event yet)
    last_event_at: AwareDatetime = None

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        data["extra"] = data.get("extra") or {}
        data["scheduled_dags"] = [
            ref.get("dag_id") if isinstance(ref, dict) else ref for ref in data.get("scheduled_dags") or []
        ]
        last = data.get("last_asset_event")
        if data.get("last_event_at") is None and isinstance(last, dict):
            data["last_event_at"] = last.get("timestamp")
        return data

    @property
    def producing_dags(self) -> list[str]:
        """The DAGs with a task that produces this asset (each once, in order)."""
        return list(dict.fromkeys(task.dag_id for task in self.producing_tasks))

    @property
    def consuming_dags(self) -> list[str]:
        """The DAGs with a task that consumes this asset (an inlet; each once, in order)."""
        return list(dict.fromkeys(task.dag_id for task in self.consuming_tasks))


class AssetEventRun(_Model):
    """A DAG run an asset event took part in (``triggering``: this event started it)."""

    dag_id: str
    dag_run_id: str = Field(alias="run_id")
    state: DagRunState | None = None
    logical_date: AwareDatetime = None
    start_date: AwareDatetime = None
    end_date: AwareDatetime = None
    triggering: bool | None = None


class AssetEvent(_Model):
    """One event of an asset: what produced it (a task, or a REST call), when, and the DAG runs it
    started."""

    event_id: int = Field(alias="id")
    asset_id: int
    name: str | None = None
    uri: str | None = None
    group: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    source_dag_id: str | None = None
    source_task_id: str | None = None
    source_run_id: str | None = None
    source_map_index: int = -1
    timestamp: AwareDatetime = None
    created_dag_runs: list[AssetEventRun] = Field(default_factory=list, alias="created_dagruns")

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("extra") is None:
            data = {**data, "extra": {}}
        return data
