"""The model of an XCom entry, one shape for Airflow 2 (``/api/v1``) and Airflow 3 (``/api/v2``).

v1's ``execution_date`` lands in ``logical_date``, v2's ``run_id`` and v1's ``dag_run_id`` in
``dag_run_id``. ``value`` is the value as JSON (Python's dicts, lists, strings, numbers, ...), as the
API answers it with ``stringify=false``; a list of entries carries none (``has_value`` is False).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from .models import AwareDatetime

__all__ = ["XCom"]


class XCom(BaseModel):
    """One XCom entry: the value a task instance pushed under ``key``."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    dag_id: str
    dag_run_id: str
    task_id: str
    map_index: int = -1
    key: str
    timestamp: AwareDatetime = None
    logical_date: AwareDatetime = None
    run_after: AwareDatetime = None
    #: the value (None until read: list entries carry no value)
    value: Any = None
    has_value: bool = False

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("dag_run_id") is None:
            data["dag_run_id"] = data.get("run_id")
        if data.get("logical_date") is None:
            data["logical_date"] = data.get("execution_date")
        if data.get("run_after") is None:  # v1: the logical date is when the run was due
            data["run_after"] = data.get("logical_date")
        if "has_value" not in data:
            data["has_value"] = "value" in data
        return data
