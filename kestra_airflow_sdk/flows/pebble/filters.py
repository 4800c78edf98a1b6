"""Kestra's filters (Pebble's core ones as Kestra configures them, plus Kestra's own) and tests.

Each filter takes Kestra's argument names, so ``date(format='yyyy', timeZone='UTC')`` works by
position or by name. An undefined input or argument passes through unchanged (``??`` or the
printing of the result decides), except for ``default``, which replaces it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import yaml
from babel.numbers import format_decimal

from . import dates
from .environment import PebbleUndefined
from .environment import reveal_deep as reveal
from .values import (
    ExpressionProblem,
    arguments_problem,
    is_empty,
    is_number,
    java_text,
    plain,
    to_ion,
    to_json,
    to_text,
)

__all__ = ["FILTERS"]


def _undefined(value: Any) -> bool:
    return isinstance(value, PebbleUndefined)


def _filter(function: Callable[..., Any], name: str, *, none_safe: bool = True) -> Callable[..., Any]:
    """Wrap a filter: undefined values pass through, secrets are revealed, null stays null."""

    def apply(value: Any, *args: Any, **kwargs: Any) -> Any:
        for item in (value, *args, *kwargs.values()):
            if isinstance(item, PebbleUndefined):
                return item
        value = reveal(value)
        if value is None and none_safe:
            return None
        try:
            return function(value, *map(reveal, args), **{k: reveal(v) for k, v in kwargs.items()})
        except TypeError as exc:
            problem = arguments_problem(f"the {name} filter", exc)
            if problem is None:
                raise
            raise problem from None

    apply.__name__ = function.__name__
    return apply


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ExpressionProblem(f"the {name!r} filter needs a string, got {to_text(value)!r}")
    return value


def _default(value: Any, default: Any = None) -> Any:
    return reveal(default) if _undefined(value) or is_empty(reveal(value)) else reveal(value)


def _first(value: Any) -> Any:
    if isinstance(value, (str, list, tuple)):
        return value[0] if value else None
    raise ExpressionProblem(f"first needs a list or a string, got {to_text(value)!r}")


def _last(value: Any) -> Any:
    if isinstance(value, (str, list, tuple)):
        return value[-1] if value else None
    raise ExpressionProblem(f"last needs a list or a string, got {to_text(value)!r}")


def _length(value: Any) -> int:
    return len(value) if isinstance(value, (str, Mapping, list, tuple, set)) else 0


def _join(value: Any, separator: str | None = None) -> str:
    if not isinstance(value, (list, tuple, set)):
        raise ExpressionProblem("join needs a list")
    return (separator or "").join(java_text(item) for item in value)


def _split(value: Any, delimiter: str, limit: int | None = None) -> list[str]:
    parts = re.split(delimiter, _string(value, "split"), maxsplit=0 if not limit or limit < 0 else limit - 1)
    if not limit:
        while parts and parts[-1] == "":  # Java's String.split drops trailing empty strings
            parts.pop()
    return parts


def _keys(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return list(value)
    if isinstance(value, (list, tuple)):
        return list(range(len(value)))
    raise ExpressionProblem(f"keys can only be applied to a list or a map, got {to_text(value)!r}")


def _values(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return list(value.values())
    raise ExpressionProblem(f"values can only be applied to a map, got {to_text(value)!r}")


def _replace(value: Any, replace_pairs: Any = None, regexp: bool = False) -> Any:
    if not isinstance(replace_pairs, Mapping):
        raise ExpressionProblem("replace takes a map of what to replace, e.g. replace({'a': 'b'})")

    def one(text: str) -> str:
        for old, new in replace_pairs.items():
            if regexp:
                text = re.sub(str(old), re.sub(r"\$(\d)", r"\\\1", str(new)), text)
            else:
                text = text.replace(java_text(old), java_text(new))
        return text

    def walk(item: Any) -> Any:
        if isinstance(item, Mapping):
            return {k: walk(v) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v) for v in item]
        return one(java_text(item))

    return walk(value)


def _number(value: Any, type: str = "") -> int | float:
    text = _string(value, "number").strip()
    try:
        if type in ("INT", "LONG", "BIGINTEGER"):
            return int(text, 0) if text.lower().startswith(("0x", "-0x")) else int(text)
        if type in ("FLOAT", "DOUBLE", "BIGDECIMAL"):
            return float(text)
        if text.lower().startswith(("0x", "-0x")):
            return int(text, 16)
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        raise ExpressionProblem(f"{text!r} is not a number") from None


def _title(value: Any) -> str:
    return re.sub(r"(^|\s)(\S)", lambda m: m.group(1) + m.group(2).upper(), _string(value, "title"))


def _capitalize(value: Any) -> str:
    return re.sub(r"^(\s*)(\S)", lambda m: m.group(1) + m.group(2).upper(), _string(value, "capitalize"))


def _abbreviate(value: Any, length: int) -> str:
    text = _string(value, "abbreviate")
    if length < 0:
        raise ExpressionProblem("abbreviate needs a length of 0 or more")
    if len(text) < length or len(text) <= 3:
        return text
    return text[:length] if length <= 3 else text[: length - 3] + "..."


def _slugify(value: Any) -> str:
    text = unicodedata.normalize("NFKD", java_text(value))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _slice(value: Any, fromIndex: int = 0, toIndex: int | None = None) -> Any:
    if not isinstance(value, (str, list, tuple)):
        raise ExpressionProblem("slice can only be applied to a string or a list")
    end = len(value) if toIndex is None else toIndex
    if fromIndex < 0 or end > len(value) or fromIndex >= end:
        raise ExpressionProblem(
            f"slice({fromIndex}, {toIndex}) is out of bounds for a length of {len(value)}"
        )
    return value[fromIndex:end]


def _sorted(value: Any, reverse: bool = False) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise ExpressionProblem(f"sort needs a list, got {to_text(value)!r}")
    try:
        return sorted(value, reverse=reverse)
    except TypeError:
        raise ExpressionProblem(
            "sort needs a list of comparable values (all numbers or all strings)"
        ) from None


def _reverse(value: Any) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise ExpressionProblem(f"reverse needs a list, got {to_text(value)!r}")
    return list(reversed(value))


def _merge(value: Any, items: Any = None) -> Any:
    if items is None:
        return value
    if isinstance(value, Mapping):
        if isinstance(items, Mapping):
            return {**value, **items}
        return {**value, **{item: item for item in items}}
    if isinstance(value, list):
        return (
            [*value, *({"key": k, "value": v} for k, v in items.items())]
            if isinstance(items, Mapping)
            else [*value, *items]
        )
    raise ExpressionProblem("merge can only be applied to a map or a list")


def _chunk(value: Any, size: int) -> list[Any]:
    if not isinstance(value, list):
        raise ExpressionProblem("chunk can only be applied to a list")
    return [value[i : i + size] for i in range(0, len(value), size)]


def _flatten(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ExpressionProblem("flatten can only be applied to a list")
    return [x for item in value for x in (item if isinstance(item, list) else [item])]


def _jq(value: Any, expression: str) -> list[Any]:
    import jq

    try:
        data = json.loads(value) if isinstance(value, str) else plain(value)
        return list(jq.compile(expression).input_value(data).all())
    except (ValueError, TypeError) as exc:
        raise ExpressionProblem(f"jq {expression!r} failed: {exc}") from None


def _indent(value: Any, amount: int, prefix: str = " ", *, leading: bool = False) -> str:
    text = java_text(value)
    if text == "":
        return text
    newline = next((sep for sep in ("\r\n", "\n\r", "\n", "\r") if sep in text), "\n")
    return ((newline + text) if leading else text).replace(newline, newline + prefix * amount)


def _escape_char(value: Any, type: str) -> Any:
    rules = {"SINGLE": ("'", "\\'"), "DOUBLE": ('"', '\\"'), "SHELL": ("'", "'\\''")}
    if type not in rules:
        raise ExpressionProblem("escapeChar takes type 'single', 'double' or 'shell'")
    old, new = rules[type]

    def walk(item: Any) -> Any:
        if isinstance(item, Mapping):
            return {k: walk(v) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v) for v in item]
        return java_text(item).replace(old, new)

    return walk(value)


def _base64decode(value: Any) -> str:
    try:
        return base64.b64decode(_string(value, "base64decode"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ExpressionProblem("base64decode: the value is not valid base64 of UTF-8 text") from None


def _digest(algorithm: str) -> Callable[[Any], str]:
    def apply(value: Any) -> str:
        return hashlib.new(algorithm, java_text(value).encode()).hexdigest()

    apply.__name__ = algorithm
    return apply


def _number_format(value: Any, format: str, locale: str | None = None) -> str:
    if not is_number(value):
        raise ExpressionProblem("numberFormat needs a number")
    return format_decimal(
        value, format.replace("#,##0", "#,##0"), locale=(locale or "en_US").replace("-", "_")
    )


def _format(value: Any, *args: Any) -> str:
    """Java's ``String.format`` for the usual conversions (``%s``, ``%d``, ``%.2f``, ``%n``, ``%%``)."""
    pattern = _string(value, "format").replace("%n", "\n")
    try:
        return pattern % tuple(
            java_text(a) if isinstance(a, (bool, list, dict)) or a is None else a for a in args
        )
    except (TypeError, ValueError) as exc:
        raise ExpressionProblem(f"format: {exc}") from None


def _yaml(value: Any) -> str:
    text = yaml.safe_dump(plain(value), sort_keys=False, allow_unicode=True, default_flow_style=False)
    text = text.removesuffix("...\n")  # PyYAML ends a lone scalar with a document end marker
    return re.sub(r"(?m)^( *)- ", r"\1 - ", text)  # Jackson indents list items (INDENT_ARRAYS)


def _class_name(value: Any) -> str:
    """Java's class name of the value as Kestra holds it (JSON numbers: Integer, then Long)."""
    kinds = {str: "java.lang.String", bool: "java.lang.Boolean", float: "java.lang.Double"}
    if isinstance(value, int) and not isinstance(value, bool):
        return "java.lang.Integer" if -(2**31) <= value < 2**31 else "java.lang.Long"
    if isinstance(value, Mapping):
        return "java.util.LinkedHashMap"
    if isinstance(value, (list, tuple)):
        return "java.util.ArrayList"
    return kinds.get(type(value), type(value).__name__)


_PLAIN_FILTERS: dict[str, Callable[..., Any]] = {
    "abbreviate": _abbreviate,
    "abs": lambda v: abs(v) if is_number(v) else abs(_number(v)),
    "base64decode": _base64decode,
    "base64encode": lambda v: base64.b64encode(java_text(v).encode()).decode(),
    "capitalize": _capitalize,
    "chunk": _chunk,
    "className": _class_name,
    "date": dates.format_date,
    "dateAdd": dates.date_add,
    "endsWith": lambda v, value: java_text(v).endswith(java_text(value)),
    "escapeChar": lambda v, type: _escape_char(v, str(type).upper()),
    "first": _first,
    "flatten": _flatten,
    "format": _format,
    "indent": lambda v, amount, prefix=" ": _indent(v, amount, prefix),
    "jq": _jq,
    "join": _join,
    "keys": _keys,
    "last": _last,
    "lower": lambda v: java_text(v).lower(),
    "md5": _digest("md5"),
    "merge": _merge,
    "nindent": lambda v, amount, prefix=" ": _indent(v, amount, prefix, leading=True),
    "nl2br": lambda v: java_text(v).replace("\n", "<br />"),
    "number": _number,
    "numberFormat": _number_format,
    "replace": _replace,
    "reverse": _reverse,
    "rsort": lambda v: _sorted(v, reverse=True),
    "sha1": _digest("sha1"),
    "sha256": _digest("sha256"),
    "sha512": _digest("sha512"),
    "slice": _slice,
    "slugify": _slugify,
    "sort": _sorted,
    "split": _split,
    "startsWith": lambda v, value: java_text(v).startswith(java_text(value)),
    "substringAfter": lambda v, separator: (
        java_text(v).partition(separator)[2] if separator in java_text(v) else ""
    ),
    "substringAfterLast": lambda v, separator: (
        java_text(v).rpartition(separator)[2] if separator in java_text(v) else ""
    ),
    "substringBefore": lambda v, separator: java_text(v).partition(separator)[0],
    "substringBeforeLast": lambda v, separator: (
        java_text(v).rpartition(separator)[0] if separator in java_text(v) else java_text(v)
    ),
    "timestamp": dates.timestamp,
    "timestampMicro": dates.timestamp_micro,
    "timestampNano": dates.timestamp_nano,
    "title": _title,
    "trim": lambda v: java_text(v).strip(),
    "upper": lambda v: java_text(v).upper(),
    "urldecode": lambda v: unquote_plus(java_text(v)),
    "urlencode": lambda v: quote_plus(java_text(v), safe="*").replace("~", "%7E"),  # as Java's URLEncoder
    "values": _values,
    "yaml": _yaml,
}
FILTERS: dict[str, Callable[..., Any]] = {
    name: _filter(function, name) for name, function in _PLAIN_FILTERS.items()
}
FILTERS.update(
    {
        "default": _default,
        "length": _filter(_length, "length", none_safe=False),
        "json": _filter(to_json, "json", none_safe=False),
        "toJson": _filter(to_json, "toJson", none_safe=False),
        "toIon": _filter(to_ion, "toIon", none_safe=False),
    }
)
