"""``watch_dag_runs`` on both drivers, the one fake Airflow replaying recorded real runs (``transport=``).

Time is virtual (tests/virtual_time.py): a poll every 5 s and a 60 s timeout take no real time.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from kestra_airflow_sdk import AirflowClient, RunProgress, watch_dag_runs
from kestra_airflow_sdk.airflow import DagRun, InvalidArgumentError, TaskInstance, WaitTimeoutError
from tests.display.recorded import load_polls, parse_poll
from tests.fake_airflow import FakeAirflow, fake_async_client, fake_client
from tests.virtual_time import run_virtual


class Recorder:
    """An observer that keeps every update, as the runner's observers will receive them."""

    def __init__(self) -> None:
        self.updates: list[tuple[str, str, list[str]]] = []
        self.closed = 0

    def update(self, run: DagRun, task_instances: list[TaskInstance]) -> None:
        self.updates.append((run.dag_run_id, str(run.state), [str(ti.state) for ti in task_instances]))

    def close(self) -> None:
        self.closed += 1


def _run(api: str, mode: str, recordings: list[list[dict[str, Any]]], **kwargs: Any) -> Any:
    fake = FakeAirflow(api=api)
    runs = [DagRun.model_validate(fake.replay(polls).body()) for polls in recordings]
    if mode == "sync":
        with fake_client(fake) as client:
            return watch_dag_runs(client, runs, poll_frequency=5.0, **kwargs)

    async def main() -> list[DagRun]:
        async with fake_async_client(fake) as client:
            return await watch_dag_runs(client, runs, poll_frequency=5.0, **kwargs)

    return run_virtual(main())


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("recording", ["v2_progress_polls.json", "v1_progress_polls.json"])
def test_observer_sees_every_poll_then_close(mode: str, recording: str) -> None:
    polls = load_polls(recording)
    seen = Recorder()
    [final] = _run(recording[:2], mode, [polls], progress=seen)
    assert final.state == "success"
    expected = []
    for poll in polls:
        run, tis = parse_poll(poll)
        expected.append((run.dag_run_id, str(run.state), [str(ti.state) for ti in tis]))
    assert seen.updates == expected
    assert seen.closed == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_many_runs_end_in_one_table(mode: str) -> None:
    recordings = [load_polls("v2_progress_polls.json"), load_polls("v2_progress_polls_failing.json")]
    progress = RunProgress("off")
    finals = _run("v2", mode, recordings, progress=progress)
    assert [str(r.state) for r in finals] == ["success", "failed"]
    assert [(s.state, s.finished, s.total) for s in progress.snapshots] == [
        ("success", 3, 3),
        ("failed", 1, 1),
    ]
    assert progress.closed
    assert progress.snapshots[0].url == (
        f"http://airflow.test/dags/hello_world_dag/runs/{finals[0].dag_run_id}"
    )


def test_text_progress_while_waiting() -> None:
    out = io.StringIO()
    _run("v1", "sync", [load_polls("v1_progress_polls.json")], progress=RunProgress("text", stream=out))
    lines = out.getvalue().splitlines()
    assert lines[-1] == "All 1 DAG run finished: 1 success"
    assert "success: 3/3 tasks done (success 3)" in lines[-2]


def test_timeout_names_the_unfinished_runs_and_closes_the_display() -> None:
    polls = load_polls("v2_progress_polls.json")[:3]  # never reaches a final state
    seen = Recorder()
    with pytest.raises(
        WaitTimeoutError,
        match=r"DAG run '\w+' of DAG 'hello_world_dag' did not finish within 60s: waited 60\.0s, last state seen running",
    ):
        _run("v2", "sync", [polls], progress=seen, timeout=60)
    assert seen.closed == 1


def test_bad_arguments_are_clear_errors() -> None:
    with AirflowClient("http://airflow.test", token="t") as client:
        with pytest.raises(InvalidArgumentError, match="runs: expected DagRun objects"):
            watch_dag_runs(client, ["hello_world_dag"], progress=False)  # type: ignore[list-item]
        with pytest.raises(InvalidArgumentError, match="client: expected an AirflowClient"):
            watch_dag_runs(object(), [], progress=False)  # type: ignore[call-overload]
        with pytest.raises(InvalidArgumentError, match="poll_frequency"):
            watch_dag_runs(client, [], progress=False, poll_frequency=0)
