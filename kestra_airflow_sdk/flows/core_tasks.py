"""The task union used in flows: every task type the SDK models (the core tasks of
:mod:`kestra_airflow_sdk.flows.tasks`, ``TriggerDagRun``) and :class:`UnknownTask` for any other type."""

from __future__ import annotations

from .tasks.download import HttpDownload
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
    WorkingDirectory,
)
from .tasks.http import HttpRequest
from .tasks.kv import KvDelete, KvGet, KvGetKeys, KvPut, KvSet, KvTask
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
from .tasks.waits import Approval, ApprovalDecisions, CheckFrequency, LoopUntil, Pause

__all__ = [
    "AllowFailure",
    "AnyTask",
    "Approval",
    "ApprovalDecisions",
    "Assert",
    "CheckFrequency",
    "Dag",
    "DagTask",
    "EachParallel",
    "EachSequential",
    "Exit",
    "Fail",
    "FetchLogs",
    "FlowableTask",
    "ForEach",
    "HttpDownload",
    "HttpRequest",
    "If",
    "KvDelete",
    "KvGet",
    "KvGetKeys",
    "KvPut",
    "KvSet",
    "KvTask",
    "Labels",
    "Log",
    "Loop",
    "LoopOutput",
    "LoopUntil",
    "NodeCommands",
    "NodeScript",
    "OutputValues",
    "Parallel",
    "Pause",
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
    "WorkingDirectory",
]
