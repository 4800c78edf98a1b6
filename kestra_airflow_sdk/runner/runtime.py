"""What the runner needs from the SDK's runtime (:class:`kestra_airflow_sdk.wiring.Runtime`): the
Airflow clients of an execution, the live display of ``progress=`` and the table of what runs
each task type. A :class:`~kestra_airflow_sdk.runner.FlowRunner` is given one (``runtime=``), or
uses the one the public package installed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

from ..installed import installed

if TYPE_CHECKING:
    import httpx

    from ..flows.observer import Observer
    from .clients import AirflowClients
    from .dispatch import TaskTable

__all__ = ["RunnerRuntime", "runner_runtime"]


class RunnerRuntime(Protocol):
    """The part of the SDK's runtime the runner uses."""

    @property
    def tasks(self) -> TaskTable:
        """What runs each task type (one table for every type, runnable or flowable)."""
        ...

    @property
    def transport(self) -> httpx.AsyncBaseTransport | None:
        """The transport of every HTTP request a run sends (its Airflow clients and its HTTP
        tasks); None: httpx's network transport."""
        ...

    def airflow_clients(self) -> AirflowClients:
        """The Airflow clients of one execution (opened on first use, through the runtime's transport)."""
        ...

    def progress_observers(self, progress: Any) -> list[Observer]:
        """The live display asked for with ``progress=`` (none for False, None or ``"off"``)."""
        ...


def runner_runtime() -> RunnerRuntime:
    """The installed runtime, as what the runner uses."""
    return cast("RunnerRuntime", installed("FlowRunner"))
