"""Proof of an upgrade: a 1.3 flow and its 2.0 upgrade run locally to the same result
(:func:`check_equivalence`), a wrong upgrade is reported different, and ``upgrade --check-equivalence``."""

from __future__ import annotations

from pathlib import Path

import pytest

from kestra_airflow_sdk.cli import main
from kestra_airflow_sdk.flows import Flow
from kestra_airflow_sdk.migration.equivalence import check_equivalence
from tests.flows.conftest import ISSUE_FLOW
from tests.runner.fake_airflow import FakeAirflow

SECRETS = {"AIRFLOW_USERNAME": "admin", "AIRFLOW_PASSWORD": "admin"}

NESTED = """
id: nested
namespace: company.team
pluginDefaults:
  - type: io.kestra.plugin.core.log.Log
    values:
      level: WARN
tasks:
  - id: outer
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b"]
    tasks:
      - id: inner
        type: io.kestra.plugin.core.flow.EachParallel
        value: ["1", "2"]
        tasks:
          - id: pair
            type: io.kestra.plugin.core.debug.Return
            format: "{{ parent.taskrun.value }}-{{ taskrun.value }}"
          - id: say
            type: io.kestra.plugin.core.log.Log
            message: "pair {{ outputs.pair[parent.taskrun.value][taskrun.value].value }}"
      - id: ret
        type: io.kestra.plugin.core.debug.Return
        format: "r-{{ taskrun.value }}"
      - id: show
        type: io.kestra.plugin.core.log.Log
        message: "got {{ outputs.ret[taskrun.value].value }}"
        level: INFO
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: done
"""

SEQUENTIAL = """
id: sequential
namespace: company.team
inputs:
  - id: items
    type: JSON
    defaults: '["x", "y", "z"]'
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.EachSequential
    value: "{{ inputs.items }}"
    tasks:
      - id: upper
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value | upper }}"
  - id: count
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.upper['x'].value }}"
"""


def _pair(text: str) -> tuple[Flow, Flow]:
    original = Flow.from_yaml(text)
    assert original.kestra == "1.3"
    return original, Flow.from_yaml(original.to_yaml(kestra="2.0"), kestra="2.0")


def test_nested_loops_plugin_defaults_and_outputs_run_equal() -> None:
    original, upgraded = _pair(NESTED)
    assert {t.type.rsplit(".", 1)[-1] for t in upgraded.walk()} >= {"Loop"}
    result = check_equivalence(original, upgraded)
    assert result.equal, str(result)
    assert result.original is not None and result.upgraded is not None
    assert result.original.state == result.upgraded.state
    # the runs were really compared: the 1.3 run kept 4 Log lines of `say`, the 2.0 run dropped them
    # with its sub-executions (the check recorded those as they ran)
    assert sum(e.task_id == "say" for e in result.original.logs) == 4
    assert not any(e.task_id == "say" for e in result.upgraded.logs)


def test_a_wrong_upgrade_is_reported() -> None:
    original, _ = _pair(NESTED)
    wrong = original.to_yaml(kestra="2.0").replace(
        "{{ item.parent.value }}-{{ item.value }}", "{{ item.value }}"
    )
    result = check_equivalence(original, Flow.from_yaml(wrong, kestra="2.0"))
    assert not result.equal
    assert any("task 'say'" in d and "logs" in d for d in result.differences), result.differences
    assert any("task 'pair'" in d and "outputs" in d for d in result.differences), result.differences

    dropped = original.to_yaml(kestra="2.0").replace("values:\n      - a\n      - b", "values:\n      - a")
    fewer = check_equivalence(original, Flow.from_yaml(dropped, kestra="2.0"))
    assert "task 'outer': 2 iteration(s) in 1.3, 1 in 2.0" in fewer.differences


def test_a_value_keyed_output_read_outside_the_loop_changes_shape() -> None:
    """``outputs.upper['x'].value`` after the loop becomes the list of every iteration's value: the
    upgrade warns, and the check shows the consequence."""
    original, upgraded = _pair(SEQUENTIAL)
    result = check_equivalence(original, upgraded)
    assert result.differences == ["task 'count': logs: 1.3 ['INFO X'], 2.0 ['INFO [\"X\",\"Y\",\"Z\"]']"], (
        result.differences
    )
    # the Loop's outputs themselves are the ForEach's value-keyed outputs in the new shape
    assert not any("loop outputs" in d for d in result.differences)


def test_loop_outputs_are_compared_with_the_value_keyed_outputs() -> None:
    original, upgraded = _pair(SEQUENTIAL)
    text = upgraded.to_yaml().replace("{{ outputs.upper.value }}", "{{ outputs.upper.value | lower }}")
    result = check_equivalence(original, Flow.from_yaml(text, kestra="2.0"))
    assert any(d.startswith("task 'each': loop outputs:") and "'x'" in d for d in result.differences), (
        result.differences
    )
    assert any("output 'upper_value' is not" in n for n in result.notes), result.notes


def test_flows_that_cannot_run_locally_are_not_checked() -> None:
    unsupported = NESTED.replace(
        "io.kestra.plugin.core.debug.Return", "io.kestra.plugin.scripts.shell.Unknown"
    )
    original = Flow.from_yaml(unsupported)
    result = check_equivalence(original, Flow.from_yaml(original.to_yaml(kestra="2.0"), kestra="2.0"))
    assert not result.equal
    assert "the 1.3 flow cannot run locally" in result.not_checked
    assert result.differences == []


def test_cli_check_equivalence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(NESTED)
    assert main(["upgrade", str(good), "--check-equivalence"]) == 0
    assert "equivalence: equivalent" in capsys.readouterr().err

    changed = tmp_path / "changed.yaml"
    changed.write_text(SEQUENTIAL)
    assert main(["upgrade", str(changed), "-o", str(tmp_path / "out"), "--check-equivalence"]) == 1
    err = capsys.readouterr().err
    assert "equivalence: 1 difference(s)" in err and "task 'count'" in err


def test_an_airflow_flow_needs_the_callers_airflow() -> None:
    text = (
        ISSUE_FLOW.replace("http://host.docker.internal:8080", "http://fake-airflow")
        .replace("dagId: hello_world_dag", "dagId: ok")
        .replace(
            "    wait: true\n",
            "    wait: true\n    retry:\n      type: constant\n      interval: PT1S\n      maxAttempt: 2\n",
        )
    )
    original, upgraded = _pair(text)
    offline = check_equivalence(original, upgraded, secrets=SECRETS)
    assert offline.not_checked.startswith("task(s) run_dag trigger Airflow DAG runs: not checkable offline")
    airflow = FakeAirflow(scripts={"ok": ["success"]})
    result = check_equivalence(original, upgraded, secrets=SECRETS, runtime=airflow.runtime())
    assert result.equal, str(result)
    assert result.original is not None and result.original.outputs["run_dag"]["state"] == "success"
    assert len(airflow.runs) == 2  # one DAG run per flow


QUOTED = """
id: quoted
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b"]
    tasks:
      - id: may_fail
        type: io.kestra.plugin.core.flow.AllowFailure
        tasks:
          - id: say
            type: io.kestra.plugin.core.log.Log
            message: "{{ taskrun.value == 'a' ? 'ok' : missing }}"
"""


def test_an_error_quoting_a_rewritten_expression_compares_as_the_upgrade_wrote_it() -> None:
    # the rendering error of `say` quotes its template as written: `taskrun.value` in 1.3, `item.value`
    # in the upgrade; the lines compare equal once the 1.3 text is the 2.0 text. The loop's state is
    # a real difference (Kestra's Loop ends SUCCESS, the ForEach WARNING), so it is still reported
    flow = Flow.from_yaml(QUOTED)
    upgraded = Flow.from_yaml(flow.to_yaml(kestra="2.0"))
    result = check_equivalence(flow, upgraded)
    assert result.differences == [
        "final state: 1.3 WARNING, 2.0 SUCCESS",
        "task 'each': state: 1.3 'WARNING', 2.0 'SUCCESS'",
    ]
    # a 2.0 flow whose message is not the upgrade's rewrite: its error line still differs
    changed = Flow.from_yaml(flow.to_yaml(kestra="2.0").replace("'ok'", "'fine'"))
    logs = [d for d in check_equivalence(flow, changed).differences if "task 'say': logs:" in d]
    assert any("taskrun.value == 'a' ? 'ok'" in d and "item.value == 'a' ? 'fine'" in d for d in logs)


def test_the_upgrade_warns_that_a_loop_no_longer_ends_warning() -> None:
    from kestra_airflow_sdk.flows.upgrade import upgrade_text

    _text, result = upgrade_text(QUOTED)
    (note,) = [n for n in result.warnings if "no longer makes the loop WARNING" in n.message]
    assert note.where.startswith("tasks[0]") and "may_fail" in note.message and "foreach-loop" in note.page
