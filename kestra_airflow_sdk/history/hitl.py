"""What waits for a person: human-in-the-loop requests (Airflow 3.1+) as a DataFrame."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from ..airflow.core import ClientCore
from ..airflow.errors import InvalidArgumentError
from ..airflow.hitl_models import HitlRequest
from ..transport.effects import Op
from ..transport.operation import operation

if TYPE_CHECKING:
    import pandas as pd

    from .schemas import Schema

__all__ = ["HitlFrameOperations", "hitl_requests_frame", "hitl_schema"]

RequestState = Literal["pending", "answered", "all"]
_STATES: dict[str | None, bool | None] = {"pending": True, "answered": False, "all": None, None: None}


def hitl_schema() -> Schema:
    """The columns of :meth:`HitlFrameOperations.hitl_requests` (built when pandas is loaded)."""
    from .schemas import Column, Schema

    return Schema(
        "hitl_requests",
        (
            Column("dag_id", "str"),
            Column("dag_run_id", "str"),
            Column("task_id", "str"),
            Column("map_index", "int"),
            Column("try_number", "int"),
            Column("task_state", "category", ("awaiting_input", "deferred", "success", "failed")),
            Column("subject", "str"),
            Column("body", "str"),
            Column("options", "object"),
            Column("multiple", "bool"),
            Column("params", "object"),
            Column("defaults", "object"),
            Column("assigned_users", "object"),
            Column("requested_at", "datetime"),
            Column("pending", "bool"),
            Column("responded_at", "datetime"),
            Column("responded_by", "str"),
            Column("chosen_options", "object"),
            Column("params_input", "object"),
        ),
    )


def _row(request: HitlRequest) -> dict[str, Any]:
    return {
        **request.model_dump(
            include={
                "dag_id",
                "dag_run_id",
                "task_id",
                "map_index",
                "try_number",
                "task_state",
                "subject",
                "body",
                "options",
                "multiple",
                "params",
                "defaults",
                "responded_at",
                "chosen_options",
                "params_input",
            }
        ),
        "assigned_users": [user.name for user in request.assigned_users],
        "requested_at": request.created_at,
        "pending": request.pending,
        "responded_by": request.responded_by.name if request.responded_by is not None else None,
    }


def hitl_requests_frame(requests: list[HitlRequest]) -> pd.DataFrame:
    """One row per request, oldest first (an empty frame keeps the columns and dtypes)."""
    ordered = sorted(requests, key=lambda r: (r.created_at is None, r.created_at, r.dag_id, r.dag_run_id))
    return hitl_schema().frame([_row(request) for request in ordered])


class HitlFrameOperations(ClientCore):
    """Human-in-the-loop requests as a DataFrame (mixed into both public clients)."""

    @operation
    def hitl_requests(
        self,
        dag_id: str | None = None,
        state: RequestState | None = "pending",
        *,
        dag_run_id: str | None = None,
        limit: int | None = None,
    ) -> Op[pd.DataFrame]:
        """What waits for a person (Airflow 3.1.0+): one row per human-in-the-loop request, oldest first.

        Columns: ``dag_id``, ``dag_run_id``, ``task_id``, ``map_index``, ``try_number``,
        ``task_state``, ``subject``, ``body``, ``options`` (list), ``multiple``, ``params`` (dict:
        name → ``{"value", "description", "schema"}``), ``defaults`` (list or None),
        ``assigned_users`` (names), ``requested_at``, ``pending``, ``responded_at``,
        ``responded_by`` (name), ``chosen_options`` (list or None), ``params_input`` (dict).

        Args:
            dag_id: one DAG, or None for every DAG.
            state: ``"pending"`` (not answered yet, the default), ``"answered"``, or ``"all"``.
            dag_run_id: one run of ``dag_id``.
            limit: stop after this many requests.

        Example:
            >>> client.hitl_requests()[["dag_id", "task_id", "subject", "options"]]
        """
        if state not in _STATES:
            raise InvalidArgumentError(f"state: expected 'pending', 'answered' or 'all', got {state!r}")
        requests: list[HitlRequest] = yield from ClientCore.list_hitl_requests.fn(
            self, dag_id, dag_run_id, pending=_STATES[state], limit=limit
        )
        return hitl_requests_frame(requests)
