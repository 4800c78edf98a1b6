"""How the layers are joined. Models of the lower layers (``DagRun``, ``Flow``, ``Execution``) and the
runner never import the layers above them; the behaviour they need from there (showing themselves in
a notebook, running a flow locally or on Kestra, live progress displays) is supplied once by
:func:`install`, which the public package (``kestra_airflow_sdk/__init__.py``, always imported
before any subpackage) calls on import.

:func:`install` only fills small registries: what it supplies imports the higher layers when it is
first used, so ``import kestra_airflow_sdk`` loads neither the runner, the displays nor httpx.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .airflow.views import show_dag_runs_with
from .flows.execution import show_executions_with
from .flows.hooks import FlowBehaviour, FlowServer, install_flow_behaviour
from .runner.observer import show_progress_with

if TYPE_CHECKING:
    from .airflow.models import DagRun
    from .flows.execution import Execution
    from .flows.flow import Flow
    from .flows.observer import Observer
    from .runner.engine import FlowRunner

__all__ = ["install"]


def _dag_run_text(run: DagRun) -> str:
    from .display.text import dag_run_repr

    return dag_run_repr(run)


def _dag_run_html(run: DagRun) -> str:
    from .display.html import dag_run_html

    return dag_run_html(run)


def _execution_html(execution: Execution) -> str:
    from .display.kestra import execution_html

    return execution_html(execution)


def _flow_html(flow: Flow) -> str:
    from .display.kestra import flow_html

    return flow_html(flow)


def _progress(option: Any) -> Observer:
    from .display.execution import execution_progress

    return execution_progress(option)


def _runner(flow: Flow, **options: Any) -> FlowRunner:
    from .runner.engine import FlowRunner

    return FlowRunner(flow, **options)


def _run(
    flow: Flow,
    inputs: Mapping[str, Any] | None,
    secrets: Mapping[str, str] | None,
    labels: Mapping[str, str] | None,
    on: FlowServer | None,
    options: Mapping[str, Any],
) -> Execution:
    """``Flow.run``: on a Kestra server when ``on`` is given, else with the local runner."""
    if on is not None:
        from .kestra.server import run_flow_on

        return run_flow_on(on, flow, inputs, secrets, labels, options)
    from .runner.sync import run_flow

    return run_flow(flow, inputs, secrets, labels, **options)


def install() -> None:
    """Supply the lower layers with the behaviour of the higher ones (idempotent)."""
    show_dag_runs_with(text=_dag_run_text, html=_dag_run_html)
    show_executions_with(html=_execution_html)
    show_progress_with(_progress)
    install_flow_behaviour(FlowBehaviour(runner=_runner, run=_run, html=_flow_html))
