"""A flow execution shows its DAG runs in the live progress table (``progress=`` of Flow.run)."""

from __future__ import annotations

import io

from kestra_airflow_sdk import RunProgress
from kestra_airflow_sdk.flows import ExecutionState, Flow, Parallel
from tests.runner.fake_airflow import FakeAirflow
from tests.runner.test_engine import SECRETS, trigger


def test_parallel_execution_fills_one_table_and_ends_final(fake_airflow: FakeAirflow) -> None:
    progress = RunProgress("off")
    flow = Flow("f", "n").task(Parallel(id="p", tasks=[trigger("a"), trigger("b", "fails"), trigger("c")]))
    execution = flow.run(secrets=SECRETS, progress=progress)
    assert execution.state is ExecutionState.FAILED
    snapshots = {s.dag_run_id: s for s in progress.snapshots}
    assert len(snapshots) == 3
    assert set(fake_airflow.runs) == set(snapshots)
    assert sorted(str(s.state) for s in snapshots.values()) == ["failed", "success", "success"]
    assert progress.closed
    assert all(s.is_final for s in snapshots.values())


def test_text_progress_and_off(fake_airflow: FakeAirflow) -> None:
    stream = io.StringIO()
    Flow("f", "n").task(trigger("a")).run(secrets=SECRETS, progress=RunProgress("text", stream=stream))
    assert "success" in stream.getvalue()
    assert "ok" in stream.getvalue()  # the DAG id
    quiet = Flow("f", "n").task(trigger("b")).run(secrets=SECRETS, progress=False)
    assert quiet.state is ExecutionState.SUCCESS
