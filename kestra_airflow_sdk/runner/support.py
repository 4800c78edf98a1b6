"""What the local runner refuses before running, besides unknown task types: properties of known
tasks it cannot honour as Kestra does (rather than ignore them), and Kestra functions it cannot
run. :meth:`FlowRunner.check` raises them; ``kestra-airflow validate`` lists them as notes."""

from __future__ import annotations

from typing import Any

from ..flows.core_tasks import Approval, Exit, FlowableTask, HttpRequest, Loop, Pause, ScriptTask, Subflow
from ..flows.flow import Flow
from ..flows.validation import expression_problems, recursion_problems
from .catalog import FlowCatalog
from .tasks.http import http_problems
from .tasks.scripts import script_problems

__all__ = ["local_problems"]


def _is_expression(text: str) -> bool:
    return "{{" in text or "{%" in text


def _local_expression_problems(flow: Flow, kestra: str) -> list[str]:
    """Expressions valid for Kestra ``kestra`` that call a function only Kestra can run (``kv()``,
    ``read()``...)."""
    document = flow.to_dict()
    everywhere = set(expression_problems(document, kestra=kestra))
    return [p for p in expression_problems(document, local=True, kestra=kestra) if p not in everywhere]


def local_problems(
    flow: Flow, catalog: FlowCatalog | None = None, seen: frozenset[str] = frozenset()
) -> list[str]:
    """One line per task property of ``flow`` (with its plugin defaults applied) that cannot run
    locally, and per problem of the subflows it runs when a ``catalog`` is given to find them in
    (without one, subflows are not looked up; a subflow the catalog does not have fails its task
    run when it runs, as on Kestra). Expressions are checked for the flow's own Kestra version."""
    kestra = flow.kestra
    flow = flow.with_plugin_defaults()
    problems = []
    name = f"{flow.namespace}.{flow.id}"
    if catalog is not None and not seen:  # a cycle through the catalog's flows (the direct one: problems())

        def find(namespace: str, flow_id: str) -> dict[str, Any] | None:
            found = catalog.find(namespace, flow_id)
            return None if found is None else found.to_dict()

        problems += [p for p in recursion_problems(flow.to_dict(), find) if "through other flows" in p]
    for task in flow.walk():
        where = f"task {task.id!r} ({task.type.rsplit('.', 1)[-1]})"
        if isinstance(task, FlowableTask):
            for prop, value in (("retry", task.retry), ("timeout", task.timeout)):
                if value is not None and not (prop == "timeout" and isinstance(task, (Pause, Approval))):
                    problems.append(f"{where}: {prop} on a flowable task is not supported locally")
        if isinstance(task, Exit) and task.state in ("CANCELLED", "CANCELED"):  # CANCELED: 1.3's alias
            problems.append(f"{where}: state CANCELLED is not supported locally (no CANCELLED state here)")
        if isinstance(task, Loop) and task.fetch_type == "STORE":
            problems.append(f"{where}: fetchType STORE needs Kestra's internal storage (use FETCH locally)")
        if isinstance(task, ScriptTask):
            problems += [f"{where}: {p}" for p in script_problems(task)]
        if isinstance(task, HttpRequest):
            problems += [f"{where}: {p}" for p in http_problems(task)]
        if not isinstance(task, Subflow):
            continue
        if task.revision is not None:
            problems.append(f"{where}: revision is not supported locally (flows have no revisions here)")
        if task.schedule_date is not None:
            problems.append(f"{where}: scheduleDate is not supported locally")
        if catalog is None or _is_expression(task.namespace) or _is_expression(task.flow_id):
            continue  # found when the task runs
        child = catalog.find(task.namespace, task.flow_id)
        key = f"{task.namespace}.{task.flow_id}"
        # a subflow that is not found fails its task run when it runs, as on Kestra (not refused here)
        if child is not None and key not in seen and key != name:
            unknown = [f"{t.id!r} ({t.type})" for t in child.unsupported_tasks()]
            if unknown:
                problems.append(
                    f"{where}: subflow {key} has task types the SDK does not run: {', '.join(unknown)}"
                )
            problems += [f"subflow {key}: {p}" for p in local_problems(child, catalog, seen | {name})]
    return problems + _local_expression_problems(flow, kestra)
