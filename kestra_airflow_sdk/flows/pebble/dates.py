"""Kestra's date filters and ``now()``: Java ``DateTimeFormatter`` patterns, named formats, zones.

A value is read as Kestra reads it (``AbstractDate.convert``): a datetime (naive ones in the given
zone), a date (at midnight), an integer (epoch seconds), or a string parsed as an ISO offset/zoned
date-time, else an ISO local date-time or date in the zone; ``existingFormat`` names the pattern of
a non-ISO string. Patterns are Java's letters (``yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX``), formatted with
Babel (CLDR patterns use the same letters). Kestra's default zone is the server's; here it is UTC.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime

from .values import ExpressionProblem

__all__ = ["date_add", "format_date", "now", "timestamp"]

_NAMED = {
    "iso": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
    "iso_sec": "yyyy-MM-dd'T'HH:mm:ssXXX",
    "sql": "yyyy-MM-dd HH:mm:ss.SSSSSS",
    "sql_seq": "yyyy-MM-dd HH:mm:ss",
    "iso_local_date": "yyyy-MM-dd",
    "iso_date": "yyyy-MM-ddXXX",
    "iso_local_time": "HH:mm:ss",
    "iso_time": "HH:mm:ssXXX",
    "iso_local_date_time": "yyyy-MM-dd'T'HH:mm:ss",
    "iso_offset_time": "HH:mm:ssXXX",
    "iso_date_time": "yyyy-MM-dd'T'HH:mm:ssXXX",
    "iso_zoned_date_time": "yyyy-MM-dd'T'HH:mm:ssXXX",
    "iso_instant": "yyyy-MM-dd'T'HH:mm:ss'Z'",
    "iso_ordinal_date": "yyyy-DDDXXX",
    "iso_week_date": "YYYY-'W'ww-eXXX",
    "rfc_1123_date_time": "EEE, d MMM yyyy HH:mm:ss 'GMT'",
}
_STYLES = ("full", "long", "medium", "short")
_UNITS = {
    "NANOS": timedelta(microseconds=0.001),
    "MICROS": timedelta(microseconds=1),
    "MILLIS": timedelta(milliseconds=1),
    "SECONDS": timedelta(seconds=1),
    "MINUTES": timedelta(minutes=1),
    "HOURS": timedelta(hours=1),
    "HALF_DAYS": timedelta(hours=12),
    "DAYS": timedelta(days=1),
    "WEEKS": timedelta(weeks=1),
}
_MONTHS = {"MONTHS": 1, "YEARS": 12, "DECADES": 120, "CENTURIES": 1200, "MILLENNIA": 12000}


def zone(name: str | None) -> tzinfo:
    if name is None:
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ExpressionProblem(
            f"unknown time zone {name!r} (use an IANA name such as 'Europe/Paris' or 'UTC')"
        ) from None


def _parse_with(text: str, pattern: str, where: tzinfo) -> datetime:
    if pattern == "rfc_1123_date_time":
        return parsedate_to_datetime(text)
    java = _NAMED.get(pattern, pattern)
    python = _strptime_pattern(java)
    try:
        parsed = datetime.strptime(text, python)
    except ValueError as exc:
        raise ExpressionProblem(f"{text!r} does not match the format {pattern!r}: {exc}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=where)


_STRPTIME = {
    "yyyy": "%Y", "uuuu": "%Y", "yy": "%y", "MMMM": "%B", "MMM": "%b", "MM": "%m", "M": "%m",
    "dd": "%d", "d": "%d", "HH": "%H", "H": "%H", "hh": "%I", "h": "%I", "mm": "%M", "m": "%M",
    "ss": "%S", "s": "%S", "a": "%p", "EEEE": "%A", "EEE": "%a", "XXX": "%z", "XX": "%z", "X": "%z",
    "Z": "%z", "SSSSSS": "%f", "SSS": "%f",
}  # fmt: skip


def _strptime_pattern(java: str) -> str:
    result = []
    for kind, value in _tokens(java):
        if kind == "text":
            result.append(value.replace("%", "%%"))
        else:
            if value not in _STRPTIME:
                raise ExpressionProblem(f"existingFormat: the pattern letters {value!r} are not supported")
            result.append(_STRPTIME[value])
    return "".join(result)


def _tokens(pattern: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            end = pattern.find("'", i + 1)
            end = len(pattern) if end < 0 else end
            tokens.append(("text", pattern[i + 1 : end] or "'"))
            i = end + 1
        elif char.isalpha():
            j = i
            while j < len(pattern) and pattern[j] == char:
                j += 1
            tokens.append(("field", pattern[i:j]))
            i = j
        else:
            tokens.append(("text", char))
            i += 1
    return tokens


_ISO_FRACTION = re.compile(r"(\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$")


def _six_digits(match: re.Match[str]) -> str:
    """Python reads at most microseconds and (before 3.11) no ``Z``: ``.123456789Z`` -> ``.123456+00:00``."""
    time, fraction, offset = match.groups()
    fraction = f".{(fraction + '000000')[:6]}" if fraction else ""
    return time + fraction + ("+00:00" if offset == "Z" else offset or "")


def convert(value: Any, where: tzinfo, existing_format: str | None = None) -> datetime:
    """A date-time from what a template holds (see the module documentation)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=where)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, 12, tzinfo=where)
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, where)
    if not isinstance(value, str):
        raise ExpressionProblem(f"cannot read {value!r} as a date")
    if existing_format is not None:
        return _parse_with(value, existing_format, where)
    try:
        parsed = datetime.fromisoformat(_ISO_FRACTION.sub(_six_digits, value.strip()))
    except ValueError:
        raise ExpressionProblem(
            f"cannot read {value!r} as a date: give an ISO-8601 date-time, or its pattern as existingFormat"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=where)


def format_date(
    value: Any,
    format: str = "iso",
    timeZone: str | None = None,
    existingFormat: str | None = None,
    locale: str | None = None,
) -> str | None:
    """The ``date`` filter: ``value`` formatted with a Java pattern or a named format."""
    if value is None:
        return None
    where = zone(timeZone)
    moment = convert(value, where, existingFormat).astimezone(where)
    return _format(moment, format, where, locale)


def _format(moment: datetime, format: str, where: tzinfo, locale: str | None) -> str:
    if format == "iso_instant":
        return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if format == "rfc_1123_date_time":
        moment = moment.astimezone(timezone.utc)
    pattern = format if format in _STYLES else _NAMED.get(format, format)
    try:
        return format_datetime(moment, pattern, tzinfo=where, locale=(locale or "en_US").replace("-", "_"))
    except (ValueError, KeyError) as exc:
        raise ExpressionProblem(f"invalid date format {format!r}: {exc}") from None


def date_add(
    value: Any,
    amount: int,
    unit: str,
    format: str = "iso",
    timeZone: str | None = None,
    existingFormat: str | None = None,
    locale: str | None = None,
) -> str | None:
    """The ``dateAdd`` filter: ``amount`` of a ``ChronoUnit`` (``DAYS``, ``HOURS``, ``MONTHS`` ...)."""
    if value is None:
        return None
    where = zone(timeZone)
    moment = convert(value, where, existingFormat)
    if unit in _UNITS:
        moment = moment + amount * _UNITS[unit]
    elif unit in _MONTHS:
        months = moment.month - 1 + amount * _MONTHS[unit]
        year, month = moment.year + months // 12, months % 12 + 1
        moment = moment.replace(year=year, month=month, day=min(moment.day, _days_in(year, month)))
    else:
        raise ExpressionProblem(
            f"dateAdd: unknown unit {unit!r}; use one of {', '.join([*_UNITS, *_MONTHS])}"
        )
    return _format(moment.astimezone(where), format, where, locale)


def _days_in(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def timestamp(value: Any, timeZone: str | None = None, existingFormat: str | None = None) -> int | None:
    """The ``timestamp`` filter: epoch seconds."""
    if value is None:
        return None
    return int(convert(value, zone(timeZone), existingFormat).timestamp())


def timestamp_micro(value: Any, timeZone: str | None = None, existingFormat: str | None = None) -> str | None:
    """``timestampMicro`` as Kestra computes it: epoch seconds in nanoseconds plus the microseconds."""
    if value is None:
        return None
    moment = convert(value, zone(timeZone), existingFormat)
    return str(int(moment.timestamp()) * 1_000_000_000 + moment.microsecond)


def timestamp_nano(value: Any, timeZone: str | None = None, existingFormat: str | None = None) -> str | None:
    """``timestampNano``: epoch nanoseconds."""
    if value is None:
        return None
    moment = convert(value, zone(timeZone), existingFormat)
    return str(int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000)


def now(
    format: str = "iso",
    timeZone: str | None = None,
    locale: str | None = None,
) -> str:
    """``now()``: the current instant, formatted like the ``date`` filter."""
    where = zone(timeZone)
    return _format(datetime.now(where), format, where, locale)
