"""Operations reading a DAG's full definition: its details, its tasks with every field Airflow serves,
its source file, and one XCom value of a run's task (what the native migration reads).

Both API generations: ``GET /dags/{id}/details`` and ``/dags/{id}/tasks`` (Airflow 2.x and 3.x);
the source is ``GET /dagSources/{dag_id}`` on Airflow 3 and ``GET /dagSources/{file_token}`` on
Airflow 2 (the token is in the DAG's listing and details); an XCom value is read with
``stringify=false`` so that it comes back as JSON, not as Python's ``str()`` of it (both versions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...transport.effects import Op
from ...transport.operation import operation
from ..arguments import segment
from ..errors import InvalidArgumentError
from ..models import AirflowDag
from ..session import Session

__all__ = ["DagDetailOperations", "DagDetails"]


@dataclass(frozen=True)
class DagDetails:
    """A DAG's details (``GET /dags/{id}/details``): the DAG, its params' values, its file token and
    the whole answer as Airflow sent it (``raw``: its fields differ between API generations)."""

    dag: AirflowDag
    params: dict[str, Any] = field(default_factory=dict)
    file_token: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def _param_values(params: Any) -> dict[str, Any]:
    """``{"x": {"value": 3, "schema": {...}}}`` (both APIs) → ``{"x": 3}``."""
    if not isinstance(params, dict):
        return {}
    return {str(k): v.get("value") if isinstance(v, dict) and "value" in v else v for k, v in params.items()}


class DagDetailOperations(Session):
    """The operations reading a DAG's definition and a task's XCom value, for both clients."""

    @operation
    def get_dag_details(self, dag_id: str) -> Op[DagDetails]:
        """The details of DAG ``dag_id``: params (their values), file token, and every field served.

        Raises :class:`~kestra_airflow_sdk.airflow.errors.NotFoundError` for an unknown DAG.
        """
        body = yield from self._call(
            "GET",
            f"/dags/{segment(dag_id, 'dag_id')}/details",
            action=f"Reading the details of DAG {dag_id!r}",
        )
        raw = body if isinstance(body, dict) else {}
        token = raw.get("file_token")
        return DagDetails(
            dag=AirflowDag.model_validate(raw),
            params=_param_values(raw.get("params")),
            file_token=token if isinstance(token, str) and token else None,
            raw=raw,
        )

    @operation
    def get_dag_tasks(self, dag_id: str) -> Op[list[dict[str, Any]]]:
        """The tasks of DAG ``dag_id`` with every field Airflow serves (``trigger_rule``, ``retries``,
        ``retry_delay``, ``execution_timeout``, ``is_mapped``, ``class_ref``, ...), in Airflow's order.

        :meth:`list_dag_tasks` gives the same tasks as models of their common fields.
        """
        body = yield from self._call(
            "GET", f"/dags/{segment(dag_id, 'dag_id')}/tasks", action=f"Listing the tasks of DAG {dag_id!r}"
        )
        rows = body.get("tasks") if isinstance(body, dict) else None
        return [dict(row) for row in rows or () if isinstance(row, dict)]

    @operation
    def get_dag_source(self, dag_id: str, *, file_token: str | None = None) -> Op[str]:
        """The text of the file that defines DAG ``dag_id`` (one request).

        Airflow 3 serves it by DAG id; Airflow 2 by the file's token, given as ``file_token`` (from
        :meth:`list_dags` / :meth:`get_dag` / :meth:`get_dag_details`) or read from the DAG's
        details first (a second request). Raises
        :class:`~kestra_airflow_sdk.airflow.errors.NotFoundError` when Airflow has no source for it.
        """
        if file_token is not None and (not isinstance(file_token, str) or not file_token):
            raise InvalidArgumentError(f"file_token: expected a non-empty string or None, got {file_token!r}")
        dialect = yield from self._dialect()
        if dialect.version.value == "v2":
            key = segment(dag_id, "dag_id")
        else:
            if file_token is None:
                details: DagDetails = yield from DagDetailOperations.get_dag_details.fn(self, dag_id)
                file_token = details.file_token
            if file_token is None:
                raise InvalidArgumentError(
                    f"DAG {dag_id!r}: Airflow gave no file_token to read its source by"
                )
            key = segment(file_token, "file_token")
        body = yield from self._call(
            "GET",
            f"/dagSources/{key}",
            action=f"Reading the source file of DAG {dag_id!r}",
            headers={"Accept": "application/json"},
        )
        text = body.get("content") if isinstance(body, dict) else body
        return text if isinstance(text, str) else ""
