"""The model of an Airflow event log entry (the audit log): one shape for ``/api/v1`` and ``/api/v2``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from .models import AwareDatetime

__all__ = ["EventLog"]


class EventLog(BaseModel):
    """One entry of Airflow's event log: who did what (``event``: ``trigger_dag_run``, ``running``,
    ``success``, ``cli_task_run``, ...) to which DAG, run or task, and when. ``extra`` is the text
    Airflow kept with it (often a JSON document)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    event_log_id: int
    when: AwareDatetime = None
    event: str
    dag_id: str | None = None
    task_id: str | None = None
    dag_run_id: str | None = None
    map_index: int | None = None
    try_number: int | None = None
    logical_date: AwareDatetime = None
    owner: str | None = None
    extra: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("dag_run_id") is None:
            data["dag_run_id"] = data.get("run_id")
        if data.get("logical_date") is None:  # v1: execution_date
            data["logical_date"] = data.get("execution_date")
        return data
