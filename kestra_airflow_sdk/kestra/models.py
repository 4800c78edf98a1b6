"""What a Kestra server answers, as far as the SDK reads it (Kestra's OpenAPI 2.0 schemas:
``ValidateConstraintViolation``, ``FlowInterface``, ``LogEntry`` as :class:`KestraLogEntry`,
``OutputController.TaskOutputInformation`` as :class:`TaskOutputInfo`), and the API generations
(:class:`KestraVersion`) whose answers differ."""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

if TYPE_CHECKING:
    from ..flows.flow import Flow

__all__ = [
    "DeployedFlow",
    "FlowValidation",
    "KestraLogEntry",
    "KestraVersion",
    "StoredFlow",
    "TaskOutputInfo",
]

_RELEASE = re.compile(r"^v?(\d+)\.(\d+)")


class _Answer(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class FlowValidation(_Answer):
    """Kestra's verdict on one flow of :meth:`KestraServer.validate` (in the order sent)."""

    index: int
    namespace: str | None = None
    flow: str | None = None
    constraints: str | None = None
    outdated: bool | None = None
    deprecation_paths: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    infos: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when Kestra found no constraint violation."""
        return not self.constraints


class DeployedFlow(_Answer):
    """A flow as Kestra stored it by :meth:`KestraServer.deploy`."""

    id: str
    namespace: str
    revision: int | None = None
    disabled: bool | None = None
    deleted: bool | None = None


class StoredFlow(_Answer):
    """A flow as a Kestra server holds it (``FlowWithSource``), by :meth:`KestraServer.get_flow`:
    its YAML ``source`` as the server keeps it; :meth:`to_flow` reads that as a :class:`Flow`."""

    id: str
    namespace: str
    revision: int | None = None
    disabled: bool = False
    deleted: bool = False
    description: str | None = None
    labels: Any = None
    source: str | None = None

    def to_flow(self) -> Flow:
        """The source as the SDK's :class:`Flow` (``Flow.from_yaml``; its errors name what does not read)."""
        from ..flows.flow import Flow
        from .errors import KestraError

        if not self.source:
            raise KestraError(f"flow {self.namespace}.{self.id}: Kestra sent no source (read with get_flow)")
        return Flow.from_yaml(self.source)


class KestraLogEntry(_Answer):
    """One log line of an execution."""

    timestamp: datetime | None = None
    level: str | None = None
    message: str | None = None
    task_id: str | None = None
    task_run_id: str | None = None
    execution_id: str | None = None
    attempt_number: int | None = None


class TaskOutputInfo(_Answer):
    """One task run that has outputs, as Kestra 2.0 lists them (``GET /outputs/{executionId}``).

    ``value`` is the task run's own value (a ``ForEach`` iteration's item), not its outputs: those
    are read from ``GET /outputs/{executionId}/{taskRunId}``.
    """

    task_id: str | None = None
    task_run_id: str | None = None
    value: str | None = None
    iteration: int | None = None
    inline: bool | None = None


class KestraVersion(str, Enum):
    """The generation of Kestra's REST API a server speaks (what differs is in docs/kestra.md)."""

    V1_3 = "1.3"
    """Kestra 1.x (up to 1.3): task run outputs inline in executions, actions under ``/executions/{id}/``."""
    V2_0 = "2.0"
    """Kestra 2.x: outputs from ``/outputs/{executionId}``, actions under ``/executions/{id}/actions/``."""

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of_release(cls, release: str) -> KestraVersion | None:
        """The API generation of a Kestra release string (``"1.3.5"``, ``"2.0.0-SNAPSHOT"``), or None."""
        match = _RELEASE.match(release.strip()) if isinstance(release, str) else None
        if match is None:
            return None
        return cls.V2_0 if int(match.group(1)) >= 2 else cls.V1_3
