"""ISO-8601 durations as Kestra (``java.time.Duration``) writes them: ``PT1S``, ``PT5M``, ``P1DT2H``.

Flow models keep a duration as its ISO-8601 text, so a document exports exactly as written;
:func:`parse_duration` turns it into a :class:`~datetime.timedelta` when the runner needs one.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

__all__ = ["Duration", "format_duration", "parse_duration"]

_PATTERN = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
_RULE = "an ISO-8601 duration such as PT1S, PT30M, PT1H30M or P1D (or a datetime.timedelta)"


def parse_duration(text: str) -> timedelta:
    """Parse an ISO-8601 duration (``PnDTnHnMn.nS``, the form Kestra uses) into a timedelta.

    Raises:
        ValueError: ``text`` is not such a duration (``"1s"``, ``"PT"``, ``"P"``, ``"PT-1S"`` ...).
    """
    match = _PATTERN.match(text.strip()) if isinstance(text, str) else None
    if match is None or text.strip().upper().endswith("T") or not any(match.groupdict().values()):
        raise ValueError(f"expected {_RULE}, got {text!r}")
    parts = {k: float(v) for k, v in match.groupdict().items() if v is not None}
    return timedelta(**parts)


def format_duration(value: timedelta) -> str:
    """The ISO-8601 text of a non-negative timedelta, e.g. ``timedelta(minutes=90)`` → ``PT1H30M``."""
    if value < timedelta(0):
        raise ValueError(f"expected a non-negative duration, got {value}")
    days = value.days
    hours, rest = divmod(value.seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "P" + (f"{days}D" if days else "")
    clock = ""
    if hours:
        clock += f"{hours}H"
    if minutes:
        clock += f"{minutes}M"
    fraction = value.microseconds / 1_000_000
    if secs or fraction:
        clock += f"{secs + fraction:g}S" if fraction else f"{secs}S"
    if clock:
        text += "T" + clock
    return "PT0S" if text == "P" else text


def _to_iso(value: Any) -> Any:
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, str):
        parse_duration(value)
        return value.strip()
    raise ValueError(f"expected {_RULE}, got {value!r}")


#: a model field holding an ISO-8601 duration (validated; a timedelta is converted to its text)
Duration = Annotated[str, BeforeValidator(_to_iso), WithJsonSchema({"type": "string", "format": "duration"})]
