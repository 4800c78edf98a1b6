"""Proof of an upgrade: run a Kestra 1.3 flow and its 2.0 upgrade locally and compare the results.

:func:`check_equivalence` runs both flows with the SDK's runner (same inputs, secrets and options)
and compares:

* the final state of the execution and its flow ``outputs``;
* the state of each task run, matched by task id (the upgrade keeps every task's id);
* the log lines of each task (level and message, in the order the task wrote them); lines of
  different tasks may interleave differently;
* the outputs of each task run.

**Properties quoted as written.** Kestra's rendering errors quote a template as written
(``Undefined variable in {{ parent.taskrun.value == ... }}``), and the upgrade rewrites templates
(``parent.taskrun.value`` -> ``item.value``). Where a task's property differs between the two flows
(same task id, same property path) as ``kestra-airflow upgrade`` rewrites it, that task's 1.3 log
lines are compared with the 1.3 text replaced by the 2.0 text; any other difference still counts. The SDK's own hint after
an undefined variable, ``(known here: ...)`` (not Kestra's text; 2.0 adds ``item``), is left out.

Execution ids (of sub-executions and subflows too), task run ids, ISO timestamps and process ids
(``pid 1234``, a script task's first line) inside messages and outputs are replaced by ``<id>`` /
``<datetime>`` / ``pid <pid>`` before comparing, so that two runs of one flow compare equal.

**Loops.** A ``ForEach`` / ``EachSequential`` / ``EachParallel`` runs its tasks once per value, in the
same execution, and keys their outputs by the value (``outputs.<task>[<value>]``); the ``Loop`` it
becomes runs each value as a sub-execution whose task runs and logs its parent drops. The check
records the sub-executions as they run and compares **iteration groups**: the 1.3 group of a value
(the task runs below the loop whose ``taskrun.value`` at that loop is the value) against the 2.0
iteration of the same loop (the task runs of one sub-execution). A group is its task states, log lines,
outputs and nested loops; the groups of a loop run are compared as a collection (iterations may end in
any order): each 1.3 group must have an equal 2.0 iteration and the other way round.

**The shape change of a loop's outputs.** The loop task's own outputs are compared as a count and a
list: ``iterationCount`` of the ``Loop`` against the number of 1.3 groups, and each entry
``{item: {value}, outputs: {<id>: ...}}`` of the ``Loop``'s ``outputs`` against the value-keyed output
it declares (``<id>`` declared as ``{{ outputs.<task>.<name> }}``, as ``kestra-airflow upgrade`` writes it):
``outputs.<task>[<value>].<name>`` of the 1.3 run, compared as text (a declared loop output is a
``STRING``). The ``ForEach``'s own outputs, and the ``Loop``'s counters of running and terminated
iterations, are not compared.

The flows must be deterministic (``now()``, random values or a service answering differently make two
runs of one flow differ). A flow with a ``TriggerDagRun`` task needs an Airflow: pass ``runtime=`` (a
:class:`kestra_airflow_sdk.wiring.Runtime` reaching it); without one the pair is reported as not
checkable offline. A flow the local runner refuses (unsupported task types, a missing input) is not
checkable either: :attr:`Equivalence.not_checked` says why. A 2.0 flow refused where its 1.3 original
runs is a difference.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from ..flows.core_tasks import EachParallel, EachSequential, ForEach, Loop
from ..flows.errors import FlowError
from ..flows.execution import Execution, LogEntry, TaskRun
from ..flows.flow import Flow
from ..flows.observer import Observer
from ..flows.secrets import SecretResolver
from ..flows.task import Task
from ..flows.tasks.runnable import UnknownTask
from ..flows.trigger import TriggerDagRun
from ..runner.engine import FlowRunner
from ..runner.runtime import RunnerRuntime, runner_runtime
from .stand_ins import STAND_IN_PREFIX, StandInRuntime

__all__ = ["Equivalence", "check_equivalence"]

_EACH = (ForEach, EachSequential, EachParallel)
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})?")
_PID = re.compile(r"\bpid \d+")
_KNOWN_HERE = re.compile(r" \(known here: [^)]*\)")
_DECLARED = re.compile(r"^\{\{\s*outputs\.([\w-]+)\.(\w+)\s*\}\}$")


@dataclass
class Equivalence:
    """What :func:`check_equivalence` found.

    Attributes:
        differences: one line per difference (empty when the runs are equivalent).
        not_checked: why the flows could not be run locally ("" when they ran).
        notes: what was not compared, and why.
        original: the execution of the 1.3 flow (None when it could not run).
        upgraded: the execution of the 2.0 flow (None when it could not run).
        stand_ins: the plugin tasks that ran as stand-ins (``stand_ins=True``), as ``"<id> (<type>)"``:
            what they were given is compared, not what they would have done.
    """

    differences: list[str] = field(default_factory=list)
    not_checked: str = ""
    notes: list[str] = field(default_factory=list)
    stand_ins: list[str] = field(default_factory=list)
    original: Execution | None = None
    upgraded: Execution | None = None

    @property
    def equal(self) -> bool:
        """Both flows ran and nothing differs."""
        return not self.not_checked and not self.differences

    def __str__(self) -> str:
        if self.not_checked:
            return f"not checked: {self.not_checked}"
        if not self.differences:
            return "equivalent: same final state, task states, log lines and outputs"
        return f"{len(self.differences)} difference(s):\n" + "\n".join(f"  - {d}" for d in self.differences)


class _Recorder(Observer):
    """Keeps every execution a run reports, the Loop's sub-executions included."""

    def __init__(self) -> None:
        self.executions: dict[str, Execution] = {}

    def task_started(self, execution: Execution, task_run: TaskRun) -> None:
        self.executions.setdefault(execution.id, execution)

    def task_ended(self, execution: Execution, task_run: TaskRun) -> None:
        self.executions.setdefault(execution.id, execution)

    def log_written(self, execution: Execution, entry: LogEntry) -> None:
        self.executions.setdefault(execution.id, execution)


@dataclass
class _Run:
    """One finished run: its root execution and every execution it reported."""

    flow: Flow
    execution: Execution
    executions: dict[str, Execution]

    def ids(self) -> set[str]:
        """The ids of its executions (sub-executions and subflow executions too) and task runs."""
        found: set[str] = set()
        pending = list(self.executions.values())
        while pending:
            execution = pending.pop()
            if execution.id not in found:
                found.add(execution.id)
                found.update(r.id for r in execution.task_runs)
                pending.extend(execution.subflows.values())
        return found


def check_equivalence(
    flow_13: Flow,
    flow_20: Flow,
    *,
    inputs: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | SecretResolver | None = None,
    environ: Mapping[str, str] | None = None,
    flows: Sequence[Flow] | None = None,
    flows_dir: str | Path | None = None,
    globals: Mapping[str, Any] | None = None,
    runtime: RunnerRuntime | None = None,
    stand_ins: bool = False,
) -> Equivalence:
    """Run ``flow_13`` (Kestra 1.3) and ``flow_20`` (its 2.0 upgrade) locally and compare them.

    Args:
        flow_13: the original flow.
        flow_20: its upgrade (e.g. ``Flow.from_yaml(flow_13.to_yaml(kestra="2.0"), kestra="2.0")``).
        inputs, secrets, environ, flows, flows_dir, globals: given to both runs, as for
            :class:`~kestra_airflow_sdk.runner.FlowRunner`.
        runtime: the runtime of both runs; needed for a flow with ``TriggerDagRun`` tasks (its
            Airflow), which is otherwise not checked.
        stand_ins: run plugin tasks (types the SDK does not run) as recording stand-ins
            (:mod:`.stand_ins`): each logs the properties it was given and produces no outputs, so
            the comparison covers what every plugin task gets, in every iteration; without it a flow
            with a plugin task is not checked.

    Returns:
        An :class:`Equivalence`: ``equal`` when both ran to the same result (see the module's
        documentation for what is compared and how loops are matched).
    """
    result = Equivalence()
    if runtime is None:
        airflow = [t.id for f in (flow_13, flow_20) for t in f.walk() if isinstance(t, TriggerDagRun)]
        if airflow:
            result.not_checked = (
                f"task(s) {', '.join(sorted(set(airflow)))} trigger Airflow DAG runs: not checkable offline "
                "(pass runtime= reaching an Airflow)"
            )
            return result
    if stand_ins:
        plugins = sorted(
            {f"{t.id} ({t.type})" for f in (flow_13, flow_20) for t in f.walk() if _is_plugin(t)}
        )
        if plugins:
            result.stand_ins = plugins
            result.notes.append(
                f"plugin task(s) {', '.join(plugins)} ran as stand-ins: the properties each was given are "
                "compared, not what it would have done"
            )
            runtime = StandInRuntime(runtime or runner_runtime())
    options: dict[str, Any] = {
        "inputs": inputs,
        "environ": environ,
        "flows": flows,
        "flows_dir": flows_dir,
        "globals": globals,
        "runtime": runtime,
    }
    try:
        original = _run(flow_13, secrets, options)
    except FlowError as exc:
        result.not_checked = f"the 1.3 flow cannot run locally: {_first_line(exc)}"
        return result
    result.original = original.execution
    try:
        upgraded = _run(flow_20, secrets, options)
    except FlowError as exc:
        result.differences.append(
            f"the 1.3 flow runs ({original.execution.state}) but the 2.0 flow cannot run: {_first_line(exc)}"
        )
        return result
    result.upgraded = upgraded.execution
    _compare(original, upgraded, result)
    return result


def _is_plugin(task: Task) -> bool:
    return isinstance(task, UnknownTask)


def _first_line(exc: BaseException) -> str:
    """The error's first line, without the list of supported task types."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.split(" Supported types:", 1)[0]


def _run(flow: Flow, secrets: Mapping[str, Any] | SecretResolver | None, options: dict[str, Any]) -> _Run:
    recorder = _Recorder()

    async def run() -> Execution:
        runner = FlowRunner(flow, secrets=secrets, observers=[recorder], progress=False, **options)
        runner.check()
        return await runner.run()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        execution = asyncio.run(run())
    else:  # inside a running event loop (Jupyter): run in a worker thread
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            execution = pool.submit(asyncio.run, run()).result()
    recorder.executions.setdefault(execution.id, execution)
    return _Run(flow, execution, recorder.executions)


# ------------------------------------------------------------------------------------ normalising


def _normal(value: Any, ids: set[str]) -> Any:
    """``value`` with run ids and timestamps replaced by placeholders (secrets stay masked)."""
    if isinstance(value, SecretStr):
        return str(value)
    if isinstance(value, str):
        text = _PID.sub("pid <pid>", _DATETIME.sub("<datetime>", value))
        for run_id in ids:
            text = text.replace(run_id, "<id>")
        return text
    if isinstance(value, Mapping):
        return {str(k): _normal(v, ids) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normal(v, ids) for v in value]
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return _normal(str(value), ids)


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


# ------------------------------------------------------------------------------------ grouping


@dataclass
class _Group:
    """The task runs of one iteration (or of the whole execution, at the top)."""

    key: str
    runs: list[tuple[Execution, TaskRun]] = field(default_factory=list)
    #: loop task run id -> its iteration groups by key
    loops: dict[str, dict[str, _Group]] = field(default_factory=dict)


def _groups(run: _Run) -> _Group:
    """The task runs of ``run`` arranged by the loop iteration they belong to."""
    loop_ids = {t.id for t in run.flow.walk() if isinstance(t, (*_EACH, Loop))}
    owner: dict[str, tuple[Execution, TaskRun]] = {
        r.id: (e, r) for e in run.executions.values() for r in e.task_runs
    }
    root = _Group("")
    for execution, task_run in owner.values():
        path: list[tuple[str, str]] = []  # (loop task run id, iteration key), outermost first
        child_execution, child = execution, task_run
        parent = owner.get(child.parent_id or "")
        while parent is not None:
            parent_execution, parent_run = parent
            if parent_run.task_id in loop_ids:
                if child_execution.id != parent_execution.id:  # a Loop iteration: its sub-execution
                    key = child_execution.id
                else:  # a ForEach group: the value at the loop's depth
                    depth = len(parent_run.iteration)
                    key = child.iteration[depth] if len(child.iteration) > depth else "?"
                path.insert(0, (parent_run.id, key))
            child_execution, child = parent
            parent = owner.get(child.parent_id or "")
        group = root
        for loop_run_id, key in path:
            group = group.loops.setdefault(loop_run_id, {}).setdefault(key, _Group(key))
        group.runs.append((execution, task_run))
    return root


# ------------------------------------------------------------------------------------ comparing


@dataclass
class _Side:
    """One run's facts the comparison needs."""

    run: _Run
    ids: set[str]
    loop_ids: set[str]
    logs: dict[str, list[LogEntry]]  # task run id -> its lines
    #: task id -> (text as written in this flow, text in the other flow) of its rewritten properties
    rewrites: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    #: plugin tasks whose type the upgrade changed: their stand-in lines are not compared
    retyped: frozenset[str] = frozenset()

    def line(self, task_id: str, entry: LogEntry) -> str:
        """One log line as compared: normalised, with the task's rewritten texts as the other flow's."""
        message = entry.message
        if task_id in self.retyped and message.startswith(STAND_IN_PREFIX):
            return f"{entry.level} {STAND_IN_PREFIX}<a plugin type the upgrade changed>"
        for written, other in self.rewrites.get(task_id, []):
            message = message.replace(written, other)
        message = _KNOWN_HERE.sub("", message)
        return f"{entry.level} {_normal(message, self.ids)}"


def _side(run: _Run, other: Flow | None = None) -> _Side:
    logs: dict[str, list[LogEntry]] = {}
    for execution in run.executions.values():
        for entry in execution.logs:
            logs.setdefault(entry.task_run_id or f"execution:{execution.id}", []).append(entry)
    loop_ids = {t.id for t in run.flow.walk() if isinstance(t, (*_EACH, Loop))}
    rewrites: dict[str, list[tuple[str, str]]] = {}
    if other is not None:
        try:  # only the texts the upgrade itself rewrites: another change of the 2.0 flow still counts
            written = _rewrites(run.flow, Flow.from_yaml(run.flow.to_yaml(kestra="2.0")))
        except FlowError:
            written = {}
        found = _rewrites(run.flow, other)
        for task_id, pairs in found.items():
            kept = [pair for pair in pairs if pair in written.get(task_id, [])]
            if kept:
                rewrites[task_id] = kept
    return _Side(run, run.ids(), loop_ids, logs, rewrites)


def _texts(node: Any, path: str, found: dict[str, str]) -> None:
    """The strings of a task's properties by path (child tasks excluded: they have their own id)."""
    if isinstance(node, str):
        found[path] = node
    elif isinstance(node, dict):
        if path and "id" in node and "type" in node:
            return
        for key, value in node.items():
            _texts(value, f"{path}.{key}", found)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _texts(value, f"{path}[{index}]", found)


def _rewrites(flow: Flow, other: Flow) -> dict[str, list[tuple[str, str]]]:
    """Per task id, the property texts of ``flow`` that ``other`` writes differently (same path)."""
    theirs = {t.id: t for t in other.walk()}
    found: dict[str, list[tuple[str, str]]] = {}
    for task in flow.walk():
        if task.id not in theirs:
            continue
        mine_texts: dict[str, str] = {}
        their_texts: dict[str, str] = {}
        _texts(task.model_dump(by_alias=True, exclude_none=True, mode="json"), "", mine_texts)
        _texts(theirs[task.id].model_dump(by_alias=True, exclude_none=True, mode="json"), "", their_texts)
        pairs = [
            (text, their_texts[path])
            for path, text in mine_texts.items()
            if path in their_texts and their_texts[path] != text and path != ".type"
        ]
        if pairs:
            found[task.id] = pairs
    return found


def _declared(flow: Flow, loop_id: str) -> dict[str, tuple[str, str]]:
    """The declared outputs of ``Loop`` ``loop_id``: id -> (task, output name)."""
    found: dict[str, tuple[str, str]] = {}
    for task in flow.walk():
        if isinstance(task, Loop) and task.id == loop_id:
            for output in task.outputs or []:
                match = _DECLARED.match(str(output.value).strip())
                if match:
                    found[output.id] = (match.group(1), match.group(2))
    return found


def _summary(side: _Side, group: _Group, other: Flow) -> dict[str, Any]:
    """A group as comparable data: per task id its state, outputs and log lines; per loop its
    iteration groups (a sorted list) and, for a loop, its outputs in the shape both dialects share."""
    tasks: dict[str, Any] = {}
    loops_by_task: dict[str, str] = {}
    for _execution, task_run in group.runs:
        lines = [side.line(task_run.task_id, e) for e in side.logs.get(task_run.id, [])]
        record: dict[str, Any] = {"state": task_run.state.value, "logs": lines}
        if task_run.task_id in side.loop_ids:
            loops_by_task[task_run.id] = task_run.task_id
        else:
            record["outputs"] = _normal(task_run.outputs, side.ids)
        tasks.setdefault(task_run.task_id, []).append(record)
    for loop_run_id, task_id in loops_by_task.items():
        iterations = group.loops.get(loop_run_id, {})
        summaries = [_summary(side, g, other) for g in iterations.values()]
        record = tasks[task_id][-1]
        record["iterations"] = sorted(json.dumps(s, sort_keys=True, default=str) for s in summaries)
        record["loop outputs"] = _loop_outputs(side, task_id, loop_run_id, iterations, other)
    return {"tasks": tasks}


def _loop_outputs(
    side: _Side, task_id: str, loop_run_id: str, iterations: Mapping[str, _Group], other: Flow
) -> dict[str, Any]:
    """A loop run's outputs as ``{count, entries: sorted [value, {id: text}]}``: a ``Loop``'s own,
    or those a ``ForEach``'s value-keyed outputs give for the ``Loop`` of the other flow."""
    loop_run = next(r for e in side.run.executions.values() for r in e.task_runs if r.id == loop_run_id)
    if any(isinstance(t, Loop) and t.id == task_id for t in side.run.flow.walk()):
        entries = [
            [str(entry["item"]["value"]), {k: _as_text(v) for k, v in entry["outputs"].items()}]
            for entry in loop_run.outputs.get("outputs", [])
        ]
        count = loop_run.outputs.get("iterationCount")
    else:
        declared = _declared(other, task_id)
        entries = []
        for value, group in iterations.items():
            produced = {}
            for output_id, (inner, name) in declared.items():
                for _e, inner_run in group.runs:
                    if inner_run.task_id == inner and name in inner_run.outputs:
                        produced[output_id] = _as_text(inner_run.outputs[name])
            if produced:
                entries.append([value, produced])
        # a loop that failed before its first iteration (its values did not render) has no count,
        # as the Loop that failed the same way has no ``iterationCount``
        count = len(iterations) if iterations or not loop_run.state.is_failed else None
    normal = _normal(entries, side.ids)
    return {"count": count, "entries": sorted(normal, key=lambda e: json.dumps(e, sort_keys=True))}


def _retyped(original: Flow, upgraded: Flow, result: Equivalence) -> frozenset[str]:
    """The plugin tasks (same id) whose type the upgrade changed, each noted."""
    theirs = {t.id: t for t in upgraded.walk()}
    found = set()
    for task in original.walk():
        other = theirs.get(task.id)
        if other is not None and _is_plugin(task) and _is_plugin(other) and task.type != other.type:
            found.add(task.id)
            result.notes.append(
                f"task {task.id!r}: the upgrade changed its type ({task.type} -> {other.type}): "
                "what its stand-in was given is not compared"
            )
    return frozenset(found)


def _compare(original: _Run, upgraded: _Run, result: Equivalence) -> None:
    old, new = _side(original, upgraded.flow), _side(upgraded)
    if result.stand_ins:
        old.retyped = new.retyped = _retyped(original.flow, upgraded.flow, result)
    a, b = original.execution, upgraded.execution
    if a.state != b.state:
        result.differences.append(f"final state: 1.3 {a.state}, 2.0 {b.state}")
    old_outputs, new_outputs = _normal(a.flow_outputs, old.ids), _normal(b.flow_outputs, new.ids)
    if old_outputs != new_outputs:
        result.differences.append(f"flow outputs: 1.3 {old_outputs!r}, 2.0 {new_outputs!r}")
    old_lines = [f"{e.level} {_normal(e.message, old.ids)}" for e in a.logs if e.task_run_id is None]
    new_lines = [f"{e.level} {_normal(e.message, new.ids)}" for e in b.logs if e.task_run_id is None]
    if old_lines != new_lines:
        result.differences.append(f"execution log lines: 1.3 {old_lines!r}, 2.0 {new_lines!r}")
    for flow in (original.flow, upgraded.flow):
        for task in flow.walk():
            if isinstance(task, Loop):
                for output in task.outputs or []:
                    if not _DECLARED.match(str(output.value).strip()):
                        result.notes.append(
                            f"loop {task.id!r}: output {output.id!r} is not {{{{ outputs.<task>.<name> }}}}: "
                            "compared as the Loop gives it, with nothing on the ForEach side"
                        )
    _compare_groups(
        _summary(old, _groups(original), upgraded.flow),
        _summary(new, _groups(upgraded), original.flow),
        "",
        result.differences,
    )


def _compare_groups(old: dict[str, Any], new: dict[str, Any], where: str, out: list[str]) -> None:
    for task_id in sorted({*old["tasks"], *new["tasks"]}):
        here = f"{where}task {task_id!r}"
        mine, theirs = old["tasks"].get(task_id), new["tasks"].get(task_id)
        if mine is None or theirs is None:
            out.append(f"{here}: ran only in the {'2.0' if mine is None else '1.3'} flow")
            continue
        if len(mine) != len(theirs):
            out.append(f"{here}: {len(mine)} run(s) in 1.3, {len(theirs)} in 2.0")
            continue
        for x, y in zip(mine, theirs, strict=True):
            for key in ("state", "outputs", "logs", "loop outputs"):
                if x.get(key) != y.get(key):
                    out.append(f"{here}: {key}: 1.3 {x.get(key)!r}, 2.0 {y.get(key)!r}")
            if x.get("iterations") != y.get("iterations"):
                _compare_iterations(x.get("iterations") or [], y.get("iterations") or [], here, out)


def _compare_iterations(old: list[str], new: list[str], where: str, out: list[str]) -> None:
    if len(old) != len(new):
        out.append(f"{where}: {len(old)} iteration(s) in 1.3, {len(new)} in 2.0")
        return
    unmatched_old = [s for s in old if s not in new]
    unmatched_new = [s for s in new if s not in old]
    if len(unmatched_old) == len(unmatched_new):  # pair them in order and say where they differ
        for x, y in zip(unmatched_old, unmatched_new, strict=True):
            _compare_groups(json.loads(x), json.loads(y), f"{where} > an iteration: ", out)
        return
    for s in unmatched_old:
        out.append(f"{where}: 1.3 iteration without an equal 2.0 iteration: {s[:300]}")
    for s in unmatched_new:
        out.append(f"{where}: 2.0 iteration without an equal 1.3 iteration: {s[:300]}")
