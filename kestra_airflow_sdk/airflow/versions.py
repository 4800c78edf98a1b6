"""What differs between Airflow 2's ``/api/v1`` and Airflow 3's ``/api/v2``, in one place.

Each dialect knows its path prefix, how a trigger body must look, how run filters are named and
which pagination the server offers. The operations in :mod:`.core` stay version-agnostic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

__all__ = ["V1", "V2", "ApiVersion", "Dialect"]


class ApiVersion(str, Enum):
    """Airflow REST API generation: ``v1`` (Airflow 2) or ``v2`` (Airflow 3)."""

    V1 = "v1"
    V2 = "v2"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class Dialect:
    version: ApiVersion
    #: date field that "since"/"until" filter on (the time a run was due)
    run_time_field: str
    #: v2 takes ``order_by`` repeatedly; v1 takes one field
    multi_order_by: bool
    #: cursor pagination is offered (Airflow 3.3+ for runs, 3.2+ for task instances); older v2
    #: servers ignore the parameter, which the pagination loop detects
    cursor_pagination: bool

    @property
    def prefix(self) -> str:
        return f"/api/{self.version.value}"

    def trigger_body(
        self,
        *,
        conf: dict[str, Any] | None,
        dag_run_id: str | None,
        logical_date: datetime | None,
        note: str | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if dag_run_id is not None:
            body["dag_run_id"] = dag_run_id
        # v2 requires the key (null = "no logical date"); v1 must not get a null one
        if logical_date is not None or self.version is ApiVersion.V2:
            body["logical_date"] = logical_date.isoformat() if logical_date is not None else None
        if conf is not None:
            body["conf"] = conf
        if note is not None:
            body["note"] = note
        return body


V1 = Dialect(ApiVersion.V1, run_time_field="execution_date", multi_order_by=False, cursor_pagination=False)
V2 = Dialect(ApiVersion.V2, run_time_field="run_after", multi_order_by=True, cursor_pagination=True)
DIALECTS = {ApiVersion.V1: V1, ApiVersion.V2: V2}
