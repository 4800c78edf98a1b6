"""``watch_dag_runs`` against real Airflow 3.3.2 and 2.10.5, through both drivers."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from kestra_airflow_sdk import RunProgress, watch_dag_runs
from kestra_airflow_sdk.airflow import DagRun, TaskInstance
from kestra_airflow_sdk.display import airflow_ui_url
from tests.airflow_servers import AirflowServer
from tests.clients import BlockingAsync, open_client


class Recorder(RunProgress):
    """The real progress display (off), also keeping every poll it was given."""

    def __init__(self) -> None:
        super().__init__("off")
        self.polls: list[tuple[DagRun, list[TaskInstance]]] = []

    def update(self, run: DagRun, task_instances: Any) -> Any:
        self.polls.append((run, list(task_instances)))
        return super().update(run, task_instances)


def _watch(client: Any, runs: list[DagRun], progress: RunProgress) -> list[DagRun]:
    """Sync client: call it. Async client (behind the tests' blocking view): await it on its loop."""
    options: dict[str, Any] = {"progress": progress, "poll_frequency": 0.5, "timeout": 180.0}
    if isinstance(client, BlockingAsync):
        coroutine = watch_dag_runs(client._client, runs, **options)
        return asyncio.run_coroutine_threadsafe(coroutine, client._loop).result()
    return watch_dag_runs(client, runs, **options)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_watch_a_success_and_a_failure_in_one_table(
    mode: str, airflow: AirflowServer, credentials: dict[str, str]
) -> None:
    # a generous request timeout: on a busy 2-core box Airflow on SQLite can stall a read for 30 s
    with open_client(mode, airflow.base_url, timeout=120.0, **credentials) as client:
        runs = [
            client.trigger_dag_run("hello_world_dag", dag_run_id=f"watch_{uuid.uuid4().hex[:8]}"),
            client.trigger_dag_run("failing_dag", dag_run_id=f"watch_{uuid.uuid4().hex[:8]}"),
        ]
        progress = Recorder()
        finals = _watch(client, runs, progress)
    assert [str(r.state) for r in finals] == ["success", "failed"]
    assert progress.closed
    hello, failing = progress.snapshots
    assert (hello.state, hello.finished, hello.total, hello.counts["success"]) == ("success", 3, 3, 3)
    assert (failing.state, failing.finished, failing.counts["failed"]) == ("failed", 1, 1)
    assert hello.url == airflow_ui_url(
        airflow.base_url, airflow.api_version, "hello_world_dag", runs[0].dag_run_id
    )
    # every poll the display got is consistent: counts add up, finished never goes back
    last: dict[str, int] = {}
    for run, tis in progress.polls:
        finished = sum(1 for ti in tis if ti.state is not None and ti.state.is_final)
        assert finished >= last.get(run.dag_run_id, 0)
        last[run.dag_run_id] = finished
