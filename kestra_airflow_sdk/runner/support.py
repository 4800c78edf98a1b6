"""What the local runner refuses before running, besides unknown task types: properties of known
tasks it cannot honour as Kestra does (rather than ignore them)."""

from __future__ import annotations

from ..flows.core_tasks import Exit, FlowableTask, Subflow
from ..flows.flow import Flow
from .catalog import FlowCatalog

__all__ = ["local_problems"]


def _is_expression(text: str) -> bool:
    return "{{" in text or "{%" in text


def local_problems(flow: Flow, catalog: FlowCatalog, seen: frozenset[str] = frozenset()) -> list[str]:
    """One line per task property of ``flow`` (and of the subflows it runs) that cannot run locally."""
    problems = []
    name = f"{flow.namespace}.{flow.id}"
    for task in flow.walk():
        where = f"task {task.id!r} ({task.type.rsplit('.', 1)[-1]})"
        if isinstance(task, FlowableTask):
            for prop, value in (("retry", task.retry), ("timeout", task.timeout)):
                if value is not None:
                    problems.append(f"{where}: {prop} on a flowable task is not supported locally")
        if isinstance(task, Exit) and task.state == "CANCELLED":
            problems.append(f"{where}: state CANCELLED is not supported locally (no CANCELLED state here)")
        if not isinstance(task, Subflow):
            continue
        if task.revision is not None:
            problems.append(f"{where}: revision is not supported locally (flows have no revisions here)")
        if task.schedule_date is not None:
            problems.append(f"{where}: scheduleDate is not supported locally")
        if _is_expression(task.namespace) or _is_expression(task.flow_id):
            continue  # found when the task runs
        child = catalog.find(task.namespace, task.flow_id)
        key = f"{task.namespace}.{task.flow_id}"
        if child is None:
            problems.append(f"{where}: subflow {key} not found; {catalog.describe()}")
        elif key not in seen and key != name:
            unknown = [f"{t.id!r} ({t.type})" for t in child.unsupported_tasks()]
            if unknown:
                problems.append(
                    f"{where}: subflow {key} has task types the SDK does not run: {', '.join(unknown)}"
                )
            problems += [f"subflow {key}: {p}" for p in local_problems(child, catalog, seen | {name})]
    return problems
