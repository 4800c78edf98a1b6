"""Kestra flows in Python: models, Kestra YAML in and out, expressions and secrets.

(Kestra's ``Dag`` task and its ``DagTask`` nodes are in :mod:`kestra_airflow_sdk.flows.core_tasks`:
the package names ``Dag``/``DagTask`` are Airflow's.)
"""

from .core_tasks import (
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
from .flow import Flow, FlowInput, FlowOutput, Label
from .options import BasicAuth, BearerAuth, HttpOptions, HttpTimeout
from .plugin_defaults import PluginDefault
from .registry import supported_types
from .schedule import Schedule, UnknownTrigger
from .task import Retry, Task
from .trigger import TriggerDagRun

__all__ = [
    "AllowFailure",
    "BasicAuth",
    "BearerAuth",
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
    "OutputValues",
    "Parallel",
    "PluginDefault",
    "Retry",
    "Return",
    "Schedule",
    "SecretNotFoundError",
    "Sequential",
    "Sleep",
    "Subflow",
    "Switch",
    "Task",
    "TriggerDagRun",
    "UnknownTask",
    "UnknownTrigger",
    "UnsupportedTaskError",
    "format_duration",
    "parse_duration",
    "supported_types",
]
