"""Typed values of flow inputs, parsed the way Kestra parses them (``FlowInputOutput.parseType`` in
Kestra's core) and shown the way Java shows them (``Instant``, ``LocalTime``, ``Duration``).

Values given through Kestra's API arrive as text; from Python they may also arrive already typed
(``int``, ``datetime``, ``timedelta``, ``dict`` ...), which is accepted when it is of the right type.
:class:`InputValueError` carries the rule a value broke, worded as Kestra words it.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import yaml
from pydantic import SecretStr

from .durations import parse_duration

__all__ = [
    "INPUT_TYPES",
    "InputValueError",
    "KestraDuration",
    "KestraTime",
    "java_text",
    "parse_value",
]

#: every input type Kestra knows (``BOOL`` is Kestra 1's name of ``BOOLEAN``, ``ENUM`` the old ``SELECT``)
INPUT_TYPES = (
    "STRING",
    "ENUM",
    "SELECT",
    "INT",
    "FLOAT",
    "BOOLEAN",
    "BOOL",
    "DATETIME",
    "DATE",
    "TIME",
    "DURATION",
    "FILE",
    "JSON",
    "URI",
    "SECRET",
    "ARRAY",
    "MULTISELECT",
    "YAML",
    "EMAIL",
)

_INT32 = (-(2**31), 2**31 - 1)
_INT_TEXT = re.compile(r"[+-]?\d+")
_FLOAT_TEXT = re.compile(r"[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?)")
_INSTANT_TEXT = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}(?::\d{2})?)"
)
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_TEXT = re.compile(r"(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?")
# scheme://host.tld[/path...]: the shape Kestra's URI input accepts (lower-case scheme, a dotted host)
_URI_TEXT = re.compile(
    r"[a-z]+://(?:www\.)?[-a-zA-Z0-9@:%._+~#=]{1,256}\.[a-zA-Z0-9()]{1,6}\b[-a-zA-Z0-9()@:%_+.~#?&/=]*"
)
# empty, or local-part@domain with the characters Kestra's EMAIL input allows
_EMAIL_TEXT = re.compile(r"|[a-zA-Z0-9_!#$%&'\u2019*+/=?`{|}~^.-]+@[a-zA-Z0-9.-]+")


class InputValueError(ValueError):
    """A value does not parse as its input type, or breaks one of the input's rules (the message
    is the rule, e.g. ``it must be more than `10```)."""


class KestraDuration(timedelta):
    """A ``DURATION`` input value: a :class:`~datetime.timedelta` that prints as Java's
    ``Duration.toString()`` does (``PT5M6S``, ``PT24H``), which is how Kestra renders it."""

    def __str__(self) -> str:
        return java_text(timedelta(self.days, self.seconds, self.microseconds))


class KestraTime(time):
    """A ``TIME`` input value: a :class:`~datetime.time` that prints as Java's ``LocalTime`` does
    (``18:27:49``, ``01:00``), which is how Kestra renders it."""

    def __str__(self) -> str:
        return java_text(time(self.hour, self.minute, self.second, self.microsecond))


def _fraction(microseconds: int) -> str:
    if not microseconds:
        return ""
    return f".{microseconds // 1000:03d}" if microseconds % 1000 == 0 else f".{microseconds:06d}"


def java_text(value: Any) -> str:
    """``value`` as Java prints it in Kestra's messages and renderings (Instant, LocalTime, Duration)."""
    if isinstance(value, datetime):
        utc = value.astimezone(timezone.utc) if value.tzinfo else value
        return f"{utc:%Y-%m-%dT%H:%M:%S}{_fraction(utc.microsecond)}Z"
    if isinstance(value, time):
        if not value.second and not value.microsecond:
            return f"{value.hour:02d}:{value.minute:02d}"
        return f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}{_fraction(value.microsecond)}"
    if isinstance(value, timedelta):
        total = value.days * 86400 + value.seconds
        if not total and not value.microseconds:
            return "PT0S"
        hours, rest = divmod(total, 3600)
        minutes, seconds = divmod(rest, 60)
        text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
        if seconds or value.microseconds:
            text += f"{seconds}{_fraction(value.microseconds).rstrip('0')}S"
        return text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def _text(value: Any, kind: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # YAML/JSON scalars given to a text input, as Jackson reads them
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    raise InputValueError(f"Expected `{kind}` but received a {type(value).__name__}")


def _int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INT_TEXT.fullmatch(value):
        number = int(value)
    else:
        raise InputValueError("Expected `INT` (a whole number)")
    if not _INT32[0] <= number <= _INT32[1]:
        raise InputValueError(f"Expected `INT` between {_INT32[0]} and {_INT32[1]} (a Java int)")
    return number


def _float(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = value.strip() if isinstance(value, str) else None
    if text is None or not _FLOAT_TEXT.fullmatch(text):
        raise InputValueError("Expected `FLOAT` (a number such as 0.5 or 1e3)")
    return float(text.rstrip("fFdD").replace("Infinity", "inf"))


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):  # Java's Boolean.valueOf: "true" in any case, anything else is false
        return value.lower() == "true"
    raise InputValueError("Expected `BOOLEAN` (true or false)")


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and _INSTANT_TEXT.fullmatch(value):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:
        raise InputValueError("Expected `DATETIME` (an ISO-8601 instant such as 2026-01-31T08:00:00Z)")
    if parsed.tzinfo is None:
        raise InputValueError("Expected `DATETIME` with a time zone (e.g. 2026-01-31T08:00:00Z)")
    return parsed.astimezone(timezone.utc)


def _date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE_TEXT.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InputValueError("Expected `DATE` (an ISO-8601 date such as 2026-01-31)")


def _time(value: Any) -> KestraTime:
    if isinstance(value, time):
        return KestraTime(value.hour, value.minute, value.second, value.microsecond)
    match = _TIME_TEXT.fullmatch(value) if isinstance(value, str) else None
    if match is not None:
        hour, minute, second, fraction = match.groups()
        try:
            return KestraTime(
                int(hour), int(minute), int(second or 0), int((fraction or "0").ljust(9, "0")[:6])
            )
        except ValueError:
            pass
    raise InputValueError("Expected `TIME` (an ISO-8601 local time such as 18:27:49)")


def _duration(value: Any) -> KestraDuration:
    if isinstance(value, timedelta):
        return KestraDuration(value.days, value.seconds, value.microseconds)
    try:
        parsed = parse_duration(value)
    except ValueError:
        raise InputValueError("Expected `DURATION` (an ISO-8601 duration such as PT5M or P1DT2H)") from None
    return KestraDuration(parsed.days, parsed.seconds, parsed.microseconds)


def _json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise InputValueError(f"Expected `JSON` but the text is not JSON ({exc})") from None


def _yaml(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise InputValueError(
            f"Expected `YAML` but the text is not YAML ({exc})".replace("\n", " ")
        ) from None


def _list(value: Any, kind: str) -> list[Any]:
    parsed = _json(value) if isinstance(value, str) else value
    if not isinstance(parsed, (list, tuple)):
        raise InputValueError(f"Expected `{kind}` (a list, or its JSON text such as [1, 2])")
    return list(parsed)


def parse_value(kind: str, value: Any, item_type: str | None = None) -> Any:
    """``value`` as an input of type ``kind`` (one of :data:`INPUT_TYPES`), as Kestra types it:
    INT → int, FLOAT → float, BOOLEAN/BOOL → bool, DATETIME → UTC datetime, DATE → date,
    TIME → :class:`KestraTime`, DURATION → :class:`KestraDuration`, JSON/YAML → parsed object,
    SECRET → :class:`~pydantic.SecretStr`, ARRAY/MULTISELECT → list (items typed as ``item_type``);
    STRING, SELECT, ENUM, URI and EMAIL stay text.

    Raises:
        InputValueError: the value is not of that type (the message says what was expected).
    """
    if kind in ("STRING", "SELECT", "ENUM"):
        return _text(value, kind)
    if kind == "SECRET":
        return value if isinstance(value, SecretStr) else SecretStr(_text(value, kind))
    if kind == "URI":
        text = _text(value, kind)
        if not _URI_TEXT.fullmatch(text):
            raise InputValueError(f"Expected `URI` but received `{text}`")
        return text
    if kind == "EMAIL":
        text = _text(value, kind)
        if not _EMAIL_TEXT.fullmatch(text):
            raise InputValueError("The input must be a valid email")
        return text
    if kind in ("ARRAY", "MULTISELECT"):
        items = _list(value, kind)
        if item_type is None:
            return items
        typed = []
        for item in items:
            try:
                typed.append(parse_value(item_type, item))
            except InputValueError:
                raise InputValueError(f"Unable to parse array element as `{item_type}` on `{item}`") from None
        return typed
    parsers = {
        "INT": _int,
        "FLOAT": _float,
        "BOOLEAN": _bool,
        "BOOL": _bool,
        "DATETIME": _datetime,
        "DATE": _date,
        "TIME": _time,
        "DURATION": _duration,
        "JSON": _json,
        "YAML": _yaml,
    }
    if kind not in parsers:
        raise InputValueError(f"inputs of type {kind} cannot be given to a local run")
    return parsers[kind](value)
