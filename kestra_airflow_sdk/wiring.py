"""How the layers are joined. Models of the lower layers (``DagRun``, ``Flow``, ``Execution``) and the
runner never import the layers above them; the behaviour they need from there (showing themselves in
a notebook, running a flow locally or on Kestra, live progress displays) is supplied once by
:func:`install`, which the public package (``kestra_airflow_sdk/__init__.py``, always imported
before any subpackage) calls on import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .airflow.models import show_dag_runs_with
from .display.execution import execution_progress
from .display.html import dag_run_html
from .display.kestra import execution_html, flow_html
from .display.text import dag_run_repr
from .flows.execution import Execution, show_executions_with
from .flows.flow import Flow
from .flows.hooks import FlowBehaviour, install_flow_behaviour
from .kestra.server import KestraServer, run_flow_on
from .runner.engine import FlowRunner
from .runner.observer import show_progress_with
from .runner.sync import run_flow

__all__ = ["install"]


def _run(
    flow: Flow,
    inputs: Mapping[str, Any] | None,
    secrets: Mapping[str, str] | None,
    labels: Mapping[str, str] | None,
    on: KestraServer | None,
    options: Mapping[str, Any],
) -> Execution:
    """``Flow.run``: on a Kestra server when ``on`` is given, else with the local runner."""
    if on is not None:
        return run_flow_on(on, flow, inputs, secrets, labels, options)
    return run_flow(flow, inputs, secrets, labels, **options)


def install() -> None:
    """Supply the lower layers with the behaviour of the higher ones (idempotent)."""
    show_dag_runs_with(text=dag_run_repr, html=dag_run_html)
    show_executions_with(html=execution_html)
    show_progress_with(execution_progress)
    install_flow_behaviour(FlowBehaviour(runner=FlowRunner, run=_run, html=flow_html))
