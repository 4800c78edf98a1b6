"""Flow and task models: construction in Python, Kestra's validation rules, clear errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kestra_airflow_sdk.flows import (
    Flow,
    FlowValidationError,
    Log,
    Parallel,
    Sequential,
    TriggerDagRun,
)


def _trigger(task_id: str = "run_dag", **kw: object) -> TriggerDagRun:
    return TriggerDagRun(id=task_id, base_url="http://af:8080", dag_id="hello_world_dag", **kw)


def test_fluent_building_chains_and_appends() -> None:
    flow = Flow("airflow", "company.team", description="demo", labels={"env": "dev"})
    same = flow.task(_trigger("a")).task(Log(id="b", message="done"))
    assert same is flow
    assert [t.id for t in flow.tasks] == ["a", "b"]
    assert flow.label_map == {"env": "dev"}


def test_snake_case_in_python_camel_case_in_yaml() -> None:
    task = _trigger(wait=True, poll_frequency="PT2S", max_duration=timedelta(minutes=90))
    assert task.poll_frequency == "PT2S"
    assert task.max_duration == "PT1H30M"
    doc = task.to_dict()
    assert doc == {
        "id": "run_dag",
        "type": "io.kestra.plugin.airflow.dags.TriggerDagRun",
        "baseUrl": "http://af:8080",
        "dagId": "hello_world_dag",
        "wait": True,
        "pollFrequency": "PT2S",
        "maxDuration": "PT1H30M",
    }
    assert list(doc)[:2] == ["id", "type"]


def test_defaults_mirror_the_plugin() -> None:
    task = _trigger()
    assert (task.wait, task.poll_frequency, task.max_duration) == (False, "PT1S", "PT1H")
    assert task.type == "io.kestra.plugin.airflow.dags.TriggerDagRun"


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"id": "my flow", "namespace": "company.team"}, "'my flow'", "flow id must match"),
        ({"id": "x" * 101, "namespace": "company.team"}, "'xxxx", "at most 100"),
        ({"id": "airflow", "namespace": "Company.Team"}, "'Company.Team'", "lower-case"),
        ({"id": "airflow", "namespace": ".team"}, "'.team'", "namespace must match"),
    ],
)
def test_flow_rules_name_field_value_and_rule(kwargs: dict[str, str], field: str, rule: str) -> None:
    with pytest.raises(FlowValidationError) as err:
        Flow(kwargs["id"], kwargs["namespace"])
    message = str(err.value)
    assert field in message and rule in message
    assert ("namespace" if "namespace" in rule or "lower" in rule else "id") in message


def test_task_id_without_dots() -> None:
    with pytest.raises(FlowValidationError) as err:
        _trigger("run.dag")
    assert "id" in str(err.value) and "'run.dag'" in str(err.value) and "no dots" in str(err.value)


def test_required_base_url_and_dag_id() -> None:
    with pytest.raises(FlowValidationError) as err:
        TriggerDagRun(id="run_dag")  # type: ignore[call-arg]
    assert "baseUrl: required property is missing" in str(err.value)
    assert "dagId: required property is missing" in str(err.value)
    with pytest.raises(FlowValidationError, match="dag_id: must not be empty"):
        TriggerDagRun(id="t", base_url="http://af", dag_id="  ")


def test_unique_task_ids_fluent_and_nested() -> None:
    flow = Flow("f", "n").task(_trigger("a"))
    with pytest.raises(FlowValidationError, match="'a' is used twice"):
        flow.task(Log(id="a", message="x"))
    nested = Flow(
        "f", "n", tasks=[Parallel(id="p", tasks=[_trigger("a"), Sequential(id="s", tasks=[_trigger("a")])])]
    )
    with pytest.raises(FlowValidationError, match="'a' is used more than once"):
        nested.validate_flow()


def test_a_flow_needs_tasks() -> None:
    with pytest.raises(FlowValidationError, match="at least one task"):
        Flow("f", "n").validate_flow()


@pytest.mark.parametrize("bad", ["1s", "PT", "P", "5", "PT1X", "1 hour", "PT-1S", ""])
def test_bad_durations_are_clear_errors(bad: str) -> None:
    with pytest.raises(FlowValidationError) as err:
        _trigger(poll_frequency=bad)
    assert "poll_frequency" in str(err.value)  # the name the Python caller used (YAML: pollFrequency)
    assert "ISO-8601 duration" in str(err.value)
    assert repr(bad) in str(err.value)


def test_unknown_property_lists_the_known_ones() -> None:
    with pytest.raises(FlowValidationError) as err:
        Flow.from_yaml(
            "id: f\nnamespace: n\ntasks:\n  - id: t\n    type: io.kestra.plugin.airflow.dags.TriggerDagRun\n"
            "    baseUrl: http://af\n    dagId: d\n    dagID: oops\n"
        )
    message = str(err.value)
    assert "dagID (line 8, column 5): unknown property, got 'oops'" in message
    assert "TriggerDagRun properties are:" in message and "dagId" in message


def test_options_credentials_are_masked_in_repr() -> None:
    task = _trigger(options={"auth": {"type": "BASIC", "username": "admin", "password": "s3cr3t-literal"}})
    assert "s3cr3t-literal" not in repr(task)
    assert "s3cr3t-literal" not in str(task.model_dump())
    # the export is the one place that writes it (a literal in a flow is the user's own choice)
    assert task.to_dict()["options"]["auth"]["password"] == "s3cr3t-literal"


def test_retry_and_common_properties() -> None:
    task = _trigger(retry={"type": "constant", "maxAttempt": 3, "interval": "PT5S"}, allow_failure=True)
    assert task.retry is not None and task.retry.max_attempts == 3
    # written back as spelled (Kestra 1.3's maxAttempt); Flow.to_yaml(kestra="2.0") renames it
    assert task.to_dict()["retry"] == {"type": "constant", "maxAttempt": 3, "interval": "PT5S"}
    assert task.to_dict()["allowFailure"] is True


def test_flow_takes_id_and_namespace_by_keyword_or_position() -> None:
    from kestra_airflow_sdk import Flow as TopLevelFlow

    by_keyword = TopLevelFlow(id="airflow", namespace="company.team")
    assert (by_keyword.id, by_keyword.namespace) == ("airflow", "company.team")
    assert TopLevelFlow("airflow", "company.team") == by_keyword
