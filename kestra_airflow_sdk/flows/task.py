"""What every Kestra task has: ``id``, ``type``, ``description``, ``retry``, ``timeout``,
``disabled``, ``allowFailure``, ``allowWarning`` ... and Kestra's task id rule."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, ConfigDict, Field, field_validator, model_validator

from .base import KestraModel
from .durations import Duration

__all__ = ["TASK_ID_RULE", "Task", "TaskRetry", "check_task_id"]

_TASK_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$")
TASK_ID_RULE = (
    "a task id must match ^[a-zA-Z0-9][a-zA-Z0-9_-]*$ "
    "(letters, digits, '_' and '-', starting with a letter or digit; no dots)"
)


def check_task_id(value: Any) -> str:
    """Kestra's task id rule; the error names the value and the rule."""
    if not isinstance(value, str) or not _TASK_ID.match(value):
        raise ValueError(f"{value!r} is not a valid task id: {TASK_ID_RULE}")
    return value


class TaskRetry(KestraModel):
    """Kestra's ``retry`` of a task (and of a task's ``options.retry``, for its HTTP requests):
    ``{type: constant|exponential|random, maxAttempts, interval, ...}``.

    ``maxAttempts`` counts every attempt (the first included); ``maxAttempt`` (Kestra < 2) is read too.
    """

    model_config = ConfigDict(extra="allow")

    type: Literal["constant", "exponential", "random"]
    max_attempts: int | None = Field(
        default=None, ge=1, validation_alias=AliasChoices("maxAttempts", "max_attempts", "maxAttempt")
    )
    max_duration: Duration | None = None
    interval: Duration | None = None
    min_interval: Duration | None = None
    max_interval: Duration | None = None
    delay_factor: float | None = None
    warning_on_retry: bool | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class Task(KestraModel):
    """Base of every task model: the properties Kestra gives every task."""

    _head: ClassVar[tuple[str, ...]] = ("id", "type", "description")
    #: Kestra type names of this task class (the first is canonical); set by ``registry.register``
    TYPES: ClassVar[tuple[str, ...]] = ()

    id: str
    type: str = ""
    description: str | None = None
    retry: TaskRetry | None = None
    timeout: Duration | None = None
    disabled: bool = False
    allow_failure: bool = False
    allow_warning: bool = False
    run_if: str | None = None
    log_level: str | None = None
    log_to_file: bool | None = None
    worker_group: dict[str, Any] | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _task_id(cls, value: Any) -> str:
        return check_task_id(value)

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if not cls.TYPES:
            return value
        if value == "":
            return cls.TYPES[0]
        if value not in cls.TYPES:
            raise ValueError(f"{cls.__name__} has type {cls.TYPES[0]!r}, got {value!r}")
        return value

    @model_validator(mode="after")
    def _type_is_always_written(self) -> Task:
        self.model_fields_set.add("type")
        return self

    @classmethod
    def _class_order(cls) -> tuple[str, ...]:
        own = [f.alias or n for n, f in cls.model_fields.items() if n not in Task.model_fields]
        common = [f.alias or n for n, f in Task.model_fields.items()]
        head = [cls._alias_of(n) for n in cls._head]
        return (*head, *own, *(c for c in common if c not in head))

    @property
    def children(self) -> list[Task]:
        """The tasks this task runs (flowable tasks); empty for a runnable task."""
        return []
