"""Public models: ONE shape for Airflow 2 (``/api/v1``) and Airflow 3 (``/api/v2``).

Wire differences are absorbed here: v1 ``execution_date`` lands in ``logical_date``, v1 tags
(``[{"name": ...}]``) and v2 tags become plain strings, v1's missing ``duration`` is computed, and
datetimes are always timezone-aware (UTC when the server sends a naive one). Unknown fields are
ignored and unknown states are kept, so a newer Airflow does not break an older SDK.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from .views import dag_run_views

__all__ = [
    "AirflowDag",
    "AirflowDagTask",
    "DagRun",
    "DagRunState",
    "TaskInstance",
    "TaskInstanceState",
    "VersionInfo",
]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


AwareDatetime = Annotated[datetime | None, AfterValidator(_aware)]


class _TolerantState(str, Enum):
    """A ``str`` enum that keeps values it does not know (a newer Airflow may add states)."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        lowered = value.lower()
        for member in cls:
            if member.value == lowered:
                return member
        pseudo = str.__new__(cls, value)
        pseudo._name_ = value.upper()
        pseudo._value_ = value
        return pseudo

    def __str__(self) -> str:
        return str(self.value)


class DagRunState(_TolerantState):
    """State of a DAG run. ``success`` and ``failed`` are final."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        """True for ``success`` and ``failed``."""
        return self in (DagRunState.SUCCESS, DagRunState.FAILED)


class TaskInstanceState(_TolerantState):
    """State of a task instance. ``None`` on a model means the task has no state yet."""

    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    UPSTREAM_FAILED = "upstream_failed"
    SKIPPED = "skipped"
    UP_FOR_RETRY = "up_for_retry"
    UP_FOR_RESCHEDULE = "up_for_reschedule"
    DEFERRED = "deferred"
    REMOVED = "removed"
    RESTARTING = "restarting"

    @property
    def is_final(self) -> bool:
        """True for success, failed, skipped, upstream_failed and removed."""
        return self in _FINAL_TI_STATES


_FINAL_TI_STATES = {
    TaskInstanceState.SUCCESS,
    TaskInstanceState.FAILED,
    TaskInstanceState.SKIPPED,
    TaskInstanceState.UPSTREAM_FAILED,
    TaskInstanceState.REMOVED,
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


def _fill_logical_date(data: Any) -> Any:
    """v1 sends ``execution_date`` (a deprecated alias); make ``logical_date`` the one name."""
    if isinstance(data, dict) and data.get("logical_date") is None and data.get("execution_date"):
        data = {**data, "logical_date": data["execution_date"]}
    return data


class AirflowDag(_Model):
    """An Airflow DAG as the REST API describes it."""

    dag_id: str
    dag_display_name: str | None = None
    description: str | None = None
    is_paused: bool | None = None
    is_active: bool | None = None
    owners: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    schedule: str | None = None
    timetable_description: str | None = None
    fileloc: str | None = None
    file_token: str | None = None
    max_active_runs: int | None = None
    max_active_tasks: int | None = None
    has_import_errors: bool | None = None
    next_dagrun_logical_date: AwareDatetime = None
    next_dagrun_run_after: AwareDatetime = None
    last_parsed_time: AwareDatetime = None

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        data["tags"] = [t.get("name") if isinstance(t, dict) else t for t in data.get("tags") or []]
        data["owners"] = data.get("owners") or []
        if data.get("schedule") is None:
            # v2: timetable_summary ("0 0 * * *", "@daily", None); v1: schedule_interval object or
            # timetable_summary (2.10). Cron/preset strings stay as they are.
            interval = data.get("schedule_interval")
            if isinstance(interval, dict):
                interval = interval.get("value") or interval.get("__type")
            data["schedule"] = data.get("timetable_summary") or interval
        if data.get("next_dagrun_logical_date") is None:
            data["next_dagrun_logical_date"] = data.get("next_dagrun")
        if data.get("next_dagrun_run_after") is None:
            data["next_dagrun_run_after"] = data.get("next_dagrun_create_after")
        if data.get("is_active") is None and data.get("is_stale") is not None:
            data["is_active"] = not data["is_stale"]
        return data


class AirflowDagTask(_Model):
    """One task of a DAG's definition (``GET /dags/{dag_id}/tasks``)."""

    task_id: str
    operator_name: str | None = None
    owner: str | None = None
    retries: int | None = None
    downstream_task_ids: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("operator_name"):
            class_ref = data.get("class_ref") or {}
            data = {**data, "operator_name": class_ref.get("class_name")}
        return data


class DagRun(_Model):
    """A DAG run. ``logical_date`` holds v1's ``execution_date`` too; ``duration`` is always set
    once the run has started and ended."""

    dag_id: str
    dag_run_id: str
    state: DagRunState | None = None
    run_type: str | None = None
    logical_date: AwareDatetime = None
    run_after: AwareDatetime = None
    queued_at: AwareDatetime = None
    start_date: AwareDatetime = None
    end_date: AwareDatetime = None
    data_interval_start: AwareDatetime = None
    data_interval_end: AwareDatetime = None
    last_scheduling_decision: AwareDatetime = None
    duration: timedelta | None = None
    conf: dict[str, Any] = Field(default_factory=dict)
    note: str | None = None
    triggered_by: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        data = _fill_logical_date(data)
        if not isinstance(data, dict):
            return data
        data = dict(data)
        data["conf"] = data.get("conf") or {}
        if data.get("run_after") is None:  # v1: the logical date is when the run was due
            data["run_after"] = data.get("logical_date")
        return data

    @model_validator(mode="after")
    def _derive_duration(self) -> DagRun:
        if self.duration is None and self.start_date is not None and self.end_date is not None:
            object.__setattr__(self, "duration", self.end_date - self.start_date)
        return self

    def __repr__(self) -> str:
        return dag_run_views("DagRun.__repr__").dag_run_text(self)

    def _repr_html_(self) -> str:
        return dag_run_views("DagRun._repr_html_").dag_run_html(self)


class TaskInstance(_Model):
    """One try of one task in a DAG run (one row per ``map_index`` for mapped tasks)."""

    dag_id: str
    dag_run_id: str
    task_id: str
    map_index: int = -1
    try_number: int = 0
    max_tries: int | None = None
    state: TaskInstanceState | None = None
    operator: str | None = None
    logical_date: AwareDatetime = None
    start_date: AwareDatetime = None
    end_date: AwareDatetime = None
    duration: timedelta | None = None
    queue: str | None = None
    pool: str | None = None
    hostname: str | None = None
    pid: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        data = _fill_logical_date(data)
        if isinstance(data, dict) and (data.get("state") in ("none", "")):
            data = {**data, "state": None}  # v1 may say "none" for "no state yet"
        if isinstance(data, dict) and data.get("hostname") == "":
            data = {**data, "hostname": None}
        return data


class VersionInfo(_Model):
    """What ``GET /api/vN/version`` tells: Airflow's version and the API generation used."""

    version: str
    git_version: str | None = None
    api_version: str
