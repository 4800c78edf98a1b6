"""``Flow``: a Kestra flow built in Python or loaded from Kestra YAML, runnable locally."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from typing_extensions import Unpack

from .base import KestraModel, dump_context
from .core_tasks import AnyTask, UnknownTask
from .dialect import RESERVED_FLOW_IDS
from .errors import FlowValidationError
from .hooks import FlowServer, PreparedRun, flow_runtime
from .inputs import FlowInput, inputs_problems
from .plugin_defaults import PluginDefault, apply_defaults, forget_defaults
from .schedule import AnyTrigger
from .task import Task
from .validation import expression_problems, flow_error, recursion_problems

if TYPE_CHECKING:
    from .execution import Execution
    from .observer import Observer

__all__ = ["Flow", "FlowInput", "FlowOutput", "Label", "RunOptions"]


class RunOptions(TypedDict, total=False):
    """Keyword options of :meth:`Flow.run`, :meth:`Flow.arun` and :meth:`Flow.runner`."""

    #: progress observers (see :class:`~kestra_airflow_sdk.runner.Observer`)
    observers: list[Observer]
    #: when the execution is killed or a wait ends early, mark the Airflow runs it follows failed
    cancel_airflow_runs: bool
    #: flows a ``Subflow`` task may run (besides this one), as Flow objects
    flows: list[Flow]
    #: a folder of flow YAML files (``*.yaml``/``*.yml``, searched recursively) for ``Subflow`` tasks
    flows_dir: str | Path
    #: ``{{ globals.x }}``: what a Kestra server's ``kestra.variables.globals`` configuration gives
    globals: Mapping[str, Any]
    #: live progress of the DAG runs: True/"auto" (widget in Jupyter, text lines elsewhere),
    #: "widget", "text", False/"off", or a RunProgress (see :mod:`kestra_airflow_sdk.display`)
    progress: Any
    #: the longest the execution may run (a timedelta or seconds): then it is killed and ends KILLED
    max_duration: timedelta | float
    #: the folder of the run's local state: internal storage (``kestra:///`` files), the KV store and
    #: namespace files (default: ``$KAS_STORAGE_DIR``, else under the user's cache folder)
    storage_dir: str | Path
    #: how ``Approval`` tasks (Kestra 2.0) are decided without a reviewer: True / False (approve / deny
    #: each), or a callable given the :class:`~kestra_airflow_sdk.flows.execution.WaitRequest`,
    #: returning True, False, None (wait for a reviewer) or ``{"decision", "inputs", "comment"}``
    approve: Any


_FLOW_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")
_NAMESPACE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
FLOW_ID_RULE = (
    "a flow id must match ^[a-zA-Z0-9][a-zA-Z0-9._-]*$ and have at most 100 characters "
    "(letters, digits, '.', '_' and '-', starting with a letter or digit)"
)
NAMESPACE_RULE = (
    "a namespace must match ^[a-z0-9][a-z0-9._-]*$ and have at most 150 characters "
    "(lower-case letters, digits, '.', '_' and '-', e.g. company.team)"
)


class Label(KestraModel):
    """One label in the list form of ``labels`` (``- key: env`` / ``value: prod``)."""

    key: str
    value: str


class FlowOutput(KestraModel):
    """A flow output: ``{id, type, value}``, rendered when the execution ends
    (``Execution.flow_outputs``; a ``Subflow`` task's ``outputs``)."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: str = "STRING"
    value: Any = None
    description: str | None = None
    required: bool = True


_TASK_LISTS = ("tasks", "errors", "finally")


class Flow(KestraModel):
    """A Kestra flow.

    Build it in Python (``Flow("airflow", "company.team").task(TriggerDagRun(...))``) or load it with
    :meth:`from_yaml`; export it with :meth:`to_yaml`; run it locally with :meth:`run` / :meth:`arun`.

    Args:
        id: the flow id (``^[a-zA-Z0-9][a-zA-Z0-9._-]*``, at most 100 characters).
        namespace: lower-case namespace such as ``company.team``.
        description: free text.
        labels: ``{key: value}`` (or Kestra's list of ``{key, value}``).
        inputs: flow inputs (``FlowInput`` or dicts with ``id`` and ``type``).
        variables: values available as ``{{ vars.<name> }}``.
        triggers: e.g. a :class:`~kestra_airflow_sdk.flows.Schedule`; exported for Kestra, not fired
            by the local runner.
    """

    model_config = ConfigDict(extra="allow")
    _head: ClassVar[tuple[str, ...]] = ("id", "namespace")

    id: str
    namespace: str
    description: str | None = None
    labels: dict[str, str] | list[Label] | None = None
    inputs: list[FlowInput] | None = None
    variables: dict[str, Any] | None = None
    tasks: list[AnyTask] = Field(default_factory=list)
    errors: list[AnyTask] | None = None
    finally_: list[AnyTask] | None = Field(default=None, alias="finally")
    triggers: list[AnyTrigger] | None = None
    outputs: list[FlowOutput] | None = None
    plugin_defaults: list[PluginDefault] | None = None
    disabled: bool = False
    #: the Kestra version the loaded document is written for (None: built in Python)
    _kestra: str | None = PrivateAttr(default=None)

    def __init__(self, id: str, namespace: str, **data: Any) -> None:
        super().__init__(id=id, namespace=namespace, **data)

    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @model_validator(mode="wrap")
    @classmethod
    def _with_plugin_defaults(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """Tasks written as maps get the ``pluginDefaults`` merged before they are validated (a default
        may give a required property); what came only from a default is left out of the export."""
        raw = None
        if isinstance(data, dict):  # taskDefaults: Kestra's older name, kept as written
            raw = data.get("pluginDefaults", data.get("plugin_defaults", data.get("taskDefaults")))
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            return handler(data)
        try:
            defaults = [PluginDefault.model_validate(item) for item in raw]
        except ValueError:
            return handler(data)  # the flow's own validation reports the broken default
        merged = {k: apply_defaults(v, defaults) if k in _TASK_LISTS else v for k, v in data.items()}
        flow = handler(merged)
        if isinstance(flow, Flow):
            for key in _TASK_LISTS:
                name = "finally_" if key == "finally" else key
                forget_defaults(getattr(flow, name), data.get(key))
        return flow

    def with_plugin_defaults(self) -> Flow:
        """This flow with its ``pluginDefaults`` applied to every task (what runs); itself without any."""
        if not self.plugin_defaults and "taskDefaults" not in (self.model_extra or {}):
            return self
        document = self.to_dict()
        raw = document.get("pluginDefaults", document.get("taskDefaults")) or []
        defaults = [PluginDefault.model_validate(item) for item in raw]
        applied = {
            key: apply_defaults(value, defaults) if key in _TASK_LISTS else value
            for key, value in document.items()
            if key not in ("pluginDefaults", "taskDefaults")
        }
        return Flow.model_validate(applied)

    @field_validator("id")
    @classmethod
    def _flow_id(cls, value: str) -> str:
        if not _FLOW_ID.match(value) or len(value) > 100:
            raise ValueError(f"{value!r} is not a valid flow id: {FLOW_ID_RULE}")
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not _NAMESPACE.match(value) or len(value) > 150:
            raise ValueError(f"{value!r} is not a valid namespace: {NAMESPACE_RULE}")
        return value

    # ------------------------------------------------------------------ building

    def task(self, task: Task) -> Flow:
        """Append ``task`` to the flow's tasks and return the flow, so calls chain."""
        if not isinstance(task, Task):
            raise FlowValidationError(
                f"Flow.task: expected a task such as TriggerDagRun(...) or Log(...), got {type(task).__name__}"
            )
        if task.id in {t.id for t in self.walk()}:
            raise FlowValidationError(
                f"tasks: task id {task.id!r} is used twice in flow {self.id!r}; task ids must be unique in a flow"
            )
        self.tasks.append(task)  # type: ignore[arg-type]
        self.model_fields_set.add("tasks")
        return self

    def _repr_html_(self) -> str:
        return flow_runtime("Flow._repr_html_").flow_html(self)

    def __repr__(self) -> str:
        return f"Flow(id={self.id!r}, namespace={self.namespace!r}, tasks={[t.id for t in self.tasks]!r})"

    def walk(self) -> Iterator[Task]:
        """Every task of the flow (``tasks``, ``errors``, ``finally``), children after parents."""

        def visit(tasks: list[Task]) -> Iterator[Task]:
            for task in tasks:
                yield task
                yield from visit(task.children)

        yield from visit(list(self.tasks))
        yield from visit(list(self.errors or []))
        yield from visit(list(self.finally_ or []))

    @property
    def label_map(self) -> dict[str, str]:
        """The flow's labels as a dict, whichever form they were written in."""
        if isinstance(self.labels, list):
            return {label.key: label.value for label in self.labels}
        return dict(self.labels or {})

    # ------------------------------------------------------------------ checking

    def problems(self) -> list[str]:
        """Kestra's rules a model cannot check field by field: a flow id that is not reserved, at least
        one task, unique task ids, inputs, labels. (Expressions are checked by :meth:`validate_flow`:
        like Kestra, loading a flow does not parse them; running or validating it does.)"""
        found = []
        if self.id in RESERVED_FLOW_IDS:
            found.append(
                f"id: {self.id!r} is reserved by Kestra (since 1.0, so in 1.3 and 2.0) for its API paths; "
                f"rename the flow, e.g. to {self.id + '-flow'!r} (reserved: {', '.join(sorted(RESERVED_FLOW_IDS))})"
            )
        if not self.tasks:
            found.append("tasks: a flow needs at least one task")
        found.extend(inputs_problems(self.inputs or []))
        found.extend(recursion_problems(self.to_dict()))
        for key, value in self.label_map.items():  # Kestra's FlowValidator: only system.readOnly
            if key.startswith("system.") and key != "system.readOnly":
                found.append(
                    f"labels.{key}: system labels can only be set by Kestra itself (a flow may only "
                    f"set system.readOnly), got {key}={value}"
                )
        seen: set[str] = set()
        for task in self.walk():
            if task.id in seen:
                found.append(
                    f"tasks: task id {task.id!r} is used more than once; task ids must be unique in a flow"
                )
            seen.add(task.id)
        return found

    def validate_flow(self) -> Flow:
        """Raise a :class:`FlowValidationError` listing every broken rule (:meth:`problems`, and task
        expressions that do not parse or use a filter, test, tag or function Kestra does not have);
        return the flow otherwise."""
        found = self.problems() + expression_problems(self.to_dict(), kestra=self.kestra)
        if found:
            raise flow_error(found)
        return self

    def unsupported_tasks(self) -> list[UnknownTask]:
        """The tasks whose type the local runner cannot execute (they still export to YAML)."""
        return [task for task in self.walk() if isinstance(task, UnknownTask)]

    # ------------------------------------------------------------------ YAML

    @classmethod
    def from_yaml(cls, source: str | Path, *, upgrade: bool = False, kestra: str | None = None) -> Flow:
        """Load a flow from Kestra YAML text or a file path, written for Kestra 1.3 or 2.0.

        Args:
            source: YAML text, or the path of a ``.yaml``/``.yml`` file.
            upgrade: rewrite legacy ``options.basicAuthUser`` / ``basicAuthPassword`` (and the flat
                timeouts) into ``options.auth`` / ``options.timeout``, as Kestra 2's migrator does.
            kestra: read the document as ``"1.3"`` or ``"2.0"``; by default the version is detected
                from the constructs it uses (see :attr:`kestra`).

        Raises:
            FlowYamlError: the text is not YAML or not a mapping (message with line and column).
            FlowValidationError: the document breaks Kestra's rules (one line per problem); it mixes
                2.0-only and 1.3-only constructs (naming both places); or it is read as 2.0 and uses
                a construct 2.0 removed (naming it and what replaces it).
        """
        from .yaml_io import load_flow

        return load_flow(cls, source, upgrade=upgrade, kestra=kestra)

    @property
    def kestra(self) -> str:
        """The Kestra version this flow is written for: ``"1.3"`` when it uses a construct Kestra 2.0
        removed (``ForEach``, ``pluginDefaults``, trigger ``conditions``, ...), else ``"2.0"`` (or what
        ``from_yaml(..., kestra=...)`` forced)."""
        if self._kestra is not None:
            return self._kestra
        from .dialect import detect_kestra

        return detect_kestra(self.to_dict())

    def to_yaml(self, *, kestra: str | None = None) -> str:
        """The flow as Kestra YAML.

        Args:
            kestra: the Kestra version to write for. A loaded flow is written by default for its
                own :attr:`kestra`, as written: keys in the order they were loaded, spellings,
                expressions and dates as written. A flow built in Python is written for Kestra 2.0
                by default (in Kestra's usual key order). ``"2.0"`` upgrades a 1.3 flow (see
                :func:`~kestra_airflow_sdk.flows.upgrade.upgrade_document`); ``"1.3"`` writes a 1.3
                flow as it is.

        Raises:
            FlowValidationError: the flow cannot be written for that version; the message names each
                construct that cannot be converted and the page of Kestra's migration guide about it.
        """
        from .yaml_io import dump_document, keep_timestamps

        native = self.model_dump(
            mode="python", by_alias=True, exclude_unset=True, context=dump_context(), round_trip=True
        )
        document = keep_timestamps(self.to_dict(), native)
        if kestra is None:  # a loaded flow as written; one built in Python for Kestra 2.0
            kestra = self._kestra or "2.0"
        if kestra == self.kestra:
            return dump_document(document)
        from .upgrade import convert

        return dump_document(convert(document, kestra, f"flow {self.namespace}.{self.id}"))

    # ------------------------------------------------------------------ running

    def runner(
        self,
        inputs: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
        **options: Unpack[RunOptions],
    ) -> PreparedRun:
        """A :class:`~kestra_airflow_sdk.runner.FlowRunner` for one execution (arguments of :meth:`arun`);
        ``await runner.run()`` runs it and ``runner.execution`` shows it live, also after a cancel."""
        return flow_runtime("Flow.runner").runner(
            self, inputs=inputs, secrets=secrets, labels=labels, **options
        )

    def run(
        self,
        inputs: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
        *,
        on: FlowServer | None = None,
        **options: Unpack[RunOptions],
    ) -> Execution:
        """Run the flow locally (or on a Kestra server), blocking, and return the finished :class:`Execution`.

        Works in a plain script and inside a running event loop (Jupyter), where the run goes on in a
        worker thread while the cell waits. See :meth:`arun` for the arguments.

        Args:
            on: a :class:`~kestra_airflow_sdk.kestra.KestraServer`: deploy the flow there (upsert) and
                run it on Kestra instead of locally (``secret()`` then reads Kestra's secrets, so
                ``secrets=`` is refused); ``observers``/``progress`` report its task runs.

        Raises:
            ExecutionKilled: Ctrl-C (a ``KeyboardInterrupt``) stopped the run; its ``execution`` is KILLED.
        """
        return flow_runtime("Flow.run").run(self, inputs, secrets, labels, on, options)

    async def arun(
        self,
        inputs: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
        **options: Unpack[RunOptions],
    ) -> Execution:
        """Run the flow locally in async code and return the finished :class:`Execution`.

        Args:
            inputs: values of the flow's inputs (``{{ inputs.<id> }}``), converted to their types.
            secrets: ``secret('NAME')`` values; names are case-insensitive. Missing ones are read
                from the environment variable ``SECRET_<NAME>`` (base64, as open-source Kestra does).
            labels: execution labels added to the flow's (``{{ labels.<key> }}``).
            observers: progress observers (see :class:`~kestra_airflow_sdk.runner.Observer`).
            progress: live progress of the Airflow DAG runs: ``True``/``"auto"`` (default: a
                widget in Jupyter, text lines elsewhere), ``"widget"``, ``"text"``, ``False``
                (nothing shown) or a :class:`~kestra_airflow_sdk.display.RunProgress`.
            cancel_airflow_runs: when the execution is killed (or a wait ends early), mark the
                Airflow DAG runs it is still waiting for as failed.
            flows: the flows ``Subflow`` tasks may run (Flow objects).
            flows_dir: a folder of flow YAML files ``Subflow`` tasks may run (searched recursively).
            globals: the values of ``{{ globals.x }}``, which a Kestra server takes from its
                ``kestra.variables.globals`` configuration (none by default: ``globals`` is then an
                empty map, so ``{{ globals.x }}`` is an undefined-variable error naming it).

        Raises:
            FlowValidationError: the flow breaks a rule, or an input is missing or invalid.
            UnsupportedTaskError: a task type cannot run locally (the message lists those that can).
            asyncio.CancelledError: the run was cancelled; the execution ended KILLED.
        """
        runner = self.runner(inputs, secrets, labels, **options)
        return await runner.run()
