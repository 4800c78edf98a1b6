"""Static checks of expressions: check_template, and Flow validation refusing a flow before it runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from kestra_airflow_sdk.flows import Flow, FlowValidationError, Log
from kestra_airflow_sdk.flows.expressions import check_template
from kestra_airflow_sdk.flows.validation import expression_problems


def corpus() -> Path | None:
    """``../shared/corpus/kestra`` beside the checkout (a worktree finds it in a parent folder)."""
    for folder in Path(__file__).resolve().parents:
        candidate = folder / "shared" / "corpus" / "kestra"
        if candidate.is_dir():
            return candidate
    return None


@pytest.mark.parametrize(
    "text",
    [
        "plain text, no template",
        '{"json": "body with braces"}',
        "{{ outputs.run_dag.state == 'SUCCESS' }}",
        "{{ (trigger.date ?? execution.startDate) | dateAdd(-1, 'DAYS') | date('yyyy-MM-dd') }}",
        "{% for log in errorLogs() %}{{ log.message }}{% endfor %}",
        "{{ tasksWithState('failed')[0]['taskId'] }}",
        "{{ decrypt('KEY', 'x') }}",  # a Kestra function: valid for Kestra, refused only when running locally
        "{% raw %}{{ not | even | parsed }}{% endraw %}",
    ],
)
def test_valid_templates_have_no_problem(text: str) -> None:
    assert check_template(text) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{{ flow.id | shout }}", "unknown filter 'shout'"),
        ("{{ x is prime }}", "unknown test 'prime'"),
        ("{{ nope(1) }}", "unknown function nope()"),
        ("{{ flow.id", "syntax error: unexpected end of template"),
        (
            "{% if x %}a{% elif y %}b{% endif %}",
            "syntax error: unsupported tag 'elif' (Pebble spells it elseif)",
        ),
        ("{% include 'a' %}", "syntax error: unsupported tag 'include'"),
        ("{{ a }}\n{{ b | }}", "(line 2)"),
    ],
)
def test_problems_are_named(text: str, problem: str) -> None:
    problems = check_template(text)
    assert len(problems) == 1 and problem in problems[0], problems


def test_local_mode_names_functions_the_runner_cannot_run() -> None:
    assert check_template("{{ decrypt('KEY', 'x') }}", local=True) == [
        "function decrypt() is not supported by the local runner"
    ]
    assert check_template("{{ myFn() }}", functions={"myFn"}) == []


def test_flow_validation_names_task_field_and_filter() -> None:
    flow = Flow("f", "company.team").task(Log(id="hello", message="{{ flow.id | shout }}"))
    with pytest.raises(FlowValidationError) as err:
        flow.validate_flow()
    (problem,) = err.value.problems
    assert problem.startswith("tasks[0].message (task 'hello'): unknown filter 'shout'")


def test_validating_a_flow_with_a_broken_expression_names_its_place() -> None:
    """Like Kestra, loading keeps the flow as written (expressions render at run time); validating
    or running it refuses the broken expression before anything runs."""
    text = """\
id: f
namespace: company.team
tasks:
  - id: outer
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: inner
        type: io.kestra.plugin.core.log.Log
        message: "{% if inputs.x %}yes{% elif inputs.y %}no{% endif %}"
        description: "{{ never | rendered }}"
"""
    flow = Flow.from_yaml(text)
    with pytest.raises(FlowValidationError) as err:
        flow.validate_flow()
    (problem,) = err.value.problems
    assert problem.startswith(
        "tasks[0].tasks[0].message (task 'inner'): syntax error: unsupported tag 'elif' (Pebble spells it elseif)"
    )


def test_every_expression_of_the_corpus_passes_the_static_check() -> None:
    folder = corpus()
    if folder is None:
        pytest.skip("the Kestra corpus (../shared/corpus/kestra) is not here")
    checked = 0
    for path in sorted(folder.rglob("*.y*ml")):
        try:
            flow = Flow.from_yaml(path)
        except FlowValidationError as exc:  # a few corpus files break other rules (not expressions)
            expression_words = ("syntax error", "unknown filter", "unknown test", "unknown function")
            assert not any(word in str(exc) for word in expression_words), path
            continue
        assert expression_problems(flow.to_dict(), local=True) == [], path
        checked += 1
    assert checked > 50
