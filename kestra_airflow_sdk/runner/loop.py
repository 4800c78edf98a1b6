"""``Loop`` (Kestra 2.0): one sub-execution per item of ``values``, ``concurrencyLimit`` at once.

As Kestra 2.0 runs it (sources: kestra-io/kestra ``core/.../plugin/core/flow/Loop.java``,
``FlowableUtils.resolveValues``, ``executor/.../LoopExecutionEventMessageHandler.java``,
``LoopOutputsFunction.java``, the tests ``LoopCaseTest``, ``LoopTest``, ``FinallyTest`` (finally-loop
flows); kestra-io/kestra2-flow-migration ``migration-documentation/flows-changes.md``; Kestra's 2.0
migration guide ``migration-guide/v2.0.0/foreach-loop`` (kestra-io/docs)):

* ``values``: a string is rendered and read as JSON (a list, or a map); list items and map values are
  rendered, a number becomes its text, a map its JSON; a null, a boolean or a nested list is an
  error; a list's duplicates are dropped. A map gives one iteration per entry (``item.key``).
* Each iteration is a sub-execution: its tasks see ``item`` (``value``, ``index`` from 0, ``key``,
  ``parent`` and ``parents`` in nested loops, outermost first), the outputs of the tasks before the
  loop and of its own tasks, never another iteration's; ``{{ execution.id }}`` is the root
  execution's. The loop's ``errors`` and ``finally`` run at the end of each iteration, inside it.
  Its declared ``outputs`` are rendered there too (one that cannot be rendered fails the iteration).
* The loop task's outputs: ``iterationCount``, ``runningIterations``, ``terminatedIterations`` (count
  by state) and, once an iteration declared some, ``outputs``: one ``{item: {value, iteration, key},
  outputs}`` entry per iteration that produced outputs, in the order the iterations ended.
* The loop's own state (``LoopExecutionEventMessageHandler.terminateLoop``): once every iteration
  ended, SUCCESS, whatever the iterations ended in (an iteration ending WARNING does not make the loop
  WARNING, where a 1.3 ``ForEach`` ends WARNING: its state is computed from its task runs).
  ``transmitFailed`` (default true): the first iteration ending FAILED or KILLED is logged (ERROR) in
  the loop's task run and ends the loop at once, no new iteration starts; FAILED for a FAILED
  iteration (``allowFailure`` / ``allowWarning`` apply), SUCCESS for a KILLED one (``terminateLoop``
  maps every state but FAILED to SUCCESS). Without it every iteration runs and the loop ends SUCCESS.

* ``fetchType`` (``Loop.computeIterationOutput``): ``STORE`` writes an iteration's rendered outputs
  to a file of the internal storage and its entry's ``outputs`` is ``{uri: kestra:///...}``;
  ``AUTO`` is STORE when ``values`` renders to a storage URI (refused locally), else FETCH.
  Locally the file holds the outputs as JSON (a subset of Ion, which Kestra writes), in the run's
  internal storage (:func:`store_file`).
* ``breakWhen`` (``Loop.breakWhen``'s schema; the executor sources read do not show where it is
  evaluated, so its documented contract is what runs here): rendered after each iteration with
  ``item`` and ``iteration`` (``executionId``, ``state``, ``outputs``: the iteration's declared
  outputs as its entry holds them); truthy (``TruthUtils``: not ``false``, ``0``, ``-0`` or empty)
  stops new iterations, those running end, and the loop ends as when every iteration ended
  (SUCCESS). An expression that cannot render fails the loop (logged in its task run).

Locally, the parent keeps of a finished iteration only what Kestra's outputs need (its declared
outputs and its state count): the sub-execution, its task runs and its logs are dropped when it ends
(observers see them as they happen). Where Kestra ends a failed loop at once and leaves the iterations
in flight running on their own, the local loop ends once they ended. Values read from a storage
URI need Kestra's internal storage: not available locally.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from ..flows.core_tasks import Loop
from ..flows.errors import FlowError, FlowValidationError
from ..flows.execution import Execution, ExecutionState, TaskRun
from ..flows.expressions import Renderer
from ..flows.flow import FlowOutput
from ..flows.secrets import reveal
from ..flows.task import Task
from ..storage.files import execution_uri, file_uri
from .engine import FlowRunner
from .flow_outputs import render_flow_outputs
from .flowable import run_block
from .foreach import run_groups
from .ids import new_id
from .truth import is_truthy

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["loop_values", "run_loop", "store_file"]

_URI_SCHEMES = ("kestra://", "nsfile://", "file://")


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _text(task: Loop, renderer: Renderer, value: Any, where: str) -> str:
    """One item as Kestra's ``FlowableUtils.valueAsString``: a string rendered, a number as text, a
    map rendered then as JSON; anything else is refused."""
    if isinstance(value, (str, SecretStr)):
        return str(reveal(renderer.render(value, where)))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        return _json(reveal(renderer.render(value, where)))
    if value is None:
        raise FlowValidationError(
            f"task {task.id!r}: found a null value inside the iteration values ({where})"
        )
    raise FlowValidationError(
        f"task {task.id!r}: {where} is a {type(value).__name__} ({value!r}); a Loop iterates over strings, "
        "numbers and maps (a list's items, a map's values)"
    )


def loop_values(task: Loop, renderer: Renderer) -> list[tuple[str | None, str]]:
    """The iterations' ``(key, value)``: key None for a list's items."""
    values = task.values
    if isinstance(values, str):
        rendered = str(reveal(renderer.render(values, "values")))
        if rendered.strip().startswith(_URI_SCHEMES):
            raise FlowValidationError(
                f"task {task.id!r}: values renders to a storage URI ({rendered[:200]!r}); iterating over a "
                "file's lines needs Kestra's internal storage, not available locally"
            )
        try:
            parsed = json.loads(rendered)
        except ValueError:
            raise FlowValidationError(
                f"task {task.id!r}: values must render to a JSON list or map, got {rendered[:200]!r}"
            ) from None
        if isinstance(parsed, list):
            if any(item is None for item in parsed):
                raise FlowValidationError(f"task {task.id!r}: found a null value inside the iteration values")
            items = [item if isinstance(item, str) else _json(item) for item in parsed]
            return [(None, item) for item in dict.fromkeys(items)]
        if not isinstance(parsed, dict):
            raise FlowValidationError(
                f"task {task.id!r}: values must render to a JSON list or map, got a {type(parsed).__name__}"
            )
        values = parsed
    if isinstance(values, dict):
        return [(str(k), _text(task, renderer, v, f"values.{k}")) for k, v in values.items()]
    items = [_text(task, renderer, v, f"values[{i}]") for i, v in enumerate(values)]
    return [(None, item) for item in dict.fromkeys(items)]


class _Iteration(FlowRunner):
    """The runner of one iteration's sub-execution: the parent runner's settings (flow, secrets,
    observers, Airflow clients ...) with the sub-execution's own records, outputs and ``item``."""

    parent: FlowRunner
    item: dict[str, Any]
    _execution_variable: dict[str, Any]

    @classmethod
    def start(cls, parent: FlowRunner, task_run: TaskRun, item: dict[str, Any]) -> _Iteration:
        """A runner for a new sub-execution of ``parent``'s execution, iterating under ``task_run``."""
        assert parent.execution is not None
        root = parent.execution
        iteration = cls.__new__(cls)
        iteration.__dict__.update(parent.__dict__)
        iteration.parent = parent
        iteration.item = item
        iteration._execution_variable = dict(parent.renderer(None, None).variables["execution"])
        iteration.execution = Execution(
            id=new_id(),
            namespace=root.namespace,
            flow_id=root.flow_id,
            state=ExecutionState.RUNNING,
            start_date=datetime.now(timezone.utc),
            inputs=root.inputs,
            labels=root.labels,
            variables=root.variables,
        )
        iteration._outputs = dict(parent._outputs)  # the outputs before the loop, then its own
        runs = {}  # the task runs above the loop's (for parent/parents), then its own
        above = parent._runs.get(task_run.id)
        while above is not None:
            runs[above.id] = above
            above = parent._runs.get(above.parent_id or "")
        iteration._runs = runs
        iteration.exit_state = None
        iteration._killed_by_exit = False
        return iteration

    @property
    def stopping(self) -> bool:
        """An ``Exit`` in this iteration, or in the execution around it."""
        return self.exit_state is not None or self.parent.stopping

    def renderer(self, task: Task | None, task_run: TaskRun | None) -> Renderer:
        """The parent's variables with this iteration's outputs, ``item`` and the root execution."""
        base = super().renderer(task, task_run)
        variables = {**base.variables, "item": self.item, "execution": self._execution_variable}
        return Renderer(variables, base.secrets, base.task_id, functions=base.functions, kestra=base.kestra)

    async def run_body(self, task: Loop, task_run: TaskRun) -> ExecutionState:
        """``tasks``, then ``errors`` / ``finally``; an ``Exit`` ends the iteration only."""
        self._body = asyncio.ensure_future(run_block(self, task.tasks, task.errors, task.finally_, task_run))
        try:
            state = await self._body
        except asyncio.CancelledError:
            if not self._killed_by_exit:
                raise
            state = ExecutionState.KILLED
        return self.exit_state or state


def _item(runner: FlowRunner, index: int, key: str | None, value: str) -> dict[str, Any]:
    """``{{ item }}`` of an iteration: ``parent`` and ``parents`` are the enclosing loops' items."""
    parents: list[dict[str, Any]] = []
    if isinstance(runner, _Iteration):
        enclosing = {k: v for k, v in runner.item.items() if k not in ("parent", "parents")}
        parents = [*runner.item["parents"], enclosing]
    item: dict[str, Any] = {"index": index, "value": value, "parents": parents}
    if key is not None:
        item["key"] = key
    if parents:
        item["parent"] = parents[-1]
    return item


def store_file(runner: FlowRunner, execution: Execution, name: str, content: bytes) -> str:
    """Write ``content`` as the file ``name`` of ``execution``'s folder in the run's internal
    storage (:class:`~kestra_airflow_sdk.storage.InternalStorage`); its ``kestra:///`` URI."""
    assert runner.files is not None  # the run has started
    prefix = execution_uri(execution.namespace, execution.flow_id, execution.id)
    return runner.files.storage.put(file_uri(prefix, name), content)


def _stored(
    runner: FlowRunner, task: Loop, sub: Execution, index: int, produced: dict[str, Any]
) -> dict[str, Any]:
    """An iteration's outputs as ``fetchType`` gives them: ``{uri}`` of a file for STORE."""
    if task.fetch_type != "STORE":
        return produced
    content = json.dumps(reveal(produced), ensure_ascii=False, default=str).encode()
    return {"uri": store_file(runner, sub, f"{task.id}/outputs-{index}.ion", content)}


def _breaks(
    runner: FlowRunner, task: Loop, task_run: TaskRun, sub: _Iteration, state: ExecutionState, produced: Any
) -> bool:
    """``breakWhen`` rendered for the iteration that just ended: truthy stops new iterations."""
    assert task.break_when is not None and sub.execution is not None
    base = runner.renderer(task, task_run)
    iteration = {"executionId": sub.execution.id, "state": state.value, "outputs": produced}
    renderer = Renderer(
        {**base.variables, "item": sub.item, "iteration": iteration},
        base.secrets,
        base.task_id,
        functions=base.functions,
        kestra=base.kestra,
    )
    return is_truthy(reveal(renderer.render(task.break_when, "breakWhen")))


def _failure(execution: Execution) -> str:
    errors = [f"{r.task_id}: {r.error}" for r in execution.task_runs if r.state.is_failed and r.error]
    return f" ({'; '.join(errors)})" if errors else ""


async def run_loop(runner: FlowRunner, task: Loop, task_run: TaskRun) -> ExecutionState:
    """Run the iterations; the loop's state (its ``errors``/``finally`` ran in each iteration)."""
    values = loop_values(task, runner.renderer(task, task_run))
    declared: Sequence[FlowOutput] = [
        FlowOutput(id=o.id, type=o.type, value=o.value) for o in task.outputs or []
    ]
    terminated: dict[str, int] = {}
    collected: list[dict[str, Any]] = []
    outputs = task_run.outputs
    outputs.update(iterationCount=len(values), runningIterations=0, terminatedIterations=terminated)
    failed: ExecutionState | None = None

    async def iteration(index: int) -> bool:
        nonlocal failed
        if runner.stopping or failed is not None:
            return False
        key, value = values[index]
        outputs["runningIterations"] += 1
        sub = _Iteration.start(runner, task_run, _item(runner, index, key, value))
        state = await sub.run_body(task, task_run)
        assert sub.execution is not None
        produced: dict[str, Any] = {}
        if declared and not state.is_failed:
            produced, problems = render_flow_outputs(list(declared), sub.renderer(task, task_run))
            for problem in problems:  # "flow output 'x': ..." of the flow outputs' renderer
                sub._context(task, task_run).log(
                    "ERROR", f"Loop iteration {index}: {problem.removeprefix('flow ')}"
                )
            state = ExecutionState.FAILED if problems else state
        sub.execution.state = state
        outputs["runningIterations"] -= 1
        if failed is not None:  # the loop already ended: Kestra no longer counts
            return False
        terminated[state.value] = terminated.get(state.value, 0) + 1
        if produced:
            produced = _stored(runner, task, sub.execution, index, produced)
            entry = {"value": value, "iteration": index, **({"key": key} if key is not None else {})}
            collected.append({"item": entry, "outputs": produced})
            outputs["outputs"] = collected
        if task.transmit_failed and state.is_failed:
            failed = ExecutionState.FAILED if state is ExecutionState.FAILED else ExecutionState.SUCCESS
            runner._context(task, task_run).log(
                "ERROR",
                f"Loop iteration {index} (value {value!r}) ended in {state.value} in sub-execution "
                f"{sub.execution.id}{_failure(sub.execution)}",
            )
            return False
        if task.break_when is not None:
            try:
                broken = _breaks(runner, task, task_run, sub, state, produced)
            except FlowError as exc:
                failed = ExecutionState.FAILED
                runner._context(task, task_run).log("ERROR", f"Loop breakWhen: {exc}")
                return False
            if broken:
                return False
        return True

    await run_groups(len(values), task.concurrency_limit, iteration)
    return failed or ExecutionState.SUCCESS
