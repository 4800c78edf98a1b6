"""What a :class:`~kestra_airflow_sdk.flows.Flow` and an :class:`~kestra_airflow_sdk.flows.Execution`
need from the SDK's runtime: running a flow, and showing both in a notebook.

``flows`` holds the pure model (no I/O); the runner, the Kestra client and the displays sit above it
and never get imported from here. They are reached through the runtime the public package installed
(:mod:`kestra_airflow_sdk.installed`): ``Flow.run`` is ``flow_runtime(...).run(...)``, whose code is
:meth:`kestra_airflow_sdk.wiring.Runtime.run`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, cast

from ..installed import installed

if TYPE_CHECKING:
    from .execution import Execution
    from .flow import Flow

__all__ = ["FlowRuntime", "FlowServer", "PreparedRun", "flow_runtime"]


class PreparedRun(Protocol):
    """One execution of a flow, not started yet: what :meth:`Flow.runner` gives (the runner's
    :class:`~kestra_airflow_sdk.runner.FlowRunner`)."""

    #: the execution once started (None before), updated live; also readable after a cancel
    execution: Execution | None

    async def run(self) -> Execution:
        """Run the execution to its end and return it."""
        ...


class FlowServer(Protocol):
    """A server that runs flows itself, for ``Flow.run(on=...)``: a
    :class:`~kestra_airflow_sdk.kestra.KestraServer`."""

    @property
    def deploy(self) -> Callable[..., Any]:
        """Deploy (upsert) flows there."""
        ...

    @property
    def run(self) -> Callable[..., Execution]:
        """Start an execution there and follow it to its end."""
        ...


class FlowRuntime(Protocol):
    """The part of the SDK's runtime (:class:`kestra_airflow_sdk.wiring.Runtime`) flows use."""

    def runner(self, flow: Flow, **options: Any) -> PreparedRun:
        """``Flow.runner``: one execution of ``flow`` (``inputs=``, ``secrets=``, ``labels=`` and the
        run options), not started yet."""
        ...

    def run(
        self,
        flow: Flow,
        inputs: Mapping[str, Any] | None,
        secrets: Mapping[str, str] | None,
        labels: Mapping[str, str] | None,
        on: FlowServer | None,
        options: Mapping[str, Any],
    ) -> Execution:
        """``Flow.run``: run ``flow`` to its end, blocking, on the Kestra server ``on`` or locally."""
        ...

    def flow_html(self, flow: Flow) -> str:
        """The flow shown in a notebook."""
        ...

    def execution_html(self, execution: Execution) -> str:
        """The execution shown in a notebook."""
        ...


def flow_runtime(needed_by: str) -> FlowRuntime:
    """The installed runtime, as what runs and shows flows (``needed_by``: what asks, for the error)."""
    return cast("FlowRuntime", installed(needed_by))
