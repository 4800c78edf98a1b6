"""The execution timeline of the notebook display: a bar per task run, its DAG run and task instances."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from kestra_airflow_sdk import Flow
from kestra_airflow_sdk.display.timeline import execution_timeline_html
from kestra_airflow_sdk.flows.execution import Execution, ExecutionState, TaskRun
from kestra_airflow_sdk.history.palette import STATE_COLOURS
from tests.runner.fake_airflow import FakeAirflow
from tests.runner.test_engine import SECRETS, trigger

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def rows(html: str) -> list[dict[str, str]]:
    """Each timeline row: its depth, state, label text and bar geometry (when it has a bar)."""
    found = []
    for match in re.finditer(r'<div class="ka-timeline-row"(.*?)</div>', html):
        row = match.group(1)
        item = dict(re.findall(r'data-(?:timeline-)?(depth|state|left|width)="([^"]*)"', row))
        item["label"] = re.sub(r"<[^>]+>", "", row.split(">", 1)[1]).replace("&#8627; ", "").strip()
        colour = re.search(r"background:(#[0-9a-f]{6});border-radius", row)
        item["colour"] = colour.group(1) if colour else ""
        found.append(item)
    return found


def test_timeline_places_task_runs_dag_runs_and_task_instances_on_the_execution_span() -> None:
    dag = TaskRun(
        "tr1",
        "run_dag",
        "io.kestra.plugin.airflow.dags.TriggerDagRun",
        ExecutionState.SUCCESS,
        start_date=at(0),
        end_date=at(100),
        outputs={
            "dagId": "hello_world_dag",
            "dagRunId": "kestra__x__run_dag__0",
            "state": "success",
            "started": at(10),
            "ended": "2026-11-30T12:01:30Z",  # outputs may also hold ISO text
            "taskInstances": [
                {
                    "task_id": "say_hello",
                    "map_index": -1,
                    "state": "success",
                    "start_date": at(10),
                    "end_date": at(50),
                },
                {
                    "task_id": "fan",
                    "map_index": 2,
                    "state": "failed",
                    "start_date": at(50),
                    "end_date": at(90),
                },
                {"task_id": "later", "map_index": -1, "state": None, "start_date": None, "end_date": None},
            ],
        },
    )
    log = TaskRun(
        "tr2",
        "done",
        "io.kestra.plugin.core.log.Log",
        ExecutionState.FAILED,
        attempt=2,
        start_date=at(150),
        end_date=at(200),
    )
    execution = Execution(
        "x", "company.team", "airflow", ExecutionState.FAILED, at(0), at(200), task_runs=[dag, log]
    )
    found = rows(execution_timeline_html(execution))
    assert [(r["depth"], r["label"], r["state"]) for r in found] == [
        ("0", "run_dag", "SUCCESS"),
        ("1", "hello_world_dag / kestra__x__run_dag__0", "success"),
        ("2", "say_hello", "success"),
        ("2", "fan[2]", "failed"),
        ("2", "later", "none"),
        ("0", "done (attempt 2)", "FAILED"),
    ]
    bars = [(r.get("left"), r.get("width")) for r in found]
    assert bars == [
        ("0.00", "50.00"),
        ("5.00", "40.00"),
        ("5.00", "20.00"),
        ("25.00", "20.00"),
        (None, None),
        ("75.00", "25.00"),
    ]
    assert [r["colour"] for r in found] == [
        STATE_COLOURS[s] for s in ("success", "success", "success", "failed")
    ] + ["", STATE_COLOURS["failed"]]
    html = execution._repr_html_()
    assert html.index('class="ka-timeline"') < html.rindex("<table")  # above the task run table
    assert "2026-11-30 12:00:00+00:00" in html and "3m 20s" in html  # the axis: start and span


def test_timeline_of_an_execution_that_has_not_started_is_empty() -> None:
    assert execution_timeline_html(Execution("x", "n", "f")) == ""
    assert 'class="ka-timeline"' not in Execution("x", "n", "f")._repr_html_()


def test_timeline_of_a_local_run_against_airflow_shows_its_dag_run(fake_airflow: FakeAirflow) -> None:
    execution = Flow("f", "n").task(trigger("a")).run(secrets=SECRETS, progress=False)
    found = rows(execution._repr_html_())
    run = execution.task_run("a")
    assert found[0]["label"] == "a" and found[0]["state"] == "SUCCESS"
    assert found[1]["depth"] == "1" and run.outputs["dagRunId"] in found[1]["label"]
    assert "left" in found[0] and all(0 <= float(r["left"]) <= 100 for r in found if "left" in r)
