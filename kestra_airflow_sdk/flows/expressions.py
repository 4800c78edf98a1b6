"""A small, safe renderer for the subset of Kestra's Pebble expressions flows around Airflow use.

Supported inside ``{{ ... }}``:

* a variable path: ``flow.id``, ``execution.id``, ``inputs.name``, ``outputs.run_dag.dagRunId``,
  ``outputs['my-task'].state``, ``vars.items[0]``, ``labels.env``;
* ``secret('NAME')``;
* string and number literals;
* filters: ``upper``, ``lower``, ``trim``, ``capitalize``, ``length``, ``json`` (``toJson``) and
  ``default(value)`` (which also stands in for an undefined variable).

Nothing is evaluated as Python and no template engine is involved: the text is tokenised and
interpreted by the few rules above. Kestra semantics: a rendered property is a string; maps and
lists render as JSON, booleans as ``true``/``false``, null as an empty string. Rendering is not
recursive (an expression's value is not rendered again). A value that involved a secret comes back
as a :class:`pydantic.SecretStr`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Any

from pydantic import SecretStr

from .errors import ExpressionError
from .secrets import SecretResolver

__all__ = ["Renderer", "iso", "render_text"]

_BLOCK = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_TOKEN = re.compile(
    r"""\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
    r"""|(?P<num>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_-]*)|(?P<op>[.|()\[\],]))"""
)


class _Undefined:
    """What an unknown variable evaluates to before ``default`` or the error decides."""

    def __init__(self, path: str, known: list[str]) -> None:
        self.path = path
        self.known = known


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class _Path:
    parts: tuple[str | int, ...]


@dataclass(frozen=True)
class _Secret:
    name: str


@dataclass(frozen=True)
class _Call:
    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class _Literal:
    value: Any


@dataclass(frozen=True)
class _Expression:
    term: _Path | _Secret | _Literal | _Call
    filters: tuple[tuple[str, tuple[Any, ...]], ...]


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        stripped = text.rstrip()
        while pos < len(stripped):
            match = _TOKEN.match(stripped, pos)
            if match is None or match.end() == pos:
                raise ValueError(f"unexpected character {stripped[pos:].strip()[:1]!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str, value: str | None = None) -> str:
        token = self.peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            want = repr(value) if value else {"name": "a name", "str": "a quoted string"}.get(kind, kind)
            got = "the end" if token is None else repr(token[1])
            raise ValueError(f"expected {want}, found {got}")
        self.i += 1
        return token[1]

    def at(self, value: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "op" and token[1] == value

    def literal(self) -> Any:
        token = self.peek()
        if token is None or token[0] not in ("str", "num"):
            raise ValueError("expected a quoted string or a number")
        self.i += 1
        if token[0] == "num":
            return float(token[1]) if "." in token[1] else int(token[1])
        return token[1][1:-1].encode().decode("unicode_escape")

    def expression(self) -> _Expression:
        token = self.peek()
        if token is None:
            raise ValueError("the expression is empty")
        term: _Path | _Secret | _Literal | _Call
        if token[0] in ("str", "num"):
            term = _Literal(self.literal())
        elif (
            token == ("name", "secret")
            and self.i + 1 < len(self.tokens)
            and self.tokens[self.i + 1][1] == "("
        ):
            self.i += 2
            name = self.literal()
            self.take("op", ")")
            if not isinstance(name, str) or not name:
                raise ValueError("secret() takes the secret's name as a quoted string")
            term = _Secret(name)
        elif token[0] == "name" and self.i + 1 < len(self.tokens) and self.tokens[self.i + 1][1] == "(":
            self.i += 2
            call_args: list[Any] = []
            while not self.at(")"):
                call_args.append(self.literal())
                if not self.at(")"):
                    self.take("op", ",")
            self.take("op", ")")
            term = _Call(token[1], tuple(call_args))
        else:
            term = self.path()
        filters = []
        while self.at("|"):
            self.i += 1
            name = self.take("name")
            args: list[Any] = []
            if self.at("("):
                self.i += 1
                while not self.at(")"):
                    args.append(self.literal())
                    if not self.at(")"):
                        self.take("op", ",")
                self.take("op", ")")
            filters.append((name, tuple(args)))
        if self.peek() is not None:
            raise ValueError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return _Expression(term, tuple(filters))

    def path(self) -> _Path:
        parts: list[str | int] = [self.take("name")]
        while self.at(".") or self.at("["):
            if self.take("op") == ".":
                parts.append(self.take("name"))
            else:
                key = self.literal()
                self.take("op", "]")
                parts.append(key)
        return _Path(tuple(parts))


@lru_cache(maxsize=1024)
def _parse(text: str) -> _Expression:
    return _Parser(text).expression()


# --------------------------------------------------------------------------- values


def iso(value: datetime) -> str:
    """Kestra's ISO-8601 form of an instant (UTC, ``Z``)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(_plain(value), default=str, separators=(",", ":"))
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


_FILTERS: dict[str, Callable[..., Any]] = {
    "upper": lambda v: _text(v).upper(),
    "lower": lambda v: _text(v).lower(),
    "trim": lambda v: _text(v).strip(),
    "capitalize": lambda v: _text(v)[:1].upper() + _text(v)[1:],
    "length": lambda v: len(v) if isinstance(v, (str, list, dict, tuple)) else len(_text(v)),
    "json": lambda v: json.dumps(_plain(v), default=str),
    "toJson": lambda v: json.dumps(_plain(v), default=str),
}


# --------------------------------------------------------------------------- rendering


class Renderer:
    """Render Kestra expressions against one task's variables.

    Args:
        variables: ``flow``, ``task``, ``execution``, ``inputs``, ``outputs``, ``labels``, ``vars`` ...
        secrets: resolves ``secret('NAME')``.
        task_id: the task being rendered, for error messages.
        functions: functions bound to the execution (``errorLogs``, ``tasksWithState`` ...).
    """

    def __init__(
        self,
        variables: Mapping[str, Any],
        secrets: SecretResolver,
        task_id: str = "",
        functions: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        self.variables = variables
        self.secrets = secrets
        self.task_id = task_id
        self.functions = dict(functions or {})

    def render(self, value: Any, where: str = "") -> Any:
        """Render every string inside ``value`` (dicts and lists are walked; keys are kept)."""
        if isinstance(value, str):
            return self.render_text(value, where)
        if isinstance(value, SecretStr):
            rendered = self.render_text(value.get_secret_value(), where)
            return rendered if isinstance(rendered, SecretStr) else SecretStr(rendered)
        if isinstance(value, dict):
            return {k: self.render(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return value

    def render_text(self, text: str, where: str = "") -> str | SecretStr:
        """Render one string; a :class:`SecretStr` when a secret went into it."""
        if "{{" not in text:
            return text
        secret = False
        pieces: list[str] = []
        pos = 0
        for match in _BLOCK.finditer(text):
            pieces.append(text[pos : match.start()])
            value = self._evaluate(match.group(1), where)
            if isinstance(value, SecretStr):
                secret = True
                value = value.get_secret_value()
            pieces.append(_text(value))
            pos = match.end()
        pieces.append(text[pos:])
        result = "".join(pieces)
        return SecretStr(result) if secret else result

    def _where(self, where: str) -> str:
        task = f"task {self.task_id!r}" if self.task_id else "the flow"
        return f"{task}, property {where}" if where else task

    def _evaluate(self, source: str, where: str) -> Any:
        shown = "{{" + source + "}}"
        try:
            expression = _parse(source.strip())
        except ValueError as exc:
            raise ExpressionError(
                f"Cannot parse the expression {shown} in {self._where(where)}: {exc}. Supported: a "
                "variable path (flow.id, outputs.<task>.<name>, inputs.x ...), secret('NAME'), "
                f"literals and the filters {', '.join(sorted([*_FILTERS, 'default']))}",
                expression=shown,
                where=self._where(where),
            ) from None
        term = expression.term
        if isinstance(term, _Secret):
            value: Any = self.secrets.resolve(term.name, self._where(where))
        elif isinstance(term, _Literal):
            value = term.value
        elif isinstance(term, _Call):
            if term.name not in self.functions:
                raise ExpressionError(
                    f"Unknown function {term.name!r} in {shown} ({self._where(where)}); supported: "
                    f"{', '.join(sorted(['secret', *self.functions]))}",
                    expression=shown,
                    where=self._where(where),
                )
            value = self.functions[term.name](*term.args)
        else:
            value = self._lookup(term.parts)
        secret = isinstance(value, SecretStr)
        for name, args in expression.filters:
            if name == "default":
                if isinstance(value, _Undefined) or value is None or value == "":
                    value = args[0] if args else ""
                continue
            if isinstance(value, _Undefined):
                break
            if name not in _FILTERS:
                raise ExpressionError(
                    f"Unknown filter {name!r} in {shown} ({self._where(where)}); supported filters: "
                    f"{', '.join(sorted([*_FILTERS, 'default']))}",
                    expression=shown,
                    where=self._where(where),
                )
            value = _FILTERS[name](value.get_secret_value() if isinstance(value, SecretStr) else value)
        if isinstance(value, _Undefined):
            known = f" (known here: {', '.join(value.known)})" if value.known else ""
            raise ExpressionError(
                f"Undefined variable in {shown} ({self._where(where)}): {value.path} is not defined{known}",
                expression=shown,
                where=self._where(where),
            )
        if secret and not isinstance(value, SecretStr):
            value = SecretStr(_text(value))
        return value

    def _lookup(self, parts: tuple[str | int, ...]) -> Any:
        node: Any = self.variables
        path = ""
        for part in parts:
            shown = f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
            found, child = _child(node, part)
            if not found:
                known = sorted(map(str, node)) if isinstance(node, Mapping) else []
                return _Undefined(path + shown, known)
            node = child
            path += shown
        return node


def _child(node: Any, part: str | int) -> tuple[bool, Any]:
    """(found, value) of one step of a variable path: a mapping key or a list index."""
    if isinstance(node, Mapping):
        return (True, node[part]) if part in node else (False, None)
    if isinstance(node, (list, tuple)) and isinstance(part, int) and -len(node) <= part < len(node):
        return True, node[part]
    return False, None


def render_text(text: str, variables: Mapping[str, Any], secrets: SecretResolver | None = None) -> Any:
    """Render one string against ``variables`` (convenience for tests and one-off use)."""
    return Renderer(variables, secrets or SecretResolver()).render_text(text)
