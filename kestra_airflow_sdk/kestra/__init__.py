"""Run the same flows on a Kestra server: validate, deploy (upsert), run, read executions and logs."""

from .errors import KestraApiError, KestraConnectionError, KestraError
from .models import DeployedFlow, FlowValidation, LogEntry
from .server import KestraServer

__all__ = [
    "DeployedFlow",
    "FlowValidation",
    "KestraApiError",
    "KestraConnectionError",
    "KestraError",
    "KestraServer",
    "LogEntry",
]
