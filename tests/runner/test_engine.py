"""The runner against an in-memory Airflow: states, outputs, retries, timeouts, cancellation,
parallelism and secret hygiene (real Airflow: tests/integration/test_flows.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pandas as pd
import pytest

from kestra_airflow_sdk.airflow.models import DagRun, TaskInstance
from kestra_airflow_sdk.flows import (
    Execution,
    ExecutionFailedError,
    ExecutionState,
    Flow,
    FlowValidationError,
    Log,
    Observer,
    Parallel,
    Sequential,
    TaskRun,
    TriggerDagRun,
    UnsupportedTaskError,
)
from kestra_airflow_sdk.runner import FlowRunner, TextReporter
from tests.runner.core_flows import cancel_when
from tests.runner.fake_airflow import FakeAirflow
from tests.virtual_time import run_virtual

SECRETS = {"AIRFLOW_PASSWORD": "admin"}


def trigger(task_id: str, dag: str = "ok", **kw: Any) -> TriggerDagRun:
    kw.setdefault("wait", True)
    kw.setdefault("poll_frequency", "PT0.01S")
    kw.setdefault(
        "options",
        {"auth": {"type": "BASIC", "username": "admin", "password": "{{ secret('AIRFLOW_PASSWORD') }}"}},
    )
    return TriggerDagRun(id=task_id, base_url="http://fake-airflow/", dag_id=dag, **kw)


class Recorder(Observer):
    wants_task_instances = True

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.polled: list[DagRun] = []
        self.task_instances: list[list[TaskInstance] | None] = []

    def task_started(self, execution: Execution, task_run: TaskRun) -> None:
        self.events.append(("start", task_run.task_id))

    def task_ended(self, execution: Execution, task_run: TaskRun) -> None:
        self.events.append(("end", task_run.task_id))

    def dag_run_polled(
        self, execution: Execution, task_run: TaskRun, dag_run: DagRun, tis: list[TaskInstance] | None
    ) -> None:
        self.polled.append(dag_run)
        self.task_instances.append(tis)


def test_success_outputs_and_records(fake_airflow: FakeAirflow) -> None:
    flow = Flow("airflow", "company.team").task(
        trigger("run_dag", body={"conf": {"flow": "{{ flow.id }}", "execution": "{{ execution.id }}"}})
    )
    execution = flow.run(secrets=SECRETS)
    assert execution.state is ExecutionState.SUCCESS
    assert len(execution.id) == 22 and execution.id.isalnum()
    (run,) = fake_airflow.runs.values()
    assert run.conf == {"flow": "airflow", "execution": execution.id}
    outputs = execution.outputs["run_dag"]
    assert outputs["dagId"] == "ok" and outputs["dagRunId"] == run.run_id and outputs["state"] == "success"
    assert outputs["started"].isoformat() == "2026-01-01T00:00:00+00:00"
    assert outputs["ended"].isoformat() == "2026-01-01T00:00:10+00:00"
    assert pd.DataFrame(outputs["taskInstances"])["task_id"].tolist() == ["t1"]
    task_run = execution.task_run("run_dag")
    assert (task_run.state, task_run.attempt, task_run.error) == (ExecutionState.SUCCESS, 1, None)
    assert (
        task_run.start_date is not None
        and task_run.end_date is not None
        and task_run.end_date >= task_run.start_date
    )
    frame = execution.to_pandas()
    assert list(frame.columns)[:5] == ["task_run_id", "task_id", "type", "state", "attempt"]
    assert frame["state"].tolist() == ["SUCCESS"]
    assert execution.raise_for_state() is execution
    # a trailing slash in baseUrl is harmless: no '//api' in any request
    assert all("//api" not in str(r.url) for r in fake_airflow.requests)


def test_a_runner_opens_its_airflow_clients_through_the_runtime_it_is_given(
    fake_airflow: FakeAirflow,
) -> None:
    """``FlowRunner(runtime=Runtime(transport=...))`` reaches that transport, not the installed runtime's."""
    other = FakeAirflow(scripts={"ok": ["success"]})
    flow = Flow("f", "n").task(trigger("run_dag"))
    execution = run_virtual(FlowRunner(flow, secrets=SECRETS, progress=False, runtime=other.runtime()).run())
    assert execution.state is ExecutionState.SUCCESS
    assert [run.dag_id for run in other.runs.values()] == ["ok"]
    assert fake_airflow.requests == [] and fake_airflow.runs == {}


def test_empty_execution_frame_has_the_schema() -> None:
    frame = Execution(id="x", namespace="n", flow_id="f").to_pandas()
    assert (
        frame.empty
        and "duration" in frame.columns
        and str(frame["start_date"].dtype).startswith("datetime64")
    )


def test_failed_dag_run_fails_the_task_and_execution(fake_airflow: FakeAirflow) -> None:
    flow = Flow("f", "n").task(trigger("bad", "fails")).task(Log(id="after", message="never"))
    execution = flow.run(secrets=SECRETS)
    assert execution.state is ExecutionState.FAILED
    assert execution.outputs["bad"]["state"] == "failed"
    assert "ended failed in Airflow" in (execution.task_run("bad").error or "")
    assert [r.task_id for r in execution.task_runs] == ["bad"]  # the list stopped
    with pytest.raises(ExecutionFailedError, match="bad: FAILED"):
        execution.raise_for_state()


def test_allow_failure_gives_warning_and_goes_on(fake_airflow: FakeAirflow) -> None:
    flow = Flow("f", "n").task(trigger("bad", "fails", allow_failure=True)).task(trigger("good"))
    execution = flow.run(secrets=SECRETS)
    assert execution.state is ExecutionState.WARNING
    assert execution.task_run("bad").state is ExecutionState.WARNING
    assert execution.outputs["bad"]["state"] == "failed"
    assert execution.task_run("good").state is ExecutionState.SUCCESS
    execution.raise_for_state()  # WARNING does not raise


def test_errors_and_finally_tasks(fake_airflow: FakeAirflow) -> None:
    flow = Flow(
        "f",
        "n",
        tasks=[trigger("bad", "fails")],
        errors=[Log(id="on_error", message="{{ outputs.bad.state }}")],
        **{"finally": [Log(id="always", message="bye")]},
    )
    execution = flow.run(secrets=SECRETS)
    assert [r.task_id for r in execution.task_runs] == ["bad", "on_error", "always"]
    assert execution.state is ExecutionState.FAILED


def test_no_wait_reports_the_queued_run(fake_airflow: FakeAirflow) -> None:
    execution = Flow("f", "n").task(trigger("t", wait=False)).run(secrets=SECRETS)
    assert execution.outputs["t"]["state"] == "queued"
    assert "started" not in execution.outputs["t"]
    assert next(iter(fake_airflow.runs.values())).polls == 0


def test_transient_errors_are_retried(fake_airflow: FakeAirflow) -> None:
    fake_airflow.errors = {"trigger": 1, "poll": 2}
    fake_airflow.create_on_error = True  # the 500 still created the run: settle it, don't trigger twice
    execution = Flow("f", "n").task(trigger("t")).run(secrets=SECRETS)
    assert execution.state is ExecutionState.SUCCESS
    assert len(fake_airflow.runs) == 1


def test_max_duration_fails_the_task_clearly(fake_airflow: FakeAirflow) -> None:
    flow = Flow("f", "n").task(trigger("slow", "forever", max_duration="PT0.05S"))
    execution = flow.run(secrets=SECRETS)
    error = execution.task_run("slow").error or ""
    assert execution.state is ExecutionState.FAILED
    assert "did not finish within maxDuration PT0.05S" in error and "last state: running" in error
    assert "still going on in Airflow" in error
    assert not any(r.method == "PATCH" for r in fake_airflow.requests)
    flow.run(secrets=SECRETS, cancel_airflow_runs=True)
    assert any(r.method == "PATCH" for r in fake_airflow.requests)


def test_cancellation_kills_the_execution_and_optionally_the_airflow_run(fake_airflow: FakeAirflow) -> None:
    flow = Flow("f", "n").task(trigger("slow", "forever"))

    def polled_twice(_: object) -> bool:
        return bool(fake_airflow.runs) and next(iter(fake_airflow.runs.values())).polls >= 2

    execution = run_virtual(
        cancel_when(
            FlowRunner(flow, secrets=SECRETS, cancel_airflow_runs=True, runtime=fake_airflow.runtime()),
            polled_twice,
        )
    )
    assert execution is not None and execution.state is ExecutionState.KILLED
    assert execution.task_run("slow").state is ExecutionState.KILLED
    assert next(iter(fake_airflow.runs.values())).forced == "failed"


def test_parallel_children_run_at_the_same_time(fake_airflow: FakeAirflow) -> None:
    recorder = Recorder()
    flow = Flow("f", "n").task(Parallel(id="p", tasks=[trigger("a"), trigger("b"), trigger("c")]))
    execution = flow.run(secrets=SECRETS, observers=[recorder])
    assert execution.state is ExecutionState.SUCCESS
    first_end = next(i for i, e in enumerate(recorder.events) if e[0] == "end")
    assert {t for kind, t in recorder.events[:first_end] if kind == "start"} == {"p", "a", "b", "c"}
    assert {r.parent_id for r in execution.task_runs if r.task_id != "p"} == {execution.task_run("p").id}
    assert any(tis for tis in recorder.task_instances)  # observers that want them get task instances


def test_parallel_waits_on_one_dag_share_one_client_and_one_poll_per_tick(fake_airflow: FakeAirflow) -> None:
    tasks = [trigger(t, "forever_then_ok", poll_frequency="PT1S") for t in "abcde"]
    flow = Flow("f", "n").task(Parallel(id="p", tasks=tasks))
    fake_airflow.scripts["forever_then_ok"] = ["queued"] + ["running"] * 5 + ["success"]
    # on virtual time (tests/virtual_time.py): the five waits meet at every tick, however busy the CPU
    runner = FlowRunner(flow, secrets=SECRETS, progress=False, runtime=fake_airflow.runtime())
    execution = run_virtual(runner.run())
    assert execution.state is ExecutionState.SUCCESS
    logins = [r for r in fake_airflow.requests if r.url.path == "/auth/token"]
    streams = [r for r in fake_airflow.requests if r.url.path.endswith("/wait")]
    reads = [r for r in fake_airflow.requests if r.method == "GET" and "/dagRuns/" in r.url.path]
    reads = [r for r in reads if r not in streams]
    lists = [r for r in fake_airflow.requests if r.method == "GET" and r.url.path.endswith("/dagRuns")]
    assert len(logins) == 1  # one client for the five tasks
    assert len(streams) == 1  # the fake has no /wait stream: the client asked once, then polled
    # the five waits were served by the DAG's list, one request per tick (each moves the fake's
    # runs one state on, 7 states) instead of reading each run on each tick (5 x 7 reads) ...
    assert len(lists) == 7
    # ... and each task read its run's task instances once, for its outputs
    assert [r.url.path.rsplit("/", 1)[-1] for r in reads] == ["taskInstances"] * 5


def test_parallel_concurrent_limit_and_sequential(fake_airflow: FakeAirflow) -> None:
    recorder = Recorder()
    flow = Flow("f", "n").task(
        Parallel(
            id="p", concurrent=1, tasks=[trigger("a"), Sequential(id="s", tasks=[trigger("b"), trigger("c")])]
        )
    )
    flow.run(secrets=SECRETS, observers=[recorder])
    leaves = [e for e in recorder.events if e[1] in "abc"]
    assert leaves == [
        ("start", "a"),
        ("end", "a"),
        ("start", "b"),
        ("end", "b"),
        ("start", "c"),
        ("end", "c"),
    ]


def test_retry_attempts_with_new_run_ids(fake_airflow: FakeAirflow) -> None:
    flow = Flow("f", "n").task(
        trigger("t", "fails", retry={"type": "constant", "maxAttempts": 3, "interval": "PT0.01S"})
    )
    execution = flow.run(secrets=SECRETS)
    assert execution.task_run("t").attempt == 3
    assert execution.state is ExecutionState.FAILED
    assert len(fake_airflow.runs) == 3


def test_task_timeout(fake_airflow: FakeAirflow) -> None:
    execution = Flow("f", "n").task(trigger("t", "forever", timeout="PT0.05S")).run(secrets=SECRETS)
    assert execution.state is ExecutionState.FAILED
    assert "did not finish within its timeout PT0.05S" in (execution.task_run("t").error or "")


def test_disabled_tasks_do_not_run(fake_airflow: FakeAirflow) -> None:
    execution = Flow("f", "n").task(trigger("off", disabled=True)).task(Log(id="on", message="x")).run()
    assert [r.task_id for r in execution.task_runs] == ["on"]
    assert not fake_airflow.runs


def test_unsupported_type_fails_before_anything_runs(fake_airflow: FakeAirflow) -> None:
    flow = Flow.from_yaml(
        "id: f\nnamespace: n\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: x\n"
        "  - id: sh\n    type: io.kestra.plugin.scripts.r.Commands\n    commands: [ls]\n"
    )
    with pytest.raises(UnsupportedTaskError) as err:
        flow.run()
    assert "'sh' (io.kestra.plugin.scripts.r.Commands)" in str(err.value)
    assert "io.kestra.plugin.airflow.dags.TriggerDagRun" in str(err.value)
    assert not fake_airflow.requests


def test_inputs_are_checked_converted_and_rendered(fake_airflow: FakeAirflow) -> None:
    flow = Flow(
        "f",
        "n",
        inputs=[{"id": "count", "type": "INT"}, {"id": "who", "type": "STRING", "defaults": "world"}],
    ).task(trigger("t", body={"conf": {"count": "{{ inputs.count }}", "who": "{{ inputs.who }}"}}))
    with pytest.raises(FlowValidationError, match=r"inputs.count: required input \(INT\)"):
        flow.run(secrets=SECRETS)
    with pytest.raises(
        FlowValidationError,
        match=r"inputs.count \(INT\): Expected `INT` \(a whole number\), but received `x`",
    ):
        flow.run(inputs={"count": "x"}, secrets=SECRETS)
    execution = flow.run(inputs={"count": "3"}, secrets=SECRETS, labels={"team": "a"})
    assert execution.inputs == {"count": 3, "who": "world"}
    assert next(iter(fake_airflow.runs.values())).conf == {"count": "3", "who": "world"}


def test_headers_are_sent(fake_airflow: FakeAirflow) -> None:
    Flow("f", "n").task(trigger("t", headers={"X-Trace": "{{ execution.id }}"})).run(secrets=SECRETS)
    trigger_request = next(r for r in fake_airflow.requests if r.method == "POST" and "dagRuns" in r.url.path)
    assert len(trigger_request.headers["x-trace"]) == 22


def test_run_inside_a_running_event_loop(fake_airflow: FakeAirflow) -> None:
    flow = Flow("f", "n").task(trigger("t"))

    async def notebook_cell() -> Execution:
        return flow.run(secrets=SECRETS)  # blocking call while a loop runs, as in Jupyter

    assert asyncio.run(notebook_cell()).state is ExecutionState.SUCCESS


def test_arun_in_async_code(fake_airflow: FakeAirflow) -> None:
    flow = Flow("f", "n").task(trigger("t"))
    assert asyncio.run(flow.arun(secrets=SECRETS)).state is ExecutionState.SUCCESS


def test_secrets_never_leak(fake_airflow: FakeAirflow, caplog: pytest.LogCaptureFixture) -> None:
    secret = "s3cr3t-V4LUE"
    fake_airflow.password = secret
    recorder = Recorder()
    lines: list[str] = []
    flow = (
        Flow("f", "n")
        .task(Log(id="say", message="token is {{ secret('AIRFLOW_PASSWORD') }}"))
        .task(trigger("t", body={"conf": {"token": "{{ secret('AIRFLOW_PASSWORD') }}", "plain": "p"}}))
    )
    with caplog.at_level(logging.DEBUG):
        execution = flow.run(
            secrets={"airflow_password": secret}, observers=[recorder, TextReporter(lines.append)]
        )
    assert execution.state is ExecutionState.SUCCESS
    assert next(iter(fake_airflow.runs.values())).conf["token"] == secret  # it did go over the wire
    assert recorder.polled and all(run.conf == {"token": "******", "plain": "p"} for run in recorder.polled)
    visible = [
        caplog.text,
        *lines,
        repr(execution),
        str(execution.outputs),
        repr(execution.task_runs),
        execution.to_pandas().to_string(),
        flow.to_yaml(),
        repr(flow),
    ]
    assert not [text for text in visible if secret in text]
    # as in Kestra's log lines, the secret's text is masked by as many '*' as it has characters
    assert "[say] token is ************" in caplog.text


def test_wrong_credentials_fail_without_showing_them(fake_airflow: FakeAirflow) -> None:
    task = trigger(
        "t",
        options={"auth": {"type": "BASIC", "username": "{{ secret('U') }}", "password": "{{ secret('P') }}"}},
    )
    execution = Flow("f", "n").task(task).run(secrets={"U": "user-xyz", "P": "wrong-pw-123"})
    error = execution.task_run("t").error or ""
    assert execution.state is ExecutionState.FAILED and "401" in error
    assert "Logging in to Airflow as '******'" in error  # the client quoted the user name: masked
    assert "wrong-pw-123" not in error and "user-xyz" not in error


def test_missing_secret_fails_the_task_naming_it(fake_airflow: FakeAirflow) -> None:
    execution = Flow("f", "n").task(trigger("t")).run(secrets={})
    error = execution.task_run("t").error or ""
    assert "Secret 'AIRFLOW_PASSWORD'" in error and "options.auth.password" in error


def test_text_reporter_lines(fake_airflow: FakeAirflow) -> None:
    lines: list[str] = []
    Flow("f", "n").task(trigger("t")).run(secrets=SECRETS, observers=[TextReporter(lines.append)])
    assert lines[0].startswith("execution ") and "n.f started" in lines[0]
    assert any(
        line.startswith("[t] Airflow run ok/") and line.endswith(": success, 1/1 tasks done")
        for line in lines
    )
    assert lines[-1].split(" after ")[0].endswith("ended SUCCESS")


def test_a_failing_observer_does_not_fail_the_run(fake_airflow: FakeAirflow) -> None:
    class Broken(Observer):
        def task_started(self, execution: Execution, task_run: TaskRun) -> None:
            raise RuntimeError("boom")

    assert (
        Flow("f", "n").task(Log(id="l", message="x")).run(observers=[Broken()]).state
        is ExecutionState.SUCCESS
    )
