"""Limits on flows from unknown sources (issue 29; the parser part of issue 24): the YAML loader,
expressions and nested subflows each stop with an error naming the limit, within a memory budget
measured with tracemalloc (never with a clock)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from kestra_airflow_sdk.flows import ExecutionState, Flow, FlowValidationError
from kestra_airflow_sdk.flows.errors import ExpressionError, FlowYamlError
from kestra_airflow_sdk.flows.expressions import render_text
from kestra_airflow_sdk.flows.limits import (
    MAX_ALIAS_NODES,
    MAX_COLLECTION_ALIASES,
    MAX_DOCUMENT_CHARS,
    MAX_NESTING_DEPTH,
    MAX_RANGE,
    MAX_SUBFLOW_DEPTH,
    MAX_TEXT,
)
from kestra_airflow_sdk.flows.validation import recursion_problems
from tests.runner.core_flows import run

#: the extra memory a refused document or expression may take (the issue's bound)
BUDGET = 100 * 1024 * 1024

LOG = "tasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """The peak of memory allocated inside the block, in bytes (read after it)."""
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


def refused(action: Callable[[], Any], error: type[Exception]) -> tuple[str, int]:
    """The message of ``error`` raised by ``action`` and the peak memory it took."""
    with peak_memory() as peak, pytest.raises(error) as info:
        action()
    return str(info.value), peak[0]


def alias_bomb(levels: int, width: int) -> str:
    lines = ["id: bomb", "namespace: test", "variables:", '  a0: &a0 ["lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        lines.append(f"  a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n" + LOG


# ---------------------------------------------------------------------------------------- YAML


def test_the_alias_bomb_of_the_issue_is_refused_naming_the_limit() -> None:
    # 7 levels of 10 aliases: about 10**7 leaves once expanded
    message, peak = refused(lambda: Flow.from_yaml(alias_bomb(7, 10)), FlowYamlError)
    assert "MAX_COLLECTION_ALIASES" in message and str(MAX_COLLECTION_ALIASES) in message
    assert peak < BUDGET


def test_doubling_aliases_within_the_alias_count_are_refused_by_their_expansion() -> None:
    # 25 levels of 2 aliases (50 in all, the count allowed) would still expand to 2**25 lists
    message, peak = refused(lambda: Flow.from_yaml(alias_bomb(25, 2)), FlowYamlError)
    assert "MAX_ALIAS_NODES" in message and str(MAX_ALIAS_NODES) in message
    assert peak < BUDGET


def test_a_few_aliases_still_load_expanded() -> None:
    flow = Flow.from_yaml(alias_bomb(2, 3))
    assert flow.variables is not None
    assert flow.variables["a2"] == [[["lol"] * 3] * 3] * 3


def test_nesting_deeper_than_the_limit_is_refused() -> None:
    deep = "[" * (MAX_NESTING_DEPTH + 5) + "]" * (MAX_NESTING_DEPTH + 5)
    message, _ = refused(
        lambda: Flow.from_yaml(f"id: f\nnamespace: n\nvariables:\n  x: {deep}\n{LOG}"), FlowYamlError
    )
    assert "MAX_NESTING_DEPTH" in message and "line 4" in message
    # far deeper than Python's recursion limit: still the same clear error
    deeper = "[" * 1200
    message, _ = refused(
        lambda: Flow.from_yaml(f"id: f\nnamespace: n\nvariables:\n  x: {deeper}\n"), FlowYamlError
    )
    assert "MAX_NESTING_DEPTH" in message


def test_a_document_over_the_size_limit_is_refused_before_parsing() -> None:
    text = f"id: f\nnamespace: n\ndescription: {'x' * MAX_DOCUMENT_CHARS}\n{LOG}"
    message, peak = refused(lambda: Flow.from_yaml(text), FlowYamlError)
    assert "MAX_DOCUMENT_CHARS" in message and str(MAX_DOCUMENT_CHARS) in message
    assert peak < BUDGET


def test_a_repeated_key_is_an_error_with_its_line() -> None:
    text = "id: f\nnamespace: n\nid: g\n" + LOG
    with pytest.raises(FlowYamlError, match=r"line 3.*'id' is repeated") as info:
        Flow.from_yaml(text)
    assert info.value.line == 3
    nested = "id: f\nnamespace: n\nvariables:\n  a: 1\n  b: 2\n  a: 3\n" + LOG
    with pytest.raises(FlowYamlError, match=r"line 6.*'a' is repeated"):
        Flow.from_yaml(nested)


def test_a_merge_key_may_be_overridden_without_a_repeated_key_error() -> None:
    text = "id: f\nnamespace: n\nvariables:\n  base: &b {x: 1, y: 2}\n  copy:\n    <<: *b\n    y: 3\n" + LOG
    flow = Flow.from_yaml(text)
    assert flow.variables is not None and flow.variables["copy"] == {"x": 1, "y": 3}


def test_map_keys_are_read_as_the_text_written() -> None:
    text = "id: f\nnamespace: n\nvariables:\n  1: a\n  true: b\n  2024-01-01: c\n  null: d\n" + LOG
    flow = Flow.from_yaml(text)
    assert flow.variables == {"1": "a", "true": "b", "2024-01-01": "c", "null": "d"}


def test_a_mapping_as_a_key_is_refused() -> None:
    with pytest.raises(FlowYamlError, match="a mapping key must be text"):
        Flow.from_yaml("id: f\nnamespace: n\nvariables:\n  ? {a: 1}\n  : x\n" + LOG)


def test_the_yaml_function_is_bounded_too() -> None:
    bomb = alias_bomb(7, 10).replace("\n", "\\n").replace('"', '\\"')
    with pytest.raises(ExpressionError, match="MAX_COLLECTION_ALIASES"):
        render_text('{{ yaml("' + bomb + '") }}', {})


# ---------------------------------------------------------------------------------- expressions


def test_a_hundred_million_range_is_refused_before_it_is_built() -> None:
    message, peak = refused(lambda: render_text("{{ range(0, 100000000) | length }}", {}), ExpressionError)
    assert "MAX_RANGE" in message and str(MAX_RANGE) in message
    assert peak < BUDGET
    message, _ = refused(
        lambda: render_text("{{ (0..100000000000000000000) | length }}", {}), ExpressionError
    )
    assert "MAX_RANGE" in message
    assert render_text("{{ range(1, 100000) | length }}", {}) == "100000"


def test_a_for_loop_printing_a_hundred_million_characters_stops_at_the_text_limit() -> None:
    chunk = "x" * 10_000
    template = "{% for i in 0..9999 %}{% for j in 0..999 %}" + chunk + "{% endfor %}{% endfor %}"  # 10**11
    message, peak = refused(lambda: render_text(template, {}), ExpressionError)
    assert "MAX_TEXT" in message and str(MAX_TEXT) in message
    assert peak < BUDGET


def test_join_and_concatenation_stop_before_building_the_text() -> None:
    wide = "y" * 1000
    message, peak = refused(
        lambda: render_text("{{ range(1, 10000) | join(sep) }}", {"sep": wide}), ExpressionError
    )
    assert "join" in message and "MAX_TEXT" in message
    assert peak < BUDGET
    big = "z" * (MAX_TEXT // 2 + 1)
    message, _ = refused(lambda: render_text("{{ a ~ a }}", {"a": big}), ExpressionError)
    assert "~" in message and "MAX_TEXT" in message
    assert render_text("{{ range(1, 3) | join(',') }}", {}) == "1,2,3"


def test_an_expression_error_names_the_task_the_property_and_the_limit() -> None:
    flow = Flow.from_yaml(
        "id: f\nnamespace: n\ntasks:\n  - id: spin\n    type: io.kestra.plugin.core.log.Log\n"
        '    message: "{{ range(0, 100000000) | length }}"\n'
    )
    execution = run(flow)
    assert execution.state is ExecutionState.FAILED
    text = "\n".join(log.message for log in execution.logs)
    assert "task 'spin', property message" in text and "MAX_RANGE" in text


# -------------------------------------------------------------------------------------- subflows


SELF_CALL = """\
id: again
namespace: n
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: n
    flowId: {flow_id}
"""


def test_a_flow_calling_itself_is_refused_at_load_as_kestra_does() -> None:
    with pytest.raises(FlowValidationError, match=r"recursive call to flow \[n\.again\]"):
        Flow.from_yaml(SELF_CALL.format(flow_id="again"))


def test_a_cycle_through_other_flows_is_refused_when_the_flows_are_known() -> None:
    one = {
        "id": "one",
        "namespace": "n",
        "tasks": [{"type": "io.kestra.plugin.core.flow.Subflow", "namespace": "n", "flowId": "two"}],
    }
    two = {
        "id": "two",
        "namespace": "n",
        "tasks": [{"type": "io.kestra.plugin.core.flow.Subflow", "namespace": "n", "flowId": "one"}],
    }
    flows = {"n.one": one, "n.two": two}
    problems = recursion_problems(one, lambda ns, flow_id: flows.get(f"{ns}.{flow_id}"))
    assert problems == ["tasks: recursive call to flow [n.one] through other flows: n.one -> n.two -> n.one"]
    assert recursion_problems(one) == []  # alone, as Kestra saves it, the flow is fine


def test_recursion_through_an_expression_stops_at_the_depth_limit() -> None:
    flow = Flow.from_yaml(SELF_CALL.format(flow_id='"{{ flow.id }}"'))
    with peak_memory() as peak:
        execution = run(flow, flows=[flow])
    assert execution.state is ExecutionState.FAILED
    depth, innermost = 0, execution
    while innermost.subflows:
        innermost = next(iter(innermost.subflows.values()))
        depth += 1
    assert depth == MAX_SUBFLOW_DEPTH
    assert any("MAX_SUBFLOW_DEPTH" in (run.error or "") for run in innermost.task_runs) or any(
        "MAX_SUBFLOW_DEPTH" in log.message for log in innermost.logs
    )
    assert peak[0] < BUDGET


def test_an_unknown_property_of_a_core_task_is_refused_but_a_plugin_task_keeps_its_own() -> None:
    # Kestra's YamlParser: FAIL_ON_UNKNOWN_PROPERTIES (Jackson's default) for the classes it has
    core = "id: f\nnamespace: n\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n    colour: red\n"
    with pytest.raises(FlowValidationError, match=r"tasks\[0\] \(task 'log'\)\.colour.*unknown property"):
        Flow.from_yaml(core)
    plugin = core.replace("io.kestra.plugin.core.log.Log", "com.example.plugin.Custom")
    assert Flow.from_yaml(plugin).tasks[0].model_dump(by_alias=True)["colour"] == "red"


def test_max_duration_kills_a_run_that_takes_longer() -> None:
    flow = Flow.from_yaml(
        "id: f\nnamespace: n\ntasks:\n  - id: nap\n    type: io.kestra.plugin.core.flow.Sleep\n    duration: PT1H\n"
        "  - id: after\n    type: io.kestra.plugin.core.log.Log\n    message: never\n"
    )
    execution = run(flow, max_duration=timedelta(minutes=5))  # virtual time: no real wait
    assert execution.state is ExecutionState.KILLED
    assert execution.task_run("nap").state is ExecutionState.KILLED
    assert [r.task_id for r in execution.task_runs] == ["nap"]
    assert any("max_duration (300 s)" in log.message and log.level == "ERROR" for log in execution.logs)
    assert run(flow, max_duration=7200).state is ExecutionState.SUCCESS
    with pytest.raises(FlowValidationError, match="max_duration must be a positive"):
        run(flow, max_duration=0)
