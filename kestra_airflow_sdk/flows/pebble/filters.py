"""Kestra's filters (Pebble's core ones as Kestra configures them, plus Kestra's own): the registry,
the collection and data filters; string filters are in :mod:`.text`, date filters in :mod:`.dates`.

Each filter takes Kestra's argument names, so ``date(format='yyyy', timeZone='UTC')`` works by
position or by name. An undefined input or argument passes through unchanged (``??`` or the
printing of the result decides), except for ``default``, which replaces it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml
from babel.numbers import format_decimal

from . import dates
from .state import PebbleUndefined
from .state import reveal_deep as reveal
from .text import TEXT_FILTERS
from .values import (
    ExpressionProblem,
    arguments_problem,
    bounded,
    check_size,
    is_empty,
    is_number,
    java_text,
    need_string,
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
            result = function(value, *map(reveal, args), **{k: reveal(v) for k, v in kwargs.items()})
        except TypeError as exc:
            problem = arguments_problem(f"the {name} filter", exc)
            if problem is None:
                raise
            raise problem from None
        return bounded(result, f"the {name} filter")

    apply.__name__ = function.__name__
    return apply


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
    texts = [java_text(item) for item in value]
    sep = separator or ""
    check_size(sum(map(len, texts)) + len(sep) * max(0, len(texts) - 1), "the join filter")
    return sep.join(texts)


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


def _number(value: Any, type: str = "") -> int | float:
    text = need_string(value, "number").strip()
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


def _number_format(value: Any, format: str, locale: str | None = None) -> str:
    if not is_number(value):
        raise ExpressionProblem("numberFormat needs a number")
    return format_decimal(
        value, format.replace("#,##0", "#,##0"), locale=(locale or "en_US").replace("-", "_")
    )


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
    **TEXT_FILTERS,
    "abs": lambda v: abs(v) if is_number(v) else abs(_number(v)),
    "chunk": _chunk,
    "className": _class_name,
    "date": dates.format_date,
    "dateAdd": dates.date_add,
    "first": _first,
    "flatten": _flatten,
    "jq": _jq,
    "join": _join,
    "keys": _keys,
    "last": _last,
    "merge": _merge,
    "number": _number,
    "numberFormat": _number_format,
    "reverse": _reverse,
    "rsort": lambda v: _sorted(v, reverse=True),
    "slice": _slice,
    "sort": _sorted,
    "timestamp": dates.timestamp,
    "timestampMicro": dates.timestamp_micro,
    "timestampNano": dates.timestamp_nano,
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
