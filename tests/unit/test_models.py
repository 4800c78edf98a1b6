"""Both API versions' real bodies parse into the same public models."""

from __future__ import annotations

import json
from datetime import timedelta, timezone
from pathlib import Path

import pytest

from kestra_airflow_sdk import DagRunState, TaskInstanceState
from kestra_airflow_sdk.airflow import AirflowDag, DagRun, TaskInstance

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def load(name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((SAMPLES / name).read_text())


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_dag_run_success_has_one_shape(version: str) -> None:
    run = DagRun.model_validate(load(f"{version}_dag_run_success.json"))
    assert run.dag_id == "hello_world_dag"
    assert run.dag_run_id == "sdk_run_1"
    assert run.state is DagRunState.SUCCESS and run.state.is_final
    assert run.conf == {"greeting": "hi", "n": 42}
    assert run.start_date is not None and run.start_date.tzinfo is not None
    assert run.start_date.utcoffset() == timedelta(0)
    assert run.duration is not None and run.duration > timedelta(0)
    assert run.end_date is not None and run.duration == pytest.approx(
        run.end_date - run.start_date, abs=timedelta(milliseconds=1)
    )
    assert run.run_after is not None


def test_v1_execution_date_lands_in_logical_date() -> None:
    body = load("v1_dag_run_success.json")
    run = DagRun.model_validate(body)
    assert run.logical_date is not None
    assert run.logical_date.isoformat() == body["execution_date"]
    assert not hasattr(run, "execution_date")


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_failed_run(version: str) -> None:
    run = DagRun.model_validate(load(f"{version}_dag_run_failed.json"))
    assert run.state is DagRunState.FAILED


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_dag_tags_and_owners_are_strings(version: str) -> None:
    dag = AirflowDag.model_validate(load(f"{version}_get_dag.json"))
    assert dag.dag_id == "hello_world_dag"
    assert dag.tags == ["sdk-test"]
    assert dag.owners == ["airflow"]
    assert dag.is_paused is False


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_task_instances(version: str) -> None:
    body = load(f"{version}_task_instances_list.json")
    tis = [TaskInstance.model_validate(row) for row in body["task_instances"]]
    assert {ti.task_id for ti in tis} == {"say_hello", "sleep_a_bit", "print_conf"}
    for ti in tis:
        assert ti.state is TaskInstanceState.SUCCESS
        assert ti.map_index == -1
        assert ti.try_number >= 1
        assert ti.start_date is not None and ti.start_date.tzinfo is not None
        assert isinstance(ti.duration, timedelta)


def test_unknown_states_are_kept_not_rejected() -> None:
    run = DagRun.model_validate({"dag_id": "d", "dag_run_id": "r", "state": "paused_by_future_airflow"})
    assert run.state is not None and run.state.value == "paused_by_future_airflow"
    assert not run.state.is_final
    assert DagRunState("SUCCESS") is DagRunState.SUCCESS
    ti = TaskInstance.model_validate({"dag_id": "d", "dag_run_id": "r", "task_id": "t", "state": "none"})
    assert ti.state is None


def test_naive_datetimes_become_utc_and_extra_fields_are_ignored() -> None:
    run = DagRun.model_validate(
        {"dag_id": "d", "dag_run_id": "r", "start_date": "2024-01-01T00:00:00", "brand_new_field": [1, 2]}
    )
    assert run.start_date is not None and run.start_date.tzinfo == timezone.utc
