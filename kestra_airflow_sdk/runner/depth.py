"""How deep subflow executions are nested in one run: a flow that runs itself through an expression
(``flowId: "{{ flow.id }}"``), which no check before the run can see, stops at
:data:`~kestra_airflow_sdk.flows.limits.MAX_SUBFLOW_DEPTH` nested executions."""

from __future__ import annotations

from contextvars import ContextVar

from ..flows.errors import FlowValidationError
from ..flows.limits import MAX_SUBFLOW_DEPTH

__all__ = ["SUBFLOW_DEPTH", "next_depth"]

#: the nesting depth of the execution whose tasks run in this context (0 outside any run); each
#: execution sets it for its tasks, and a ``Subflow`` task's child inherits it
SUBFLOW_DEPTH: ContextVar[int] = ContextVar("kestra_airflow_sdk_subflow_depth", default=0)


def next_depth(flow: str) -> int:
    """The depth an execution of ``flow`` starting here runs its tasks at; raises past the limit."""
    depth = SUBFLOW_DEPTH.get() + 1
    if depth > MAX_SUBFLOW_DEPTH + 1:
        raise FlowValidationError(
            f"Flow {flow} would run as a subflow nested {depth - 1} deep, more than the limit of "
            f"{MAX_SUBFLOW_DEPTH} (MAX_SUBFLOW_DEPTH): does a flow run itself through an expression "
            "or another flow?"
        )
    return depth
