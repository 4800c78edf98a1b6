"""Which task and trigger types exist in Kestra, to tell a misspelt type from a plugin's.

The catalogue is ``known_types.txt`` beside this module (its header says where each name comes
from: Kestra's core with its legacy aliases, Kestra's plugin repositories, its blueprints) plus
every type the SDK runs. A type that is not in it is either a near miss of one that is (a typo:
``io.kestra.plugin.core.log.Logg``, Kestra rejects the flow) or a type the catalogue does not list
(a plugin it does not cover, or a newer Kestra's), which Kestra accepts when the plugin is installed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .registry import supported_types, task_class
from .schedule import SCHEDULE_TYPES

__all__ = ["TypeFinding", "closest_known_type", "is_known_type", "known_types", "unknown_types"]

#: how alike two class names of one package must be for one to be a typo of the other
_CLASS_CUTOFF = 0.8
#: how alike two packages must be for one to be a typo of the other (same class name)
_PACKAGE_CUTOFF = 0.9
#: document keys that hold tasks or triggers (anything below them is searched for more)
_LISTS = ("tasks", "errors", "finally", "triggers")


@cache
def known_types() -> frozenset[str]:
    """Every type of the catalogue (``known_types.txt``) and every type the SDK runs (its aliases
    are Kestra's legacy names, in the catalogue; :func:`is_known_type` asks the registry too)."""
    text = resources.files(__package__).joinpath("known_types.txt").read_text(encoding="utf-8")
    listed = {line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}
    return frozenset(listed | set(supported_types()) | set(SCHEDULE_TYPES))


@cache
def _classes_by_package() -> dict[str, frozenset[str]]:
    by_package: dict[str, set[str]] = {}
    for name in known_types():
        package, _, cls = name.rpartition(".")
        by_package.setdefault(package, set()).add(cls)
    return {package: frozenset(classes) for package, classes in by_package.items()}


@cache
def _by_lower_case() -> dict[str, str]:
    return {name.lower(): name for name in known_types()}


def is_known_type(type_name: str) -> bool:
    """True when Kestra (core or a catalogued plugin) or the SDK defines ``type_name``."""
    return type_name in known_types() or task_class(type_name) is not None


def closest_known_type(type_name: str) -> str | None:
    """The known type ``type_name`` is a near miss of, None when it is known or not a near miss.

    A near miss: the same name in another letter case; a class name like a known class of the
    same package (``log.Logg`` for ``log.Log``); or a known class name in a package like a known
    package that has it (``core.logs.Log``). A class a catalogued package does not list that is
    like none of its classes, or a type of another package, is not one (a newer or an uncatalogued
    plugin's type).
    """
    if is_known_type(type_name):
        return None
    same_but_case = _by_lower_case().get(type_name.lower())
    if same_but_case is not None:
        return same_but_case
    package, _, cls = type_name.rpartition(".")
    by_package = _classes_by_package()
    if package in by_package:
        close = difflib.get_close_matches(cls, sorted(by_package[package]), n=1, cutoff=_CLASS_CUTOFF)
        return f"{package}.{close[0]}" if close else None
    having = sorted(p for p, classes in by_package.items() if cls in classes)
    close = difflib.get_close_matches(package, having, n=1, cutoff=_PACKAGE_CUTOFF)
    return f"{close[0]}.{cls}" if close else None


@dataclass(frozen=True)
class TypeFinding:
    """A task or trigger whose type is not in the catalogue.

    Attributes:
        where: its place in the document, e.g. ``tasks[0] (task 'hello')``.
        type: the type as written.
        suggestion: the known type it is a near miss of (a typo), or None (an uncatalogued type).
    """

    where: str
    type: str
    suggestion: str | None

    def message(self) -> str:
        """The finding as one line: an error for a near miss, a note otherwise."""
        if self.suggestion is not None:
            return (
                f"{self.where}: unknown type {self.type}: no Kestra core or plugin type has this name; "
                f"did you mean {self.suggestion}?"
            )
        return (
            f"{self.where}: type {self.type} is not in the SDK's catalogue of Kestra types (a plugin it "
            "does not list, or a newer Kestra's); Kestra accepts it only when a plugin defines it"
        )


def unknown_types(document: Mapping[str, Any]) -> list[TypeFinding]:
    """Every task and trigger of a flow document (``Flow.to_dict()``), nested ones too, whose type
    is not in the catalogue, in document order."""
    return [
        TypeFinding(where, kind, closest_known_type(kind))
        for where, kind in _typed_nodes(document)
        if not is_known_type(kind)
    ]


def _typed_nodes(document: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(place, type) of every mapping with a string ``id`` and ``type`` under the task and trigger
    lists (conditions and task runners have no ``id``; plugin defaults name type prefixes)."""

    def visit(value: Any, path: str, kind: str) -> Iterator[tuple[str, str]]:
        if isinstance(value, Mapping):
            if isinstance(value.get("id"), str) and isinstance(value.get("type"), str):
                yield f"{path} ({kind} {value['id']!r})", value["type"]
            for key, item in value.items():
                yield from visit(item, f"{path}.{key}", kind)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield from visit(item, f"{path}[{i}]", kind)

    for key in _LISTS:
        yield from visit(document.get(key) or [], key, "trigger" if key == "triggers" else "task")
