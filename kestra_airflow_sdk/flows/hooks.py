"""What a :class:`~kestra_airflow_sdk.flows.Flow` does that only the layers above it can do.

``flows`` holds the pure model (no I/O); the runner, the Kestra client and the displays sit above it
and never get imported from here. The SDK's public package (``kestra_airflow_sdk/__init__.py``, which
Python always imports before any subpackage) supplies the behaviour once, with
:func:`install_flow_behaviour`; ``Flow.run`` / ``Flow.arun`` / ``Flow.runner`` / ``Flow._repr_html_``
call it through :func:`flow_behaviour`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .execution import Execution
    from .flow import Flow

__all__ = ["FlowBehaviour", "FlowServer", "PreparedRun", "flow_behaviour", "install_flow_behaviour"]


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


@dataclass(frozen=True)
class FlowBehaviour:
    """The higher layers' part of a flow."""

    #: ``runner(flow, inputs=, secrets=, labels=, **options)``: one execution, not started yet
    runner: Callable[..., PreparedRun]
    #: ``run(flow, inputs, secrets, labels, on, options)``: run it to its end, blocking (``on``: a
    #: Kestra server, or None for the local runner)
    run: Callable[..., Execution]
    #: ``html(flow)``: the flow shown in a notebook
    html: Callable[[Flow], str]


_installed: list[FlowBehaviour] = []


def install_flow_behaviour(behaviour: FlowBehaviour) -> None:
    """Supply how flows run and show themselves (called by the SDK's public package on import)."""
    _installed[:] = [behaviour]


def flow_behaviour() -> FlowBehaviour:
    """The installed behaviour; ``import kestra_airflow_sdk`` always installs it."""
    if not _installed:
        raise RuntimeError("Flow.run needs the SDK's runner: import kestra_airflow_sdk to install it")
    return _installed[0]
