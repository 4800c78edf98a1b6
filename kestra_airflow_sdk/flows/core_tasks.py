"""The task union used in flows: every task type the SDK models (the core tasks of
:mod:`kestra_airflow_sdk.flows.tasks`, ``TriggerDagRun``) and :class:`UnknownTask` for any other type."""

from __future__ import annotations

from .tasks.execution import Assert, FetchLogs, Labels, SetVariables, UnsetVariables
from .tasks.flowable import (
    AllowFailure,
    AnyTask,
    Dag,
    DagTask,
    EachParallel,
    EachSequential,
    FlowableTask,
    ForEach,
    If,
    Loop,
    LoopOutput,
    Parallel,
    Sequential,
    Subflow,
    Switch,
)
from .tasks.http import HttpRequest
from .tasks.runnable import Exit, Fail, Log, OutputValues, Return, Sleep, UnknownTask
from .tasks.scripts import (
    NodeCommands,
    NodeScript,
    PythonCommands,
    PythonScript,
    ScriptTask,
    ShellCommands,
    ShellScript,
)

__all__ = [
    "AllowFailure",
    "AnyTask",
    "Assert",
    "Dag",
    "DagTask",
    "EachParallel",
    "EachSequential",
    "Exit",
    "Fail",
    "FetchLogs",
    "FlowableTask",
    "ForEach",
    "HttpRequest",
    "If",
    "Labels",
    "Log",
    "Loop",
    "LoopOutput",
    "NodeCommands",
    "NodeScript",
    "OutputValues",
    "Parallel",
    "PythonCommands",
    "PythonScript",
    "Return",
    "ScriptTask",
    "Sequential",
    "SetVariables",
    "ShellCommands",
    "ShellScript",
    "Sleep",
    "Subflow",
    "Switch",
    "UnknownTask",
    "UnsetVariables",
]
