"""Kestra core tasks a flow around TriggerDagRun needs (``Log``, ``Parallel``, ``Sequential``), the
task union used in flows, and :class:`UnknownTask` for every other type."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, field_validator

from .registry import UNKNOWN_TAG, register, supported_types, tag_of
from .task import Task
from .trigger import TriggerDagRun

__all__ = ["AnyTask", "Log", "Parallel", "Sequential", "UnknownTask"]


@register("io.kestra.plugin.core.log.Log", "io.kestra.core.tasks.log.Log")
class Log(Task):
    """Write a message (or several) to the execution's log; expressions are rendered first."""

    message: str | list[str]
    level: Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] = "INFO"


@register("io.kestra.plugin.core.flow.Parallel", "io.kestra.core.tasks.flows.Parallel")
class Parallel(Task):
    """Run child tasks at the same time (``concurrent``: how many at once, 0 = all)."""

    tasks: list[AnyTask] = Field(min_length=1)
    concurrent: int = Field(default=0, ge=0)

    @property
    def children(self) -> list[Task]:
        """The child tasks."""
        return list(self.tasks)


@register("io.kestra.plugin.core.flow.Sequential", "io.kestra.core.tasks.flows.Sequential")
class Sequential(Task):
    """Run child tasks one after the other (groups tasks, e.g. as one branch of a Parallel)."""

    tasks: list[AnyTask] = Field(min_length=1)

    @property
    def children(self) -> list[Task]:
        """The child tasks."""
        return list(self.tasks)


class UnknownTask(Task):
    """A task of a type the SDK does not model. Its properties are kept exactly as written, so the
    flow round-trips to Kestra; running it locally is an :class:`UnsupportedTaskError`."""

    model_config = ConfigDict(extra="allow")

    type: str

    @field_validator("type")
    @classmethod
    def _present(cls, value: str) -> str:
        if not value:
            raise ValueError(
                f"every task needs a type; the local runner supports {', '.join(supported_types())}"
            )
        return value

    @classmethod
    def _class_order(cls) -> tuple[str, ...]:
        return ("id", "type")


#: any task: a known type validates against its model, any other type becomes an UnknownTask
AnyTask = Annotated[
    Annotated[TriggerDagRun, Tag("TriggerDagRun")]
    | Annotated[Log, Tag("Log")]
    | Annotated[Parallel, Tag("Parallel")]
    | Annotated[Sequential, Tag("Sequential")]
    | Annotated[UnknownTask, Tag(UNKNOWN_TAG)],
    Discriminator(tag_of),
]

Parallel.model_rebuild()
Sequential.model_rebuild()
