"""A DAG file read statically with :mod:`ast`: where each task of one DAG is defined, never running it.

The SDK never imports or executes DAG code. It finds, in the source text Airflow serves
(``/dagSources``), the body of the DAG (a ``with DAG(dag_id=...)`` block or a ``@dag`` function;
the whole module when neither names the DAG literally), and in it:

* operator calls with a literal ``task_id`` (``BashOperator(task_id="load", ...)``): their keyword
  arguments as syntax trees;
* task groups (``with TaskGroup("section"):``, ``@task_group`` functions and their calls): the ids
  of the tasks inside get the group's prefix, ``section.load``, as Airflow gives them (not with
  ``prefix_group_id=False``); a ``@task_group`` function called again gets ``section__1`` ...;
* ``@task``-decorated functions (``@task``, ``@task(...)``, ``@task.branch``, ...) and each call of
  them, with the task id Airflow gives that call (the decorator's ``task_id`` or the function's name,
  ``name__1``, ``name__2`` ... for later calls; ``fn.override(task_id=...)(...)``); ``@setup`` and
  ``@teardown`` functions are TaskFlow tasks too;
* mapped tasks (``fn.partial(...).expand(...)``, ``BashOperator.partial(task_id=...).expand(...)``,
  ``expand_kwargs``): the ``partial`` arguments as the task's, the ``expand`` call kept apart
  (:mod:`.mapping` translates it); mapped task groups (``group.expand(...)``) by their prefix;
* which variables hold which task's result, so that a task's arguments that are upstream results
  (XComArgs) can be told from literals;
* the module's functions, imports and assignments, so that a Python callable can be carried with
  what it uses.
"""

from __future__ import annotations

import ast
import copy
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
    #: the ``.expand(...)`` / ``.expand_kwargs(...)`` call of a mapped task (``call``: its ``partial``)
    expand: ast.Call | None = None


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
    #: id() of a ``@task_group`` call node → the task whose result the group returns
    group_results: dict[int, str] = field(default_factory=dict)
    #: prefixes (``"group."``) of the task groups mapped with ``.expand`` / ``.expand_kwargs``
    mapped_groups: set[str] = field(default_factory=set)

    def code(self, node: ast.AST) -> str:
        """The source text of ``node``, as written."""
        return ast.get_source_segment(self.text, node) or ast.unparse(node)

    def task_of(self, node: ast.expr) -> str | None:
        """The id of the task ``node`` stands for (a bound variable or a ``@task`` call), else None."""
        if isinstance(node, ast.Name):
            return self.bindings.get(node.id)
        if isinstance(node, ast.Call):
            for task in self.tasks.values():
                if task.call is node or task.expand is node:
                    return task.task_id
            return self.group_results.get(id(node))
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
    if isinstance(target, ast.Name) and target.id in ("task", "setup", "teardown"):
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


def _task_groups(tree: ast.Module) -> dict[str, tuple[ast.FunctionDef, dict[str, ast.expr]]]:
    """``@task_group`` functions by name, with the decorator's keyword arguments."""
    found: dict[str, tuple[ast.FunctionDef, dict[str, ast.expr]]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                call = decorator if isinstance(decorator, ast.Call) else None
                if _name(call.func if call is not None else decorator) == "task_group":
                    kwargs = {k.arg: k.value for k in call.keywords if k.arg} if call is not None else {}
                    if call is not None and call.args and "group_id" not in kwargs:
                        kwargs["group_id"] = call.args[0]
                    found[node.name] = (node, kwargs)
    return found


def _group_prefix(prefix: str, call: ast.Call, default: str | None) -> str | None:
    """The prefix of the tasks inside the group ``call`` opens (None: its id is not literal)."""
    kwargs = {k.arg: k.value for k in call.keywords if k.arg}
    named = kwargs.get("group_id", call.args[0] if call.args else None)
    group_id = _literal(named) if named is not None else default
    if not isinstance(group_id, str):
        return None
    if _literal(kwargs.get("prefix_group_id")) is False:
        return prefix
    return f"{prefix}{group_id}."


class _Arguments(ast.NodeTransformer):
    """A copy of a function body where its parameters read the call's argument expressions."""

    def __init__(self, values: dict[str, ast.expr]) -> None:
        self.values = values

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if isinstance(node.ctx, ast.Load) and node.id in self.values:
            return ast.copy_location(copy.deepcopy(self.values[node.id]), node)
        return node


def _bind_arguments(function: ast.FunctionDef, call: ast.Call) -> list[ast.stmt]:
    """The body of ``@task_group`` function ``function`` as called by ``call``: each parameter read
    is the argument's expression (a literal, an upstream task's result), as Airflow runs it once."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return function.body
    names = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
    values: dict[str, ast.expr] = {}
    positional = [*function.args.posonlyargs, *function.args.args]
    for arg, default in zip(
        positional[len(positional) - len(function.args.defaults) :], function.args.defaults, strict=True
    ):
        values[arg.arg] = default
    for arg, kw_default in zip(function.args.kwonlyargs, function.args.kw_defaults, strict=True):
        if kw_default is not None:
            values[arg.arg] = kw_default
    values.update(zip(names, call.args, strict=False))  # fewer arguments: defaults stay
    values.update({k.arg: k.value for k in call.keywords if k.arg})
    transformer = _Arguments(values)
    return [transformer.visit(copy.deepcopy(stmt)) for stmt in function.body]


class _Reader:
    """Walks the DAG's statements, with the task-group prefix of where each call is."""

    def __init__(
        self,
        source: DagSource,
        flows: dict[str, tuple[ast.FunctionDef, str, dict[str, ast.expr]]],
        groups: dict[str, tuple[ast.FunctionDef, dict[str, ast.expr]]],
    ) -> None:
        self.source, self.flows, self.groups = source, flows, groups
        self.calls: dict[str, int] = {}  # task (or group) id → how many calls made it so far
        self.produced: dict[int, str] = {}  # id(call node) → task id
        self.opened: set[str] = set()  # @task_group functions being read (no recursion)

    def _numbered(self, base: str) -> str:
        count = self.calls.get(base, 0)
        self.calls[base] = count + 1
        return base if count == 0 else f"{base}__{count}"

    def statements(self, body: list[ast.stmt], prefix: str) -> None:
        for stmt in body:
            self.node(stmt, prefix)

    def node(self, node: ast.AST, prefix: str) -> None:
        if isinstance(node, ast.FunctionDef) and (node.name in self.groups or node.name in self.flows):
            return  # read where it is called, with that call's task or group id
        if isinstance(node, (ast.With, ast.AsyncWith)):
            inner = prefix
            for item in node.items:
                self.node(item.context_expr, prefix)
                call = item.context_expr
                if isinstance(call, ast.Call) and _name(call.func) == "TaskGroup":
                    opened = _group_prefix(inner, call, None)
                    inner = opened if opened is not None else inner
            self.statements(node.body, inner)
            return
        for child in ast.iter_child_nodes(node):
            self.node(child, prefix)
        if isinstance(node, ast.Call):
            self.call(node, prefix)
        elif isinstance(node, ast.Assign) and id(node.value) in self.produced:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.source.bindings[target.id] = self.produced[id(node.value)]

    def mapped(self, node: ast.Call, prefix: str) -> None:
        """``<task>.partial(...).expand(...)`` (or ``.expand_kwargs``, without ``partial``)."""
        assert isinstance(node.func, ast.Attribute)
        base: ast.expr = node.func.value
        partial: dict[str, ast.expr] = {}
        partial_call = ast.Call(base, [], [])
        if (
            isinstance(base, ast.Call)
            and isinstance(base.func, ast.Attribute)
            and base.func.attr == "partial"
        ):
            partial_call, partial = base, {k.arg: k.value for k in base.keywords if k.arg}
            base = base.func.value
        override: dict[str, ast.expr] = {}
        if (
            isinstance(base, ast.Call)
            and isinstance(base.func, ast.Attribute)
            and base.func.attr == "override"
        ):
            override = {k.arg: k.value for k in base.keywords if k.arg}
            base = base.func.value
        name = _name(base)
        if isinstance(base, ast.Name) and name in self.flows:
            function, decorator, decorator_kwargs = self.flows[name]
            options = {**decorator_kwargs, **override}
            explicit = _literal(options.get("task_id"))
            task_id = self._numbered(prefix + (explicit if isinstance(explicit, str) else name))
            mapped = SourceTask(task_id, decorator, node.lineno, options, function, partial_call, node)
        elif isinstance(base, ast.Name) and name in self.groups:
            decorator_kwargs = {**self.groups[name][1], **override}
            group = _group_prefix(
                prefix, ast.Call(base, [], [ast.keyword(k, v) for k, v in decorator_kwargs.items()]), name
            )
            if group is not None:
                self.source.mapped_groups.add(group)
            return
        elif name.endswith(("Operator", "Sensor")) and isinstance(_literal(partial.get("task_id")), str):
            task_id = prefix + _literal(partial["task_id"])
            mapped = SourceTask(task_id, name, node.lineno, partial, expand=node)
        else:
            return
        _add(self.source, mapped)
        self.produced[id(node)] = task_id

    def call(self, node: ast.Call, prefix: str) -> None:
        kwargs = {k.arg: k.value for k in node.keywords if k.arg}
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("expand", "expand_kwargs"):
            self.mapped(node, prefix)
            return
        override: dict[str, ast.expr] = {}
        if (
            isinstance(func, ast.Call)
            and isinstance(func.func, ast.Attribute)
            and func.func.attr == "override"
        ):
            override = {k.arg: k.value for k in func.keywords if k.arg}
            func = func.func.value
        name = _name(func)
        if isinstance(func, ast.Name) and name in self.groups and name not in self.opened:
            function, decorator_kwargs = self.groups[name]
            opened = _group_prefix(
                prefix,
                ast.Call(func, [], [ast.keyword(k, v) for k, v in {**decorator_kwargs, **override}.items()]),
                name,
            )
            if opened is None:
                return
            if opened != prefix:
                opened = self._numbered(opened[:-1]) + "."
            body = _bind_arguments(function, node)
            self.opened.add(name)
            self.statements(body, opened)
            self.opened.discard(name)
            for stmt in body:  # the group's call stands for the task its function returns
                if isinstance(stmt, ast.Return) and stmt.value is not None:
                    returned = self.source.task_of(stmt.value) or self.produced.get(id(stmt.value))
                    if returned is not None:
                        self.produced[id(node)] = self.source.group_results[id(node)] = returned
        elif isinstance(func, ast.Name) and name in self.flows:
            function, decorator, decorator_kwargs = self.flows[name]
            options = {**decorator_kwargs, **override}
            explicit = _literal(options.get("task_id"))
            task_id = self._numbered(prefix + (explicit if isinstance(explicit, str) else name))
            _add(self.source, SourceTask(task_id, decorator, node.lineno, options, function, node))
            self.produced[id(node)] = task_id
        elif name.endswith(("Operator", "Sensor")) and isinstance(_literal(kwargs.get("task_id")), str):
            task_id = prefix + _literal(kwargs["task_id"])
            _add(self.source, SourceTask(task_id, name, node.lineno, kwargs))
            self.produced[id(node)] = task_id


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
    _Reader(source, _taskflow_functions(tree.body), _task_groups(tree)).statements(body, "")
    return source
