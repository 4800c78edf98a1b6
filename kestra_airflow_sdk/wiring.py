"""The SDK's runtime: the one object that joins the layers.

Models of the lower layers (``DagRun``, ``Flow``, ``Execution``) and the runner never import the
layers above them. What they need from there is one :class:`Runtime`, which the public package
(``kestra_airflow_sdk/__init__.py``, always imported before any subpackage) makes and installs
(:mod:`kestra_airflow_sdk.installed`): how flows run (``Flow.run`` calls :meth:`Runtime.run`), how the
models show themselves, the live ``progress=`` displays, the factory of the Airflow clients of an
execution (with its transport) and the one table of what runs each task type. A
:class:`~kestra_airflow_sdk.runner.FlowRunner` is given one (``runtime=``) or uses the installed one;
tests give it ``Runtime(transport=...)`` to reach a fake Airflow.

What a method needs from the higher layers is imported when it first runs, so ``import
kestra_airflow_sdk`` loads neither the runner, the displays nor httpx.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .airflow.views import DagRunViews
from .flows.hooks import FlowRuntime, FlowServer
from .runner.runtime import RunnerRuntime

if TYPE_CHECKING:
    import httpx

    from .airflow.models import DagRun
    from .flows.execution import Execution
    from .flows.flow import Flow
    from .flows.observer import Observer
    from .runner.clients import AirflowClients
    from .runner.dispatch import TaskTable
    from .runner.engine import FlowRunner

__all__ = ["Runtime"]


class Runtime(DagRunViews, FlowRuntime, RunnerRuntime):
    """Everything the lower layers need from the higher ones, in one object.

    Args:
        transport: the :class:`httpx.AsyncBaseTransport` of every HTTP request a run sends, by its
            Airflow clients and its HTTP tasks (default: httpx's network transport), e.g. a
            test's in-memory Airflow.
        tasks: what runs each task type (default: :func:`~kestra_airflow_sdk.runner.dispatch.core_tasks`,
            every type the SDK runs); a table that adds a task type of one's own runs it too.

    Example:
        >>> execution = await FlowRunner(flow, runtime=Runtime(transport=httpx.MockTransport(answer))).run()
    """

    def __init__(
        self, *, transport: httpx.AsyncBaseTransport | None = None, tasks: TaskTable | None = None
    ) -> None:
        self._transport = transport
        self._tasks = tasks

    def __repr__(self) -> str:
        return f"Runtime(transport={self._transport!r}, tasks={self._tasks!r})"

    @property
    def transport(self) -> httpx.AsyncBaseTransport | None:
        """The transport of every HTTP request a run sends (None: the network)."""
        return self._transport

    # ------------------------------------------------------------------ the runner's

    @property
    def tasks(self) -> TaskTable:
        """What runs each task type (the SDK's core table unless one was given)."""
        if self._tasks is None:
            from .runner.dispatch import core_tasks

            self._tasks = core_tasks()
        return self._tasks

    def airflow_clients(self) -> AirflowClients:
        """The Airflow clients of one execution, through :attr:`transport`."""
        from .runner.clients import AirflowClients

        return AirflowClients(transport=self.transport)

    def progress_observers(self, progress: Any) -> list[Observer]:
        """The live display of ``progress=`` (True, "auto", "widget", "text" or a display object);
        none for False, None or "off"."""
        if progress is False or progress is None or progress == "off":
            return []
        from .display.execution import execution_progress

        return [execution_progress(progress)]

    # ------------------------------------------------------------------ flows'

    def runner(self, flow: Flow, **options: Any) -> FlowRunner:
        """``Flow.runner``: a :class:`~kestra_airflow_sdk.runner.FlowRunner` on this runtime."""
        from .runner.engine import FlowRunner

        return FlowRunner(flow, runtime=self, **options)

    def run(
        self,
        flow: Flow,
        inputs: Mapping[str, Any] | None,
        secrets: Mapping[str, str] | None,
        labels: Mapping[str, str] | None,
        on: FlowServer | None,
        options: Mapping[str, Any],
    ) -> Execution:
        """``Flow.run``: on the Kestra server ``on`` when given, else with the local runner; blocking."""
        if on is not None:
            from .kestra.server import run_flow_on

            return run_flow_on(on, flow, inputs, secrets, labels, options, self.progress_observers)
        from .runner.sync import run_to_end

        return run_to_end(self.runner(flow, inputs=inputs, secrets=secrets, labels=labels, **options))

    # ------------------------------------------------------------------ views

    def flow_html(self, flow: Flow) -> str:
        """The flow shown in a notebook."""
        from .display.kestra import flow_html

        return flow_html(flow)

    def execution_html(self, execution: Execution) -> str:
        """The execution shown in a notebook."""
        from .display.kestra import execution_html

        return execution_html(execution)

    def dag_run_text(self, run: DagRun) -> str:
        """``repr`` of a DAG run."""
        from .display.text import dag_run_repr

        return dag_run_repr(run)

    def dag_run_html(self, run: DagRun) -> str:
        """A DAG run shown in a notebook."""
        from .display.html import dag_run_html

        return dag_run_html(run)
