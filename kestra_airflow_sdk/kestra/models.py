"""What a Kestra server answers, as far as the SDK reads it (Kestra's OpenAPI 2.0 schemas:
``ValidateConstraintViolation``, ``FlowInterface``, ``LogEntry`` as :class:`KestraLogEntry`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = ["DeployedFlow", "FlowValidation", "KestraLogEntry"]


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


class KestraLogEntry(_Answer):
    """One log line of an execution."""

    timestamp: datetime | None = None
    level: str | None = None
    message: str | None = None
    task_id: str | None = None
    task_run_id: str | None = None
    execution_id: str | None = None
    attempt_number: int | None = None
