"""``Subflow``: run another flow as a child execution, as Kestra's ``Subflow`` task does.

The child flow comes from the run's catalog (``run(flows=[...])`` / ``flows_dir=``). With ``wait``
the task ends with the child: ``transmitFailed`` makes a FAILED child fail the task and a KILLED or
WARNING child end it so (Kestra's ``ExecutableUtils.guessState``). Outputs: ``executionId``,
``state`` (with ``wait``) and ``outputs``: the child flow's ``outputs``; for a Kestra 1.3 parent
flow whose child declares none, the task's own ``outputs`` rendered in the child execution (Kestra 2.0
removed the task's ``outputs``: "Subflow task outputs removed" in kestra2-flow-migration's
flows-changes.md). The child runs with its own flow's Kestra version.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ...flows.core_tasks import Subflow
from ...flows.execution import ExecutionState
from ...flows.secrets import reveal
from ..executors import TaskContext, TaskFailedError

__all__ = ["run_subflow"]

_CORRELATION = "system.correlationId"


def _labels(task: Subflow, ctx: TaskContext) -> dict[str, str]:
    inherited = ctx.execution.labels.items() if task.inherit_labels else ()
    labels = {key: value for key, value in inherited if not key.startswith("system.")}
    if _CORRELATION in ctx.execution.labels:  # a child execution keeps its parent's correlation id
        labels[_CORRELATION] = ctx.execution.labels[_CORRELATION]
    given = task.labels or {}
    pairs = given.items() if isinstance(given, dict) else ((d.get("key"), d.get("value")) for d in given)
    for key, value in pairs:
        labels[str(key)] = str(reveal(ctx.renderer.render(value, f"labels.{key}")))
    return labels


async def run_subflow(task: Subflow, ctx: TaskContext) -> ExecutionState | None:
    """Start the child execution; with ``wait``, follow it to its end."""
    from ..engine import FlowRunner

    runner = ctx.runner
    assert runner is not None
    namespace = str(reveal(ctx.renderer.render(task.namespace, "namespace")))
    flow_id = str(reveal(ctx.renderer.render(task.flow_id, "flowId")))
    flow = runner.catalog.find(namespace, flow_id)
    if flow is None:
        raise TaskFailedError(f"subflow {namespace}.{flow_id} not found; {runner.catalog.describe()}")
    child = FlowRunner(
        flow,
        runtime=runner.runtime,
        inputs=reveal(ctx.renderer.render(task.inputs or {}, "inputs")),
        secrets=runner.secrets,
        labels=_labels(task, ctx),
        progress=False,
        cancel_airflow_runs=runner.cancel_airflow_runs,
        catalog=runner.catalog,
        globals=runner.globals,
        storage_dir=runner.storage_dir,
        namespace_files_dir=runner.namespace_files,
    )
    child.parent_files = runner.files  # the child may read its parent execution's files
    child.waits = runner.waits  # the parent execution resumes (and approves) what the child waits for
    started = asyncio.ensure_future(child.run())
    await asyncio.sleep(0)  # the child creates its execution before its first wait
    if child.execution is None:
        await started  # it could not start: its error (bad inputs, unsupported task) fails the task
        raise TaskFailedError(f"subflow {namespace}.{flow_id} did not start")
    ctx.execution.subflows[child.execution.id] = child.execution
    ctx.task_run.outputs["executionId"] = child.execution.id
    ctx.log("INFO", f"Started subflow execution {child.execution.id} of {namespace}.{flow_id}")
    if not task.wait:
        runner.background.append(started)
        return None
    execution = await started
    outputs: Any = execution.flow_outputs
    if runner.kestra == "1.3" and not flow.outputs and task.outputs:
        outputs = child.renderer(None, None).render(task.outputs, "outputs")
    ctx.task_run.outputs.update({"state": execution.state.value, "outputs": outputs})
    if not task.transmit_failed or execution.state in (ExecutionState.SUCCESS, ExecutionState.SKIPPED):
        return None
    if execution.state is ExecutionState.FAILED:
        raise TaskFailedError(f"subflow execution {execution.id} of {namespace}.{flow_id} ended FAILED")
    return execution.state
