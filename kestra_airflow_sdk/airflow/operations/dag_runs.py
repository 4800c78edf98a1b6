"""Operations on DAG runs: get, list, set the state of, and clear a run."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ...transport.effects import Op
from ...transport.operation import operation
from ..arguments import aware, iso, segment, states
from ..arguments import limit as checked_limit
from ..errors import InvalidArgumentError
from ..lookups import read_run
from ..models import DagRun, DagRunState
from ..pagination import paginate
from ..session import Session
from ..versions import ApiVersion

__all__ = ["DagRunOperations"]


class DagRunOperations(Session):
    """The DAG-run operations of both clients (triggering and waiting have their own modules)."""

    @operation
    def get_dag_run(self, dag_id: str, dag_run_id: str) -> Op[DagRun]:
        """One DAG run, with its current state."""
        return (yield from read_run(self, dag_id, dag_run_id))

    @operation
    def list_dag_runs(
        self,
        dag_id: str | None = None,
        *,
        state: str | DagRunState | Iterable[str | DagRunState] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        order_by: str | Iterable[str] | None = None,
        limit: int | None = None,
    ) -> Op[list[DagRun]]:
        """DAG runs, all pages fetched transparently.

        Args:
            dag_id: one DAG, or None for the runs of every DAG.
            state: only runs in this state (or any of these states).
            since: only runs due at or after this timezone-aware time (Airflow 3 ``run_after``,
                Airflow 2 ``execution_date``).
            until: only runs due at or before this timezone-aware time.
            order_by: field name(s), ``-`` prefix for descending, e.g. ``"-start_date"``
                (Airflow 2 accepts one field).
            limit: stop after this many runs.
        """
        checked_limit(limit)
        dialect = yield from self._dialect()
        orders = [order_by] if isinstance(order_by, str) else list(order_by or [])
        if len(orders) > 1 and not dialect.multi_order_by:
            raise InvalidArgumentError(
                f"order_by: Airflow 2 (/api/v1) sorts by one field only, got {orders!r}"
            )
        field = dialect.run_time_field
        params: dict[str, Any] = {
            "state": states(state) or None,
            f"{field}_gte": iso(aware(since, "since")),
            f"{field}_lte": iso(aware(until, "until")),
            "order_by": (orders if dialect.multi_order_by else orders[0]) if orders else None,
        }
        path = f"/dags/{'~' if dag_id is None else segment(dag_id, 'dag_id')}/dagRuns"
        action = f"Listing runs of DAG {dag_id!r}" if dag_id else "Listing DAG runs"
        return (
            yield from paginate(self, path, "dag_runs", DagRun, action=action, params=params, limit=limit)
        )

    @operation
    def set_dag_run_state(self, dag_id: str, dag_run_id: str, state: str | DagRunState) -> Op[DagRun]:
        """Mark a DAG run ``success``, ``failed`` (this stops its running tasks) or ``queued``."""
        value = str(state.value if isinstance(state, DagRunState) else state)
        if value not in ("success", "failed", "queued"):
            raise InvalidArgumentError(f"state: expected 'success', 'failed' or 'queued', got {state!r}")
        body = yield from self._call(
            "PATCH",
            f"/dags/{segment(dag_id, 'dag_id')}/dagRuns/{segment(dag_run_id, 'dag_run_id')}",
            action=f"Setting DAG run {dag_run_id!r} of DAG {dag_id!r} to {value!r}",
            json_body={"state": value},
        )
        return DagRun.model_validate(body)

    @operation
    def clear_dag_run(self, dag_id: str, dag_run_id: str, *, only_failed: bool = False) -> Op[DagRun]:
        """Clear a DAG run so that it runs again (for real: ``dry_run`` is false)."""
        path = f"/dags/{segment(dag_id, 'dag_id')}/dagRuns/{segment(dag_run_id, 'dag_run_id')}/clear"
        dialect = yield from self._dialect()
        body: dict[str, Any] = {"dry_run": False}
        if only_failed or dialect.version is ApiVersion.V2:
            body["only_failed"] = only_failed
        yield from self._call(
            "POST", path, action=f"Clearing DAG run {dag_run_id!r} of DAG {dag_id!r}", json_body=body
        )
        return (yield from read_run(self, dag_id, dag_run_id))
