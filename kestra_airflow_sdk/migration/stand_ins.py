"""Plugin tasks as recording stand-ins, for an upgrade check of flows that use them.

The local runner runs Kestra's core tasks, scripts, HTTP, KV and files, and ``TriggerDagRun``; a
flow with a plugin task (Airbyte, PostgreSQL, Git, an AI model, ...) cannot run here. What a Kestra
1.3 → 2.0 upgrade changes around such a task is the flow's control (``ForEach`` → ``Loop``) and the
properties it gets (``pluginDefaults`` inlined, expressions rewritten), not the plugin. So
:func:`~kestra_airflow_sdk.migration.equivalence.check_equivalence` can run both flows with every
plugin task replaced by a stand-in that:

* renders each of the task's own properties (the ones Kestra's plugin would get, after plugin
  defaults; the common ones such as ``retry`` or ``timeout`` the runner applies as for any task);
  a property that does not render (e.g. it reads an output the plugin would have produced) is
  recorded with the rendering error's first line instead of failing the task;
* writes them as one log line (``stand-in for <type>: {...}``, keys sorted, secrets masked as in
  every log line), so the check's comparison of log lines compares what each plugin task was given,
  in each iteration of a loop;
* produces no outputs and ends SUCCESS (a flow that branches on a plugin's outputs is compared on
  what the stand-in gives: nothing).

The check says which tasks ran as stand-ins (:attr:`Equivalence.stand_ins`): their effects were not
executed, only their inputs compared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from ..flows.errors import FlowError
from ..flows.tasks.runnable import UnknownTask
from ..runner.dispatch import Runnable

if TYPE_CHECKING:
    import httpx

    from ..flows.observer import Observer
    from ..runner.clients import AirflowClients
    from ..runner.dispatch import TaskTable
    from ..runner.executors import TaskContext
    from ..runner.runtime import RunnerRuntime

__all__ = ["STAND_IN_PREFIX", "StandInRuntime", "run_stand_in"]

#: how a stand-in's log line starts
STAND_IN_PREFIX = "stand-in for "


async def run_stand_in(task: UnknownTask, ctx: TaskContext) -> None:
    """One attempt of a plugin task's stand-in: log its rendered properties; no outputs."""
    given: dict[str, Any] = {}
    for key, value in sorted((task.model_extra or {}).items()):
        try:
            given[key] = _plain(ctx.renderer.render(value, key))
        except FlowError as exc:
            given[key] = f"<not rendered: {str(exc).splitlines()[0]}>"
    ctx.log("INFO", f"{STAND_IN_PREFIX}{task.type}: {json.dumps(given, sort_keys=True, default=str)}")


def _plain(value: Any) -> Any:
    """A rendered value as JSON-able data (secrets revealed here, masked by the log line)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class StandInRuntime:
    """A runner runtime that is ``base`` with plugin tasks run by :func:`run_stand_in`."""

    base: RunnerRuntime

    @property
    def tasks(self) -> TaskTable:
        """The base table, and the stand-in for every plugin task type."""
        return self.base.tasks.with_tasks({UnknownTask: Runnable(run_stand_in)})

    @property
    def transport(self) -> httpx.AsyncBaseTransport | None:
        """The base runtime's transport."""
        return self.base.transport

    def airflow_clients(self) -> AirflowClients:
        """The base runtime's Airflow clients."""
        return self.base.airflow_clients()

    def progress_observers(self, progress: Any) -> list[Observer]:
        """The base runtime's progress displays."""
        return self.base.progress_observers(progress)
