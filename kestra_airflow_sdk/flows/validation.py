"""Turn pydantic's validation errors into the SDK's: one line per problem, naming the field (as the
YAML spells it, with the task id), the value (never a credential's) and the rule."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from .errors import FlowValidationError
from .properties import closest
from .registry import class_of_tag, is_tag

__all__ = ["describe_errors", "expression_problems", "flow_error", "recursion_problems", "secret_names"]

#: fields whose value must never be quoted in a message
_SECRET_FIELDS = {"password", "token", "username", "basicAuthUser", "basicAuthPassword"}
#: resolves a loc to "line L, column C" (the YAML loader provides one)
Locator = Callable[[tuple[Any, ...]], str | None]


def _path(loc: tuple[Any, ...], data: Any) -> tuple[str, tuple[Any, ...]]:
    """Render ``('tasks', 0, 'TriggerDagRun', 'dagId')`` as ``tasks[0] (id 'run_dag').dagId``."""
    text = ""
    clean: list[Any] = []
    node = data
    kind = "task"
    for part in loc:
        if part in ("Schedule", "UnknownTrigger"):  # trigger-union tags
            continue
        if is_tag(part):
            continue
        if part == "triggers":
            kind = "trigger"
        clean.append(part)
        if isinstance(part, int):
            text += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                text += f" ({kind} {node['id']!r})"
        else:
            text += f".{part}" if text else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return text or "flow", tuple(clean)


def _known_properties(loc: tuple[Any, ...]) -> str:
    classes = [c for c in (class_of_tag(p) for p in loc) if c is not None]
    if not classes:
        return ""
    fields = getattr(classes[-1], "model_fields", {})
    names = sorted(f.alias or n for n, f in fields.items())
    guess = closest(str(loc[-1]), names) if loc else ""
    return f"{guess}; {classes[-1].__name__} properties are: {', '.join(names)}"


def describe_errors(error: ValidationError, data: Any = None, locate: Locator | None = None) -> list[str]:
    """One line per pydantic error."""
    lines = []
    for item in error.errors(include_url=False):
        loc = tuple(item.get("loc", ()))
        path, clean = _path(loc, data)
        where = locate(clean) if locate else None
        prefix = f"{path} ({where})" if where else path
        kind = item.get("type", "")
        secret = bool(clean) and str(clean[-1]) in _SECRET_FIELDS
        value = "" if secret else f", got {item.get('input')!r}"
        if kind == "missing":
            lines.append(f"{prefix}: required property is missing")
        elif kind == "extra_forbidden":
            lines.append(f"{prefix}: unknown property{value}{_known_properties(loc)}")
        elif kind in ("value_error", "assertion_error"):
            cause = (item.get("ctx") or {}).get("error")
            lines.append(f"{prefix}: {cause if cause is not None else item['msg']}")
        else:
            lines.append(f"{prefix}: {item['msg']}{value}")
    return lines


def flow_error(problems: list[str], source: str = "") -> FlowValidationError:
    """A :class:`FlowValidationError` listing every problem."""
    head = f"Invalid flow{f' in {source}' if source else ''}"
    if len(problems) == 1:
        return FlowValidationError(f"{head}: {problems[0]}", problems)
    return FlowValidationError(head + ":\n" + "\n".join(f"  - {p}" for p in problems), problems)


#: task properties that are documentation, never rendered
_NOT_RENDERED = {"description"}
_TASK_LISTS = ("tasks", "errors", "finally")


def expression_problems(
    document: Mapping[str, Any], *, local: bool = False, kestra: str = "1.3"
) -> list[str]:
    """One line per task property whose expression cannot render: a syntax error, an unsupported
    tag, an unknown filter, test or function (see :func:`~kestra_airflow_sdk.flows.pebble.check_template`).

    Args:
        document: the flow's document (``Flow.to_dict()``); every string of every task is checked.
        local: also report Kestra functions the local runner cannot run.
        kestra: the Kestra version whose expressions the flow is written in (``"2.0"``: the
            ``json`` filter and function, ``currentEachOutput()`` are problems naming what replaces them).
    """
    from .pebble import check_template
    from .pebble.versions import kestra_version

    version = kestra_version(kestra)
    problems: list[str] = []

    def visit(value: Any, path: str, task_id: str) -> None:
        if isinstance(value, str):
            for problem in check_template(value, local=local, kestra=version):
                problems.append(f"{path} (task {task_id!r}): {problem}")
        elif isinstance(value, Mapping):
            if isinstance(value.get("id"), str) and isinstance(value.get("type"), str):
                task_id = value["id"]
            for key, item in value.items():
                if key not in _NOT_RENDERED:
                    visit(item, f"{path}.{key}", task_id)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                visit(item, f"{path}[{i}]", task_id)

    for key in _TASK_LISTS:
        for i, task in enumerate(document.get(key) or []):
            visit(task, f"{key}[{i}]", str(task.get("id", "?")) if isinstance(task, Mapping) else "?")
    return problems


#: document keys a local run never renders: triggers do not fire, plugin defaults reach the tasks
_NOT_RUN = {"triggers", "pluginDefaults", "taskDefaults", *_NOT_RENDERED}


def secret_names(document: Mapping[str, Any]) -> list[str]:
    """The names of the ``secret('NAME')`` calls with a literal name in any string of a flow
    document (tasks, inputs, outputs, variables...; not triggers, which a local run does not fire,
    nor descriptions), each once as first written (names are case-insensitive), in document order.
    A name computed by an expression (``secret(inputs.x)``) is known only when it renders; a text
    that does not parse is left to :func:`expression_problems`.

    Args:
        document: the flow as it runs, plugin defaults included:
            ``flow.model_dump(mode="json", by_alias=True, context=dump_context())`` (its
            ``to_dict()`` leaves out what a task has only from a default).
    """
    from jinja2 import nodes
    from jinja2.exceptions import TemplateSyntaxError

    from .pebble.syntax import CALL, is_template, parse

    found: dict[str, str] = {}

    def visit(value: Any) -> None:
        if isinstance(value, str) and is_template(value):
            try:
                tree = parse(value)
            except TemplateSyntaxError:
                return
            for call in tree.find_all(nodes.Filter):  # a function call: ``op:call`` on the name
                function, args = call.node, call.args
                if (
                    call.name == CALL
                    and isinstance(function, nodes.Const)
                    and function.value == "secret"
                    and len(args) == 1
                ):
                    name = args[0]
                    if isinstance(name, nodes.Const) and isinstance(name.value, str):
                        found.setdefault(name.value.upper(), name.value)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if key not in _NOT_RUN:
                    visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    visit(document)
    return list(found.values())


#: task types that run another flow (Kestra's ``ExecutableTask``s)
_CALLS_A_FLOW = frozenset(
    {
        "io.kestra.plugin.core.flow.Subflow",
        "io.kestra.core.tasks.flows.Subflow",
        "io.kestra.core.tasks.flows.Flow",
        "io.kestra.plugin.core.flow.ForEachItem",
        "io.kestra.core.tasks.flows.ForEachItem",
    }
)
#: finds a flow's document by namespace and id (``None`` when it is not known)
FlowFinder = Callable[[str, str], Mapping[str, Any] | None]


def _called_flows(value: Any) -> list[str]:
    """``namespace.flowId`` of every task in ``value`` that runs a flow named without an expression."""
    found: list[str] = []
    if isinstance(value, Mapping):
        if value.get("type") in _CALLS_A_FLOW:
            namespace, flow_id = value.get("namespace"), value.get("flowId")
            if isinstance(namespace, str) and isinstance(flow_id, str) and "{" not in namespace + flow_id:
                found.append(f"{namespace}.{flow_id}")
        for key, item in value.items():
            if key not in ("triggers", "pluginDefaults", "taskDefaults"):
                found += _called_flows(item)
    elif isinstance(value, list):
        for item in value:
            found += _called_flows(item)
    return found


def recursion_problems(document: Mapping[str, Any], find: FlowFinder | None = None) -> list[str]:
    """A flow that runs itself, as Kestra's ``FlowValidator`` refuses it at save ("Recursive call to
    flow [namespace.id]", any ``ExecutableTask``: ``Subflow``, ``ForEachItem``); with ``find``, also
    through the flows it runs (the SDK's addition: Kestra saves each flow alone and cannot see it).
    A flow named by an expression is known only at run time, where
    :data:`~kestra_airflow_sdk.flows.limits.MAX_SUBFLOW_DEPTH` stops it.

    Args:
        document: the flow's document (``Flow.to_dict()`` or the YAML's data).
        find: the documents of the other flows, by namespace and id.
    """
    root = f"{document.get('namespace')}.{document.get('id')}"
    problems: list[str] = []
    if root in _called_flows(document):
        problems.append(f"tasks: recursive call to flow [{root}]: a flow cannot run itself as a subflow")
    if find is None:
        return problems
    seen = {root}
    paths = [[root, name] for name in dict.fromkeys(_called_flows(document)) if name != root]
    while paths:
        path = paths.pop()
        if path[-1] in seen:
            continue
        seen.add(path[-1])
        namespace, _, flow_id = path[-1].rpartition(".")
        child = find(namespace, flow_id)
        for name in dict.fromkeys(_called_flows(child) if child is not None else []):
            if name == root:
                chain = " -> ".join([*path, root])
                problems.append(f"tasks: recursive call to flow [{root}] through other flows: {chain}")
            else:
                paths.append([*path, name])
    return problems
