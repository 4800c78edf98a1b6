"""Run the same flows on a Kestra server: validate, deploy (upsert), run, read executions and logs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..exports import lazy_exports

if TYPE_CHECKING:
    from .errors import KestraApiError, KestraConnectionError, KestraError
    from .files import NamespaceFile, ServerFiles
    from .kv import ServerKV
    from .models import DeployedFlow, FlowValidation, KestraLogEntry, StoredFlow
    from .server import AsyncKestraServer, KestraServer

__all__ = [
    "AsyncKestraServer",
    "DeployedFlow",
    "FlowValidation",
    "KestraApiError",
    "KestraConnectionError",
    "KestraError",
    "KestraLogEntry",
    "KestraServer",
    "NamespaceFile",
    "ServerFiles",
    "ServerKV",
    "StoredFlow",
]

if not TYPE_CHECKING:  # type checkers read the imports above; at run time each name loads on first use
    __getattr__, __dir__ = lazy_exports(__name__)
