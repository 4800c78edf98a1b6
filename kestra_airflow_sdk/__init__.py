"""kestra-airflow-sdk: orchestrate Apache Airflow DAGs the Kestra way, from Python and Jupyter.

The names a notebook user imports are here, e.g. ``from kestra_airflow_sdk import AirflowClient``:
the clients, ``Flow`` and its tasks, ``Execution``, the error roots, progress displays and the
migration helpers. The rest is in the subpackages: :mod:`.airflow` (REST models, errors, auth),
:mod:`.flows` (flow models, task options, execution records), :mod:`.runner`, :mod:`.history`,
:mod:`.display`, :mod:`.kestra`, :mod:`.migration`.

``import kestra_airflow_sdk`` is light: each name loads its module on first use (PEP 562), and
pandas, pyarrow and ipywidgets load only when a DataFrame or a widget is first needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .exports import lazy_exports
from .wiring import install as _install_layers

if TYPE_CHECKING:
    from .airflow.auth import AirflowPasswordAuth, BearerTokenAuth
    from .airflow.errors import AirflowError
    from .airflow.models import DagRunState, TaskInstanceState
    from .client import AirflowClient, AsyncAirflowClient
    from .display.progress import RunProgress
    from .display.watch import watch_dag_runs
    from .errors import KestraAirflowError
    from .flows.core_tasks import (
        AllowFailure,
        Exit,
        Fail,
        ForEach,
        If,
        Log,
        OutputValues,
        Parallel,
        Return,
        Sequential,
        Sleep,
        Subflow,
        Switch,
    )
    from .flows.errors import FlowError
    from .flows.execution import Execution, ExecutionState
    from .flows.flow import Flow, FlowInput
    from .flows.schedule import Schedule
    from .flows.trigger import TriggerDagRun
    from .kestra.errors import KestraError
    from .kestra.server import AsyncKestraServer, KestraServer
    from .migration.generate import flows_for_dags, write_flows
    from .transport.retry import RetryPolicy

__version__ = "0.1.0"

__all__ = [
    "AirflowClient",
    "AirflowError",
    "AirflowPasswordAuth",
    "AllowFailure",
    "AsyncAirflowClient",
    "AsyncKestraServer",
    "BearerTokenAuth",
    "DagRunState",
    "Execution",
    "ExecutionState",
    "Exit",
    "Fail",
    "Flow",
    "FlowError",
    "FlowInput",
    "ForEach",
    "If",
    "KestraAirflowError",
    "KestraError",
    "KestraServer",
    "Log",
    "OutputValues",
    "Parallel",
    "RetryPolicy",
    "Return",
    "RunProgress",
    "Schedule",
    "Sequential",
    "Sleep",
    "Subflow",
    "Switch",
    "TaskInstanceState",
    "TriggerDagRun",
    "flows_for_dags",
    "watch_dag_runs",
    "write_flows",
]

if not TYPE_CHECKING:  # type checkers read the imports above; at run time each name loads on first use
    __getattr__, __dir__ = lazy_exports(__name__)

_install_layers()  # the higher layers' behaviour for the lower layers' models (see .wiring)
