"""Kestra flows in Python: models, Kestra YAML in and out, expressions and secrets, and what a run
produces (:class:`Execution`, its :class:`TaskRun` records and :class:`LogEntry` lines, the
:class:`Observer` interface of its progress).

(Kestra's ``Dag`` task and its ``DagTask`` nodes are in :mod:`kestra_airflow_sdk.flows.core_tasks`:
the package names ``Dag``/``DagTask`` are Airflow's.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..exports import lazy_exports

if TYPE_CHECKING:
    from .core_tasks import (
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
        UnknownTask,
    )
    from .durations import format_duration, parse_duration
    from .errors import (
        ExpressionError,
        FlowError,
        FlowValidationError,
        FlowYamlError,
        InvalidInputsError,
        SecretNotFoundError,
        UnsupportedTaskError,
    )
    from .execution import (
        Execution,
        ExecutionFailedError,
        ExecutionKilled,
        ExecutionState,
        LogEntry,
        NotPausedError,
        TaskRun,
        WaitRequest,
    )
    from .flow import Flow, FlowInput, FlowOutput, Label
    from .observer import Observer
    from .options import BasicAuthOption, BearerAuthOption, HttpOptions, HttpTimeout
    from .plugin_defaults import PluginDefault
    from .registry import supported_types
    from .schedule import Schedule, UnknownTrigger
    from .task import Task, TaskRetry
    from .trigger import TriggerDagRun

__all__ = [
    "AllowFailure",
    "Approval",
    "BasicAuthOption",
    "BearerAuthOption",
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
    "FlowOutput",
    "FlowValidationError",
    "FlowYamlError",
    "ForEach",
    "HttpOptions",
    "HttpTimeout",
    "If",
    "InvalidInputsError",
    "Label",
    "Log",
    "LogEntry",
    "Loop",
    "LoopUntil",
    "NotPausedError",
    "Observer",
    "OutputValues",
    "Parallel",
    "Pause",
    "PluginDefault",
    "Return",
    "Schedule",
    "SecretNotFoundError",
    "Sequential",
    "Sleep",
    "Subflow",
    "Switch",
    "Task",
    "TaskRetry",
    "TaskRun",
    "TriggerDagRun",
    "UnknownTask",
    "UnknownTrigger",
    "UnsupportedTaskError",
    "WaitRequest",
    "format_duration",
    "parse_duration",
    "supported_types",
]

if not TYPE_CHECKING:  # type checkers read the imports above; at run time each name loads on first use
    __getattr__, __dir__ = lazy_exports(__name__)
