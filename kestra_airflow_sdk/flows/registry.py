"""The task types the SDK knows: Kestra type name → model class.

A task class registers itself with :func:`register`; the first name is the canonical one (what a
flow built in Python exports), the others are older spellings Kestra still reads. Every other type
is kept as an :class:`~kestra_airflow_sdk.flows.core_tasks.UnknownTask` that round-trips as written
but cannot run locally.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "UNKNOWN_TAG",
    "class_of_tag",
    "is_tag",
    "register",
    "supported_types",
    "tag_of",
    "task_class",
]

T = TypeVar("T", bound=type)

_BY_TYPE: dict[str, type] = {}
_CANONICAL: list[str] = []
_BY_TAG: dict[str, type] = {}
#: union tag of a task whose type is not registered
UNKNOWN_TAG = "UnknownTask"


def register(canonical: str, *aliases: str) -> Callable[[T], T]:
    """Class decorator: the class is the model of Kestra type ``canonical`` (and its ``aliases``)."""

    def decorate(cls: T) -> T:
        cls.TYPES = (canonical, *aliases)  # type: ignore[attr-defined]
        for name in (canonical, *aliases):
            _BY_TYPE[name] = cls
        _CANONICAL.append(canonical)
        _BY_TAG[cls.__name__] = cls
        return cls

    return decorate


def task_class(type_name: str) -> type | None:
    """The model class of a Kestra task type, or None when the SDK does not know it."""
    return _BY_TYPE.get(type_name)


def supported_types() -> list[str]:
    """The canonical names of every task type the local runner can execute."""
    return list(_CANONICAL)


def class_of_tag(tag: Any) -> type | None:
    """The registered class a union tag names (None for other loc parts and unknown tasks)."""
    return _BY_TAG.get(tag) if isinstance(tag, str) else None


def is_tag(part: Any) -> bool:
    """True when ``part`` of a validation error location is a task-union tag, not a field."""
    return part == UNKNOWN_TAG or class_of_tag(part) is not None


def tag_of(value: Any) -> str:
    """Discriminator of the task union: the model class name for a known ``type``."""
    if isinstance(value, dict):
        cls = _BY_TYPE.get(str(value.get("type")))
        return cls.__name__ if cls is not None else UNKNOWN_TAG
    return type(value).__name__
