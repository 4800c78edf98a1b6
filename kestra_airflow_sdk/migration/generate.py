"""Kestra flows that orchestrate Airflow DAGs: one flow per DAG, ready to review and deploy.

Each flow has one ``TriggerDagRun`` (``wait: true``) whose ``body.conf`` carries the Kestra lineage,
credentials only as ``{{ secret('...') }}`` references, the DAG's description, labels from its tags,
and the DAG's schedule as a **disabled** Kestra ``Schedule`` trigger: deploying changes nothing
until the cut-over (enable the Kestra trigger, pause the Airflow schedule; see ``docs/migration.md``).
"""

from __future__ import annotations

import re
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict, overload

from typing_extensions import Unpack

from ..airflow.core import ClientCore
from ..airflow.errors import InvalidArgumentError
from ..airflow.models import AirflowDag
from ..flows.flow import Flow
from ..flows.options import BasicAuthOption, BearerAuthOption, HttpOptions
from ..flows.schedule import Schedule
from ..flows.tasks.flowable import Subflow
from ..flows.trigger import TriggerDagRun
from ..transport.effects import Op
from .airflow3 import subflow_call, trigger_subflow
from .schedules import map_schedule
from .selection import selected_dags

if TYPE_CHECKING:
    from ..transport.drivers import AsyncDriver, SyncDriver

__all__ = ["FlowsFromDags", "GenerateOptions", "ScheduleNote", "flow_id_for", "flows_for_dags", "write_flows"]

#: what the generated TriggerDagRun sends as ``body.conf``: where the run came from
LINEAGE = {
    "source": "kestra",
    "namespace": "{{ flow.namespace }}",
    "flow": "{{ flow.id }}",
    "task": "{{ task.id }}",
    "execution": "{{ execution.id }}",
}
TASK_ID = "trigger_dag"
TRIGGER_ID = "schedule"
_INVALID = re.compile(r"[^a-zA-Z0-9._-]+")


@dataclass(frozen=True)
class ScheduleNote:
    """A DAG whose schedule did not become a Schedule trigger, and why."""

    dag_id: str
    schedule: str | None
    reason: str


@dataclass
class FlowsFromDags:
    """What :func:`flows_for_dags` generated: the flows, and the schedules that could not move."""

    #: one flow per DAG
    flows: list[Flow] = field(default_factory=list)
    notes: list[ScheduleNote] = field(default_factory=list)
    #: what the flows call, to deploy once per namespace: for an Airflow 3 server, the
    #: ``airflow3_trigger_dag_run`` subflow (:mod:`kestra_airflow_sdk.migration.airflow3`)
    subflows: list[Flow] = field(default_factory=list)

    def __iter__(self) -> Any:
        """Every flow to deploy: the subflows, then one flow per DAG (what :func:`write_flows` writes)."""
        return iter([*self.subflows, *self.flows])

    def __len__(self) -> int:
        return len(self.subflows) + len(self.flows)

    def flow(self, dag_id: str) -> Flow:
        """The flow generated for ``dag_id``."""
        for flow in self.flows:
            if flow.label_map.get("airflow_dag_id") == dag_id:
                return flow
        raise KeyError(f"no flow was generated for DAG {dag_id!r}")


def flow_id_for(dag_id: str) -> str:
    """A Kestra flow id for a DAG id: characters Kestra refuses become ``_``, it starts with a letter
    or digit and has at most 100 characters (e.g. ``"team/etl daily"`` → ``"team_etl_daily"``)."""
    flow_id = _INVALID.sub("_", dag_id).lstrip("._-")[:100]
    if not flow_id:
        raise InvalidArgumentError(f"dag_id {dag_id!r} has no letter or digit to make a Kestra flow id from")
    return flow_id


def _label_key(tag: str) -> str:
    return _INVALID.sub("_", tag).strip("_") or "tag"


def _flow_for(
    dag: AirflowDag,
    *,
    namespace: str,
    base_url: str,
    options: HttpOptions,
    poll_frequency: str,
    max_duration: str,
    airflow3: bool,
) -> tuple[Flow, ScheduleNote | None]:
    mapping = map_schedule(dag.schedule)
    labels = {"airflow_dag_id": dag.dag_id, **{_label_key(tag): "true" for tag in sorted(dag.tags)}}
    task: TriggerDagRun | Subflow
    if airflow3:
        task = subflow_call(
            TASK_ID,
            namespace,
            base_url=base_url,
            dag_id=dag.dag_id,
            conf=dict(LINEAGE),
        )
    else:
        task = TriggerDagRun(
            id=TASK_ID,
            description=f"Trigger Airflow DAG {dag.dag_id} and wait for its run",
            base_url=base_url,
            dag_id=dag.dag_id,
            wait=True,
            poll_frequency=poll_frequency,
            max_duration=max_duration,
            body={"conf": dict(LINEAGE)},
            options=options.model_copy(deep=True),
        )
    triggers = [Schedule(id=TRIGGER_ID, cron=mapping.cron, disabled=True)] if mapping.cron else None
    flow = Flow(
        id=flow_id_for(dag.dag_id),
        namespace=namespace,
        description=dag.description or f"Orchestrates Airflow DAG {dag.dag_id}",
        labels=labels,
        **({"triggers": triggers} if triggers else {}),
    ).task(task)
    note = None if mapping.maps else ScheduleNote(dag.dag_id, dag.schedule, mapping.reason or "")
    return flow, note


def _options(auth: str, username_secret: str, password_secret: str, token_secret: str) -> HttpOptions:
    if auth == "basic":
        return HttpOptions(
            auth=BasicAuthOption(
                username=f"{{{{ secret('{username_secret}') }}}}",
                password=f"{{{{ secret('{password_secret}') }}}}",
            )
        )
    if auth == "bearer":
        return HttpOptions(auth=BearerAuthOption(token=f"{{{{ secret('{token_secret}') }}}}"))
    raise InvalidArgumentError(f"auth: expected 'basic' or 'bearer', got {auth!r}")


def _generate_op(
    client: ClientCore,
    dag_ids: str | Iterable[str] | None,
    namespace: str,
    base_url: str | None,
    options: HttpOptions,
    poll_frequency: str,
    max_duration: str,
    subflow: Flow | None,
) -> Op[FlowsFromDags]:
    dags: list[AirflowDag] = yield from ClientCore.list_dags.fn(client)
    airflow3 = subflow is not None and client.api_version == "v2"
    result = FlowsFromDags(subflows=[subflow] if airflow3 and subflow is not None else [])
    for dag in sorted(selected_dags(dags, dag_ids), key=lambda d: d.dag_id):
        flow, note = _flow_for(
            dag,
            namespace=namespace,
            base_url=base_url or client.base_url,
            options=options,
            poll_frequency=poll_frequency,
            max_duration=max_duration,
            airflow3=airflow3,
        )
        result.flows.append(flow)
        if note is not None:
            result.notes.append(note)
    ids = [flow.id for flow in result.flows]
    clashes = sorted({i for i in ids if ids.count(i) > 1})
    if clashes:
        raise InvalidArgumentError(
            f"dag_ids: several DAGs give the same Kestra flow id {', '.join(map(repr, clashes))}; "
            "generate them in separate namespaces or rename the flows"
        )
    return result


class GenerateOptions(TypedDict, total=False):
    """Keyword options of :func:`flows_for_dags` (described there)."""

    base_url: str | None
    auth: Literal["basic", "bearer"]
    username_secret: str
    password_secret: str
    token_secret: str
    poll_frequency: str
    max_duration: str
    airflow3_trigger: Literal["subflow", "plugin"]


@overload
def flows_for_dags(
    client: SyncDriver,
    dag_ids: str | Iterable[str] | None = None,
    *,
    namespace: str,
    **options: Unpack[GenerateOptions],
) -> FlowsFromDags: ...
@overload
def flows_for_dags(
    client: AsyncDriver,
    dag_ids: str | Iterable[str] | None = None,
    *,
    namespace: str,
    **options: Unpack[GenerateOptions],
) -> Coroutine[Any, Any, FlowsFromDags]: ...
def flows_for_dags(
    client: SyncDriver | AsyncDriver,
    dag_ids: str | Iterable[str] | None = None,
    *,
    namespace: str,
    **options: Unpack[GenerateOptions],
) -> FlowsFromDags | Coroutine[Any, Any, FlowsFromDags]:
    """Kestra flows that orchestrate Airflow DAGs, one per DAG (one request: the DAG listing).

    Each flow: id from the DAG id (:func:`flow_id_for`), the DAG's description, labels
    ``airflow_dag_id`` and one ``<tag>: "true"`` per DAG tag, one ``TriggerDagRun`` (id
    ``trigger_dag``, ``wait: true``) whose ``body.conf`` carries the lineage (``source: kestra``,
    ``namespace``, ``flow``, ``task``, ``execution``) and whose credentials are
    ``{{ secret('...') }}`` references, and — when the DAG's schedule is a cron or a preset — a
    **disabled** ``Schedule`` trigger with that cron.

    Args:
        client: an :class:`~kestra_airflow_sdk.AirflowClient` (returns the result) or an
            :class:`~kestra_airflow_sdk.AsyncAirflowClient` (returns a coroutine to ``await``).
        dag_ids: one DAG id, several, or None for every DAG.
        namespace: the Kestra namespace of the flows, e.g. ``"company.team"``.
        base_url: the Airflow URL the flows call (default: the client's; give the URL Kestra reaches).
        auth: ``"basic"`` (default: username and password secrets) or ``"bearer"`` (a token secret).
        username_secret: name of the Kestra secret holding the Airflow user name (``AIRFLOW_USERNAME``).
        password_secret: name of the Kestra secret holding the Airflow password (``AIRFLOW_PASSWORD``).
        token_secret: name of the Kestra secret holding a bearer token (``AIRFLOW_TOKEN``).
        poll_frequency: the TriggerDagRun's ``pollFrequency`` (ISO-8601 duration, default ``PT30S``).
        max_duration: the TriggerDagRun's ``maxDuration`` (default ``PT24H``).
        airflow3_trigger: for an Airflow 3 server, ``"subflow"`` (default): each flow calls the
            namespace's ``airflow3_trigger_dag_run`` subflow (core HTTP tasks, see
            :mod:`kestra_airflow_sdk.migration.airflow3`), which ``.subflows`` holds and
            :func:`write_flows` writes beside them, because Kestra's Airflow plugin speaks
            ``/api/v1`` only; ``"plugin"``: a ``TriggerDagRun`` as for Airflow 2 (it runs with this
            SDK's local runner, which speaks v2, but not on a Kestra server).

    Returns:
        :class:`FlowsFromDags`: ``.flows`` (iterate it directly) and ``.notes``, one
        :class:`ScheduleNote` per DAG whose schedule is not a cron (no schedule, ``@once``, a
        timetable, datasets or assets), saying why.

    Example:
        >>> generated = flows_for_dags(client, namespace="company.airflow")
        >>> write_flows(generated, "flows/")
        >>> [(n.dag_id, n.reason) for n in generated.notes]
    """
    if not isinstance(client, ClientCore):
        raise InvalidArgumentError(
            f"client: expected an AirflowClient or AsyncAirflowClient, got {type(client).__name__}"
        )
    unknown = sorted(set(options) - set(GenerateOptions.__annotations__))
    if unknown:
        raise InvalidArgumentError(
            f"{', '.join(unknown)}: unknown option(s); expected {', '.join(GenerateOptions.__annotations__)}"
        )
    poll_frequency = options.get("poll_frequency", "PT30S")
    max_duration = options.get("max_duration", "PT24H")
    auth = _options(
        options.get("auth", "basic"),
        options.get("username_secret", "AIRFLOW_USERNAME"),
        options.get("password_secret", "AIRFLOW_PASSWORD"),
        options.get("token_secret", "AIRFLOW_TOKEN"),
    )
    probe = TriggerDagRun(
        id=TASK_ID,
        base_url="http://probe",
        dag_id="probe",
        poll_frequency=poll_frequency,
        max_duration=max_duration,
    )
    Flow(id="probe", namespace=namespace).task(probe)  # bad namespace or durations: raised before any request
    trigger = options.get("airflow3_trigger", "subflow")
    if trigger not in ("subflow", "plugin"):
        raise InvalidArgumentError(f"airflow3_trigger: expected 'subflow' or 'plugin', got {trigger!r}")
    subflow = None
    if trigger == "subflow":
        subflow = trigger_subflow(
            namespace,
            auth=options.get("auth", "basic"),
            username_secret=options.get("username_secret", "AIRFLOW_USERNAME"),
            password_secret=options.get("password_secret", "AIRFLOW_PASSWORD"),
            token_secret=options.get("token_secret", "AIRFLOW_TOKEN"),
            poll_frequency=poll_frequency,
            max_duration=max_duration,
        )
    op = _generate_op(
        client, dag_ids, namespace, options.get("base_url"), auth, poll_frequency, max_duration, subflow
    )
    return client.execute(op)


def write_flows(flows: Iterable[Flow], folder: str | Path) -> list[Path]:
    """Write one Kestra YAML file per flow, ``<folder>/<namespace>/<id>.yaml``; return the paths.

    Every file loads back with :meth:`Flow.from_yaml` equal to its flow. Existing files of the same
    flows are overwritten; other files are left alone.
    """
    root = Path(folder)
    paths = []
    for flow in flows:
        if not isinstance(flow, Flow):
            raise InvalidArgumentError(f"flows: expected Flow objects, got {type(flow).__name__}")
        path = root / flow.namespace / f"{flow.id}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(flow.to_yaml(), encoding="utf-8")
        paths.append(path)
    return paths
