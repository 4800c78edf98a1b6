"""The local runner: executions, task runs, progress observers."""

from .engine import FlowRunner
from .execution import Execution, ExecutionFailedError, ExecutionKilled, State, TaskRun
from .observer import Observer, TextReporter

__all__ = [
    "Execution",
    "ExecutionFailedError",
    "ExecutionKilled",
    "FlowRunner",
    "Observer",
    "State",
    "TaskRun",
    "TextReporter",
]
