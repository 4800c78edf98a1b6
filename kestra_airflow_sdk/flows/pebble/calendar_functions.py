"""Kestra 2.0's calendar functions, written for trigger ``when`` conditions: ``dayOfWeek(date)``,
``dayOfMonth(date)``, ``monthOfYear(date)``, ``hourOfDay(date)``, ``isWeekend(date)`` and
``isDayWeekInMonth(date, dayOfWeek, position)``.

As in Kestra, ``date`` is read as text: an ISO date (``2025-01-06``) or an ISO date-time with an offset
(``2025-01-06T00:30:00+02:00``, ``...Z``, optionally followed by ``[Europe/Paris]``); ``hourOfDay``
also takes a date-time without offset. The day, month and hour are those written, in the value's own
offset (no conversion to UTC): ``dayOfWeek('2025-01-06T00:30:00+02:00')`` is ``MONDAY``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from .values import ExpressionProblem

__all__ = ["CALENDAR_FUNCTIONS"]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:\d{2}(?::\d{2})?)?(?:\[[^\]]+\])?"
)
_DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
_POSITIONS = ("FIRST", "SECOND", "THIRD", "FOURTH", "LAST")


def _text(value: Any, function: str) -> str:
    if value is None:
        raise ExpressionProblem(f"the '{function}()' function expects a 'date' argument")
    if isinstance(value, date):  # a datetime too: in its own offset, as Java's toString() writes it
        return value.isoformat()
    return str(value)


def _date_time(text: str, function: str, *, offset_required: bool) -> datetime:
    match = _DATE_TIME.fullmatch(text)
    if match is None or (offset_required and match.group(2) is None):
        raise ExpressionProblem(f"the '{function}()' function could not parse 'date': {text!r}")
    offset = match.group(2) or ""
    try:
        return datetime.fromisoformat(match.group(1)[:26] + ("+00:00" if offset == "Z" else offset))
    except ValueError:
        raise ExpressionProblem(f"the '{function}()' function could not parse 'date': {text!r}") from None


def _local_date(value: Any, function: str) -> date:
    """Kestra's ``DateUtils.parseLocalDate``: an ISO date, else the date part of a zoned date-time."""
    text = _text(value, function)
    if _DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ExpressionProblem(f"the '{function}()' function could not parse 'date': {text!r}") from None
    return _date_time(text, function, offset_required=True).date()


def _day_of_week(date: Any = None) -> str:
    return _DAYS[_local_date(date, "dayOfWeek").weekday()]


def _day_of_month(date: Any = None) -> int:
    return _local_date(date, "dayOfMonth").day


def _month_of_year(date: Any = None) -> int:
    return _local_date(date, "monthOfYear").month


def _hour_of_day(date: Any = None) -> int:
    return _date_time(_text(date, "hourOfDay"), "hourOfDay", offset_required=False).hour


def _is_weekend(date: Any = None) -> bool:
    return _local_date(date, "isWeekend").weekday() >= 5


def _is_day_week_in_month(date: Any = None, dayOfWeek: Any = None, position: Any = None) -> bool:
    day = _local_date(date, "isDayWeekInMonth")
    for name, given in (("dayOfWeek", dayOfWeek), ("position", position)):
        if given is None:
            raise ExpressionProblem(f"the 'isDayWeekInMonth()' function expects a '{name}' argument")
    weekday, where = str(dayOfWeek).upper(), str(position).upper()
    if weekday not in _DAYS:
        raise ExpressionProblem(
            f"isDayWeekInMonth(): dayOfWeek {dayOfWeek!r} is not one of {', '.join(_DAYS)}"
        )
    if where not in _POSITIONS:
        raise ExpressionProblem(
            f"isDayWeekInMonth(): position {position!r} is not one of {', '.join(_POSITIONS)}"
        )
    wanted = _DAYS.index(weekday)
    first = day.replace(day=1)
    first += timedelta(days=(wanted - first.weekday()) % 7)
    if where == "LAST":
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)  # the next month's 1st
        last = following - timedelta(days=(following.weekday() - wanted) % 7 or 7)
        return day == last
    return day == first + timedelta(weeks=_POSITIONS.index(where))


CALENDAR_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "dayOfWeek": _day_of_week,
    "dayOfMonth": _day_of_month,
    "monthOfYear": _month_of_year,
    "hourOfDay": _hour_of_day,
    "isWeekend": _is_weekend,
    "isDayWeekInMonth": _is_day_week_in_month,
}
