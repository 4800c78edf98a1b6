"""System labels as open-source Kestra sets them on a manual execution (kestra-io/kestra core:
``Execution.newExecution`` adds ``system.correlationId`` = the execution id unless one is given,
``LabelService.labelsExcludingSystem`` keeps the flow's system labels off the execution,
``RunVariables.mapLabel`` exposes ``labels.system.<name>``, ``ExecutionController.parseLabels``
and ``FlowValidator`` refuse other system labels)."""

from __future__ import annotations

import pytest

from kestra_airflow_sdk import Flow
from kestra_airflow_sdk.flows import FlowValidationError, Log

# shaped like blueprints/system-readonly-label.yaml, logging the labels Kestra gives the execution
READONLY_FLOW = """
id: system-readonly-label
namespace: company.team
labels:
  system.readOnly: "true"
  team: data
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ labels.system.correlationId }} {{ labels.team }} {{ execution.id }}"
"""


def test_correlation_id_is_the_execution_id_and_readable_in_expressions() -> None:
    execution = Flow.from_yaml(READONLY_FLOW).run(progress=False)
    assert execution.labels == {"team": "data", "system.correlationId": execution.id}
    assert execution.logs[0].message == f"{execution.id} data {execution.id}"


def test_a_given_correlation_id_is_kept_and_labels_add_to_the_flows() -> None:
    flow = Flow.from_yaml(READONLY_FLOW)
    execution = flow.run(labels={"system.correlationId": "parent-123", "env": "dev"}, progress=False)
    assert execution.labels == {"team": "data", "system.correlationId": "parent-123", "env": "dev"}
    assert execution.logs[0].message.startswith("parent-123 data ")


def test_other_system_labels_are_refused() -> None:
    flow = Flow("f", "n").task(Log(id="l", message="x"))
    with pytest.raises(FlowValidationError, match="system labels can only be set by Kestra itself"):
        flow.run(labels={"system.username": "me"}, progress=False)
    with pytest.raises(
        FlowValidationError, match=r"labels\.system\.app: system labels can only be set by Kestra"
    ):
        Flow("f", "n", labels={"system.app": "x"}).task(Log(id="l", message="x")).validate_flow()
