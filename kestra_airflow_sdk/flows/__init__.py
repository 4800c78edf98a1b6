"""Kestra flows in Python: models, Kestra YAML in and out, expressions and secrets."""

from .core_tasks import Log, Parallel, Sequential, UnknownTask
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
from .flow import Flow, FlowInput, Label
from .options import BasicAuth, BearerAuth, HttpOptions, HttpTimeout
from .registry import supported_types
from .schedule import Schedule, UnknownTrigger
from .task import Retry, Task
from .trigger import TriggerDagRun

__all__ = [
    "BasicAuth",
    "BearerAuth",
    "ExpressionError",
    "Flow",
    "FlowError",
    "FlowInput",
    "FlowValidationError",
    "FlowYamlError",
    "HttpOptions",
    "HttpTimeout",
    "InvalidInputsError",
    "Label",
    "Log",
    "Parallel",
    "Retry",
    "Schedule",
    "SecretNotFoundError",
    "Sequential",
    "Task",
    "TriggerDagRun",
    "UnknownTask",
    "UnknownTrigger",
    "UnsupportedTaskError",
    "format_duration",
    "parse_duration",
    "supported_types",
]
