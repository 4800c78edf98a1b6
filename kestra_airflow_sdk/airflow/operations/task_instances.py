"""Operations on task instances: list the task instances of a run, read a task's log."""

from __future__ import annotations

from typing import Any

from ...transport.effects import Op
from ...transport.operation import operation
from ..arguments import segment
from ..logs import log_text
from ..lookups import read_task_instances
from ..models import TaskInstance
from ..session import Session

__all__ = ["MAX_LOG_CHUNKS", "TaskInstanceOperations"]

#: bound on log continuation requests (a log that never ends must not hang a call)
MAX_LOG_CHUNKS = 1000


class TaskInstanceOperations(Session):
    """The task-instance operations of both clients."""

    @operation
    def list_task_instances(self, dag_id: str, dag_run_id: str) -> Op[list[TaskInstance]]:
        """The task instances of one DAG run (one per task, and per map index for mapped tasks)."""
        return (yield from read_task_instances(self, dag_id, dag_run_id))

    @operation
    def get_task_log(
        self,
        dag_id: str,
        dag_run_id: str,
        task_id: str,
        try_number: int | None = None,
        *,
        map_index: int = -1,
    ) -> Op[str]:
        """The whole log of one task try as plain text (continuation tokens followed).

        ``try_number=None`` reads the task's latest try.
        """
        run_path = f"/dags/{segment(dag_id, 'dag_id')}/dagRuns/{segment(dag_run_id, 'dag_run_id')}"
        ti_path = f"{run_path}/taskInstances/{segment(task_id, 'task_id')}"
        action = f"Reading the log of task {task_id!r} in DAG run {dag_run_id!r} of DAG {dag_id!r}"
        if try_number is None:
            path = ti_path if map_index < 0 else f"{ti_path}/{map_index}"
            ti = yield from self._call("GET", path, action=action)
            try_number = max(int(TaskInstance.model_validate(ti).try_number), 1)
        chunks: list[str] = []
        params: dict[str, Any] = {"full_content": "true", "map_index": map_index}
        seen: set[str] = set()
        for _ in range(MAX_LOG_CHUNKS):
            body = yield from self._call(
                "GET", f"{ti_path}/logs/{int(try_number)}", action=action, params=params
            )
            text = log_text(body.get("content") if isinstance(body, dict) else body)
            chunks.append(text)
            token = body.get("continuation_token") if isinstance(body, dict) else None
            if not token or not text or token in seen:
                break
            seen.add(token)
            params = {**params, "token": token}
        return "".join(chunks)
