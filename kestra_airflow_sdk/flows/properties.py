"""Kestra's flow-level properties, and a flow document's unknown ones refused by name.

Kestra reads a flow with ``FAIL_ON_UNKNOWN_PROPERTIES`` (its YAML parser fails on a property its
``Flow`` class does not have). The properties are those of ``AbstractFlow`` and ``Flow``
(kestra-io/kestra ``core/src/main/java/io/kestra/core/models/flows/``): 1.3 has ``listeners`` and
``taskDefaults`` (deprecated, removed in 2.0), 2.0 adds ``workerSelector`` and ``policyRefs``.
``extend`` is the metadata block of Kestra's blueprints (kept as written, not part of a run).

What the local runner does with each is :data:`FLOW_PROPERTY_USE` (checked by the property audit,
``tests/runner/test_property_audit.py``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["FLOW_PROPERTIES", "FLOW_PROPERTY_USE", "closest", "unknown_flow_properties"]

#: how the SDK treats each flow-level property Kestra has: ``applied: ...`` (where the runner
#: applies it), ``not local: ...`` (nothing to apply in one local run, and why) or ``refused: ...``
#: (refused before running, by ``runner.support``)
FLOW_PROPERTY_USE: dict[str, str] = {
    "id": "applied: {{ flow.id }}, the execution's flow id (runner.engine)",
    "namespace": "applied: {{ flow.namespace }}, the execution's namespace (runner.engine)",
    "description": "not local: documentation, never rendered",
    "labels": "applied: the execution's labels (runner.labels)",
    "inputs": "applied: resolved and typed before the run (runner.inputs)",
    "outputs": "applied: rendered when the execution ends (runner.flow_outputs)",
    "variables": "applied: {{ vars.x }} (runner.engine)",
    "tasks": "applied: run in order (runner.engine)",
    "errors": "applied: run when a task failed (runner.flowable.run_block)",
    "finally": "applied: run at the end, whatever happened (runner.flowable.run_block)",
    "triggers": "not local: fired by a Kestra server's scheduler; the local runner runs the flow once",
    "pluginDefaults": "applied: merged into the tasks they apply to (flows.plugin_defaults)",
    "taskDefaults": "applied: Kestra 1.3's older pluginDefaults (flows.plugin_defaults)",
    "disabled": "refused: Kestra does not run a disabled flow (runner.engine.FlowRunner.check)",
    "checks": "applied: evaluated before the execution starts (runner.checks)",
    "revision": "applied: {{ flow.revision }} (runner.engine.FlowRunner._flow_variable)",
    "tenantId": "applied: {{ flow.tenantId }} (runner.engine.FlowRunner._flow_variable)",
    "updated": "not local: server metadata (when the revision was saved), not read at run time",
    "deleted": "refused when true: Kestra does not run a deleted flow (runner.support)",
    "concurrency": (
        "not local: limits concurrent executions of the flow; one local run is one execution, alone, "
        "never queued, cancelled or failed by it (FlowConcurrencyCaseTest)"
    ),
    "retry": "refused: a flow-level retry (restart or new execution) is not supported locally (runner.support)",
    "sla": "refused: SLA monitors are not supported locally (runner.support)",
    "afterExecution": "refused: afterExecution tasks are not supported locally (runner.support)",
    "listeners": "refused: listeners are not supported locally (runner.support)",
    "workerGroup": "not local: routes task runs to a Kestra worker group; the local runner is the only worker",
    "workerSelector": "not local: routes task runs to Kestra workers; the local runner is the only worker",
    "policyRefs": "not local: Enterprise governance policies attached on the server",
    "extend": "not local: a blueprint's metadata block (title, tags ...), kept as written",
}

#: every flow-level property a Kestra 1.3 or 2.0 document may have
FLOW_PROPERTIES: frozenset[str] = frozenset(FLOW_PROPERTY_USE)


def closest(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the known name closest to ``name`` ("" when none is close)."""
    lowered = {k.lower(): k for k in known}
    found = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean {lowered[found[0]]!r}?)" if found else ""


def unknown_flow_properties(keys: Iterable[str]) -> list[str]:
    """One line per key that is not a Kestra flow property, with the closest known one."""
    return [
        f"unknown flow property {key!r}{closest(key, FLOW_PROPERTIES)}; Kestra refuses a flow with a "
        f"property its Flow does not have ({', '.join(sorted(FLOW_PROPERTIES))})"
        for key in keys
        if key not in FLOW_PROPERTIES
    ]
