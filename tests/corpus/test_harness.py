"""The corpus harness itself: its comparison catches what differs from Kestra, its summary counts
per corpus file, and the corpus is found beside the checkout. No corpus or Airflow needed."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from kestra_airflow_sdk.flows import Execution, ExecutionState, TaskRun
from kestra_airflow_sdk.flows.execution import LogEntry
from tests.corpus.harness import (
    REPO,
    Context,
    Outcome,
    Results,
    cases_of,
    compare,
    corpus_dir,
    pattern,
    task_types,
)

FLOW = yaml.safe_load(
    """
id: demo
namespace: company.team
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "{{ task.id }}"
  - id: choose
    type: io.kestra.plugin.core.flow.Switch
    value: x
    cases:
      x:
        - id: ret
          type: io.kestra.plugin.core.debug.Return
          format: "{{ taskrun.id }}"
  - id: warn
    type: io.kestra.plugin.core.log.Log
    level: WARN
    message: careful
errors:
  - id: alert
    type: io.kestra.plugin.slack.notifications.SlackIncomingWebhook
triggers:
  - id: schedule
    type: io.kestra.plugin.core.trigger.Schedule
pluginDefaults:
  - type: io.kestra.plugin.airbyte.connections.Sync
    values: {url: http://x}
"""
)
START = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)


def _execution(
    *,
    state: ExecutionState = ExecutionState.SUCCESS,
    ret_value: str | None = None,
    logs: list[str] | None = None,
) -> Execution:
    execution = Execution(id="1" * 22, namespace="company.team", flow_id="demo", state=state)
    hello = TaskRun(id="h" * 22, task_id="hello", type="Log", state=ExecutionState.SUCCESS, start_date=START)
    ret = TaskRun(id="r" * 22, task_id="ret", type="Return", state=ExecutionState.SUCCESS, start_date=START)
    ret.outputs = {"value": ret.id if ret_value is None else ret_value}
    warn = TaskRun(id="w" * 22, task_id="warn", type="Log", state=ExecutionState.SUCCESS, start_date=START)
    execution.task_runs = [hello, ret, warn]
    messages = logs if logs is not None else ["hello", "careful"]
    runs = {"hello": (hello, "INFO"), "careful": (warn, "WARN")}
    for message in messages:
        run, level = runs.get(message, (hello, "INFO"))
        execution.logs.append(LogEntry(START, level, message, run.task_id, run.id, 1))
    # lines at another level than the Log task's own (e.g. a runtime error) are not Log lines
    execution.logs.append(LogEntry(START, "ERROR", "an error line", "hello", hello.id, 1))
    return execution


def _labelled(labels: dict[str, str]) -> Execution:
    execution = _execution()
    execution.labels = labels
    return execution


SPEC = {
    "state": "SUCCESS",
    "task_runs": 3,
    "task_order": ["hello", "ret"],
    "outputs": {"ret": {"value": "${taskrun.id}"}},
    "logs": [{"message": "hello", "task": "hello"}, {"message": "careful", "level": "WARN"}],
}


def _spec(**changes: object) -> dict[str, object]:
    return {**SPEC, **changes}


def test_an_execution_as_kestra_gives_no_difference() -> None:
    assert compare(_spec(), FLOW, Context(_execution())) == []


@pytest.mark.parametrize(
    ("execution", "spec", "expected"),
    [
        (_execution(state=ExecutionState.FAILED), _spec(), "state: expected SUCCESS, got FAILED"),
        (_execution(), _spec(task_runs=4), "task_runs: expected 4, got 3"),
        (_execution(), _spec(task_order=["ret", "hello"]), "task_order"),
        (_execution(ret_value="other"), _spec(), "outputs.ret.value: expected '${taskrun.id}', got 'other'"),
        (_execution(), _spec(outputs={"missing": {"value": "x"}}), "outputs.missing: missing"),
        (_execution(logs=["careful", "hello"]), _spec(), "logs[0]"),
        (_execution(logs=["hello"]), _spec(), "expected 2 Log lines"),
        (
            _execution(),
            _spec(task_states={"ret": "SKIPPED"}),
            "task_states.ret: expected SKIPPED, got SUCCESS",
        ),
        (_execution(), _spec(attempts={"ret": 4}), "attempts.ret: expected 4, got 0"),
        (_execution(), _spec(task_run_counts={"ret": 3}), "task_run_counts.ret: expected 3, got 1"),
        (
            _execution(),
            _spec(labels={"system.correlationId": "${execution.id}"}),
            "labels.system.correlationId",
        ),
        (_labelled({"system.readOnly": "true"}), _spec(labels_absent=["system.readOnly"]), "expected absent"),
    ],
)
def test_each_difference_from_kestra_is_reported(
    execution: Execution, spec: dict[str, object], expected: str
) -> None:
    found = compare(spec, FLOW, Context(execution))
    assert any(expected in line for line in found), found


def test_unordered_logs_match_in_any_order_but_not_other_lines() -> None:
    spec = _spec(logs_unordered=True)
    assert compare(spec, FLOW, Context(_execution(logs=["careful", "hello"]))) == []
    assert compare(spec, FLOW, Context(_execution(logs=["careful", "hullo"])))


def test_patterns_are_strict_about_kestra_formats() -> None:
    resolve = Context(_execution()).resolver()
    assert pattern("x > <datetime>", resolve).fullmatch("x > 2026-01-02T03:04:05.678Z")
    assert not pattern("x > <datetime>", resolve).fullmatch("x > 2026-01-02T03:04:05.678+00:00")
    assert pattern("<id>", resolve).fullmatch("1" * 22)
    assert not pattern("<id>", resolve).fullmatch("1" * 21)
    assert pattern("run ${execution.id} (*)", resolve).fullmatch(f"run {'1' * 22} (*)")
    hello = _execution().task_runs[0]
    assert pattern("It's ${taskrun.startDate:%H:%M}", Context(_execution()).resolver(hello)).fullmatch(
        "It's 03:04"
    )


def test_task_types_read_nested_tasks_and_skip_triggers_and_defaults() -> None:
    assert task_types(FLOW) == [
        "io.kestra.plugin.core.log.Log",
        "io.kestra.plugin.core.flow.Switch",
        "io.kestra.plugin.core.debug.Return",
        "io.kestra.plugin.slack.notifications.SlackIncomingWebhook",
    ]


def test_cases_inherit_the_entry_and_override_it() -> None:
    entry = {"expect": "run", "state": "SUCCESS", "cases": [{"name": "a"}, {"name": "b", "state": "FAILED"}]}
    cases = cases_of("x.yaml", entry)
    assert [(c.id, c.spec["state"], c.expect) for c in cases] == [
        ("x.yaml::a", "SUCCESS", "run"),
        ("x.yaml::b", "FAILED", "run"),
    ]


def test_summary_counts_each_corpus_file_once_by_its_worst_case() -> None:
    results = Results()
    results.add("a.yaml", Outcome("a.yaml::1", "ran"))
    results.add("a.yaml", Outcome("a.yaml::2", "gap"))
    results.add("b.yaml", Outcome("b.yaml", "refused"))
    results.add("c.yaml", Outcome("c.yaml@airflow3", "ran"))
    results.add("c.yaml", Outcome("c.yaml@airflow2", "skipped"))
    results.add("d.yaml", Outcome("d.yaml", "diverged", known=True))
    assert results.summary() == (
        "1 ran as Kestra, 1 refused, 1 core flows still refused, 1 diverged"
        " (1 of them known_divergence, xfail) — 4 corpus flows"
    )


def test_the_corpus_is_found_beside_the_checkout_or_where_the_environment_says(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KAS_CORPUS_DIR", raising=False)
    assert corpus_dir() == REPO.parent / "shared" / "corpus" / "kestra"
    monkeypatch.setenv("KAS_CORPUS_DIR", str(tmp_path))
    assert corpus_dir() == tmp_path
