"""Kestra's YAML parser fails on an unknown property (``FAIL_ON_UNKNOWN_PROPERTIES``): a flow-level
or task-level property Kestra's ``Flow`` / the task's class does not have is refused by name, with
the closest known one, in both dialects; Kestra's own flow properties load and come back as written."""

from __future__ import annotations

import pytest

from kestra_airflow_sdk.flows import Flow, FlowValidationError
from kestra_airflow_sdk.flows.properties import FLOW_PROPERTIES, closest

BODY = """tasks:
  - id: a
    type: io.kestra.plugin.core.log.Log
    message: x
"""


@pytest.mark.parametrize("kestra", ["1.3", "2.0", None])
def test_an_unknown_flow_property_is_refused_by_name_with_the_closest_one(kestra: str | None) -> None:
    text = f"id: f\nnamespace: n\nconcurency:\n  limit: 1\n{BODY}"
    with pytest.raises(FlowValidationError) as caught:
        Flow.from_yaml(text, kestra=kestra)
    message = str(caught.value)
    assert "concurency (line 3, column 1): unknown flow property 'concurency'" in message
    assert "(did you mean 'concurrency'?)" in message


def test_every_unknown_flow_property_is_listed() -> None:
    text = f"id: f\nnamespace: n\nzzz: 1\ndescripton: d\n{BODY}"
    with pytest.raises(FlowValidationError) as caught:
        Flow.from_yaml(text)
    assert len(caught.value.problems) == 2
    first, second = caught.value.problems
    assert (
        first.startswith("zzz (line 3, column 1): unknown flow property 'zzz';")
        and "did you mean" not in first
    )
    assert "unknown flow property 'descripton' (did you mean 'description'?)" in second


def test_a_flow_built_in_python_refuses_an_unknown_property_too() -> None:
    with pytest.raises(
        FlowValidationError, match="unknown flow property 'lables' \\(did you mean 'labels'\\?\\)"
    ):
        Flow("f", "n", lables={"a": "b"})


def test_an_unknown_task_property_names_the_closest_one() -> None:
    text = "id: f\nnamespace: n\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    mesage: x\n"
    with pytest.raises(FlowValidationError) as caught:
        Flow.from_yaml(text)
    assert (
        "tasks[0] (task 'a').mesage (line 6, column 5): unknown property, got 'x' (did you mean 'message'?)"
        in str(caught.value)
    )


@pytest.mark.parametrize(
    "block",
    [
        "concurrency:\n  behavior: QUEUE\n  limit: 1\n",
        'checks:\n  - condition: "{{ true }}"\n    message: ok\n',
        "extend:\n  title: A blueprint\n",
        "revision: 3\n",
        "sla:\n  - id: s\n    type: MAX_DURATION\n    behavior: FAIL\n    duration: PT1H\n",
    ],
)
def test_kestra_flow_properties_load_and_come_back_as_written(block: str) -> None:
    text = f"id: f\nnamespace: n\n{block}{BODY}"
    assert Flow.from_yaml(text).to_yaml() == text


def test_listeners_are_kestra_1_3_only() -> None:
    text = f"id: f\nnamespace: n\nlisteners:\n  - tasks:\n      - id: l\n        type: io.kestra.plugin.core.log.Log\n        message: x\n{BODY}"
    assert Flow.from_yaml(text).kestra == "1.3"
    with pytest.raises(FlowValidationError, match=r"listeners was removed in Kestra 2\.0"):
        Flow.from_yaml(text, kestra="2.0")


def test_closest() -> None:
    assert closest("Tasks", FLOW_PROPERTIES) == " (did you mean 'tasks'?)"
    assert closest("qqqqqq", FLOW_PROPERTIES) == ""
