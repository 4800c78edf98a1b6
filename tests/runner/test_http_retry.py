"""``options.retry`` of a TriggerDagRun: Kestra's retry shape mapped onto the client's RetryPolicy
(real Airflow: tests/integration/test_flow_reliability.py::test_flow_options_retry_*)."""

from __future__ import annotations

import pytest

from kestra_airflow_sdk import RetryPolicy
from kestra_airflow_sdk.flows import Flow, FlowValidationError, TriggerDagRun
from kestra_airflow_sdk.flows.task import TaskRetry
from kestra_airflow_sdk.runner.retry import http_retry_policy
from tests.runner.fake_airflow import FakeAirflow

YAML = """\
id: retried
namespace: company.team
tasks:
  - id: run_dag
    type: io.kestra.plugin.airflow.dags.TriggerDagRun
    baseUrl: http://airflow.test
    dagId: ok
    wait: true
    pollFrequency: PT0.01S
    options:
      auth:
        type: BASIC
        username: admin
        password: "{{ secret('AIRFLOW_PASSWORD') }}"
      retry:
        type: constant
        maxAttempts: 4
        interval: PT0.01S
"""


def test_exponential_maps_interval_factor_cap_and_attempts() -> None:
    policy = http_retry_policy(
        TaskRetry(type="exponential", maxAttempts=7, interval="PT2S", maxInterval="PT1M", delayFactor=3)
    )
    assert (policy.max_attempts, policy.initial_delay, policy.multiplier, policy.max_delay) == (7, 2, 3, 60)
    assert 0 < policy.jitter < 1  # many clients do not retry in lockstep


def test_constant_is_the_interval_every_time_without_jitter() -> None:
    policy = http_retry_policy(TaskRetry(type="constant", maxAttempts=3, interval="PT5S"))
    assert [policy.backoff(n) for n in (1, 2, 5)] == [5.0, 5.0, 5.0]
    assert policy.max_attempts == 3


def test_random_draws_between_min_and_max_interval() -> None:
    policy = http_retry_policy(
        TaskRetry(type="random", maxAttempts=3, minInterval="PT1S", maxInterval="PT4S")
    )
    delays = [policy.backoff(1) for _ in range(200)]
    assert all(1.0 <= d <= 4.0 for d in delays)
    assert max(delays) - min(delays) > 1.0


def test_max_duration_without_max_attempts_bounds_the_attempts() -> None:
    policy = http_retry_policy(TaskRetry(type="constant", interval="PT1S", maxDuration="PT3.5S"))
    assert policy.max_attempts == 4  # the first attempt, then 3 retries of 1 s fit in 3.5 s
    assert (
        http_retry_policy(TaskRetry(type="constant", interval="PT1S")).max_attempts
        == RetryPolicy().max_attempts
    )


@pytest.mark.parametrize(("max_attempts", "expected"), [(2, 2), (10, 4)])
def test_max_attempts_and_max_duration_the_smaller_wins(max_attempts: int, expected: int) -> None:
    retry = TaskRetry(type="constant", interval="PT1S", maxDuration="PT3.5S", maxAttempts=max_attempts)
    assert http_retry_policy(retry).max_attempts == expected


def test_exponential_defaults_and_growth() -> None:
    policy = http_retry_policy(
        TaskRetry(type="exponential", maxAttempts=5, interval="PT1S", maxInterval="PT5S")
    )
    assert policy.multiplier == 2.0  # delayFactor's default
    no_jitter = RetryPolicy(
        max_attempts=5, initial_delay=policy.initial_delay, multiplier=2, max_delay=policy.max_delay, jitter=0
    )
    assert [no_jitter.backoff(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    assert all(policy.backoff(3) <= 4.0 for _ in range(50))


def test_options_retry_round_trips_through_yaml() -> None:
    flow = Flow.from_yaml(YAML)
    task = flow.tasks[0]
    assert isinstance(task, TriggerDagRun) and task.options is not None and task.options.retry is not None
    assert task.options.retry.max_attempts == 4
    assert Flow.from_yaml(flow.to_yaml()) == flow
    assert "maxAttempts: 4" in flow.to_yaml() and "secret('AIRFLOW_PASSWORD')" in flow.to_yaml()


@pytest.mark.parametrize(
    ("line", "field", "value"),
    [
        ("maxAttempts: 4", "maxAttempts", "0"),
        ("maxAttempts: 4", "maxAttempts", "two"),
        ("interval: PT0.01S", "interval", "1s"),
        ("interval: PT0.01S", "interval", "PT"),
        ("type: constant", "type", "linear"),
        ("type: constant", "type: exponential\n        delayFactor", "0.5"),
        ("type: constant", "type: random\n        maxInterval: PT1S\n        minInterval", "PT2S"),
    ],
)
def test_bad_options_retry_names_the_field(line: str, field: str, value: str) -> None:
    bad = YAML.replace(line, f"{field}: {value}")
    field = field.rsplit("\n", 1)[-1].strip()
    with pytest.raises(FlowValidationError) as info:
        Flow.from_yaml(bad)
    message = str(info.value)
    assert "options.retry" in message and field in message and value in message


def test_the_task_retries_its_requests_as_options_retry_says(fake_airflow: FakeAirflow) -> None:
    fake_airflow.errors["trigger"] = 3  # three 500s, then the trigger goes through
    execution = Flow.from_yaml(YAML).run(secrets={"AIRFLOW_PASSWORD": "admin"}, progress=False)
    assert execution.state.value == "SUCCESS", execution.task_run("run_dag").error
    assert len(fake_airflow.runs) == 1  # settled by run id between attempts: one DAG run

    fake_airflow.errors["trigger"] = 3
    fewer = Flow.from_yaml(YAML.replace("maxAttempts: 4", "maxAttempts: 3"))
    execution = fewer.run(secrets={"AIRFLOW_PASSWORD": "admin"}, progress=False)
    assert execution.state.value == "FAILED"
    error = execution.task_run("run_dag").error or ""
    assert "500" in error and "options.retry allows up to 3 attempt(s)" in error
    assert len(fake_airflow.runs) == 1  # the failed attempts created nothing
