"""Operations on DAGs and on the server: version, list, get, pause, unpause, tasks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...transport.effects import Op
from ...transport.operation import operation
from ..arguments import segment
from ..lookups import read_dag
from ..models import AirflowDag, AirflowDagTask, VersionInfo
from ..pagination import paginate, parse_rows
from ..session import Session

__all__ = ["DagOperations"]


class DagOperations(Session):
    """The DAG operations of both clients."""

    @operation
    def get_version(self) -> Op[VersionInfo]:
        """Airflow's version and the REST API generation it speaks (detected once, then cached)."""
        yield from self._dialect()
        assert self._version_info is not None
        return self._version_info

    @operation
    def list_dags(
        self, *, paused: bool | None = None, tags: Iterable[str] | None = None, limit: int | None = None
    ) -> Op[list[AirflowDag]]:
        """Every DAG the credentials can see (all pages), optionally filtered.

        Args:
            paused: only paused (True) or only active (False) DAGs.
            tags: only DAGs with any of these tags.
            limit: stop after this many DAGs.
        """
        params: dict[str, Any] = {"paused": None if paused is None else str(paused).lower()}
        if tags:
            params["tags"] = list(tags)
        return (
            yield from paginate(
                self, "/dags", "dags", AirflowDag, action="Listing DAGs", params=params, limit=limit
            )
        )

    @operation
    def get_dag(self, dag_id: str) -> Op[AirflowDag]:
        """One DAG. Raises :class:`NotFoundError` when Airflow does not know ``dag_id``."""
        return (yield from read_dag(self, dag_id))

    def _set_paused(self, dag_id: str, paused: bool) -> Op[AirflowDag]:
        body = yield from self._call(
            "PATCH",
            f"/dags/{segment(dag_id, 'dag_id')}",
            action=f"{'Pausing' if paused else 'Unpausing'} DAG {dag_id!r}",
            params={"update_mask": "is_paused"},
            json_body={"is_paused": paused},
        )
        return AirflowDag.model_validate(body)

    @operation
    def pause_dag(self, dag_id: str) -> Op[AirflowDag]:
        """Pause a DAG (its scheduled and triggered runs stay queued until it is unpaused)."""
        return (yield from self._set_paused(dag_id, True))

    @operation
    def unpause_dag(self, dag_id: str) -> Op[AirflowDag]:
        """Unpause a DAG so that its queued runs start."""
        return (yield from self._set_paused(dag_id, False))

    @operation
    def list_dag_tasks(self, dag_id: str) -> Op[list[AirflowDagTask]]:
        """The tasks of a DAG's definition (task id, operator, ...), in Airflow's order."""
        body = yield from self._call(
            "GET", f"/dags/{segment(dag_id, 'dag_id')}/tasks", action=f"Listing the tasks of DAG {dag_id!r}"
        )
        return parse_rows(AirflowDagTask, body.get("tasks") or [])
