"""The expression subset: paths, filters, literals, secrets; errors name the expression and task."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from kestra_airflow_sdk.flows import ExpressionError, SecretNotFoundError
from kestra_airflow_sdk.flows.expressions import Renderer
from kestra_airflow_sdk.flows.secrets import SecretResolver

VARS: dict[str, Any] = {
    "flow": {"id": "airflow", "namespace": "company.team"},
    "task": {"id": "run_dag", "type": "io.kestra.plugin.airflow.dags.TriggerDagRun"},
    "execution": {"id": "1KWLxLeaXEXNDaXWP7YSKA", "startDate": "2026-01-01T00:00:00Z"},
    "inputs": {"n": 3, "flag": True, "nothing": None, "tags": ["a", "b"]},
    "outputs": {
        "run_dag": {"state": "success", "started": datetime(2026, 1, 1, 12, tzinfo=timezone.utc)},
        "my-task": {"x": 1},
    },
    "labels": {"env": "dev"},
    "vars": {"greeting": "hello {{ flow.id }}", "conf": {"a": 1}},
}


def renderer(**secrets: str) -> Renderer:
    return Renderer(VARS, SecretResolver(secrets, environ={}), task_id="run_dag")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ flow.id }}", "airflow"),
        ("{{flow.namespace}}", "company.team"),
        ("{{ task.id }}/{{ task.type }}", "run_dag/io.kestra.plugin.airflow.dags.TriggerDagRun"),
        ("{{ execution.id }}", "1KWLxLeaXEXNDaXWP7YSKA"),
        ("n={{ inputs.n }} flag={{ inputs.flag }} none=[{{ inputs.nothing }}]", "n=3 flag=true none=[]"),
        ("{{ inputs.tags }}", '["a","b"]'),
        ("{{ inputs.tags[1] }}", "b"),
        ("{{ outputs.run_dag.state }}", "success"),
        ("{{ outputs.run_dag.started }}", "2026-01-01T12:00:00Z"),
        ("{{ outputs['my-task'].x }}", "1"),
        ("{{ labels.env | upper }}", "DEV"),
        ("{{ vars.greeting }}", "hello {{ flow.id }}"),  # not rendered again, as in Kestra
        ("{{ vars.conf | json }}", '{"a":1}'),  # Jackson's compact JSON (Kestra's ToJsonFilter)
        ("{{ inputs.missing | default('fallback') }}", "fallback"),
        ("{{ 'lit' | upper }} {{ 42 }}", "LIT 42"),
        ("no expression at all", "no expression at all"),
        ("{{ flow.id | length }}", "7"),
    ],
)
def test_renders(text: str, expected: str) -> None:
    assert renderer().render_text(text) == expected


def test_renders_nested_structures_keeping_keys() -> None:
    value = {"conf": {"flow": "{{ flow.id }}", "list": ["{{ task.id }}", 1, None]}}
    assert renderer().render(value) == {"conf": {"flow": "airflow", "list": ["run_dag", 1, None]}}


def test_undefined_variable_names_expression_and_task() -> None:
    with pytest.raises(ExpressionError) as err:
        renderer().render({"conf": {"x": "{{ outputs.nope.state }}"}}, "body")
    message = str(err.value)
    assert "{{ outputs.nope.state }}" in message
    assert "task 'run_dag'" in message and "body.conf.x" in message
    assert "outputs.nope is not defined" in message and "run_dag" in message  # lists what is known


@pytest.mark.parametrize(
    "bad", ["{{ }}", "{{ 1 + }}", "{{ flow.id | }}", "{{ __import__('os') }}", "{{ flow.( }}"]
)
def test_syntax_errors_are_expression_errors(bad: str) -> None:
    with pytest.raises(ExpressionError) as err:
        renderer().render_text(bad, "message")
    assert bad in str(err.value) or "Undefined" in str(err.value)


def test_no_python_is_evaluated() -> None:
    with pytest.raises(ExpressionError):
        renderer().render_text("{{ flow.__class__ }}")
    with pytest.raises(ExpressionError):
        renderer().render_text("{{ ''.join }}")


def test_unknown_filter() -> None:
    with pytest.raises(ExpressionError, match="Unknown filter 'shout'"):
        renderer().render_text("{{ flow.id | shout }}")


def test_secret_renders_to_a_secret_value() -> None:
    value = renderer(AIRFLOW_PASSWORD="hunter2").render_text("pw={{ secret('airflow_password') }}")
    assert isinstance(value, SecretStr)
    assert value.get_secret_value() == "pw=hunter2"
    assert "hunter2" not in repr(value) and "hunter2" not in str(value)
    assert isinstance(renderer(T="abc").render_text("{{ secret('T') | upper }}"), SecretStr)


def test_missing_secret_names_secret_and_place() -> None:
    with pytest.raises(SecretNotFoundError) as err:
        renderer().render({"auth": {"password": "{{ secret('AIRFLOW_PASSWORD') }}"}}, "options")
    assert err.value.name == "AIRFLOW_PASSWORD"
    assert "'AIRFLOW_PASSWORD'" in str(err.value)
    assert "task 'run_dag', property options.auth.password" in str(err.value)
    assert "SECRET_AIRFLOW_PASSWORD" in str(err.value)


@given(st.text().filter(lambda s: "{{" not in s))
def test_text_without_expressions_is_unchanged(text: str) -> None:
    assert renderer().render_text(text) == text


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30))
def test_any_secret_value_survives_and_stays_hidden(secret: str) -> None:
    value = renderer(S=secret).render_text("{{ secret('S') }}")
    assert isinstance(value, SecretStr) and value.get_secret_value() == secret
    assert repr(value) == "SecretStr('**********')"
