"""Human-in-the-loop requests against the REAL Airflow 3.3.2 (sync and async clients): ``hitl_dag``
(tests/dags/hitl_dags.py) asks a person, the SDK sees the request in ``hitl_requests()``, refuses an
option not offered, answers it, and the run goes on to success with the answer; a watched run, and
a flow's TriggerDagRun in the flow runner's progress display, say "waiting for a person". Against the real Airflow 2.10.5: the version error, and no request sent."""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import pandas as pd
import pytest

from kestra_airflow_sdk import (
    AirflowClient,
    AlreadyAnsweredError,
    InvalidArgumentError,
    NotFoundError,
    RunProgress,
    UnsupportedFeatureError,
    watch_dag_runs,
)
from kestra_airflow_sdk.flows import ExecutionState, Flow
from tests.airflow_servers import AirflowServer

DAG = "hitl_dag"
SUBJECT = "Publish the weekly report?"
#: a fresh Airflow 3 on a busy 2-core machine takes its time to start a task
TIMEOUT = 240.0


def _pending(client: Any, dag_run_id: str) -> pd.DataFrame:
    """The run's pending requests, once there is one (polls the real server, bounded)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        frame = client.hitl_requests(DAG, dag_run_id=dag_run_id)
        if len(frame) or time.monotonic() > deadline:
            return frame
        time.sleep(1.0)


def _why(client: Any, dag_run_id: str) -> str:
    """What the run's task instances say, for a failure message."""
    states = [(ti.task_id, str(ti.state)) for ti in client.list_task_instances(DAG, dag_run_id)]
    logs = {
        task: client.get_task_log(DAG, dag_run_id, task)[-1500:]
        for task, state in states
        if state == "failed"
    }
    return f"task instances {states}; logs of the failed ones: {logs}"


@pytest.mark.parametrize("airflow", ["3"], indirect=True, ids=["airflow3"])
def test_a_request_is_seen_answered_and_the_run_uses_the_answer(client: Any) -> None:
    run = client.trigger_dag_run(DAG)
    pending = _pending(client, run.dag_run_id)
    assert len(pending) == 1, f"no pending request within {TIMEOUT}s"
    row = pending.iloc[0]
    assert (row["dag_id"], row["dag_run_id"], row["task_id"], row["map_index"]) == (
        DAG,
        run.dag_run_id,
        "review",
        -1,
    )
    assert row["subject"] == SUBJECT and row["body"] == "The report has **12** rows."
    assert row["options"] == ["Approve", "Reject"] and not row["multiple"]
    assert row["params"]["reason"]["value"] == "looks good" and bool(row["pending"])
    assert row["task_state"] in ("running", "awaiting_input")  # the request is written, then the task parks
    assert str(pending["requested_at"].dtype) == "datetime64[us, UTC]"
    # the same request across every DAG and run (the ~ wildcards)
    everywhere = client.hitl_requests()
    assert run.dag_run_id in set(everywhere["dag_run_id"])

    with pytest.raises(InvalidArgumentError, match="the options offered are 'Approve', 'Reject'"):
        client.respond(DAG, run.dag_run_id, "review", ["Maybe"])
    with pytest.raises(NotFoundError, match="No human-in-the-loop request of task 'use_answer'"):
        client.respond(DAG, run.dag_run_id, "use_answer", ["Approve"])

    response = client.respond(DAG, run.dag_run_id, "review", ["Approve"], {"reason": "numbers checked"})
    assert response.chosen_options == ["Approve"] and response.params_input == {"reason": "numbers checked"}
    assert response.responded_by is not None and response.responded_by.name == "admin"

    final = client.wait_for_dag_run(DAG, run.dag_run_id, poll_frequency=1.0, timeout=TIMEOUT)
    assert str(final.state) == "success", _why(client, run.dag_run_id)
    assert "answer: Approve because numbers checked" in client.get_task_log(DAG, run.dag_run_id, "use_answer")

    answered = client.hitl_requests(DAG, state="answered", dag_run_id=run.dag_run_id)
    row = answered.iloc[0]
    assert not bool(row["pending"]) and row["chosen_options"] == ["Approve"]
    assert row["responded_by"] == "admin" and row["params_input"] == {"reason": "numbers checked"}
    assert row["responded_at"] >= row["requested_at"]
    assert client.hitl_requests(DAG, dag_run_id=run.dag_run_id).empty  # nothing pending any more
    with pytest.raises(AlreadyAnsweredError, match="answered already by admin"):
        client.respond(DAG, run.dag_run_id, "review", ["Reject"])
    assert client.get_hitl_request_try(DAG, run.dag_run_id, "review", 1).chosen_options == ["Approve"]


@pytest.mark.parametrize("airflow", ["3"], indirect=True, ids=["airflow3"])
def test_a_watched_run_says_it_waits_for_a_person(
    airflow: AirflowServer, credentials: dict[str, str]
) -> None:
    out = io.StringIO()
    with AirflowClient(airflow.base_url, **credentials) as client:
        run = client.trigger_dag_run(DAG)
        answered: list[Any] = []

        def answer() -> None:  # the person, from another thread, once the display said it waits
            deadline = time.monotonic() + TIMEOUT
            while "waiting for a person" not in out.getvalue() and time.monotonic() < deadline:
                time.sleep(0.5)
            with AirflowClient(airflow.base_url, **credentials) as person:
                answered.append(person.respond(DAG, run.dag_run_id, "review", "Approve"))

        thread = threading.Thread(target=answer)
        thread.start()
        try:
            [final] = watch_dag_runs(
                client, run, progress=RunProgress("text", stream=out), poll_frequency=1.0, timeout=TIMEOUT
            )
        finally:
            thread.join(TIMEOUT)
        assert answered and str(final.state) == "success", _why(client, run.dag_run_id)
    lines = out.getvalue().splitlines()
    assert any(f"{run.dag_run_id} waiting for a person: {SUBJECT}: " in line for line in lines), lines


FLOW = """
id: review_then_go_on
namespace: company.team
tasks:
  - id: run_hitl
    type: io.kestra.plugin.airflow.dags.TriggerDagRun
    baseUrl: {base_url}
    dagId: hitl_dag
    wait: true
    pollFrequency: PT1S
    maxDuration: PT10M
    options:
      auth:
        type: BASIC
        username: "{{{{ secret('AIRFLOW_USERNAME') }}}}"
        password: "{{{{ secret('AIRFLOW_PASSWORD') }}}}"
"""


@pytest.mark.parametrize("airflow", ["3"], indirect=True, ids=["airflow3"])
def test_a_flow_waiting_on_a_person_says_so_and_goes_on_once_answered(
    airflow: AirflowServer, credentials: dict[str, str], client: Any
) -> None:
    """The flow runner's display shows the TriggerDagRun's DAG run as "waiting for a person:
    <subject>"; the person (here ``client``, sync then async, from another thread) answers the
    request of the run the display shows, and the flow succeeds."""
    out = io.StringIO()
    progress = RunProgress("text", stream=out)
    answered: list[Any] = []

    def answer() -> None:
        """The person: answers once the display shows the run waiting (if it never does, answers
        the flow's pending request anyway so that the flow ends, and the test fails on ``answered``)."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            waiting = [s for s in progress.snapshots if s.waiting_for is not None]
            if waiting:
                answered.append(
                    client.respond(
                        DAG, waiting[0].dag_run_id, "review", "Approve", {"reason": "seen in the flow"}
                    )
                )
                return
            time.sleep(0.5)
        for request in client.list_hitl_requests(DAG, pending=True):
            if request.dag_run_id.startswith("kestra__"):
                client.respond(DAG, request.dag_run_id, "review", "Approve")

    thread = threading.Thread(target=answer)
    thread.start()
    try:
        execution = Flow.from_yaml(FLOW.format(base_url=airflow.base_url)).run(
            secrets={
                "AIRFLOW_USERNAME": credentials["username"],
                "AIRFLOW_PASSWORD": credentials["password"],
            },
            progress=progress,
        )
    finally:
        thread.join(TIMEOUT)
    run_id = execution.outputs["run_hitl"]["dagRunId"]
    assert answered, f"the display never showed the run waiting: {out.getvalue()}"
    assert execution.state is ExecutionState.SUCCESS, (execution.task_runs, _why(client, run_id))
    lines = out.getvalue().splitlines()
    assert any(f"{run_id} waiting for a person: {SUBJECT}: " in line for line in lines), lines
    assert any(line.startswith(f"{DAG} {run_id} success: ") for line in lines), lines
    assert any(f"waiting for a person: {SUBJECT}" in entry.message for entry in execution.logs)
    assert str(client.get_dag_run(DAG, run_id).state) == "success"
    row = client.hitl_requests(DAG, state="answered", dag_run_id=run_id).iloc[0]
    assert row["chosen_options"] == ["Approve"] and row["params_input"] == {"reason": "seen in the flow"}


@pytest.mark.parametrize("airflow", ["2"], indirect=True, ids=["airflow2"])
def test_airflow_2_has_no_requests(client: Any) -> None:
    assert DAG not in {dag.dag_id for dag in client.list_dags()}  # the DAG file defines none there
    for call in (
        lambda: client.hitl_requests(),
        lambda: client.respond("hello_world_dag", "any_run", "say_hello", ["Approve"]),
        lambda: client.get_hitl_request("hello_world_dag", "any_run", "say_hello"),
    ):
        with pytest.raises(UnsupportedFeatureError) as caught:
            call()
        assert caught.value.since == "3.1.0" and caught.value.server_version == "2.10.5"
        assert "human-in-the-loop requests need Airflow 3.1.0 or later" in str(caught.value)
