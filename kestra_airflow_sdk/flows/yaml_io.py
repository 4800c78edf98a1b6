"""Kestra YAML in and out.

Loading reports YAML syntax errors and rule violations with line and column, never a PyYAML or
pydantic traceback. Dumping writes Kestra's usual layout: block style, indented lists, keys in
document order, and expressions in double quotes as people write them (``"{{ flow.id }}"``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .dialect import detect_kestra
from .errors import FlowYamlError
from .limits import LimitedLoader, YamlLimitError
from .options import KEEP_LEGACY
from .properties import FLOW_PROPERTIES, unknown_flow_properties
from .validation import describe_errors, flow_error

__all__ = ["dump_document", "keep_timestamps", "load_document", "load_flow"]

M = TypeVar("M", bound=BaseModel)


def _read(source: str | Path) -> tuple[str, str]:
    """(text, name) of YAML text or a file path."""
    if isinstance(source, Path) or (
        isinstance(source, str) and "\n" not in source and source.strip().endswith((".yaml", ".yml"))
    ):
        path = Path(source)
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except OSError as exc:
            raise FlowYamlError(f"Cannot read flow file {str(path)!r}: {exc.strerror or exc}") from None
    if not isinstance(source, str):
        raise FlowYamlError(f"Flow.from_yaml: expected YAML text or a file path, got {type(source).__name__}")
    return source, "<yaml>"


def load_document(text: str, name: str = "<yaml>") -> tuple[dict[str, Any], yaml.Node]:
    """Parse one YAML mapping; return the data and its node tree (for line numbers).

    Read as Kestra's parser reads it (see :mod:`~kestra_airflow_sdk.flows.limits`): a document over
    a size, nesting or alias limit, or with a key repeated in a mapping, is a :class:`FlowYamlError`
    naming the limit or the key, raised before the document is expanded; keys are the text written.
    """
    try:
        loader = LimitedLoader(text)
        try:
            node = loader.get_single_node()
            data = None if node is None else loader.construct_document(node)
        finally:
            loader.dispose()
    except YamlLimitError as exc:
        where = f" at line {exc.problem_mark.line + 1}" if exc.problem_mark else ""
        raise FlowYamlError(f"{name}: refused{where}: {exc.problem}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        where = f"line {line}, column {column}" if mark else "unknown position"
        raise FlowYamlError(
            f"{name}: not valid YAML at {where}: {problem}", line=line, column=column
        ) from None
    except yaml.YAMLError as exc:
        raise FlowYamlError(f"{name}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or node is None:
        kind = "an empty document" if data is None else f"a {type(data).__name__}"
        raise FlowYamlError(f"{name}: a flow must be a YAML mapping (id, namespace, tasks, ...), got {kind}")
    return data, node


def _locator(root: yaml.Node) -> Callable[[tuple[Any, ...]], str]:
    """Map an error location to the line and column of the key (or the deepest node) it names."""

    def locate(loc: tuple[Any, ...]) -> str:
        node, mark = root, root.start_mark
        for part in loc:
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if key.value == part:
                        child, mark = value, key.start_mark
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                child = node.value[part]
                mark = child.start_mark
            if child is None:
                break
            node = child
        return f"line {mark.line + 1}, column {mark.column + 1}"

    return locate


def load_flow(model: type[M], source: str | Path, *, upgrade: bool = False, kestra: str | None = None) -> M:
    """Validate a YAML flow document into ``model``, errors with line and column; ``kestra`` forces the
    Kestra version it is read as (else detected, see :mod:`~kestra_airflow_sdk.flows.dialect`)."""
    text, name = _read(source)
    data, node = load_document(text, name)
    version = detect_kestra(data, kestra, name)
    context = {} if upgrade else {KEEP_LEGACY: True}
    if model.__name__ == "Flow":  # Kestra's parser fails on a property its Flow does not have
        locate = _locator(node)
        unknown = unknown_flow_properties(str(k) for k in data)
        keys = [str(k) for k in data if str(k) not in FLOW_PROPERTIES]
        if unknown:
            raise flow_error(
                [f"{k} ({locate((k,))}): {line}" for k, line in zip(keys, unknown, strict=True)], name
            )
    try:
        flow = model.model_validate(data, context=context)
    except ValidationError as exc:
        raise flow_error(describe_errors(exc, data, _locator(node)), name) from None
    problems: list[str] = getattr(flow, "problems", list)()
    if problems:
        raise flow_error(problems, name)
    if upgrade and kestra is None:  # the legacy options were rewritten: what is the flow now
        version = detect_kestra(flow.model_dump(mode="json", by_alias=True, exclude_unset=True))
    if "_kestra" in model.__private_attributes__:
        flow._kestra = version  # type: ignore[attr-defined]
    return flow


class _KestraDumper(yaml.SafeDumper):
    """Block style with indented sequences (``tasks:\\n  - id: ...``), as Kestra's docs write."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


#: line breaks YAML knows besides ``\n`` (NEL, LINE and PARAGRAPH SEPARATOR): written raw in a plain,
#: single-quoted or block scalar they are read back as ``\n`` or folded into a space, so a string
#: holding one is written double-quoted, where PyYAML escapes them (``\N``, ``\L``, ``\P``)
_OTHER_LINE_BREAKS = frozenset("\x85\u2028\u2029")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if not _OTHER_LINE_BREAKS.isdisjoint(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    if value.startswith("{"):  # an expression value: quoted as people write it, "{{ flow.id }}"
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_KestraDumper.add_representer(str, _represent_str)


def keep_timestamps(document: Any, native: Any) -> Any:
    """``document`` (a JSON-mode dump) with the dates and datetimes of ``native`` (the same model dumped
    in Python mode) put back: a YAML timestamp (``after: 2023-01-01``) is written back unquoted."""
    if isinstance(native, (datetime.date, datetime.datetime)) and isinstance(document, str):
        return native
    if isinstance(document, dict) and isinstance(native, dict):
        return {key: keep_timestamps(value, native.get(key)) for key, value in document.items()}
    if isinstance(document, list) and isinstance(native, list) and len(document) == len(native):
        return [keep_timestamps(value, item) for value, item in zip(document, native, strict=True)]
    return document


def dump_document(document: dict[str, Any]) -> str:
    """Kestra-style YAML text of a document."""
    return yaml.dump(
        document,
        Dumper=_KestraDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=10_000,
    )
