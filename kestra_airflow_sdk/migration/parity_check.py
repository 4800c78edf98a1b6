"""Proof before the cut-over: run a DAG on Airflow and its native flow locally, compare task by task.

:func:`parity` triggers the DAG with ``conf`` and waits for the run, runs the flow locally with the
same values (each flow input named like a key of ``conf`` gets that value, as Airflow's params take
the run's conf; the ``conf`` input gets the whole conf), then compares each Airflow task with the
Kestra task of the same id (a task group's ``group.task`` is ``group_task`` in Kestra):

* the final state: ``success``, ``failed``, or ``not run`` (Airflow ``skipped`` / ``upstream_failed``,
  a Kestra task that did not run or was ``SKIPPED``);
* the return value: the XCom ``return_value`` against the Script's output ``return_value``; for a
  ``BashOperator`` (whose XCom is its last line of output) against the last line the Commands task
  printed; for an HTTP request against the response body. A branch's choice is compared through the
  states of the tasks after it;
* the exit code of a failed command, as both logs tell it;
* a mapped task (a ``Loop`` in Kestra): one row per map index, ``task[i]``, against iteration ``i``
  (``item.index``): success when the iteration declared its outputs, else the loop's state; the
  return value against the iteration's ``return_value`` (a mapped command's last line of output
  is not compared: Kestra keeps no log of a finished iteration).

The last result of each DAG is kept under the storage folder (``parity/<dag_id>.json``), for the
inventory's ``parity`` column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Coroutine, Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import pandas as pd

from ..airflow.core import ClientCore
from ..airflow.errors import InvalidArgumentError
from ..airflow.models import DagRun, TaskInstance
from ..flows.execution import Execution, TaskRun
from ..flows.flow import Flow
from ..flows.task import Task
from ..flows.tasks.flowable import Loop
from ..flows.tasks.http import HttpRequest
from ..flows.tasks.scripts import ScriptTask, ShellCommands
from ..storage import storage_root
from ..transport.drivers import AsyncDriver
from ..transport.effects import Op
from .dag_reads import read_return_value
from .templates import kestra_task_id

if TYPE_CHECKING:
    from ..transport.drivers import SyncDriver

__all__ = ["PARITY_COLUMNS", "last_parity", "parity"]

PARITY_COLUMNS = ["task", "airflow_state", "kestra_state", "airflow_value", "kestra_value", "equal", "note"]
NOT_RUN = "not run"
_AIRFLOW_STATES = {"success": "success", "failed": "failed", "skipped": NOT_RUN, "upstream_failed": NOT_RUN}
_KESTRA_STATES = {"SUCCESS": "success", "FAILED": "failed", "KILLED": "failed", "SKIPPED": NOT_RUN}
_EXIT_CODE = re.compile(r"(?:exit code|return code)\s*:?\s*(-?\d+)", re.IGNORECASE)


def _tasks(tasks: Iterable[Task] | None) -> dict[str, Task]:
    """Every task of a flow (inside Dag, Switch, ... too), by id."""
    found: dict[str, Task] = {}
    for task in tasks or ():
        found[task.id] = task
        found.update(_tasks(task.children))
    return found


#: a task's return value in the Airflow run, by (task id, map index)
_Values = dict[tuple[str, int], tuple[bool, Any]]


def _airflow_op(
    client: ClientCore, dag_id: str, conf: dict[str, Any], timeout: float, failed_logs: set[str]
) -> Op[tuple[DagRun, list[TaskInstance], _Values, dict[str, str]]]:
    run: DagRun = yield from ClientCore.trigger_dag_run.fn(client, dag_id, conf=conf)
    run = yield from ClientCore.wait_for_dag_run.fn(client, dag_id, run.dag_run_id, timeout=timeout)
    instances: list[TaskInstance] = yield from ClientCore.list_task_instances.fn(
        client, dag_id, run.dag_run_id
    )
    values: _Values = {}
    logs: dict[str, str] = {}
    for ti in instances:
        if ti.state is not None and ti.state.value == "success":
            values[ti.task_id, ti.map_index] = yield from read_return_value(
                client, dag_id, run.dag_run_id, ti.task_id, ti.map_index
            )
        elif (
            ti.state is not None and ti.state.value == "failed" and kestra_task_id(ti.task_id) in failed_logs
        ):
            logs[ti.task_id] = yield from ClientCore.get_task_log.fn(
                client, dag_id, run.dag_run_id, ti.task_id
            )
    return run, instances, values, logs


def _inputs(flow: Flow, conf: Mapping[str, Any]) -> dict[str, Any]:
    declared = {i.id for i in flow.inputs or [] if i.id}
    inputs = {k: v for k, v in conf.items() if k in declared}
    if "conf" in declared:
        inputs["conf"] = dict(conf)
    return inputs


def _normal(value: Any) -> Any:
    """JSON's view of a value (tuples are lists, keys are strings), as XCom stores it."""
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return repr(value)


def _last_line(execution: Execution, task_id: str) -> str | None:
    lines = [e.message for e in execution.logs if e.task_id == task_id and e.level == "INFO"]
    lines = [line for text in lines for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else None


def _exit_code(text: str | None) -> int | None:
    found = _EXIT_CODE.findall(text or "")
    return int(found[-1]) if found else None


def _kestra_value(task: Task | None, run: TaskRun | None, execution: Execution) -> tuple[bool, Any]:
    if run is None or task is None:
        return False, None
    if isinstance(task, ShellCommands):  # Airflow pushes the last line, "" when there is none
        return True, _last_line(execution, task.id) or ""
    if isinstance(task, HttpRequest):
        return "body" in run.outputs, run.outputs.get("body")
    if isinstance(task, ScriptTask):
        found = run.outputs.get("vars") or {}
        return "return_value" in found and found["return_value"] is not None, found.get("return_value")
    return False, None


_NOT_COMPARED = "the last line of a mapped command is not compared"


def _iteration(loop: Loop, run: TaskRun | None, index: int) -> tuple[str, bool, Any, str]:
    """(state, has a value, value, note) of iteration ``index`` of ``loop``: the entry its declared
    outputs made in ``outputs.<loop>.outputs``, else the loop's state. The note is
    ``_NOT_COMPARED`` for a command's iteration (its return value is its last line of output)."""
    if run is None:
        return NOT_RUN, False, None, ""
    entries = run.outputs.get("outputs") or []
    entry = next(
        (e for e in entries if isinstance(e, dict) and e.get("item", {}).get("iteration") == index), None
    )
    if entry is None:
        state = "failed" if str(run.state) == "FAILED" else NOT_RUN
        return state, False, None, f"iteration {index} of the Loop declared no outputs"
    produced = entry.get("outputs") or {}
    if "return_value" not in produced:
        return "success", False, None, _NOT_COMPARED
    value = produced["return_value"]
    return "success", value is not None, value, ""


def _compare(
    dag_id: str,
    flow: Flow,
    airflow: tuple[DagRun, list[TaskInstance], _Values, dict[str, str]],
    execution: Execution,
) -> pd.DataFrame:
    run, instances, values, logs = airflow
    kestra_tasks = _tasks([*flow.tasks, *(flow.finally_ or [])])
    runs = {r.task_id: r for r in execution.task_runs}
    branches = _branch_ids(flow)
    rows = []
    for ti in sorted(
        instances,
        key=lambda t: (t.start_date is None, t.start_date or run.run_after, t.task_id, t.map_index),
    ):
        airflow_state = _AIRFLOW_STATES.get(str(ti.state), str(ti.state))
        kestra_id = kestra_task_id(ti.task_id)  # a task group's dot is Kestra's _
        task, task_run = kestra_tasks.get(kestra_id), runs.get(kestra_id)
        kestra_state = (
            NOT_RUN if task_run is None else _KESTRA_STATES.get(str(task_run.state), str(task_run.state))
        )
        notes = []
        if task is None:
            notes.append("no Kestra task of this id")
        has_airflow, airflow_value = values.get((ti.task_id, ti.map_index), (False, None))
        has_kestra, kestra_value = _kestra_value(task, task_run, execution)
        mapped = ti.map_index >= 0
        compare_values = True
        if mapped and isinstance(task, Loop):
            kestra_state, has_kestra, kestra_value, note = _iteration(task, task_run, ti.map_index)
            compare_values = note != _NOT_COMPARED
            notes += [note] if note else []
        elif mapped:
            notes.append("a mapped task whose Kestra task is not a Loop")
        equal = airflow_state == kestra_state and not (mapped and not isinstance(task, Loop))
        if kestra_id in branches:
            notes.append("a branch: its choice is compared through the states of the tasks after it")
        elif (
            compare_values
            and airflow_state == kestra_state == "success"
            and _normal(airflow_value if has_airflow else None)
            != _normal(kestra_value if has_kestra else None)
        ):
            equal = False
            notes.append("return values differ")
        if airflow_state == kestra_state == "failed" and ti.task_id in logs:
            kestra_code = task_run.outputs.get("exitCode") if task_run is not None else None
            kestra_code = (
                kestra_code
                if isinstance(kestra_code, int)
                else _exit_code(task_run.error if task_run else None)
            )
            airflow_code = _exit_code(logs[ti.task_id])
            if airflow_code != kestra_code:
                equal = False
                notes.append(f"exit codes differ: Airflow {airflow_code}, Kestra {kestra_code}")
        if airflow_state != kestra_state:
            notes.append("states differ")
        rows.append(
            {
                "task": f"{ti.task_id}[{ti.map_index}]" if mapped else ti.task_id,
                "airflow_state": airflow_state,
                "kestra_state": kestra_state,
                "airflow_value": airflow_value if has_airflow else None,
                "kestra_value": kestra_value if has_kestra else None,
                "equal": equal,
                "note": "; ".join(notes),
            }
        )
    frame: pd.DataFrame = pd.DataFrame(rows, columns=PARITY_COLUMNS)
    frame.attrs.update(
        {
            "dag_id": dag_id,
            "dag_run_id": run.dag_run_id,
            "airflow_run_state": str(run.state),
            "execution_id": execution.id,
            "kestra_state": str(execution.state),
            "equal": bool(frame["equal"].all()) and not frame.empty,
        }
    )
    _remember(frame)
    return frame


def _branch_ids(flow: Flow) -> set[str]:
    """Ids of tasks a Switch reads (``{{ outputs.<id>.vars.return_value }}``): the branches."""
    found = set()
    for task in _tasks([*flow.tasks, *(flow.finally_ or [])]).values():
        value = getattr(task, "value", None)
        match = re.fullmatch(r"\{\{\s*outputs\.([A-Za-z0-9_-]+)\.vars\.return_value\s*\}\}", str(value or ""))
        if task.type == "io.kestra.plugin.core.flow.Switch" and match:
            found.add(match.group(1))
    return found


def _record_path(dag_id: str) -> Path:
    return storage_root() / "parity" / f"{dag_id.replace('/', '_')}.json"


def _remember(frame: pd.DataFrame) -> None:
    path = _record_path(str(frame.attrs["dag_id"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        **frame.attrs,
        "at": datetime.now(timezone.utc).isoformat(),
        "differences": int((~frame["equal"]).sum()),
    }
    path.write_text(json.dumps(record, default=str), encoding="utf-8")


def last_parity(dag_id: str) -> bool | None:
    """The result of the last :func:`parity` of ``dag_id`` on this machine (True: equal), None if never run."""
    path = _record_path(dag_id)
    if not path.exists():
        return None
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get("equal"))
    except (ValueError, OSError):
        return None


@overload
def parity(
    client: SyncDriver,
    dag_id: str,
    flow: Flow,
    *,
    conf: Mapping[str, Any] | None = None,
    timeout: float = 3600.0,
) -> pd.DataFrame: ...
@overload
def parity(
    client: AsyncDriver,
    dag_id: str,
    flow: Flow,
    *,
    conf: Mapping[str, Any] | None = None,
    timeout: float = 3600.0,
) -> Coroutine[Any, Any, pd.DataFrame]: ...
def parity(
    client: SyncDriver | AsyncDriver,
    dag_id: str,
    flow: Flow,
    *,
    conf: Mapping[str, Any] | None = None,
    timeout: float = 3600.0,
) -> pd.DataFrame | Coroutine[Any, Any, pd.DataFrame]:
    """Run DAG ``dag_id`` on Airflow and ``flow`` locally with the same ``conf``; compare them task by task.

    Args:
        client: an :class:`~kestra_airflow_sdk.AirflowClient` (returns the frame) or an
            :class:`~kestra_airflow_sdk.AsyncAirflowClient` (returns a coroutine to ``await``).
        dag_id: the DAG to run (it must not be paused: its run would stay queued).
        flow: its native flow (``native_flow_for_dag(...).flow``), run locally.
        conf: the DAG run's conf; the flow gets each key it has an input of, and ``conf`` whole.
        timeout: seconds to wait for the Airflow run.

    Returns:
        A DataFrame, one row per Airflow task: ``task``, ``airflow_state``, ``kestra_state``
        (``success``, ``failed`` or ``not run``), ``airflow_value`` / ``kestra_value`` (return
        values), ``equal`` and ``note`` (what differs). ``frame.attrs["equal"]`` is True when every
        row is equal; ``attrs`` also holds the ``dag_run_id`` and the Kestra ``execution_id``.

    Example:
        >>> frame = parity(client, "etl_daily", native_flow_for_dag(client, "etl_daily", namespace="t").flow)
        >>> frame[~frame["equal"]]
    """
    if not isinstance(client, ClientCore):
        raise InvalidArgumentError(
            f"client: expected an AirflowClient or AsyncAirflowClient, got {type(client).__name__}"
        )
    if not isinstance(flow, Flow):
        raise InvalidArgumentError(f"flow: expected a Flow, got {type(flow).__name__}")
    if conf is not None and not isinstance(conf, Mapping):
        raise InvalidArgumentError(
            f"conf: expected a mapping (the DAG run's conf), got {type(conf).__name__}"
        )
    values = dict(conf or {})
    commands = {
        t.id for t in _tasks([*flow.tasks, *(flow.finally_ or [])]).values() if isinstance(t, ShellCommands)
    }
    op = _airflow_op(client, dag_id, values, timeout, commands)
    inputs = _inputs(flow, values)
    if isinstance(client, AsyncDriver):

        async def both() -> pd.DataFrame:
            airflow = await client.execute(op)
            execution = await flow.arun(inputs=inputs, progress=False)
            return _compare(dag_id, flow, airflow, execution)

        return both()
    airflow = client.execute(op)
    execution = flow.run(inputs=inputs, progress=False)
    return _compare(dag_id, flow, airflow, execution)
