"""Dynamic task mapping (``.partial(...).expand(...)``) as Kestra 2.0's ``io.kestra.plugin.core.flow.Loop``.

Airflow runs a mapped task once per item of the list it expands (map index 0, 1, ...); Kestra's
``Loop`` runs its tasks once per item of ``values`` (``{{ item.index }}`` from 0, in the same order),
each iteration in its own sub-execution. The translation keeps the two aligned on the index: an
iteration's task reads the Airflow item at ``item.index``, so map index *i* is iteration *i*.

* ``values``: a literal list is written as it is when Kestra can iterate over it without changing it
  (strings and numbers, no duplicates: a Loop drops duplicate values, and renders strings), else as
  its indexes; an upstream task's list as the indexes of that list, computed when the loop starts
  (``range(0, length - 1)``), so duplicates in it are kept.
* the iteration's return value is the loop's declared output ``return_value`` (``exitCode`` for a
  command, whose return value is its last line of output), collected by Kestra in
  ``outputs.<loop>.outputs`` as ``{item: {value, iteration}, outputs}``; a task downstream reads them
  sorted by iteration, as Airflow's lazy list of the mapped return values is ordered by map index.

What Airflow computes at run time from more than one argument is not translated, and
:class:`~.templates.Untranslatable` says which: ``expand_kwargs``, more than one expanded argument
(a cross product), ``.zip()``/``.map()`` of XComArgs, a mapped task group, a list computed in the DAG
file.
"""

from __future__ import annotations

import ast
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from ..flows.task import Task
from ..flows.tasks.flowable import Loop, LoopOutput
from .dag_source import DagSource, SourceTask
from .templates import Untranslatable, has_template, kestra_task_id

__all__ = ["INDEX", "Expansion", "loop_for", "mapped_values", "read_expansion"]

#: the name the iteration's script gives Kestra's ``{{ item.index }}`` (the Airflow map index)
INDEX = "_kas_index"


@dataclass(frozen=True)
class Expansion:
    """What a mapped task expands: the argument, and a literal list or an upstream task's list."""

    argument: str
    #: the syntax tree of the expanded value (a literal list, or the upstream task's XComArg)
    node: ast.expr
    #: the items of a literal list; None when the list is an upstream task's return value
    items: list[Any] | None = None
    #: the task whose return value (a list) is expanded
    upstream: str | None = None

    def item(self) -> ast.expr:
        """The syntax tree of one item: the expanded value at the map index."""
        return ast.Subscript(self.node, ast.Name(INDEX, ast.Load()), ast.Load())


def read_expansion(
    task: SourceTask, source: DagSource, *, ancestors: Collection[str], python_tasks: Collection[str]
) -> Expansion:
    """The one argument ``task``'s ``.expand(...)`` maps over, or :class:`Untranslatable` with why."""
    call = task.expand
    assert call is not None and isinstance(call.func, ast.Attribute)
    if call.func.attr == "expand_kwargs":
        raise Untranslatable(
            "it is mapped with expand_kwargs (a list of argument sets): only .expand over one argument "
            "is translated"
        )
    if call.args or any(k.arg is None for k in call.keywords):
        raise Untranslatable("its .expand(...) unpacks arguments computed in the DAG file")
    if len(call.keywords) != 1:
        names = ", ".join(str(k.arg) for k in call.keywords)
        raise Untranslatable(
            f"it expands {len(call.keywords)} arguments ({names}): Airflow maps over their cross product, "
            "which is not translated (only one expanded argument is)"
        )
    argument, node = str(call.keywords[0].arg), call.keywords[0].value
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("zip", "map", "concat")
    ):
        raise Untranslatable(
            f"it expands {argument}={source.code(node)}: .{node.func.attr}() of an XComArg is computed by "
            "Airflow at run time, which is not translated"
        )
    upstream = source.task_of(node)
    if upstream is not None:
        if upstream not in ancestors:
            raise Untranslatable(f"it expands the return value of {upstream!r}, which is not upstream")
        if upstream not in python_tasks:
            raise Untranslatable(f"it expands the return value of {upstream!r}, which is not a Python task")
        return Expansion(argument, node, upstream=upstream)
    if isinstance(node, ast.Dict):
        raise Untranslatable(
            f"it expands {argument} over a dict (Airflow maps its (key, value) pairs), which is not translated"
        )
    try:
        items = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise Untranslatable(
            f"it expands {argument}={source.code(node)}, a value computed in the DAG file"
        ) from None
    if not isinstance(items, (list, tuple)):
        raise Untranslatable(f"it expands {argument} over a {type(items).__name__}, not a list")
    if not items:
        raise Untranslatable(
            f"it expands {argument} over an empty list: Airflow skips the task, a Loop would run none "
            "and go on"
        )
    return Expansion(argument, node, items=list(items))


def _as_values(items: list[Any]) -> bool:
    """True when Kestra's Loop can iterate over ``items`` as written: strings and numbers, no
    template, no two with the same text (a Loop drops duplicates)."""
    if not all(isinstance(i, (str, int, float)) and not isinstance(i, bool) for i in items):
        return False
    if any(isinstance(i, str) and has_template(i) for i in items):
        return False
    return len({str(i) for i in items}) == len(items)


def mapped_values(expansion: Expansion, mapped: Collection[str]) -> str | list[Any]:
    """The Loop's ``values`` for ``expansion`` (``mapped``: the ids of the DAG's mapped tasks)."""
    if expansion.items is not None:
        return list(expansion.items) if _as_values(expansion.items) else list(range(len(expansion.items)))
    assert expansion.upstream is not None
    upstream = kestra_task_id(expansion.upstream)
    listed = (
        f"outputs.{upstream}.outputs | default([])"
        if expansion.upstream in mapped
        else f"outputs.{upstream}.vars.return_value"
    )
    return f"{{{{ range(0, ({listed} | length) - 1) | toJson }}}}"


def loop_for(
    task_id: str, inner: Task, expansion: Expansion, mapped: Collection[str], concurrency: int = 0
) -> Loop:
    """The Loop running ``inner`` (the Kestra task of one map index) once per item; it declares the
    iteration's ``return_value`` (a script's) or ``exitCode`` (a command's) as its outputs."""
    if inner.type == "io.kestra.plugin.scripts.shell.Commands":
        output = LoopOutput(
            id="exitCode", type="INT", value=f"{{{{ outputs.{inner.id}.exitCode }}}}", required=False
        )
    else:
        output = LoopOutput(
            id="return_value",
            type="JSON",
            value=f"{{{{ outputs.{inner.id}.vars.return_value | toJson }}}}",
            required=False,
        )
    return Loop(
        id=kestra_task_id(task_id),
        values=mapped_values(expansion, mapped),
        concurrency_limit=concurrency,
        outputs=[output],
        tasks=[inner],
    )
