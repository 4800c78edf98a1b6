"""The property audit: every flow-level and task-level property of the model is applied as Kestra
applies it, or refused by name before running; none is silently ignored.

* Task level: every field of every registered task class is read by the runner (an attribute access
  ``.<field>`` in ``kestra_airflow_sdk/runner``), or listed in :data:`NOT_READ` with why reading it
  is not needed (no effect in a local run, or refused through another property).
* Flow level: every property Kestra's ``Flow`` has is in ``flows.properties.FLOW_PROPERTY_USE``
  (applied / not local / refused, with where); the refused ones are refused before running, the
  applied ones are seen in a run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kestra_airflow_sdk.flows import Flow, FlowValidationError, UnsupportedTaskError
from kestra_airflow_sdk.flows.properties import FLOW_PROPERTIES, FLOW_PROPERTY_USE
from kestra_airflow_sdk.flows.registry import supported_types, task_class
from tests.runner.core_flows import run

RUNNER = Path(__file__).resolve().parents[2] / "kestra_airflow_sdk" / "runner"

#: task fields the runner does not read, and why none of them is ignored
NOT_READ = {
    "description": "documentation: Kestra never renders nor runs it",
    "log_to_file": (
        "not local: where Kestra keeps the task's log lines (a file of its internal storage instead of "
        "its database); the lines, their levels and order are the same"
    ),
    "worker_group": "not local: routes the task run to a Kestra worker group; the local runner is the only worker",
    "warning_on_std_err": (
        "applied as Kestra applies it: deprecated since Kestra 0.23 (migration-guide/0.23.0/script-warnings), "
        "no effect: stderr lines never change a script task's state"
    ),
    "container_image": "applied: named in the INFO line telling the task runs as a local process (ScriptTask.image)",
    "docker": "applied: its image is named as containerImage is (ScriptTask.image)",
    "dependency_cache_enabled": "not local: how Kestra caches `dependencies`, which are refused locally (script_problems)",
    "package_manager": "not local: which tool Kestra installs `dependencies` with; they are refused locally",
    "uv_auto_install_enabled": (
        "not local: whether Kestra downloads uv to install `dependencies` (plugin-scripts' "
        "PythonBasedPlugin); they are refused locally"
    ),
}


def _runner_source() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(RUNNER.rglob("*.py")))


def _task_fields() -> dict[str, list[str]]:
    """field name -> the task classes that have it."""
    found: dict[str, list[str]] = {}
    for type_name in supported_types():
        cls = task_class(type_name)
        assert cls is not None
        for name in cls.model_fields:
            found.setdefault(name, []).append(cls.__name__)
    return found


def test_every_task_field_is_read_by_the_runner_or_listed_with_a_reason() -> None:
    source = _runner_source()
    ignored = {
        name: classes
        for name, classes in _task_fields().items()
        if name not in NOT_READ and not re.search(r"\." + re.escape(name) + r"\b", source)
    }
    assert ignored == {}, f"task properties neither read by the runner nor listed in NOT_READ: {ignored}"


def test_the_not_read_list_has_no_stale_entry() -> None:
    fields = _task_fields()
    assert sorted(set(NOT_READ) - set(fields)) == []
    assert all(reason.strip() for reason in NOT_READ.values())


def test_every_flow_property_is_listed_with_how_it_is_applied() -> None:
    aliases = {field.alias or name for name, field in Flow.model_fields.items()}
    assert sorted(aliases - FLOW_PROPERTIES) == []
    for name, use in FLOW_PROPERTY_USE.items():
        assert re.match(r"^(applied|not local|refused( when true)?): \S", use), (name, use)


BODY = """tasks:
  - id: say
    type: io.kestra.plugin.core.debug.Return
    format: "{{ flow.revision }}|{{ flow.tenantId ?? '-' }}"
"""

REFUSED = {
    "retry": "retry:\n  type: constant\n  interval: PT1S\n  maxAttempts: 2\n",
    "sla": "sla:\n  - id: s\n    type: MAX_DURATION\n    behavior: FAIL\n    duration: PT1H\n",
    "afterExecution": "afterExecution:\n  - id: after\n    type: io.kestra.plugin.core.log.Log\n    message: x\n",
    "listeners": "listeners:\n  - tasks:\n      - id: l\n        type: io.kestra.plugin.core.log.Log\n        message: x\n",
    "deleted": "deleted: true\n",
}


def test_the_refused_list_matches_the_audit_table() -> None:
    refused = {k for k, v in FLOW_PROPERTY_USE.items() if v.startswith("refused")}
    assert refused == {*REFUSED, "disabled"}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_refused_flow_property_is_refused_by_name_before_running(name: str) -> None:
    flow = Flow.from_yaml(f"id: f\nnamespace: n\n{REFUSED[name]}{BODY}")
    with pytest.raises(UnsupportedTaskError, match=f"flow {name}"):
        run(flow)


def test_a_disabled_flow_is_refused() -> None:
    with pytest.raises(FlowValidationError, match="disabled"):
        run(Flow.from_yaml(f"id: f\nnamespace: n\ndisabled: true\n{BODY}"))


def test_revision_and_tenant_id_are_the_flow_variables() -> None:
    # Kestra's RunVariables: flow.revision, and flow.tenantId when the flow has one
    execution = run(Flow.from_yaml(f"id: f\nnamespace: n\nrevision: 4\ntenantId: main\n{BODY}"))
    assert execution.task_run("say").outputs["value"] == "4|main"
    execution = run(Flow.from_yaml(f"id: f\nnamespace: n\n{BODY}"))
    assert execution.task_run("say").outputs["value"] == "|-"


def test_properties_with_no_local_effect_run() -> None:
    # concurrency (one execution alone is never queued: FlowConcurrencyCaseTest), workerGroup, updated
    text = (
        "id: f\nnamespace: n\nconcurrency:\n  behavior: QUEUE\n  limit: 1\nupdated: 2026-01-01T00:00:00Z\n"
        f"{BODY}"
    )
    assert run(Flow.from_yaml(text)).state.value == "SUCCESS"
