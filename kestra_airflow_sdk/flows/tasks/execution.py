"""Kestra's tasks that act on the running execution: ``execution.Labels``, ``execution.SetVariables``,
``execution.UnsetVariables``, ``execution.Assert``, and ``log.Fetch`` (the execution's own logs).

Property names and defaults are Kestra's (kestra-io/kestra ``core/.../plugin/core/execution/Labels.java``,
``SetVariables.java``, ``UnsetVariables.java``, ``Assert.java``, ``plugin/core/log/Fetch.java``); the
legacy ``io.kestra.core.tasks.*`` names are read too.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..registry import register
from ..task import Task

__all__ = ["Assert", "FetchLogs", "Labels", "SetVariables", "UnsetVariables"]


@register("io.kestra.plugin.core.execution.Labels", "io.kestra.core.tasks.executions.Labels")
class Labels(Task):
    """Add labels to the execution, or overwrite those it has (``{{ labels.<key> }}`` after it):
    ``labels`` is a ``key: value`` map, a list of ``{key, value}`` or an expression rendering to a
    JSON map. A ``system.*`` label fails the task (only Kestra sets those)."""

    labels: dict[str, Any] | list[dict[str, Any]] | str


@register("io.kestra.plugin.core.execution.SetVariables")
class SetVariables(Task):
    """Merge the rendered ``variables`` map into the execution's variables (``{{ vars.<name> }}``
    after it; nested maps are merged deeply). With ``overwrite: false`` a variable that exists fails
    the task."""

    variables: dict[str, Any] | str
    overwrite: bool | str = True


@register("io.kestra.plugin.core.execution.UnsetVariables")
class UnsetVariables(Task):
    """Remove ``variables`` (names; ``a.b`` for a nested one) from the execution's variables. A
    missing one fails the task unless ``ignoreMissing``."""

    variables: list[str] | str
    ignore_missing: bool | str = False


@register("io.kestra.plugin.core.execution.Assert")
class Assert(Task):
    """Render every one of ``conditions``: each that is falsy (``false``, ``0``, ``-0``, empty, null)
    or cannot be rendered is an ERROR log line; if any, the task fails with ``N assertion(s)
    failed!`` and ``errorMessage``. Metrics ``success`` and ``failed`` count them."""

    conditions: list[str | bool | int | float | None] = Field(min_length=1)
    error_message: str | None = None


@register("io.kestra.plugin.core.log.Fetch", "io.kestra.core.tasks.log.Fetch")
class FetchLogs(Task):
    """Write the execution's log lines of ``level`` (default INFO) and above, of ``tasksId`` only
    when given, one row each, to a file: outputs ``size`` (the number of lines) and ``uri``."""

    namespace: str | None = None
    flow_id: str | None = None
    execution_id: str | None = None
    tasks_id: list[str] | str | None = None
    #: TRACE, DEBUG, INFO, WARN or ERROR (or an expression rendering to one)
    level: str = "INFO"
