"""A flow's TriggerDagRun waiting on a DAG run whose task waits for a person: the flow runner's
progress display says "waiting for a person: <subject>" instead of "running", and the runner asks
Airflow for the request only on polls whose task instances show a task awaiting input.

The one fake Airflow of the fast tests plays ``hitl_dag``: while its run is ``running`` its task
instance is ``awaiting_input`` (as Airflow 3.3 says of a human-in-the-loop task), and the run's
``hitlDetails`` list the pending request recorded from Airflow 3.3.2. Time is virtual.
"""

from __future__ import annotations

import copy
import io
import json
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from kestra_airflow_sdk import RunProgress
from kestra_airflow_sdk.airflow.hitl_models import HitlRequest
from kestra_airflow_sdk.airflow.models import DagRun, TaskInstance
from kestra_airflow_sdk.display.execution import ExecutionProgress
from kestra_airflow_sdk.flows import ExecutionState, Flow
from kestra_airflow_sdk.flows.execution import Execution, TaskRun
from kestra_airflow_sdk.flows.observer import Observer
from kestra_airflow_sdk.runner import FlowRunner
from kestra_airflow_sdk.wiring import Runtime
from tests.runner.fake_airflow import FakeAirflow
from tests.runner.test_engine import SECRETS, trigger
from tests.unit.test_hitl import PENDING
from tests.virtual_time import run_virtual

SUBJECT = PENDING["subject"]


class HitlAirflow:
    """The fake Airflow, with a human-in-the-loop task: ``awaiting_input`` while its run runs
    (``asks``), and the run's pending request. Counts the polls that showed the task waiting and
    the reads of the run's requests."""

    def __init__(self, *states: str, asks: bool = True) -> None:
        self.fake = FakeAirflow(scripts={"hitl_dag": list(states)})
        self.asks = asks
        self.awaiting_polls = 0
        self.hitl_reads: list[str] = []

    def runtime(self) -> Runtime:
        return Runtime(transport=httpx.MockTransport(self))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.path)
        if path.endswith("/hitlDetails"):
            self.hitl_reads.append(path)
            run_id = path.split("/dagRuns/")[1].split("/")[0]
            row = copy.deepcopy(PENDING)
            row["task_instance"]["dag_run_id"] = run_id
            return httpx.Response(200, json={"hitl_details": [row], "total_entries": 1})
        response = self.fake.handle(request)
        if not (self.asks and path.endswith("/taskInstances") and response.status_code == 200):
            return response
        body = json.loads(response.content)
        for ti in body["task_instances"]:
            if ti["state"] == "running":
                ti.update(task_id="review", state="awaiting_input", operator="HITLOperator")
                self.awaiting_polls += 1
        return httpx.Response(200, json=body)


class Waits(Observer):
    """Records what the runner says of the run's waits, and the order of the events."""

    wants_task_instances = True

    def __init__(self) -> None:
        self.events: list[tuple[str, str | None]] = []

    def dag_run_waiting(
        self, execution: Execution, task_run: TaskRun, dag_run: DagRun, request: HitlRequest | None
    ) -> None:
        self.events.append(("waiting", None if request is None else request.subject))

    def dag_run_polled(
        self,
        execution: Execution,
        task_run: TaskRun,
        dag_run: DagRun,
        task_instances: list[TaskInstance] | None,
    ) -> None:
        self.events.append(("polled", str(dag_run.state)))


def _run(airflow: HitlAirflow, progress: Any, observers: list[Observer] | None = None) -> Execution:
    flow = Flow("f", "n").task(trigger("run_hitl", "hitl_dag"))
    runner = FlowRunner(
        flow, secrets=SECRETS, progress=progress, observers=observers, runtime=airflow.runtime()
    )
    return run_virtual(runner.run())


def test_the_row_of_a_run_waiting_for_a_person_says_so_then_ends() -> None:
    airflow = HitlAirflow("queued", "running", "running", "running", "success")
    out = io.StringIO()
    progress = RunProgress("text", stream=out)
    execution = _run(airflow, progress)
    assert execution.state is ExecutionState.SUCCESS
    lines = [line for line in out.getvalue().splitlines() if line.startswith("hitl_dag ")]
    waiting = [line for line in lines if f"waiting for a person: {SUBJECT}" in line]
    assert waiting, lines
    assert not any(" running:" in line for line in lines)  # never plain "running" while it waits
    assert lines.index(waiting[0]) > 0 and " queued:" in lines[0]
    assert " success:" in lines[-1]
    (snapshot,) = progress.snapshots
    assert snapshot.state == "success" and snapshot.waiting_for is None
    # one read of the run's requests per poll that showed the task awaiting input, no other
    assert airflow.awaiting_polls > 0
    assert len(airflow.hitl_reads) == airflow.awaiting_polls
    logged = [e.message for e in execution.logs if "waiting for a person" in e.message]
    assert len(logged) == 1 and logged[0].endswith(f"waiting for a person: {SUBJECT}")


def test_observers_hear_of_the_wait_once_before_that_poll_and_once_when_it_ends() -> None:
    airflow = HitlAirflow("queued", "running", "running", "success")
    waits = Waits()
    _run(airflow, False, [waits])
    said = [event for event in waits.events if event[0] == "waiting"]
    assert said == [("waiting", SUBJECT), ("waiting", None)]
    first = waits.events.index(("waiting", SUBJECT))
    assert waits.events[first + 1] == ("polled", "running")
    assert waits.events[waits.events.index(("waiting", None)) + 1] == ("polled", "success")


def test_a_run_that_asks_nobody_costs_no_request_and_shows_running() -> None:
    airflow = HitlAirflow("queued", "running", "running", "success", asks=False)
    out = io.StringIO()
    execution = _run(airflow, RunProgress("text", stream=out))
    assert execution.state is ExecutionState.SUCCESS
    assert airflow.hitl_reads == []
    assert "hitl_dag " in out.getvalue() and " running:" in out.getvalue()
    assert "waiting for a person" not in out.getvalue()


def test_without_a_display_the_runner_never_asks() -> None:
    """No observer wants task instances: the polls do not read them, so nothing tells of a task
    awaiting input and the runner sends no request for it (batched waits stay as cheap)."""
    airflow = HitlAirflow("queued", "running", "running", "success")
    execution = _run(airflow, False)
    assert execution.state is ExecutionState.SUCCESS
    assert airflow.hitl_reads == [] and airflow.awaiting_polls == 0


@pytest.mark.parametrize("display", ["with waiting", "update and close only"])
def test_execution_progress_passes_the_wait_to_displays_that_show_it(display: str) -> None:
    run = DagRun.model_validate({"dag_id": "hitl_dag", "dag_run_id": "r", "state": "running"})
    request = HitlRequest.model_validate(PENDING)
    execution = Execution(id="x", namespace="n", flow_id="f")
    task_run = TaskRun(id="t", task_id="run_hitl", type="TriggerDagRun")

    class Plain:
        def __init__(self) -> None:
            self.updates: list[str] = []

        def update(self, run: DagRun, task_instances: Any) -> None:
            self.updates.append(str(run.state))

        def close(self) -> None:
            pass

    shown: RunProgress | Plain = RunProgress("off") if display == "with waiting" else Plain()
    observer = ExecutionProgress(shown)
    observer.dag_run_waiting(execution, task_run, run, request)
    observer.dag_run_polled(execution, task_run, run, [])
    if isinstance(shown, RunProgress):
        assert shown.snapshot("hitl_dag", "r").shown_state == f"waiting for a person: {SUBJECT}"
        observer.dag_run_waiting(execution, task_run, run, None)
        observer.dag_run_polled(execution, task_run, run, [])
        assert shown.snapshot("hitl_dag", "r").shown_state == "running"
    else:
        assert shown.updates == ["running"]  # a display without ``waiting`` is only updated
