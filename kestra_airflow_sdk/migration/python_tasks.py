"""A Python callable of a DAG (``PythonOperator``, ``@task``, branches) as the text of a Kestra
``io.kestra.plugin.scripts.python.Script``.

The script carries the function's source as written, what it uses from its module (imports other
than Airflow's, module-level constants and helper functions), and its call with the task's
arguments. Upstream return values (XComArgs passed as arguments, ``ti.xcom_pull(task_ids=...)``)
become ``{{ outputs.<task>.vars.return_value }}`` expressions, rendered as JSON by Kestra before the
script runs. The function's return value is printed as Kestra's output line
``::{"outputs": {"return_value": ...}}::``, so later tasks read it as ``outputs.<task>.vars.return_value``.
A mapped task's return value is the list of its iterations' (a Loop's ``outputs``, by map index);
one iteration of a mapped task reads its item at ``_kas_index``, Kestra's ``{{ item.index }}``.

What a function reads of Airflow's context is given when the translation is faithful: ``params``
(the flow's inputs), ``ti``/``task_instance`` (only ``xcom_pull`` of upstream return values,
``try_number`` and ``map_index``) and
``dag_run`` (only ``conf``). Anything else (``ds``, ``logical_date``, Airflow imports, hooks,
connections) makes the task untranslatable, and the reason names it.
"""

from __future__ import annotations

import ast
import builtins
import copy as _copy
import textwrap
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from .dag_source import DagSource
from .mapping import INDEX
from .templates import Untranslatable, has_template, kestra_task_id

__all__ = ["CONTEXT_KEYS", "PythonCall", "python_script"]

#: the Airflow context values a translated function may receive
CONTEXT_KEYS = ("params", "ti", "task_instance", "dag_run")
_AIRFLOW_CONTEXT = {
    "ds", "ds_nodash", "ts", "ts_nodash", "logical_date", "execution_date", "data_interval_start",
    "data_interval_end", "run_id", "dag", "task", "macros", "conf", "var", "conn", "prev_ds",
    "next_ds", "test_mode", "inlets", "outlets", "triggering_dataset_events", "triggering_asset_events",
    "inlet_events", "outlet_events", "task_state_store", "expanded_ti_count", "map_index_template",
}  # fmt: skip
_BUILTINS = set(dir(builtins))


@dataclass
class PythonCall:
    """One call of a DAG function as a task: positional and keyword arguments (syntax trees)."""

    function: ast.FunctionDef
    args: list[ast.expr] = field(default_factory=list)
    kwargs: dict[str, ast.expr] = field(default_factory=dict)
    #: one iteration of a mapped task: its arguments may read ``_kas_index`` (the map index)
    mapped: bool = False


@dataclass
class ScriptText:
    """The script of the task and what it reads: upstream tasks, the flow's params, the run's conf."""

    script: str
    pulled: list[str]
    #: it reads Airflow's context (params, the run's conf): the flow needs the ``conf`` input
    uses_context: bool


def _bound_names(function: ast.FunctionDef) -> set[str]:
    names = {function.name}
    for node in ast.walk(function):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name.split(".")[0]) for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _walk(node: ast.AST) -> list[ast.AST]:
    """Every node of ``node``; of a function, not its decorators (the script does not apply them)."""
    if isinstance(node, ast.FunctionDef):
        parts: list[ast.AST] = [*node.body, node.args]
        if node.returns is not None:
            parts.append(node.returns)
        return [child for part in parts for child in ast.walk(part)]
    return list(ast.walk(node))


def _free_names(node: ast.AST, bound: set[str]) -> list[str]:
    seen: list[str] = []
    for child in _walk(node):
        loaded = isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load)
        if loaded and child.id not in bound and child.id not in _BUILTINS and child.id not in seen:  # type: ignore[attr-defined]
            seen.append(child.id)  # type: ignore[attr-defined]
    return seen


def _is_airflow(statement: ast.Import | ast.ImportFrom) -> bool:
    modules = (
        [statement.module or ""]
        if isinstance(statement, ast.ImportFrom)
        else [a.name for a in statement.names]
    )
    return any(m == "airflow" or m.startswith("airflow.") for m in modules)


def _function_text(source: DagSource, function: ast.FunctionDef) -> str:
    lines = source.text.splitlines()[function.lineno - 1 : function.end_lineno]
    return textwrap.dedent("\n".join(lines))


def _xcom_pulls(function: ast.FunctionDef) -> list[str]:
    pulled: list[str] = []
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "xcom_pull"
        ):
            keywords = {k.arg: k.value for k in node.keywords if k.arg}
            target = keywords.get("task_ids", node.args[0] if node.args else None)
            key = keywords.get("key")
            task_id = target.value if isinstance(target, ast.Constant) else None
            if not isinstance(task_id, str):
                raise Untranslatable(
                    f"{function.name}() pulls XCom with task_ids that are not one literal task id "
                    f"(line {node.lineno})"
                )
            if key is not None and not (isinstance(key, ast.Constant) and key.value == "return_value"):
                raise Untranslatable(
                    f"{function.name}() pulls an XCom other than a return value (line {node.lineno})"
                )
            if task_id not in pulled:
                pulled.append(task_id)
    return pulled


#: what a translated function may read of the context objects it receives
_CONTEXT_ATTRIBUTES = {
    "ti": {"xcom_pull", "try_number", "map_index"},
    "task_instance": {"xcom_pull", "try_number", "map_index"},
    "dag_run": {"conf"},
}


def _context_reads(function: ast.FunctionDef) -> None:
    """Untranslatable when the function reads what the context stubs do not give (``dag_run.run_id`` ...)."""
    for node in _walk(function):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            allowed = _CONTEXT_ATTRIBUTES.get(node.value.id)
            if allowed is not None and node.attr not in allowed:
                raise Untranslatable(
                    f"{function.name}() reads {node.value.id}.{node.attr}, which has no Kestra equivalent"
                )


def _module_support(
    source: DagSource, function: ast.FunctionDef
) -> tuple[list[str], list[str], list[ast.FunctionDef]]:
    """(import lines, definitions, helper functions) the function needs from its module, or
    Untranslatable."""
    imports: list[str] = []
    definitions: list[str] = []
    helpers: list[ast.FunctionDef] = []
    pending = [function]
    done = {function.name}
    while pending:
        current = pending.pop()
        for name in _free_names(current, _bound_names(current)):
            if name in source.imports:
                statement = source.imports[name]
                if _is_airflow(statement):
                    raise Untranslatable(f"{function.name}() uses {name!r}, imported from Airflow")
                line = source.code(statement)
                if line not in imports:
                    imports.append(line)
            elif name in source.functions and name not in done:
                done.add(name)
                pending.append(source.functions[name])
                helpers.append(source.functions[name])
                definitions.append(_function_text(source, source.functions[name]))
            elif name in source.assignments and name not in done:
                done.add(name)
                assignment = source.assignments[name]
                for used in _free_names(assignment.value, set()):
                    needed = source.imports.get(used)
                    if needed is None or _is_airflow(needed):
                        raise Untranslatable(
                            f"{function.name}() uses {name!r}, computed from {used!r} in the DAG file"
                        )
                    if source.code(needed) not in imports:
                        imports.append(source.code(needed))
                definitions.insert(0, source.code(assignment))
            elif name not in done:
                raise Untranslatable(f"{function.name}() uses {name!r}, which is not defined in its module")
    for text in definitions:
        if has_template(text):
            raise Untranslatable("a helper's source holds '{{' or '{%', which Kestra would render")
    return imports, definitions, helpers


class _XComArgs:
    """Copies of argument trees where upstream results (XComArgs) read ``_kas_xcom[<task id>]``."""

    def __init__(self, source: DagSource) -> None:
        self.source = source
        self.pulled: list[str] = []

    def rewrite(self, node: ast.AST) -> ast.AST:
        if isinstance(node, (ast.Name, ast.Call)):
            task_id = self.source.task_of(node)
            if task_id is not None:
                if task_id not in self.pulled:
                    self.pulled.append(task_id)
                return ast.Subscript(ast.Name("_kas_xcom", ast.Load()), ast.Constant(task_id), ast.Load())
        copy = _copy.copy(node)
        for name, value in ast.iter_fields(node):
            if isinstance(value, list):
                value = [self.rewrite(v) if isinstance(v, ast.AST) else v for v in value]
            elif isinstance(value, ast.AST):
                value = self.rewrite(value)
            setattr(copy, name, value)
        return copy


def _argument(source: DagSource, node: ast.expr, xcom: _XComArgs, index: bool) -> str:
    rewritten = xcom.rewrite(node)
    leftover = _free_names(rewritten, {"_kas_xcom", INDEX} if index else {"_kas_xcom"})
    if leftover:
        raise Untranslatable(
            f"an argument uses {leftover[0]!r}, computed in the DAG file: {source.code(node)}"
        )
    for child in ast.walk(rewritten):
        if isinstance(child, ast.Constant) and isinstance(child.value, str) and has_template(child.value):
            raise Untranslatable(f"an argument is an Airflow template: {source.code(node)}")
        if isinstance(child, (ast.Call, ast.Lambda)):
            raise Untranslatable(f"an argument is computed in the DAG file: {source.code(node)}")
    return ast.unparse(rewritten)


def _json(pebble: str) -> str:
    """Python code for the JSON value of a Pebble expression, safe for any value (quoted twice)."""
    return f"_kas_json.loads({{{{ {pebble} | toJson | toJson }}}})"


def _upstream_value(task_id: str, mapped: Collection[str]) -> str:
    """Python code for the return value of upstream task ``task_id``; of a mapped one, the list of
    its iterations' return values in map-index order (Kestra lists them as they ended)."""
    if task_id not in mapped:
        return _json(f"outputs.{kestra_task_id(task_id)}.vars.return_value")
    entries = _json(f"outputs.{kestra_task_id(task_id)}.outputs | default([])")
    return (
        "[_e['outputs'].get('return_value') for _e in "
        f"sorted({entries}, key=lambda _e: _e['item']['iteration'])]"
    )


def python_script(
    source: DagSource,
    call: PythonCall,
    *,
    params: Iterable[str],
    ancestors: set[str],
    mapped: Collection[str] = (),
) -> ScriptText:
    """The text of the Script task for ``call`` (see the module doc); ``params``: the DAG's params
    (the flow's inputs); ``ancestors``: the tasks upstream of this one, the only ones it may read;
    ``mapped``: the DAG's mapped tasks (their return value is the list of their items')."""
    function = call.function
    if isinstance(function, ast.AsyncFunctionDef):  # pragma: no cover - the reader keeps FunctionDef only
        raise Untranslatable(f"{function.name}() is a coroutine")
    text = _function_text(source, function)
    if has_template(text):
        raise Untranslatable(
            f"the source of {function.name}() holds '{{{{' or '{{%', which Kestra would render"
        )
    imports, definitions, helpers = _module_support(source, function)
    for used in (function, *helpers):
        _context_reads(used)
    xcom = _XComArgs(source)
    arguments = [_argument(source, arg, xcom, call.mapped) for arg in call.args]
    arguments += [
        f"{name}={_argument(source, value, xcom, call.mapped)}" for name, value in call.kwargs.items()
    ]
    pulled = list(xcom.pulled)
    for helper in (function, *helpers):
        pulled += [t for t in _xcom_pulls(helper) if t not in pulled]
    for task_id in pulled:
        if task_id not in ancestors:
            raise Untranslatable(
                f"{function.name}() reads the return value of {task_id!r}, which is not upstream"
            )
    names = [a.arg for a in (*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs)]
    given = set(call.kwargs) | set(names[: len(call.args)])
    context = [n for n in names if n not in given and n in CONTEXT_KEYS]
    for name in names:
        if name not in given and name in _AIRFLOW_CONTEXT:
            raise Untranslatable(f"{function.name}() reads the Airflow context value {name!r}")
    everything = function.args.kwarg is not None
    if everything:
        context = list(CONTEXT_KEYS)
    parameters = sorted(params)
    lines = ["import json as _kas_json", *imports, ""]
    if call.mapped:
        lines += [f"{INDEX} = {{{{ item.index }}}}  # the Airflow map index", ""]
    for block in (*definitions, text):
        lines += [block, "", ""]
    if pulled or context:
        lines.append(
            "_kas_xcom = {" + ", ".join(f"{t!r}: {_upstream_value(t, mapped)}" for t in pulled) + "}"
        )
    if context:
        lines += [
            "",
            "class _KasTaskInstance:",
            '    """What the task reads of its Airflow task instance: upstream return values, its try."""',
            "",
            "    try_number = {{ taskrun.attemptsCount }} + 1",
            f"    map_index = {INDEX if call.mapped else -1}",
            "",
            "    def xcom_pull(self, task_ids=None, key='return_value', **_ignored):",
            "        return _kas_xcom.get(task_ids)",
            "",
            "",
            "class _KasDagRun:",
            '    """What the task reads of its Airflow DAG run: its conf."""',
            "",
            f"    conf = {_json('inputs.conf')}",
            "",
            "",
            "_kas_params = {" + ", ".join(f"{p!r}: {_json(f'inputs.{p}')}" for p in parameters) + "}",
            "_kas_context = {'params': _kas_params, 'ti': _KasTaskInstance(), "
            "'task_instance': _KasTaskInstance(), 'dag_run': _KasDagRun()}",
        ]
        arguments += [f"{name}=_kas_context[{name!r}]" for name in context if not everything]
        if everything:
            arguments.append(
                "**{k: v for k, v in _kas_context.items() if k not in " + repr(sorted(given)) + "}"
            )
    lines += [
        f"_kas_result = {function.name}({', '.join(arguments)})",
        'print("::" + _kas_json.dumps({"outputs": {"return_value": _kas_result}}) + "::")',
    ]
    return ScriptText("\n".join(lines) + "\n", pulled, uses_context=bool(context))
