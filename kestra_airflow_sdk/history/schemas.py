"""The columns and dtypes of the history DataFrames, one schema per view, identical for Airflow 2 and 3.

Frames are built column-wise from already-normalised rows (dicts shaped like the SDK's models):
timezone-aware UTC datetimes (``datetime64[us, UTC]``), ``timedelta64[us]`` durations, categorical
states, nullable integers, floats and booleans, ``string`` text. An empty result is an empty frame with the
same columns and dtypes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from ..airflow.models import DagRunState, TaskInstanceState

__all__ = ["DAGS", "DAG_RUNS", "TASK_INSTANCES", "Column", "Schema"]

Kind = Literal["str", "datetime", "duration", "int", "float", "bool", "category", "object"]

DATETIME = "datetime64[us, UTC]"
DURATION = "timedelta64[us]"


@dataclass(frozen=True)
class Column:
    """One column of a view: its name, kind and (for categorical states) the known categories."""

    name: str
    kind: Kind
    categories: tuple[str, ...] = ()

    def series(self, values: Sequence[Any]) -> pd.Series:
        """``values`` (one per row, ``None`` = missing) as a Series of this column's dtype."""
        result: pd.Series
        if self.kind == "datetime":
            parsed = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601")
            result = parsed.astype(DATETIME)
        elif self.kind == "duration":
            result = _durations(values)
        elif self.kind == "category":
            texts = [None if v is None else str(v) for v in values]
            extra = sorted({v for v in texts if v is not None} - set(self.categories))
            result = pd.Series(pd.Categorical(texts, categories=[*self.categories, *extra]))
        elif self.kind == "object":
            result = pd.Series(list(values), dtype=object)
        else:
            result = pd.Series(
                list(values),
                dtype={"str": "string", "int": "Int64", "float": "Float64", "bool": "boolean"}[self.kind],
            )
        result.name = self.name
        return result


def _durations(values: Sequence[Any]) -> pd.Series:
    """Seconds (float, as Airflow sends them) or ``timedelta`` values as ``timedelta64[us]``."""
    seconds = [v.total_seconds() if hasattr(v, "total_seconds") else v for v in values]
    floats = pd.Series(seconds, dtype="float64")
    durations: pd.Series = pd.to_timedelta(floats, unit="s").dt.round("us").astype(DURATION)
    return durations


@dataclass(frozen=True)
class Schema:
    """The ordered columns of one view."""

    name: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        """Column names, in order."""
        return [c.name for c in self.columns]

    @property
    def dtypes(self) -> dict[str, Any]:
        """Column name → the dtype an empty frame of this schema has."""
        return {c.name: c.series([]).dtype for c in self.columns}

    def frame(self, rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
        """Build the frame column-wise from rows; keys a row lacks are missing values."""
        rows = rows if isinstance(rows, list) else list(rows)
        data = {c.name: c.series([row.get(c.name) for row in rows]) for c in self.columns}
        frame: pd.DataFrame = pd.DataFrame(data, columns=self.names)
        return frame

    def conform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Cast a frame with this schema's columns (after a merge or a file load) back to its dtypes."""
        data: dict[str, pd.Series] = {}
        for column in self.columns:
            values = frame[column.name]
            if column.kind == "category":
                data[column.name] = column.series(values.astype(object).where(values.notna(), None).tolist())
                data[column.name].index = frame.index
            elif column.kind == "object":
                data[column.name] = values.astype(object)
            else:
                data[column.name] = values.astype(column.series([]).dtype)
        conformed: pd.DataFrame = pd.DataFrame(data, columns=self.names, index=frame.index)
        return conformed

    def empty(self) -> pd.DataFrame:
        """An empty frame with this schema's columns and dtypes."""
        return self.frame([])


_RUN_STATES = tuple(s.value for s in DagRunState)
_TI_STATES = tuple(s.value for s in TaskInstanceState)

DAGS = Schema(
    "dags",
    (
        Column("dag_id", "str"),
        Column("dag_display_name", "str"),
        Column("description", "str"),
        Column("is_paused", "bool"),
        Column("is_active", "bool"),
        Column("schedule", "str"),
        Column("timetable_description", "str"),
        Column("tags", "object"),
        Column("owners", "object"),
        Column("next_dagrun_logical_date", "datetime"),
        Column("next_dagrun_run_after", "datetime"),
        Column("max_active_runs", "int"),
        Column("max_active_tasks", "int"),
        Column("has_import_errors", "bool"),
        Column("fileloc", "str"),
        Column("last_parsed_time", "datetime"),
    ),
)

DAG_RUNS = Schema(
    "dag_runs",
    (
        Column("dag_id", "str"),
        Column("dag_run_id", "str"),
        Column("state", "category", _RUN_STATES),
        Column("run_type", "str"),
        Column("logical_date", "datetime"),
        Column("run_after", "datetime"),
        Column("queued_at", "datetime"),
        Column("start_date", "datetime"),
        Column("end_date", "datetime"),
        Column("duration", "duration"),
        Column("conf", "object"),
        Column("note", "str"),
    ),
)

TASK_INSTANCES = Schema(
    "task_instances",
    (
        Column("dag_id", "str"),
        Column("dag_run_id", "str"),
        Column("task_id", "str"),
        Column("map_index", "int"),
        Column("try_number", "int"),
        Column("state", "category", _TI_STATES),
        Column("operator", "str"),
        Column("start_date", "datetime"),
        Column("end_date", "datetime"),
        Column("duration", "duration"),
        Column("queue", "str"),
        Column("pool", "str"),
        Column("hostname", "str"),
    ),
)
