"""The task union used in flows: every task type the SDK models (``Log`` here, the other core tasks in
:mod:`kestra_airflow_sdk.flows.tasks`, ``TriggerDagRun``) and :class:`UnknownTask` for any other type."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Discriminator, Tag, field_validator

from .registry import UNKNOWN_TAG, register, supported_types, tag_of
from .task import Task
from .tasks.flowable import (
    AllowFailure,
    Dag,
    DagTask,
    EachParallel,
    EachSequential,
    FlowableTask,
    ForEach,
    If,
    Parallel,
    Sequential,
    Subflow,
    Switch,
)
from .tasks.runnable import Exit, Fail, OutputValues, Return, Sleep
from .trigger import TriggerDagRun

__all__ = [
    "AllowFailure",
    "AnyTask",
    "Dag",
    "DagTask",
    "EachParallel",
    "EachSequential",
    "Exit",
    "Fail",
    "FlowableTask",
    "ForEach",
    "If",
    "Log",
    "OutputValues",
    "Parallel",
    "Return",
    "Sequential",
    "Sleep",
    "Subflow",
    "Switch",
    "UnknownTask",
]


@register("io.kestra.plugin.core.log.Log", "io.kestra.core.tasks.log.Log")
class Log(Task):
    """Write a message (or several) to the execution's log; expressions are rendered first."""

    message: str | list[str]
    level: Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] = "INFO"


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
    | Annotated[Return, Tag("Return")]
    | Annotated[Fail, Tag("Fail")]
    | Annotated[OutputValues, Tag("OutputValues")]
    | Annotated[Sleep, Tag("Sleep")]
    | Annotated[Exit, Tag("Exit")]
    | Annotated[Parallel, Tag("Parallel")]
    | Annotated[Sequential, Tag("Sequential")]
    | Annotated[AllowFailure, Tag("AllowFailure")]
    | Annotated[If, Tag("If")]
    | Annotated[Switch, Tag("Switch")]
    | Annotated[ForEach, Tag("ForEach")]
    | Annotated[EachSequential, Tag("EachSequential")]
    | Annotated[EachParallel, Tag("EachParallel")]
    | Annotated[Dag, Tag("Dag")]
    | Annotated[Subflow, Tag("Subflow")]
    | Annotated[UnknownTask, Tag(UNKNOWN_TAG)],
    Discriminator(tag_of),
]

for _model in (
    FlowableTask,
    Sequential,
    Parallel,
    AllowFailure,
    If,
    Switch,
    ForEach,
    EachSequential,
    EachParallel,
    DagTask,
    Dag,
):
    _model.model_rebuild(_types_namespace={"AnyTask": AnyTask})
