"""An execution's labels as open-source Kestra sets them on a manual (API/UI) execution.

From Kestra's core (``Execution.newExecution``, ``LabelService``, ``RunVariables``,
``ExecutionController.parseLabels``):

* the flow's labels, without its ``system.*`` ones (``system.readOnly`` is about the flow, not
  its executions), then the labels given to the run;
* ``system.correlationId``: the execution's id, unless the run was given one (the only system
  label a run may be given; any other ``system.*`` label is refused);
* in expressions, a system label is reached as ``{{ labels.system.correlationId }}``; other labels
  by their key (``{{ labels.team }}``, ``{{ labels['my.key'] }}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..flows.errors import FlowValidationError

__all__ = ["CORRELATION_ID", "SYSTEM_PREFIX", "execution_labels", "label_variables"]

SYSTEM_PREFIX = "system."
CORRELATION_ID = SYSTEM_PREFIX + "correlationId"


def execution_labels(
    flow_labels: Mapping[str, str], given: Mapping[str, str], execution_id: str
) -> dict[str, str]:
    """The labels of a new execution (see the module documentation).

    Raises:
        FlowValidationError: ``given`` has a ``system.*`` label other than ``system.correlationId``.
    """
    refused = [key for key in given if key.startswith(SYSTEM_PREFIX) and key != CORRELATION_ID]
    if refused:
        raise FlowValidationError(
            f"labels: {', '.join(f'{k}={given[k]}' for k in refused)}: system labels can only be set by Kestra "
            f"itself; a run may only be given {CORRELATION_ID}"
        )
    labels = {k: str(v) for k, v in flow_labels.items() if not k.startswith(SYSTEM_PREFIX)}
    labels.update({k: str(v) for k, v in given.items()})
    labels.setdefault(CORRELATION_ID, execution_id)
    return labels


def label_variables(labels: Mapping[str, str]) -> dict[str, Any]:
    """``labels`` as expressions see them: every key as is, and the system labels also nested
    under ``system`` (``labels.system.correlationId``), as Kestra's ``RunVariables`` exposes them."""
    variables: dict[str, Any] = dict(labels)
    system = {k[len(SYSTEM_PREFIX) :]: v for k, v in labels.items() if k.startswith(SYSTEM_PREFIX)}
    if system:
        variables["system"] = system
    return variables
