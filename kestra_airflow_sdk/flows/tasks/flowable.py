"""Kestra's core flowable tasks: they run other tasks.

``Sequential``, ``Parallel``, ``If``, ``Switch``, ``ForEach``, ``Loop`` (Kestra 2.0), ``Dag``,
``AllowFailure`` (each with ``errors`` and ``finally`` lists) and ``Subflow``. Child lists are typed with the task union,
``AnyTask``, defined at the end of this module (the models refer to it before it exists; pydantic
resolves it when a model is first used: every :class:`~kestra_airflow_sdk.flows.base.KestraModel`
builds its validator on first use, not on import).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, SerializeAsAny, Tag, field_validator, model_validator

from ..base import KestraModel
from ..registry import UNKNOWN_TAG, register, tag_of
from ..task import Task, check_task_id
from ..trigger import TriggerDagRun
from .download import HttpDownload
from .execution import Assert, FetchLogs, Labels, SetVariables, UnsetVariables
from .http import HttpRequest
from .kv import KvDelete, KvGet, KvGetKeys, KvPut, KvSet
from .runnable import Exit, Fail, Log, OutputValues, Return, Sleep, UnknownTask
from .scripts import NodeCommands, NodeScript, PythonCommands, PythonScript, ShellCommands, ShellScript

__all__ = [
    "AllowFailure",
    "AnyTask",
    "Dag",
    "DagTask",
    "EachParallel",
    "EachSequential",
    "FlowableTask",
    "ForEach",
    "If",
    "Loop",
    "LoopOutput",
    "Parallel",
    "Sequential",
    "Subflow",
    "Switch",
    "WorkingDirectory",
]


class FlowableTask(Task):
    """A task that runs child tasks; ``errors`` run when a child fails, ``finally`` always runs."""

    errors: list[AnyTask] | None = None
    finally_: list[AnyTask] | None = Field(default=None, alias="finally")

    def branches(self) -> list[list[Task]]:
        """The task lists this task may run (besides ``errors`` and ``finally``)."""
        return []

    @property
    def children(self) -> list[Task]:
        """Every child task: branches, then ``errors``, then ``finally``."""
        lists: list[list[Task]] = [*self.branches(), list(self.errors or []), list(self.finally_ or [])]
        return [task for tasks in lists for task in tasks]


@register("io.kestra.plugin.core.flow.Sequential", "io.kestra.core.tasks.flows.Sequential")
class Sequential(FlowableTask):
    """Run child tasks one after the other (groups tasks, e.g. as one branch of a Parallel)."""

    tasks: list[AnyTask] = Field(min_length=1)

    def branches(self) -> list[list[Task]]:
        """``tasks``."""
        return [list(self.tasks)]


@register("io.kestra.plugin.core.flow.Parallel", "io.kestra.core.tasks.flows.Parallel")
class Parallel(FlowableTask):
    """Run child tasks at the same time (``concurrent``: how many at once, 0 = all)."""

    tasks: list[AnyTask] = Field(min_length=1)
    concurrent: int = Field(default=0, ge=0)

    def branches(self) -> list[list[Task]]:
        """``tasks``."""
        return [list(self.tasks)]


@register("io.kestra.plugin.core.flow.AllowFailure", "io.kestra.core.tasks.flows.AllowFailure")
class AllowFailure(Sequential):
    """Run child tasks one after the other; a failure ends this task WARNING, not FAILED."""


@register("io.kestra.plugin.core.flow.If", "io.kestra.core.tasks.flows.If")
class If(FlowableTask):
    """Run ``then`` when ``condition`` renders truthy (anything but ``false``, ``0``, ``-0`` and the
    empty string), else ``else``. Output ``evaluationResult``."""

    condition: str | bool | int | float
    then: list[AnyTask] = Field(min_length=1)
    else_: list[AnyTask] | None = Field(default=None, alias="else")

    def branches(self) -> list[list[Task]]:
        """``then`` and ``else``."""
        return [list(self.then), list(self.else_ or [])]


@register("io.kestra.plugin.core.flow.Switch", "io.kestra.core.tasks.flows.Switch")
class Switch(FlowableTask):
    """Run the ``cases`` list whose key equals the rendered ``value``, else ``defaults``.
    Outputs ``value`` and ``defaults`` (true when no case matched)."""

    value: str | bool | int | float
    cases: dict[str, list[AnyTask]] | None = None
    defaults: list[AnyTask] | None = None

    @model_validator(mode="after")
    def _has_a_branch(self) -> Switch:
        if not self.cases and not self.defaults:
            raise ValueError("a Switch needs at least one of cases or defaults")
        return self

    def branches(self) -> list[list[Task]]:
        """Every case, then ``defaults``."""
        cases: list[list[Task]] = [list(tasks) for tasks in (self.cases or {}).values()]
        return [*cases, list(self.defaults or [])]


@register("io.kestra.plugin.core.flow.ForEach")
class ForEach(FlowableTask):
    """Run ``tasks`` once per item of ``values`` (a list, or a string rendering to a JSON list),
    ``concurrencyLimit`` groups at once (default 1; 0 = all). Inside, ``{{ taskrun.value }}`` is
    the item (as text; JSON for maps and lists) and outputs are keyed by it:
    ``{{ outputs.<task>[<value>].<name> }}``."""

    values: str | list[Any]
    concurrency_limit: int = Field(default=1, ge=0)
    tasks: list[AnyTask] = Field(min_length=1)

    def branches(self) -> list[list[Task]]:
        """``tasks``."""
        return [list(self.tasks)]


@register("io.kestra.plugin.core.flow.EachSequential", "io.kestra.core.tasks.flows.EachSequential")
class EachSequential(FlowableTask):
    """Deprecated by Kestra (0.19) for :class:`ForEach`: run ``tasks`` once per item of ``value``,
    one group at a time."""

    value: str | list[Any]
    tasks: list[AnyTask] = Field(min_length=1)

    def branches(self) -> list[list[Task]]:
        """``tasks``."""
        return [list(self.tasks)]


@register("io.kestra.plugin.core.flow.EachParallel", "io.kestra.core.tasks.flows.EachParallel")
class EachParallel(FlowableTask):
    """Deprecated by Kestra (0.19) for :class:`ForEach`: run ``tasks`` once per item of ``value``,
    ``concurrent`` groups at once (0 = all)."""

    value: str | list[Any]
    concurrent: int = Field(default=0, ge=0)
    tasks: list[AnyTask] = Field(min_length=1)

    def branches(self) -> list[list[Task]]:
        """``tasks``."""
        return [list(self.tasks)]


class LoopOutput(KestraModel):
    """One output a :class:`Loop` declares: ``{id, type, value}``, rendered at the end of each
    iteration in its sub-execution and converted to ``type`` (STRING, INT, FLOAT, BOOL, JSON,
    ARRAY ...), as a flow's ``outputs`` are."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: str = "STRING"
    value: Any = None
    description: str | None = None
    required: bool = True


@register("io.kestra.plugin.core.flow.Loop")
class Loop(FlowableTask):
    """Kestra 2.0's iteration task (replaces ``ForEach``, ``EachSequential``, ``EachParallel`` and
    ``ForEachItem``): run ``tasks`` once per item of ``values``, each iteration in its own
    sub-execution, ``concurrencyLimit`` at once (default 0: all at once).

    ``values`` is a list, a map (one iteration per entry) or a string rendering to a JSON list or
    map. Inside an iteration, at any depth: ``{{ item.value }}`` (text; JSON for maps and lists),
    ``{{ item.index }}`` (from 0), ``{{ item.key }}`` (a map's key), and in nested loops
    ``{{ item.parent.value }}`` / ``{{ item.parents[0].value }}`` (outermost first); task outputs are
    those of the iteration (``{{ outputs.<task>.<name> }}``). ``errors`` and ``finally`` run at the
    end of each iteration, inside it. With ``transmitFailed`` (default true) the first failed
    iteration fails the loop and no new iteration starts; without it the loop ends SUCCESS whatever
    its iterations ended. Declared ``outputs`` are collected, one entry per iteration
    (``{item: {value, iteration, key}, outputs: {...}}``), in ``{{ outputs.<loop>.outputs }}``;
    ``loopOutputs(outputs.<loop>.outputs, '<id>')`` lists one of them. Other outputs:
    ``iterationCount``, ``runningIterations`` and ``terminatedIterations`` (count by state).
    ``fetchType: STORE`` stores each iteration's declared outputs as a file, the entry's ``outputs``
    being ``{uri: ...}``. ``breakWhen``: rendered after each iteration (with ``item`` and
    ``iteration.executionId`` / ``.state`` / ``.outputs``); once truthy no new iteration starts."""

    values: str | list[Any] | dict[str, Any]
    concurrency_limit: int = Field(default=0, ge=0)
    transmit_failed: bool = True
    outputs: list[LoopOutput] | None = None
    fetch_type: Literal["AUTO", "FETCH", "STORE"] = "AUTO"
    break_when: str | None = None
    tasks: list[AnyTask] = Field(min_length=1)

    def branches(self) -> list[list[Task]]:
        """``tasks``."""
        return [list(self.tasks)]


class DagTask(KestraModel):
    """One node of a :class:`Dag`: a ``task`` and the ids of the tasks it ``dependsOn``."""

    task: AnyTask
    depends_on: list[str] | None = None

    @field_validator("depends_on")
    @classmethod
    def _ids(cls, value: list[str] | None) -> list[str] | None:
        for task_id in value or []:
            check_task_id(task_id)
        return value


@register("io.kestra.plugin.core.flow.Dag", "io.kestra.core.tasks.flows.Dag")
class Dag(FlowableTask):
    """Run ``tasks`` as a graph: each starts when every task it ``dependsOn`` succeeded
    (``concurrent`` at once, 0 = no limit)."""

    concurrent: int = Field(default=0, ge=0)
    tasks: list[DagTask] = Field(min_length=1)

    @model_validator(mode="after")
    def _graph(self) -> Dag:
        ids = [node.task.id for node in self.tasks]
        for node in self.tasks:
            missing = [d for d in node.depends_on or [] if d not in ids]
            if missing:
                raise ValueError(
                    f"task {node.task.id!r} depends on {', '.join(map(repr, missing))}, not a task of this Dag"
                )
        graph = {node.task.id: list(node.depends_on or []) for node in self.tasks}
        done: set[str] = set()

        def visit(task_id: str, path: tuple[str, ...]) -> None:
            if task_id in path:
                cycle = " -> ".join((*path[path.index(task_id) :], task_id))
                raise ValueError(f"cyclic dependency: {cycle}")
            if task_id not in done:
                for dep in graph[task_id]:
                    visit(dep, (*path, task_id))
                done.add(task_id)

        for task_id in graph:
            visit(task_id, ())
        return self

    def branches(self) -> list[list[Task]]:
        """The tasks of the graph."""
        return [[node.task for node in self.tasks]]


@register(
    "io.kestra.plugin.core.flow.WorkingDirectory",
    "io.kestra.core.tasks.flows.WorkingDirectory",
    "io.kestra.core.tasks.flows.Worker",
)
class WorkingDirectory(Sequential):
    """Run ``tasks`` (runnable tasks only) one after the other in one working directory, so that
    script tasks share its files; ``namespaceFiles`` and ``inputFiles`` are put there first, and
    the ``outputFiles`` globs are stored at the end (output ``outputFiles``: name → ``kestra:///``
    URI). Kestra's ``io.kestra.plugin.core.flow.WorkingDirectory``."""

    namespace_files: dict[str, Any] | None = None
    input_files: dict[str, Any] | str | None = None
    output_files: list[str] | None = None
    cache: dict[str, Any] | None = None

    @field_validator("output_files")
    @classmethod
    def _relative(cls, value: list[str] | None) -> list[str] | None:
        for name in value or []:
            if name.startswith(("./", "..", "/")):
                raise ValueError(f"Invalid outputFile (only relative path is supported) for path {name!r}")
        return value

    @model_validator(mode="after")
    def _runnable_children(self) -> WorkingDirectory:
        flowable = [t.id for t in self.tasks if isinstance(t, (FlowableTask, Subflow))]
        if flowable:
            raise ValueError(
                "Only runnable tasks are allowed as children of a WorkingDirectory task, got "
                + ", ".join(map(repr, flowable))
            )
        return self


@register(
    "io.kestra.plugin.core.flow.Subflow",
    "io.kestra.core.tasks.flows.Subflow",
    "io.kestra.core.tasks.flows.Flow",
)
class Subflow(Task):
    """Run the flow ``namespace``.``flowId`` as a child execution with ``inputs`` (and ``labels``).

    With ``wait`` (default true) the task ends when the child does: ``transmitFailed`` (default
    true) makes a FAILED/KILLED/WARNING child fail the task (WARNING stays WARNING). Outputs:
    ``executionId``, ``state`` (with ``wait``) and ``outputs`` (the child flow's ``outputs``)."""

    namespace: str
    flow_id: str
    revision: int | None = None
    inputs: dict[str, Any] | None = None
    labels: dict[str, str] | list[dict[str, str]] | None = None
    wait: bool = True
    transmit_failed: bool = True
    inherit_labels: bool = False
    outputs: dict[str, Any] | None = None
    schedule_date: str | None = None


# the waiting tasks hold child lists of the union below: imported once FlowableTask exists
from .waits import Approval, LoopUntil, Pause  # noqa: E402

#: any task: a known type validates against its model, any other type becomes an UnknownTask. A task
#: serializes as what it is (SerializeAsAny), so a Task subclass the union does not list (a task type
#: of one's own, run with a runtime whose task table adds it, see ``runner.dispatch``) exports its own
#: fields, without a warning.
AnyTask = SerializeAsAny[
    Annotated[
        Annotated[TriggerDagRun, Tag("TriggerDagRun")]
        | Annotated[Log, Tag("Log")]
        | Annotated[Return, Tag("Return")]
        | Annotated[Fail, Tag("Fail")]
        | Annotated[OutputValues, Tag("OutputValues")]
        | Annotated[Sleep, Tag("Sleep")]
        | Annotated[Exit, Tag("Exit")]
        | Annotated[Parallel, Tag("Parallel")]
        | Annotated[Sequential, Tag("Sequential")]
        | Annotated[AllowFailure, Tag("AllowFailure")]
        | Annotated[If, Tag("If")]
        | Annotated[Switch, Tag("Switch")]
        | Annotated[ForEach, Tag("ForEach")]
        | Annotated[Loop, Tag("Loop")]
        | Annotated[EachSequential, Tag("EachSequential")]
        | Annotated[EachParallel, Tag("EachParallel")]
        | Annotated[Dag, Tag("Dag")]
        | Annotated[Subflow, Tag("Subflow")]
        | Annotated[HttpRequest, Tag("HttpRequest")]
        | Annotated[PythonScript, Tag("PythonScript")]
        | Annotated[PythonCommands, Tag("PythonCommands")]
        | Annotated[ShellScript, Tag("ShellScript")]
        | Annotated[ShellCommands, Tag("ShellCommands")]
        | Annotated[HttpDownload, Tag("HttpDownload")]
        | Annotated[WorkingDirectory, Tag("WorkingDirectory")]
        | Annotated[KvSet, Tag("KvSet")]
        | Annotated[KvPut, Tag("KvPut")]
        | Annotated[KvGet, Tag("KvGet")]
        | Annotated[KvGetKeys, Tag("KvGetKeys")]
        | Annotated[KvDelete, Tag("KvDelete")]
        | Annotated[Pause, Tag("Pause")]
        | Annotated[LoopUntil, Tag("LoopUntil")]
        | Annotated[Approval, Tag("Approval")]
        | Annotated[Labels, Tag("Labels")]
        | Annotated[SetVariables, Tag("SetVariables")]
        | Annotated[UnsetVariables, Tag("UnsetVariables")]
        | Annotated[Assert, Tag("Assert")]
        | Annotated[FetchLogs, Tag("FetchLogs")]
        | Annotated[NodeScript, Tag("NodeScript")]
        | Annotated[NodeCommands, Tag("NodeCommands")]
        | Annotated[UnknownTask, Tag(UNKNOWN_TAG)],
        Discriminator(tag_of),
    ]
]
# the waiting tasks' child lists hold any task: resolve them now that AnyTask exists
for _waiting in (Pause, LoopUntil, Approval):
    _waiting.model_rebuild(_types_namespace={"AnyTask": AnyTask})
