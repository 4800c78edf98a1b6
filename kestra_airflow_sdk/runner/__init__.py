"""The local runner: executions, task runs, progress observers."""

from ..flows.execution import Execution, ExecutionFailedError, ExecutionKilled, State, TaskRun
from ..flows.observer import Observer
from .engine import FlowRunner
from .observer import TextReporter

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
