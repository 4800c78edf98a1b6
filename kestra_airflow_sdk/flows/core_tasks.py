"""The task union used in flows: every task type the SDK models (the core tasks of
:mod:`kestra_airflow_sdk.flows.tasks`, ``TriggerDagRun``) and :class:`UnknownTask` for any other type."""

from __future__ import annotations

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
from .tasks.scripts import PythonCommands, PythonScript, ScriptTask, ShellCommands, ShellScript
from .tasks.waits import Approval, ApprovalDecisions, CheckFrequency, LoopUntil, Pause

__all__ = [
    "AllowFailure",
    "AnyTask",
    "Approval",
    "ApprovalDecisions",
    "CheckFrequency",
    "Dag",
    "DagTask",
    "EachParallel",
    "EachSequential",
    "Exit",
    "Fail",
    "FlowableTask",
    "ForEach",
    "HttpRequest",
    "If",
    "Log",
    "Loop",
    "LoopOutput",
    "LoopUntil",
    "OutputValues",
    "Parallel",
    "Pause",
    "PythonCommands",
    "PythonScript",
    "Return",
    "ScriptTask",
    "Sequential",
    "ShellCommands",
    "ShellScript",
    "Sleep",
    "Subflow",
    "Switch",
    "UnknownTask",
]
