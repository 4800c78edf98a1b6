"""Run the same flows on a Kestra server: validate, deploy (upsert), run, read executions and logs."""

from .errors import KestraApiError, KestraConnectionError, KestraError
from .models import DeployedFlow, FlowValidation, LogEntry
from .server import AsyncKestraServer, KestraServer

__all__ = [
    "AsyncKestraServer",
    "DeployedFlow",
    "FlowValidation",
    "KestraApiError",
    "KestraConnectionError",
    "KestraError",
    "KestraServer",
    "LogEntry",
]
