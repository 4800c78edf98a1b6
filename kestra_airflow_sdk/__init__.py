"""kestra-airflow-sdk: orchestrate Apache Airflow DAGs the Kestra way, from Python and Jupyter.

The names a notebook user imports are here, e.g. ``from kestra_airflow_sdk import AirflowClient``:
the clients, ``Flow`` and its tasks, ``Execution``, every exception the SDK raises (``except
NotFoundError``, ``except FlowValidationError``, ...), progress displays and the migration helpers.
The rest is in the subpackages: :mod:`.airflow` (REST models, auth), :mod:`.flows` (flow models,
task options, execution records), :mod:`.runner`, :mod:`.history`, :mod:`.display`, :mod:`.kestra`,
:mod:`.migration`.

``import kestra_airflow_sdk`` is light: each name loads its module on first use (PEP 562), and
pandas, pyarrow and ipywidgets load only when a DataFrame or a widget is first needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .exports import lazy_exports
from .installed import install as _install
from .wiring import Runtime as _Runtime

if TYPE_CHECKING:
    from .airflow.auth import AirflowPasswordAuth, BearerTokenAuth
    from .airflow.errors import (
        AirflowConnectionError,
        AirflowError,
        AlreadyAnsweredError,
        ApiError,
        AuthenticationError,
        ConflictError,
        DagPausedError,
        DagPausedWarning,
        InvalidArgumentError,
        NotFoundError,
        PermissionDeniedError,
        UnsupportedFeatureError,
        WaitTimeoutError,
    )
    from .airflow.models import DagRunState, TaskInstanceState
    from .client import AirflowClient, AsyncAirflowClient
    from .display.progress import RunProgress
    from .display.watch import watch_dag_runs
    from .errors import KestraAirflowError
    from .flows.core_tasks import (
        AllowFailure,
        Approval,
        Exit,
        Fail,
        ForEach,
        If,
        Log,
        Loop,
        LoopUntil,
        OutputValues,
        Parallel,
        Pause,
        Return,
        Sequential,
        Sleep,
        Subflow,
        Switch,
    )
    from .flows.errors import (
        ExpressionError,
        FlowError,
        FlowValidationError,
        FlowYamlError,
        InvalidInputsError,
        SecretNotFoundError,
        UnsupportedTaskError,
    )
    from .flows.execution import (
        Execution,
        ExecutionFailedError,
        ExecutionKilled,
        ExecutionState,
        NotPausedError,
    )
    from .flows.flow import Flow, FlowInput
    from .flows.schedule import Schedule
    from .flows.trigger import TriggerDagRun
    from .installed import RuntimeNotInstalledError
    from .kestra.errors import KestraApiError, KestraConnectionError, KestraError
    from .kestra.server import AsyncKestraServer, KestraServer
    from .migration.generate import flows_for_dags, write_flows
    from .storage.files import StorageError
    from .storage.kv import KVStore, KVStoreError
    from .transport.errors import ConnectionFailure, StatusFailure
    from .transport.retry import RetryPolicy, RetryPolicyError

__version__ = "0.1.0"

__all__ = [
    "AirflowClient",
    "AirflowConnectionError",
    "AirflowError",
    "AirflowPasswordAuth",
    "AllowFailure",
    "AlreadyAnsweredError",
    "ApiError",
    "Approval",
    "AsyncAirflowClient",
    "AsyncKestraServer",
    "AuthenticationError",
    "BearerTokenAuth",
    "ConflictError",
    "ConnectionFailure",
    "DagPausedError",
    "DagPausedWarning",
    "DagRunState",
    "Execution",
    "ExecutionFailedError",
    "ExecutionKilled",
    "ExecutionState",
    "Exit",
    "ExpressionError",
    "Fail",
    "Flow",
    "FlowError",
    "FlowInput",
    "FlowValidationError",
    "FlowYamlError",
    "ForEach",
    "If",
    "InvalidArgumentError",
    "InvalidInputsError",
    "KVStore",
    "KVStoreError",
    "KestraAirflowError",
    "KestraApiError",
    "KestraConnectionError",
    "KestraError",
    "KestraServer",
    "Log",
    "Loop",
    "LoopUntil",
    "NotFoundError",
    "NotPausedError",
    "OutputValues",
    "Parallel",
    "Pause",
    "PermissionDeniedError",
    "RetryPolicy",
    "RetryPolicyError",
    "Return",
    "RunProgress",
    "RuntimeNotInstalledError",
    "Schedule",
    "SecretNotFoundError",
    "Sequential",
    "Sleep",
    "StatusFailure",
    "StorageError",
    "Subflow",
    "Switch",
    "TaskInstanceState",
    "TriggerDagRun",
    "UnsupportedFeatureError",
    "UnsupportedTaskError",
    "WaitTimeoutError",
    "flows_for_dags",
    "watch_dag_runs",
    "write_flows",
]

if not TYPE_CHECKING:  # type checkers read the imports above; at run time each name loads on first use
    __getattr__, __dir__ = lazy_exports(__name__)

_install(_Runtime())  # what the lower layers' models need from the higher layers (see .wiring)
