"""Step 2 of the migration: a DAG rewritten as a native Kestra 2.0 flow, task by task.

:func:`native_flow_for_dag` reads the DAG over REST (details, tasks, source file: three requests),
reads the source statically (:mod:`.dag_source`; nothing of the DAG is imported or run) and
translates each task with the operator table (:mod:`.operators`; a mapped task as a ``Loop``,
:mod:`.mapping`). The graph becomes the flow's
task list when it is a chain, else an ``io.kestra.plugin.core.flow.Dag`` with ``dependsOn``; a
branch task is followed by a ``Switch`` on its return value; ``retries`` become ``retry``,
``execution_timeout`` ``timeout``; ``trigger_rule`` ``all_done``/``always`` on a last task puts it in
the flow's ``finally``; DAG params become inputs; the schedule a **disabled** ``Schedule`` trigger.

When any task cannot be translated faithfully, the flow is the step-1 flow (one ``TriggerDagRun``
of the whole DAG, which keeps the DAG working), ``native`` is False and the report says which task
and why; the partial translation is kept as ``draft``.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any, overload

from typing_extensions import Unpack

from ..airflow.core import ClientCore
from ..airflow.errors import InvalidArgumentError
from ..flows.flow import Flow
from ..flows.inputs import FlowInput
from ..flows.schedule import Schedule
from ..flows.task import Task, TaskRetry
from ..flows.tasks.flowable import Dag, DagTask, Loop, Switch
from ..transport.effects import Op
from .dag_reads import DagDefinition, read_dag_definition
from .dag_source import DagSource, read_dag_source
from .generate import TRIGGER_ID, GenerateOptions, _flow_for, _label_key, _options, flow_id_for
from .operators import BRANCHES, TaskContext, Translated, translate_task
from .schedules import map_schedule
from .templates import Untranslatable, kestra_task_id

if TYPE_CHECKING:
    import pandas as pd

    from ..transport.drivers import AsyncDriver, SyncDriver

__all__ = ["NativeFlow", "TaskReport", "native_flow_for_dag", "translate_dag"]

#: trigger rules that behave as Kestra's ordering does once skipped branches do not exist
_LIKE_ALL_SUCCESS = {"all_success", "none_failed", "none_failed_min_one_success"}
_FINALLY = {"all_done", "always", "all_done_setup_success"}
#: the trigger rule Airflow gives a teardown task (``@teardown``, ``.as_teardown()``)
_TEARDOWN = "all_done_setup_success"


@dataclass(frozen=True)
class TaskReport:
    """What became of one Airflow task: ``status`` is ``"native"`` or ``"untranslated"``."""

    task_id: str
    operator: str
    status: str
    kestra_type: str | None = None
    kept: str = ""
    lost: str = ""
    reason: str = ""


@dataclass
class NativeFlow:
    """The result of :func:`native_flow_for_dag`: the flow to deploy and the per-task report.

    ``flow`` is the native flow when every task translated (``native`` True), else the step-1 flow
    that triggers the whole DAG; ``draft`` is the native translation either way (incomplete when
    ``native`` is False: its untranslated tasks are missing).
    """

    dag_id: str
    flow: Flow
    native: bool
    tasks: list[TaskReport] = field(default_factory=list)
    draft: Flow | None = None
    schedule_note: str | None = None

    @property
    def untranslated(self) -> list[TaskReport]:
        """The tasks that kept the DAG from converting, with the reason of each."""
        return [t for t in self.tasks if t.status != "native"]

    def to_pandas(self) -> pd.DataFrame:
        """The report as a DataFrame: one row per Airflow task."""
        import pandas as pd

        columns = ["task_id", "operator", "status", "kestra_type", "kept", "lost", "reason"]
        frame: pd.DataFrame = pd.DataFrame(
            [{c: getattr(t, c) for c in columns} for t in self.tasks], columns=columns
        )
        return frame

    def _repr_html_(self) -> str:
        title = "native" if self.native else f"falls back to TriggerDagRun ({len(self.untranslated)} task(s))"
        frame_html: str = self.to_pandas().to_html(index=False, escape=True)
        return f"<p><b>{escape(self.dag_id)}</b> → flow <code>{escape(self.flow.id)}</code>: {title}</p>{frame_html}"

    def __repr__(self) -> str:
        state = "native" if self.native else f"fallback: {', '.join(t.task_id for t in self.untranslated)}"
        return f"NativeFlow(dag_id={self.dag_id!r}, flow={self.flow.id!r}, {state}, tasks={len(self.tasks)})"


def _retry(task: Any) -> TaskRetry | None:
    if task.retries <= 0:
        return None
    interval = max(int(task.retry_delay if task.retry_delay is not None else 300), 1)
    if task.exponential_backoff:
        return TaskRetry(
            type="exponential",
            max_attempts=task.retries + 1,
            interval=f"PT{interval}S",
            max_interval=f"PT{interval * 2**task.retries}S",
        )
    return TaskRetry(type="constant", max_attempts=task.retries + 1, interval=f"PT{interval}S")


def _input(name: str, value: Any) -> FlowInput:
    kind = {bool: "BOOL", int: "INT", float: "FLOAT", str: "STRING"}.get(type(value), "JSON")
    # Kestra 2.0: an input with defaults is required (its defaults fill it in), one without is optional
    return FlowInput(id=name, type=kind, required=value is not None, defaults=value)


def _ancestors(upstream: dict[str, list[str]], task_id: str) -> set[str]:
    seen: set[str] = set()
    pending = list(upstream.get(task_id, ()))
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending.extend(upstream.get(current, ()))
    return seen


def _check_rule(task_id: str, rule: str, downstream: tuple[str, ...], after_branch: bool) -> None:
    if rule in _FINALLY and not downstream:
        return
    if rule in _FINALLY:
        raise Untranslatable(
            f"trigger_rule {rule!r} on a task with downstream tasks has no Kestra equivalent"
        )
    if rule not in _LIKE_ALL_SUCCESS:
        raise Untranslatable(f"trigger_rule {rule!r} has no Kestra equivalent")
    if rule == "all_success" and after_branch:
        raise Untranslatable(
            "trigger_rule 'all_success' after a branch: Airflow skips it when a branch is not taken, "
            "Kestra would run it (use none_failed_min_one_success in the DAG)"
        )


def _switches(
    definition: DagDefinition, upstream: dict[str, list[str]], branches: list[str]
) -> dict[str, list[list[str]]]:
    """Branch task id → its cases (each a chain of task ids starting with the branch's target)."""
    by_id = {t.task_id: t for t in definition.tasks}
    found: dict[str, list[list[str]]] = {}
    for branch in branches:
        cases = []
        for target in by_id[branch].downstream:
            if upstream.get(target) != [branch]:
                raise Untranslatable(f"branch target {target!r} has other upstream tasks than the branch")
            chain = [target]
            while len(by_id[chain[-1]].downstream) == 1:
                following = by_id[chain[-1]].downstream[0]
                if upstream.get(following) != [chain[-1]]:
                    break
                chain.append(following)
            cases.append(chain)
        found[branch] = cases
    return found


def _layout(
    definition: DagDefinition, built: dict[str, Task], branches: list[str]
) -> tuple[list[Task], list[Task]]:
    """(tasks, finally tasks) of the flow: a chain as a plain list, else one Dag task."""
    upstream = definition.upstream
    by_id = {t.task_id: t for t in definition.tasks}
    cases = _switches(definition, upstream, branches)
    owner: dict[str, str] = {}  # task id inside a Switch case → the Switch's id
    units: dict[str, Task] = {}
    for branch, chains in cases.items():
        switch_id = f"{kestra_task_id(branch)}_switch"
        for chain in chains:
            for task_id in chain:
                owner[task_id] = switch_id
        units[switch_id] = Switch(
            id=switch_id,
            value=f"{{{{ outputs.{kestra_task_id(branch)}.vars.return_value }}}}",
            cases={chain[0]: [built[t] for t in chain] for chain in chains},
        )
    finally_ids = [t for t in built if by_id[t].trigger_rule in _FINALLY and not by_id[t].downstream]
    order = [t.task_id for t in definition.tasks if t.task_id in built and t.task_id not in owner]
    order = [t for t in order if t not in finally_ids]
    deps: dict[str, list[str]] = {}
    for task_id in order:
        deps[task_id] = []
        for parent in upstream.get(task_id, []):
            unit = owner.get(parent, parent)
            if unit not in deps[task_id]:
                deps[task_id].append(unit)
        units[task_id] = built[task_id]
    for branch in cases:
        if branch in owner:
            raise Untranslatable(
                f"branch {branch!r} is inside another branch's case: nested branches are not translated"
            )
        deps[f"{kestra_task_id(branch)}_switch"] = [branch]
    ids = _topological([u for u in units], deps)
    roots = [u for u in ids if not deps[u]]
    single_parents = all(len(deps[u]) <= 1 for u in ids)
    single_children = all(sum(1 for v in ids if u in deps[v]) <= 1 for u in ids)
    is_chain = len(roots) == 1 and single_parents and single_children
    finals = [built[t] for t in finally_ids]
    if is_chain:
        return [units[u] for u in ids], finals
    dag = Dag(
        id="dag",
        tasks=[
            DagTask(
                task=units[u], **({"depends_on": [kestra_task_id(d) for d in deps[u]]} if deps[u] else {})
            )
            for u in ids
        ],
    )
    return [dag], finals


def _topological(ids: list[str], deps: dict[str, list[str]]) -> list[str]:
    done: list[str] = []
    pending = list(ids)
    while pending:
        ready = [u for u in pending if all(d in done for d in deps[u])]
        if not ready:
            raise Untranslatable(f"the dependencies of {', '.join(pending)} form a cycle or leave the flow")
        done += ready
        pending = [u for u in pending if u not in ready]
    return done


def _check_mapped(task_id: str, is_mapped: bool, source: DagSource, kestra_ids: dict[str, list[str]]) -> None:
    """Untranslatable when the task is in a task group mapped with ``.expand`` (REST does not report
    those tasks mapped), or when REST reports it mapped and the file does not show a ``.expand`` the
    translation handles, or when the id of its iteration's task is taken."""
    group = next((g for g in sorted(source.mapped_groups) if task_id.startswith(g)), None)
    if group is not None:
        raise Untranslatable(
            f"it is in task group {group[:-1]!r}, mapped with .expand: mapped task groups are not translated"
        )
    if not is_mapped:
        return
    found = source.tasks.get(task_id)
    if found is None or found.expand is None:
        raise Untranslatable(
            "it is a mapped task (expand) whose .partial(...).expand(...) call was not found in the DAG file"
        )
    inner = f"{kestra_task_id(task_id)}_item"
    if inner in kestra_ids:
        raise Untranslatable(
            f"the Kestra id of its iteration's task, {inner!r}, is the id of {kestra_ids[inner][0]!r}"
        )


def translate_dag(
    definition: DagDefinition,
    *,
    namespace: str,
    migrated: Iterable[str] = (),
    **options: Unpack[GenerateOptions],
) -> NativeFlow:
    """The native flow of a DAG from its definition (what :func:`native_flow_for_dag` reads): no
    request. Arguments as :func:`native_flow_for_dag`; ``base_url`` (the Airflow URL the flow's
    TriggerDagRun tasks call) is required here."""
    dag = definition.dag
    base_url = options.get("base_url")
    if not isinstance(base_url, str) or not base_url:
        raise InvalidArgumentError(f"base_url: expected the Airflow URL the flow calls, got {base_url!r}")
    http = _options(
        options.get("auth", "basic"),
        options.get("username_secret", "AIRFLOW_USERNAME"),
        options.get("password_secret", "AIRFLOW_PASSWORD"),
        options.get("token_secret", "AIRFLOW_TOKEN"),
    )
    source = read_dag_source(definition.source, dag.dag_id)
    upstream = definition.upstream
    python_ids = {
        t.task_id for t in source.tasks.values() if t.operator.startswith("@") or "Python" in t.operator
    }
    branch_ids = {
        t.task_id
        for t in definition.tasks
        if t.operator in BRANCHES
        or (t.task_id in source.tasks and source.tasks[t.task_id].operator in BRANCHES)
    }
    try:
        in_cases = {
            m
            for chains in _switches(definition, upstream, sorted(branch_ids)).values()
            for c in chains
            for m in c
        }
    except Untranslatable:
        in_cases = set()  # reported by the layout
    kestra_ids: dict[str, list[str]] = {}
    for task in definition.tasks:
        kestra_ids.setdefault(kestra_task_id(task.task_id), []).append(task.task_id)
    mapped = frozenset(t.task_id for t in definition.tasks if t.is_mapped)
    reports: list[TaskReport] = []
    built: dict[str, Task] = {}
    branches: list[str] = []
    uses_conf = False
    for task in definition.tasks:
        context = TaskContext(
            source=source,
            params=definition.params,
            ancestors=_ancestors(upstream, task.task_id),
            namespace=namespace,
            base_url=base_url,
            options=http,
            migrated=frozenset(migrated),
            python_tasks=python_ids,
            mapped=mapped,
        )
        try:
            if source.error:
                raise Untranslatable(source.error)
            clash = [t for t in kestra_ids[kestra_task_id(task.task_id)] if t != task.task_id]
            if clash:
                raise Untranslatable(
                    f"its Kestra id {kestra_task_id(task.task_id)!r} is also the id of {clash[0]!r} "
                    "(a task group's dot becomes '_')"
                )
            _check_mapped(task.task_id, task.is_mapped, source, kestra_ids)
            ancestors = context.ancestors
            after_branch = bool(ancestors & branch_ids) and task.task_id not in in_cases
            _check_rule(task.task_id, task.trigger_rule, task.downstream, after_branch)
            translated: Translated = translate_task(task.task_id, task.operator, context)
        except Untranslatable as exc:
            reports.append(TaskReport(task.task_id, task.operator, "untranslated", reason=str(exc)))
            continue
        kestra = translated.task
        each = kestra.tasks[0] if isinstance(kestra, Loop) else kestra  # Airflow retries each map index
        retry = _retry(task)
        if retry is not None:
            each.retry = retry
        if task.timeout:
            each.timeout = f"PT{max(int(task.timeout), 1)}S"
        if translated.branch:
            branches.append(task.task_id)
        uses_conf = uses_conf or translated.uses_conf
        built[task.task_id] = kestra
        lost = translated.lost
        if task.trigger_rule == _TEARDOWN:
            lost = "; ".join(
                filter(
                    None,
                    [
                        lost,
                        "a teardown in Kestra's finally: it runs even when its setup failed, and its "
                        "failure fails the execution (Airflow leaves a teardown out of the run's state)",
                    ],
                )
            )
        elif task.trigger_rule in _FINALLY:
            lost = "; ".join(
                filter(None, [lost, "in Kestra's finally: the run's state also counts the failed upstream"])
            )
        reports.append(TaskReport(task.task_id, task.operator, "native", kestra.type, translated.kept, lost))
    mapping = map_schedule(dag.schedule)
    labels = {"airflow_dag_id": dag.dag_id, **{_label_key(tag): "true" for tag in sorted(dag.tags)}}
    inputs = [_input(name, value) for name, value in definition.params.items()]
    if uses_conf:
        inputs.append(FlowInput(id="conf", type="JSON", required=True, defaults={}))
    triggers = [Schedule(id=TRIGGER_ID, cron=mapping.cron, disabled=True)] if mapping.cron else None
    draft = Flow(
        id=flow_id_for(dag.dag_id),
        namespace=namespace,
        description=dag.description or f"Airflow DAG {dag.dag_id}, migrated to Kestra",
        labels={**labels, "migration": "native"},
        **({"inputs": inputs} if inputs else {}),
        **({"triggers": triggers} if triggers else {}),
    )
    native = bool(definition.tasks) and all(r.status == "native" for r in reports)
    if built:
        try:
            tasks, finals = _layout(definition, built, branches)
        except Untranslatable as exc:
            reports = [
                TaskReport(r.task_id, r.operator, "untranslated", r.kestra_type, r.kept, r.lost, str(exc))
                if r.task_id in branches
                else r
                for r in reports
            ]
            native = False
            tasks, finals = [], []
        draft.tasks = list[Any](tasks)
        if finals:
            draft.finally_ = list[Any](finals)
    if not definition.tasks:
        reports.append(TaskReport("-", "-", "untranslated", reason="the DAG has no tasks"))
    if native:
        flow = draft
    else:
        # the whole DAG triggered with TriggerDagRun (flows_for_dags writes the Airflow 3 subflow form)
        flow, _ = _flow_for(
            dag,
            namespace=namespace,
            base_url=base_url,
            options=http,
            poll_frequency=options.get("poll_frequency", "PT30S"),
            max_duration=options.get("max_duration", "PT24H"),
            airflow3=False,
        )
    return NativeFlow(dag.dag_id, flow, native, reports, draft if draft.tasks else None, mapping.reason)


def _native_op(
    client: ClientCore, dag_id: str, namespace: str, migrated: tuple[str, ...], options: GenerateOptions
) -> Op[NativeFlow]:
    definition = yield from read_dag_definition(client, dag_id)
    chosen: GenerateOptions = {**options, "base_url": options.get("base_url") or client.base_url}
    return translate_dag(definition, namespace=namespace, migrated=migrated, **chosen)


@overload
def native_flow_for_dag(
    client: SyncDriver,
    dag_id: str,
    *,
    namespace: str,
    migrated: Iterable[str] = (),
    **options: Unpack[GenerateOptions],
) -> NativeFlow: ...
@overload
def native_flow_for_dag(
    client: AsyncDriver,
    dag_id: str,
    *,
    namespace: str,
    migrated: Iterable[str] = (),
    **options: Unpack[GenerateOptions],
) -> Coroutine[Any, Any, NativeFlow]: ...
def native_flow_for_dag(
    client: SyncDriver | AsyncDriver,
    dag_id: str,
    *,
    namespace: str,
    migrated: Iterable[str] = (),
    **options: Unpack[GenerateOptions],
) -> NativeFlow | Coroutine[Any, Any, NativeFlow]:
    """A native Kestra flow for DAG ``dag_id`` and the report of each of its tasks (three requests:
    the DAG's details, tasks and source; the source is read with ``ast``, never imported).

    Args:
        client: an :class:`~kestra_airflow_sdk.AirflowClient` (returns the result) or an
            :class:`~kestra_airflow_sdk.AsyncAirflowClient` (returns a coroutine to ``await``).
        dag_id: the DAG to translate.
        namespace: the Kestra namespace of the flow.
        migrated: DAG ids migrated natively too: a ``TriggerDagRunOperator`` of one becomes a
            ``Subflow`` of its flow, else a ``TriggerDagRun``.
        options: as :func:`~kestra_airflow_sdk.migration.flows_for_dags` (``base_url``, ``auth``,
            the secrets' names, ``poll_frequency``, ``max_duration``), for the TriggerDagRun tasks
            and the fallback flow.

    Returns:
        :class:`NativeFlow`: ``.flow`` (native, or the step-1 fallback), ``.native``, ``.tasks`` (one
        :class:`TaskReport` per task: the Kestra type, what is kept and lost, or why it is not
        translated), ``.draft`` and ``.to_pandas()``.

    Example:
        >>> result = native_flow_for_dag(client, "etl_daily", namespace="company.team")
        >>> print(result.flow.to_yaml()) if result.native else result.untranslated
    """
    if not isinstance(client, ClientCore):
        raise InvalidArgumentError(
            f"client: expected an AirflowClient or AsyncAirflowClient, got {type(client).__name__}"
        )
    if not isinstance(dag_id, str) or not dag_id:
        raise InvalidArgumentError(f"dag_id: expected a non-empty string, got {dag_id!r}")
    if isinstance(migrated, str):
        migrated = [migrated]
    unknown = sorted(set(options) - set(GenerateOptions.__annotations__))
    if unknown:
        raise InvalidArgumentError(
            f"{', '.join(unknown)}: unknown option(s); expected {', '.join(GenerateOptions.__annotations__)}"
        )
    _options(
        options.get("auth", "basic"),
        options.get("username_secret", "AIRFLOW_USERNAME"),
        options.get("password_secret", "AIRFLOW_PASSWORD"),
        options.get("token_secret", "AIRFLOW_TOKEN"),
    )
    Flow(id="probe", namespace=namespace)  # a bad namespace is refused before any request
    return client.execute(_native_op(client, dag_id, namespace, tuple(migrated), options))
