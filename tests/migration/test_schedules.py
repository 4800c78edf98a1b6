"""Schedule mapping, flow ids and Schedule triggers, without Airflow (real Airflow:
tests/integration/test_migration.py)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from kestra_airflow_sdk.airflow import InvalidArgumentError
from kestra_airflow_sdk.flows import Flow, FlowValidationError, Log, Schedule, UnknownTrigger
from kestra_airflow_sdk.migration import PRESETS, map_schedule, write_flows
from kestra_airflow_sdk.migration.generate import flow_id_for


@pytest.mark.parametrize(
    ("schedule", "cron"),
    [
        ("30 6 * * 1-5", "30 6 * * 1-5"),
        ("@daily", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("*/15 * * * *", "*/15 * * * *"),
        ("0 12 * * MON-FRI", "0 12 * * MON-FRI"),
    ],
)
def test_crons_and_presets_map(schedule: str, cron: str) -> None:
    mapping = map_schedule(schedule)
    assert mapping.maps and mapping.cron == cron and mapping.reason is None


@pytest.mark.parametrize(
    ("schedule", "says"),
    [
        (None, "only when triggered"),
        ("@once", "once"),
        ("@continuous", "continuously"),
        ("Asset", "assets"),
        ("Dataset", "datasets"),
        ("Triggered by assets", "assets"),
        ("EventsTimetable", "not a cron"),
        ("After each workday", "not a cron"),
    ],
)
def test_other_schedules_say_why_they_do_not_map(schedule: str | None, says: str) -> None:
    mapping = map_schedule(schedule)
    assert not mapping.maps and mapping.cron is None
    assert mapping.reason is not None and says in mapping.reason


def test_every_preset_is_a_valid_schedule_cron() -> None:
    for cron in PRESETS.values():
        assert Schedule(id="s", cron=cron).cron == cron


@pytest.mark.parametrize(
    ("dag_id", "flow_id"),
    [("etl.daily", "etl.daily"), ("team/etl daily", "team_etl_daily"), ("_private-dag", "private-dag")],
)
def test_flow_ids_follow_kestra_rules(dag_id: str, flow_id: str) -> None:
    assert flow_id_for(dag_id) == flow_id
    Flow(id=flow_id_for(dag_id), namespace="n")  # accepted by the flow model
    assert len(flow_id_for("x" * 250)) == 100


def test_a_dag_id_without_letters_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="'___'"):
        flow_id_for("___")


def test_schedule_rejects_a_bad_cron_naming_it() -> None:
    with pytest.raises(FlowValidationError, match="'every day' is not a valid cron"):
        Flow(
            id="f",
            namespace="n",
            triggers=[{"id": "s", "type": Schedule.model_fields["type"].default, "cron": "every day"}],
        )


def test_triggers_round_trip_including_unknown_types() -> None:
    text = """\
id: f
namespace: company.team
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: hi
triggers:
  - id: schedule
    type: io.kestra.plugin.core.trigger.Schedule
    cron: 30 6 * * 1-5
    disabled: true
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: a-secret-key
"""
    flow = Flow.from_yaml(text)
    assert flow.to_yaml() == text
    assert isinstance(flow.triggers[0], Schedule) and isinstance(flow.triggers[1], UnknownTrigger)  # type: ignore[index]


def test_write_flows_writes_namespace_folders(tmp_path: Path) -> None:
    flows = [
        Flow(id="a", namespace="x.y", triggers=[Schedule(id="s", cron="@daily", disabled=True)]).task(
            Log(id="l", message="m")
        ),
        Flow(id="b", namespace="z").task(Log(id="l", message="m")),
    ]
    paths = write_flows(flows, tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == ["x.y/a.yaml", "z/b.yaml"]
    assert [Flow.from_yaml(p) for p in paths] == flows
    with pytest.raises(InvalidArgumentError, match="expected Flow objects"):
        write_flows(["not a flow"], tmp_path)  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"namespace": "Company Team"}, FlowValidationError, "not a valid namespace"),
        (
            {"namespace": "company.team", "auth": "oauth"},
            InvalidArgumentError,
            "auth: expected 'basic' or 'bearer'",
        ),
        (
            {"namespace": "company.team", "poll_frequency": "1s"},
            FlowValidationError,
            "poll_frequency: expected an ISO-8601 duration",
        ),
        ({"namespace": "company.team", "colour": "blue"}, InvalidArgumentError, "colour: unknown option"),
    ],
)
def test_flows_for_dags_refuses_bad_options_before_any_request(
    kwargs: dict[str, object], error: type[Exception], says: str
) -> None:
    from kestra_airflow_sdk import AirflowClient, flows_for_dags

    sent: list[httpx.Request] = []

    def no_request(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500, json={"detail": "no request expected"})

    transport = httpx.MockTransport(no_request)
    client = AirflowClient("http://airflow.test", username="u", password="p", transport=transport)
    with client, pytest.raises(error, match=says):
        flows_for_dags(client, **kwargs)  # type: ignore[arg-type]
    assert sent == []
