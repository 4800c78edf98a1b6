"""A DAG file read statically with :mod:`ast`: where each task of one DAG is defined, never running it.

The SDK never imports or executes DAG code. It finds, in the source text Airflow serves
(``/dagSources``), the body of the DAG (a ``with DAG(dag_id=...)`` block or a ``@dag`` function;
the whole module when neither names the DAG literally), and in it:

* operator calls with a literal ``task_id`` (``BashOperator(task_id="load", ...)``): their keyword
  arguments as syntax trees;
* ``@task``-decorated functions (``@task``, ``@task(...)``, ``@task.branch``, ...) and each call of
  them, with the task id Airflow gives that call (the decorator's ``task_id`` or the function's name,
  ``name__1``, ``name__2`` ... for later calls; ``fn.override(task_id=...)(...)``);
* which variables hold which task's result, so that a task's arguments that are upstream results
  (XComArgs) can be told from literals;
* the module's functions, imports and assignments, so that a Python callable can be carried with
  what it uses.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DagSource", "SourceTask", "read_dag_source"]


@dataclass(frozen=True)
class SourceTask:
    """Where one task is defined in the DAG file.

    ``operator`` is the operator's class name (``"BashOperator"``) or, for a TaskFlow task, the
    decorator (``"@task"``, ``"@task.branch"``). ``kwargs`` are the operator call's keyword arguments
    (for a TaskFlow task: the decorator's). ``function`` is the ``@task`` function; ``call`` the call
    of it that made this task (its arguments are the task's arguments).
    """

    task_id: str
    operator: str
    line: int
    kwargs: dict[str, ast.expr] = field(default_factory=dict)
    function: ast.FunctionDef | None = None
    call: ast.Call | None = None


@dataclass
class DagSource:
    """The statically read DAG file: its tasks, the variables bound to tasks, module-level names."""

    text: str
    tasks: dict[str, SourceTask] = field(default_factory=dict)
    #: variable name → id of the task whose result (XComArg) it holds
    bindings: dict[str, str] = field(default_factory=dict)
    #: every function defined in the file, by name (the last definition wins, as at import)
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    #: module-level ``import`` / ``from ... import`` statements, by the name each binds
    imports: dict[str, ast.Import | ast.ImportFrom] = field(default_factory=dict)
    #: module-level single-name assignments (``LIMIT = 10``), by name
    assignments: dict[str, ast.Assign] = field(default_factory=dict)
    #: task ids defined more than once in the DAG's body (ambiguous without running the code)
    ambiguous: set[str] = field(default_factory=set)
    #: why the file could not be read (a syntax error), else None
    error: str | None = None

    def code(self, node: ast.AST) -> str:
        """The source text of ``node``, as written."""
        return ast.get_source_segment(self.text, node) or ast.unparse(node)

    def task_of(self, node: ast.expr) -> str | None:
        """The id of the task ``node`` stands for (a bound variable or a ``@task`` call), else None."""
        if isinstance(node, ast.Name):
            return self.bindings.get(node.id)
        if isinstance(node, ast.Call):
            for task in self.tasks.values():
                if task.call is node:
                    return task.task_id
        return None


def _literal(node: ast.expr | None) -> Any:
    """The value of a literal expression, or None when it is not one."""
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _name(node: ast.expr) -> str:
    """``BashOperator`` for ``BashOperator`` and ``operators.bash.BashOperator``; ``''`` otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _task_decorator(decorator: ast.expr) -> tuple[str, dict[str, ast.expr]] | None:
    """``("@task.branch", {kwargs})`` for ``@task.branch(...)``; None for any other decorator."""
    call = decorator if isinstance(decorator, ast.Call) else None
    target = call.func if call is not None else decorator
    kwargs = {k.arg: k.value for k in call.keywords if k.arg} if call is not None else {}
    if isinstance(target, ast.Name) and target.id == "task":
        return "@task", kwargs
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "task":
        variant = "@task" if target.attr == "python" else f"@task.{target.attr}"
        return variant, kwargs
    return None


def _dag_body(tree: ast.Module, dag_id: str) -> list[ast.stmt] | None:
    """The statements of the DAG named ``dag_id``: its ``with DAG(...)`` block or ``@dag`` function."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                call = item.context_expr
                if isinstance(call, ast.Call) and _name(call.func).endswith("DAG"):
                    named = {k.arg: k.value for k in call.keywords if k.arg}.get("dag_id")
                    if named is None and call.args:
                        named = call.args[0]
                    if _literal(named) == dag_id:
                        return node.body
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                dag_call = decorator if isinstance(decorator, ast.Call) else None
                if _name(dag_call.func if dag_call is not None else decorator) != "dag":
                    continue
                named = (
                    {k.arg: k.value for k in dag_call.keywords if k.arg}.get("dag_id") if dag_call else None
                )
                if (_literal(named) if named is not None else node.name) == dag_id:
                    return node.body
    return None


def _module_names(source: DagSource, tree: ast.Module) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            source.functions[node.name] = node
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for alias in stmt.names:
                bound = alias.asname or alias.name.split(".")[0]
                source.imports[bound] = stmt
        elif (
            isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
        ):
            source.assignments[stmt.targets[0].id] = stmt


def _taskflow_functions(body: list[ast.stmt]) -> dict[str, tuple[ast.FunctionDef, str, dict[str, ast.expr]]]:
    found = {}
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.FunctionDef):
                for decorator in node.decorator_list:
                    parsed = _task_decorator(decorator)
                    if parsed is not None:
                        found[node.name] = (node, *parsed)
    return found


def _add(source: DagSource, task: SourceTask) -> None:
    if task.task_id in source.tasks:
        source.ambiguous.add(task.task_id)
    source.tasks[task.task_id] = task


def read_dag_source(text: str, dag_id: str) -> DagSource:
    """Read the tasks of DAG ``dag_id`` from the text of its file, statically (see the module doc).

    A file that does not parse gives a :class:`DagSource` whose ``error`` says why and has no tasks.
    """
    source = DagSource(text=text)
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        source.error = f"the DAG file does not parse: {exc.msg} (line {exc.lineno})"
        return source
    _module_names(source, tree)
    body = _dag_body(tree, dag_id) or tree.body
    flows = _taskflow_functions(tree.body)
    calls_per_function: dict[str, int] = {}
    produced: dict[int, str] = {}  # id(call node) → task id
    for stmt in body:
        for node in ast.walk(stmt):
            if not isinstance(node, ast.Call):
                continue
            kwargs = {k.arg: k.value for k in node.keywords if k.arg}
            func = node.func
            override: dict[str, ast.expr] = {}
            if (
                isinstance(func, ast.Call)
                and isinstance(func.func, ast.Attribute)
                and func.func.attr == "override"
            ):
                override = {k.arg: k.value for k in func.keywords if k.arg}
                func = func.func.value
            name = _name(func)
            if isinstance(func, ast.Name) and name in flows:
                function, decorator, decorator_kwargs = flows[name]
                options = {**decorator_kwargs, **override}
                explicit = _literal(options.get("task_id"))
                base = explicit if isinstance(explicit, str) else name
                count = calls_per_function.get(base, 0)
                calls_per_function[base] = count + 1
                task_id = base if count == 0 else f"{base}__{count}"
                _add(source, SourceTask(task_id, decorator, node.lineno, options, function, node))
                produced[id(node)] = task_id
            elif name.endswith(("Operator", "Sensor")) and isinstance(_literal(kwargs.get("task_id")), str):
                task_id = _literal(kwargs["task_id"])
                _add(source, SourceTask(task_id, name, node.lineno, kwargs))
                produced[id(node)] = task_id
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Assign) and id(node.value) in produced:
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        source.bindings[target.id] = produced[id(node.value)]
    return source
