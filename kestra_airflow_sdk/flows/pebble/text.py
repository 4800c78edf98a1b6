"""Kestra's string filters (Pebble's core ones and Kestra's own): case, substrings, encodings,
digests, indentation, escaping. Each takes Kestra's argument names."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from .values import ExpressionProblem, java_text, need_string

__all__ = ["TEXT_FILTERS"]


def _split(value: Any, delimiter: str, limit: int | None = None) -> list[str]:
    parts = re.split(
        delimiter, need_string(value, "split"), maxsplit=0 if not limit or limit < 0 else limit - 1
    )
    if not limit:
        while parts and parts[-1] == "":  # Java's String.split drops trailing empty strings
            parts.pop()
    return parts


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


def _title(value: Any) -> str:
    return re.sub(r"(^|\s)(\S)", lambda m: m.group(1) + m.group(2).upper(), need_string(value, "title"))


def _capitalize(value: Any) -> str:
    return re.sub(r"^(\s*)(\S)", lambda m: m.group(1) + m.group(2).upper(), need_string(value, "capitalize"))


def _abbreviate(value: Any, length: int) -> str:
    text = need_string(value, "abbreviate")
    if length < 0:
        raise ExpressionProblem("abbreviate needs a length of 0 or more")
    if len(text) < length or len(text) <= 3:
        return text
    return text[:length] if length <= 3 else text[: length - 3] + "..."


def _slugify(value: Any) -> str:
    text = unicodedata.normalize("NFKD", java_text(value))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


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
        return base64.b64decode(need_string(value, "base64decode"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ExpressionProblem("base64decode: the value is not valid base64 of UTF-8 text") from None


def _digest(algorithm: str) -> Callable[[Any], str]:
    def apply(value: Any) -> str:
        return hashlib.new(algorithm, java_text(value).encode()).hexdigest()

    apply.__name__ = algorithm
    return apply


def _format(value: Any, *args: Any) -> str:
    """Java's ``String.format`` for the usual conversions (``%s``, ``%d``, ``%.2f``, ``%n``, ``%%``)."""
    pattern = need_string(value, "format").replace("%n", "\n")
    try:
        return pattern % tuple(
            java_text(a) if isinstance(a, (bool, list, dict)) or a is None else a for a in args
        )
    except (TypeError, ValueError) as exc:
        raise ExpressionProblem(f"format: {exc}") from None


TEXT_FILTERS: dict[str, Callable[..., Any]] = {
    "abbreviate": _abbreviate,
    "base64decode": _base64decode,
    "base64encode": lambda v: base64.b64encode(java_text(v).encode()).decode(),
    "capitalize": _capitalize,
    "endsWith": lambda v, value: java_text(v).endswith(java_text(value)),
    "escapeChar": lambda v, type: _escape_char(v, str(type).upper()),
    "format": _format,
    "indent": lambda v, amount, prefix=" ": _indent(v, amount, prefix),
    "lower": lambda v: java_text(v).lower(),
    "md5": _digest("md5"),
    "nindent": lambda v, amount, prefix=" ": _indent(v, amount, prefix, leading=True),
    "nl2br": lambda v: java_text(v).replace("\n", "<br />"),
    "replace": _replace,
    "sha1": _digest("sha1"),
    "sha256": _digest("sha256"),
    "sha512": _digest("sha512"),
    "slugify": _slugify,
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
    "title": _title,
    "trim": lambda v: java_text(v).strip(),
    "upper": lambda v: java_text(v).upper(),
    "urldecode": lambda v: unquote_plus(java_text(v)),
    "urlencode": lambda v: quote_plus(java_text(v), safe="*").replace("~", "%7E"),  # as Java's URLEncoder
}
