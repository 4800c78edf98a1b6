"""One Airflow task as one Kestra task: the operator table of the native migration.

=========================================  ===============================================
Airflow                                    Kestra
=========================================  ===============================================
``BashOperator``                           ``io.kestra.plugin.scripts.shell.Commands``
``PythonOperator``, ``@task``              ``io.kestra.plugin.scripts.python.Script``
``BranchPythonOperator``, ``@task.branch`` ``python.Script`` + ``io.kestra.plugin.core.flow.Switch``
``EmptyOperator`` (``DummyOperator``)      ``io.kestra.plugin.core.log.Log``
``HttpOperator``, ``SimpleHttpOperator``   ``io.kestra.plugin.core.http.Request``
``TriggerDagRunOperator``                  ``Subflow`` (target migrated) or ``TriggerDagRun``
``.partial(...).expand(x=...)`` of         ``io.kestra.plugin.core.flow.Loop`` around the
``@task``, ``PythonOperator``,             task of one map index (:mod:`.mapping`)
``BashOperator``
=========================================  ===============================================

Every translation says what it keeps and what it loses; anything else raises
:class:`~.templates.Untranslatable` with the reason.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..flows.options import HttpOptions
from ..flows.task import Task
from ..flows.tasks.flowable import Subflow
from ..flows.tasks.http import HttpRequest
from ..flows.tasks.runnable import Log
from ..flows.tasks.scripts import PythonScript, ShellCommands
from ..flows.trigger import TriggerDagRun
from .dag_source import DagSource, SourceTask
from .mapping import Expansion, loop_for, read_expansion
from .python_tasks import PythonCall, python_script
from .templates import Untranslatable, has_template, kestra_task_id, rewrite_templates

__all__ = ["BRANCHES", "OPERATORS", "TaskContext", "Translated", "translate_task"]

#: operators (and TaskFlow decorators) whose task chooses the branches that run
BRANCHES = ("BranchPythonOperator", "@task.branch")
_PYTHON = ("PythonOperator", "@task", *BRANCHES)
_EMPTY = ("EmptyOperator", "DummyOperator")
_HTTP = ("HttpOperator", "SimpleHttpOperator")
_TRIGGER = ("TriggerDagRunOperator",)
#: the operator names the table translates
OPERATORS = (*_PYTHON, "BashOperator", *_EMPTY, *_HTTP, *_TRIGGER)


@dataclass
class TaskContext:
    """What translating one task needs besides the task: the DAG file, the DAG's params, the tasks
    upstream of it, the DAGs migrated natively too (a trigger of one becomes a Subflow), and how the
    flow reaches Airflow (for a ``TriggerDagRun``)."""

    source: DagSource
    params: dict[str, Any]
    ancestors: set[str]
    namespace: str
    base_url: str
    options: HttpOptions
    migrated: frozenset[str] = frozenset()
    python_tasks: set[str] = field(default_factory=set)
    #: the DAG's mapped tasks (``.expand``): their return value is the list of their items'
    mapped: frozenset[str] = frozenset()


@dataclass
class Translated:
    """The Kestra task of one Airflow task, what it keeps and loses, and what it reads."""

    task: Task
    kept: str
    lost: str = ""
    #: it reads the run's conf (the flow needs the ``conf`` input)
    uses_conf: bool = False
    #: it chooses branches: a Switch on its return value
    branch: bool = False
    #: tasks whose return values it reads
    pulled: list[str] = field(default_factory=list)


def _literal(source: DagSource, node: ast.expr | None, what: str) -> Any:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise Untranslatable(f"{what} is computed in the DAG file ({source.code(node)})") from None


def _rewrite(text: str, context: TaskContext, reads: Translated) -> str:
    def pulled(task_id: str) -> None:
        if task_id not in context.ancestors:
            raise Untranslatable(f"it reads the return value of {task_id!r}, which is not upstream")
        if task_id not in context.python_tasks:
            raise Untranslatable(f"it reads the return value of {task_id!r}, which is not a Python task")
        if task_id in context.mapped:
            raise Untranslatable(
                f"a template reads the return values of mapped task {task_id!r}, which is not translated"
            )
        reads.pulled.append(task_id)

    def uses_conf() -> None:
        reads.uses_conf = True

    return rewrite_templates(text, pulled=pulled, uses_conf=uses_conf)


def _mapped_command(expansion: Expansion) -> str:
    """The Pebble command of one map index of ``BashOperator.partial(...).expand(bash_command=...)``."""
    if expansion.argument != "bash_command":
        raise Untranslatable(f"it expands {expansion.argument}: only a mapped bash_command is translated")
    if expansion.upstream is not None:
        return f"{{{{ outputs.{kestra_task_id(expansion.upstream)}.vars.return_value[item.index] }}}}"
    items = expansion.items or []
    if not all(isinstance(i, str) and i.strip() for i in items):
        raise Untranslatable("its mapped bash_command values are not all non-empty strings")
    if any(has_template(i) for i in items):
        raise Untranslatable("its mapped bash_command values hold templates, which are not translated")
    if len(set(items)) != len(items):
        raise Untranslatable("its mapped bash_command values repeat: Kestra's Loop drops duplicate values")
    if any(i.strip().endswith((".sh", ".bash")) for i in items):
        raise Untranslatable(
            "a mapped bash_command runs a script file of the DAG folder, which is not carried"
        )
    return "{{ item.value }}"


def _bash(task: SourceTask, context: TaskContext, expansion: Expansion | None = None) -> Translated:
    kwargs = task.kwargs
    if expansion is not None:
        command: Any = _mapped_command(expansion)
    else:
        command = _literal(context.source, kwargs.get("bash_command"), "bash_command")
        if not isinstance(command, str) or not command.strip():
            raise Untranslatable("its bash_command is not a literal string")
        if command.strip().endswith((".sh", ".bash")):
            raise Untranslatable(
                "its bash_command runs a script file of the DAG folder, which is not carried"
            )
    unsupported = sorted(set(kwargs) & {"cwd", "output_encoding", "skip_on_exit_code"})
    if unsupported:
        raise Untranslatable(f"it sets {', '.join(unsupported)}, which Commands has no equivalent for")
    result = Translated(
        ShellCommands(id=kestra_task_id(task.task_id), commands=["placeholder"]), kept="", lost=""
    )
    env = _literal(context.source, kwargs.get("env"), "env")
    if env is not None and not (isinstance(env, dict) and all(isinstance(v, str) for v in env.values())):
        raise Untranslatable("its env is not a literal mapping of strings")
    rendered_env = {str(k): _rewrite(v, context, result) for k, v in (env or {}).items()}
    result.task = ShellCommands(
        id=kestra_task_id(task.task_id),
        commands=[command if expansion is not None else _rewrite(command, context, result)],
        interpreter=["/bin/bash", "-c"],
        fail_fast=False,
        **({"env": rendered_env} if rendered_env else {}),
        task_runner={"type": "io.kestra.plugin.core.runner.Process"},
    )
    result.kept = "the command (run by bash, exit code decides success), env, templates of params/conf/XCom"
    result.lost = "the last line of output as an XCom (Kestra logs it); exit code 99 skipping the task" + (
        "; append_env is implied (Kestra's process inherits the environment)"
        if "append_env" in kwargs
        else ""
    )
    return result


def _mapped_operator_arguments(
    expansion: Expansion, op_args: ast.expr | None, op_kwargs: ast.expr | None
) -> tuple[list[ast.expr], dict[str, ast.expr]]:
    """The call of one map index of ``PythonOperator.partial(...).expand(op_args=[...])`` (or
    ``op_kwargs=[...]``): each argument reads the item at the map index."""
    if expansion.argument not in ("op_args", "op_kwargs"):
        raise Untranslatable(f"it expands {expansion.argument}: only op_args or op_kwargs are translated")
    if expansion.items is None:
        raise Untranslatable(
            f"it expands {expansion.argument} over an upstream result: the arguments of the call are not "
            "known before the run"
        )
    if (op_args if expansion.argument == "op_kwargs" else op_kwargs) is not None:
        raise Untranslatable("it sets op_args and op_kwargs, one of them mapped: not translated")
    item = expansion.item()
    if expansion.argument == "op_args":
        lengths = {len(i) if isinstance(i, (list, tuple)) else -1 for i in expansion.items}
        if len(lengths) != 1 or -1 in lengths:
            raise Untranslatable("its mapped op_args are not lists of one length")
        return [ast.Subscript(item, ast.Constant(n), ast.Load()) for n in range(lengths.pop())], {}
    keys = {tuple(i) if isinstance(i, dict) else None for i in expansion.items}
    if len(keys) != 1 or None in keys or not all(isinstance(k, str) for k in next(iter(keys)) or ()):
        raise Untranslatable("its mapped op_kwargs are not dicts of the same string keys")
    names = next(iter(keys)) or ()
    return [], {str(k): ast.Subscript(item, ast.Constant(k), ast.Load()) for k in names}


def _python(task: SourceTask, context: TaskContext, expansion: Expansion | None = None) -> Translated:
    if task.function is not None:
        assert task.call is not None
        call = PythonCall(
            task.function, list(task.call.args), {k.arg: k.value for k in task.call.keywords if k.arg}
        )
        if expansion is not None:
            call.kwargs[expansion.argument] = expansion.item()
            call.mapped = True
        if any(k.arg is None for k in task.call.keywords) or any(
            isinstance(a, ast.Starred) for a in task.call.args
        ):
            raise Untranslatable("its call unpacks *args or **kwargs computed in the DAG file")
    else:
        callable_node = task.kwargs.get("python_callable")
        if not isinstance(callable_node, ast.Name) or callable_node.id not in context.source.functions:
            raise Untranslatable("its python_callable is not a function defined in the DAG file")
        for unsupported in ("templates_dict", "templates_exts"):
            if unsupported in task.kwargs:
                raise Untranslatable(f"it sets {unsupported}, which is not translated")
        op_args = task.kwargs.get("op_args")
        op_kwargs = task.kwargs.get("op_kwargs")
        if op_args is not None and not isinstance(op_args, (ast.List, ast.Tuple)):
            raise Untranslatable("its op_args are not a literal list")
        if op_kwargs is not None and not (
            isinstance(op_kwargs, ast.Dict) and all(isinstance(k, ast.Constant) for k in op_kwargs.keys)
        ):
            raise Untranslatable("its op_kwargs are not a literal dict")
        call = PythonCall(
            context.source.functions[callable_node.id],
            list(op_args.elts) if isinstance(op_args, (ast.List, ast.Tuple)) else [],
            {
                str(k.value): v
                for k, v in zip(op_kwargs.keys, op_kwargs.values, strict=True)
                if isinstance(k, ast.Constant)
            }
            if isinstance(op_kwargs, ast.Dict)
            else {},
        )
        if expansion is not None:
            call.args, call.kwargs = _mapped_operator_arguments(expansion, op_args, op_kwargs)
            call.mapped = True
    script = python_script(
        context.source, call, params=context.params, ancestors=context.ancestors, mapped=context.mapped
    )
    return Translated(
        PythonScript(
            id=kestra_task_id(task.task_id),
            script=script.script,
            task_runner={"type": "io.kestra.plugin.core.runner.Process"},
        ),
        kept="the function's source and call, its return value (output return_value), upstream return values",
        lost="Airflow's context beyond params, dag_run.conf and xcom_pull of return values; the worker's "
        "installed packages (Kestra needs them in its Python)",
        uses_conf=script.uses_context,
        branch=task.operator in BRANCHES,
        pulled=script.pulled,
    )


def _empty(task: SourceTask, context: TaskContext) -> Translated:
    return Translated(
        Log(
            id=kestra_task_id(task.task_id),
            message=f"{task.task_id}: nothing to do (Airflow {task.operator})",
        ),
        kept="its place in the graph",
        lost="",
    )


def _http(task: SourceTask, context: TaskContext) -> Translated:
    kwargs = task.kwargs
    for unsupported in ("response_check", "response_filter", "pagination_function", "auth_type"):
        if unsupported in kwargs:
            raise Untranslatable(
                f"it sets {unsupported}, a Python callable the Request task has no equivalent for"
            )
    conn_id = _literal(context.source, kwargs.get("http_conn_id"), "http_conn_id") or "http_default"
    endpoint = _literal(context.source, kwargs.get("endpoint"), "endpoint") or ""
    method = _literal(context.source, kwargs.get("method"), "method") or "POST"
    data = _literal(context.source, kwargs.get("data"), "data")
    headers = _literal(context.source, kwargs.get("headers"), "headers")
    result = Translated(Log(id=kestra_task_id(task.task_id), message="-"), kept="", lost="")
    body = data if data is None or isinstance(data, str) else json.dumps(data)
    variable = f"{conn_id}_url".replace("-", "_")
    result.task = HttpRequest(
        id=kestra_task_id(task.task_id),
        uri=f"{{{{ vars.{variable} }}}}/{_rewrite(str(endpoint), context, result).lstrip('/')}",
        method=str(method).upper(),
        body=_rewrite(body, context, result) if isinstance(body, str) else None,
        headers={str(k): str(v) for k, v in headers.items()} if isinstance(headers, dict) else None,
    )
    result.kept = f"method, endpoint, body, headers; the base URL is the flow variable {variable!r}"
    result.lost = f"the Airflow connection {conn_id!r} (set variables.{variable} and its credentials)"
    return result


def _trigger(task: SourceTask, context: TaskContext) -> Translated:
    kwargs = task.kwargs
    target = _literal(context.source, kwargs.get("trigger_dag_id"), "trigger_dag_id")
    if not isinstance(target, str):
        raise Untranslatable("its trigger_dag_id is not a literal string")
    conf = _literal(context.source, kwargs.get("conf"), "conf")
    if conf is not None and (not isinstance(conf, dict) or has_template(json.dumps(conf))):
        raise Untranslatable("its conf is not a literal mapping without templates")
    wait = bool(_literal(context.source, kwargs.get("wait_for_completion"), "wait_for_completion"))
    if target in context.migrated:
        from .generate import flow_id_for

        return Translated(
            Subflow(
                id=kestra_task_id(task.task_id),
                namespace=context.namespace,
                flow_id=flow_id_for(target),
                inputs=conf or None,
                wait=wait,
            ),
            kept=f"the run of {target!r}, migrated natively too (its conf as inputs), waiting or not",
            lost="",
        )
    return Translated(
        TriggerDagRun(
            id=kestra_task_id(task.task_id),
            base_url=context.base_url,
            dag_id=target,
            wait=wait,
            body={"conf": conf or {}},
            options=context.options.model_copy(deep=True),
        ),
        kept=f"the run of Airflow DAG {target!r} with its conf, waiting or not",
        lost="",
    )


_TRANSLATORS: dict[str, Callable[[SourceTask, TaskContext], Translated]] = {
    "BashOperator": _bash,
    **dict.fromkeys(_PYTHON, _python),
    **dict.fromkeys(_EMPTY, _empty),
    **dict.fromkeys(_HTTP, _http),
    **dict.fromkeys(_TRIGGER, _trigger),
}


def translate_task(task_id: str, operator: str, context: TaskContext) -> Translated:
    """The Kestra task for Airflow task ``task_id`` (whose operator REST reports), or
    :class:`Untranslatable` with the reason."""
    found = context.source.tasks.get(task_id)
    if found is None and operator not in _TRANSLATORS:
        raise Untranslatable(f"{operator} is not in the operator table")
    if found is None:
        raise Untranslatable("its definition was not found in the DAG file (built dynamically?)")
    if task_id in context.source.ambiguous:
        raise Untranslatable("the DAG file defines it more than once")
    kind = found.operator if found.operator.startswith("@") else operator
    translator = _TRANSLATORS.get(kind)
    if translator is None:
        raise Untranslatable(f"{kind} is not in the operator table")
    if found.expand is None:
        return translator(found, context)
    return _mapped(found, kind, context)


def _mapped(task: SourceTask, kind: str, context: TaskContext) -> Translated:
    """A mapped task: a Loop around the Kestra task of one map index."""
    if kind not in (*_PYTHON, "BashOperator") or kind in BRANCHES:
        raise Untranslatable(f"it is a mapped {kind}: only @task, PythonOperator and BashOperator are mapped")
    expansion = read_expansion(
        task, context.source, ancestors=context.ancestors, python_tasks=context.python_tasks
    )
    if expansion.upstream is not None and expansion.upstream in context.mapped and kind == "BashOperator":
        raise Untranslatable(
            f"it expands bash_command over mapped task {expansion.upstream!r}: not translated"
        )
    limit = _literal(context.source, task.kwargs.get("max_active_tis_per_dag"), "max_active_tis_per_dag")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise Untranslatable(f"its max_active_tis_per_dag ({limit!r}) is not a positive whole number")
    one = (_bash if kind == "BashOperator" else _python)(task, context, expansion)
    one.task.id = f"{kestra_task_id(task.task_id)}_item"
    if expansion.upstream is not None and expansion.upstream not in one.pulled:
        one.pulled.append(expansion.upstream)
    loop = loop_for(task.task_id, one.task, expansion, context.mapped, concurrency=limit or 0)
    over = (
        f"the items of {expansion.upstream!r}'s return value"
        if expansion.upstream is not None
        else f"the {len(expansion.items or [])} literal items"
    )
    one.task = loop
    one.kept = f"one iteration per map index over {over} ({{{{ item.index }}}} = map_index); " + one.kept
    one.lost = "; ".join(
        filter(
            None,
            [
                one.lost,
                "a failed item stops the items not started yet (Airflow runs every map index)",
                "an empty list skips the task in Airflow, the Loop runs no iteration"
                if expansion.upstream is not None
                else "",
            ],
        )
    )
    return one
