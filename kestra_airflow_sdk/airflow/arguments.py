"""Validation of user arguments, before any request: each failure names the argument and the value.

Used by the operations of every layer (REST, history, migration), so that the same argument gets the
same message everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from .errors import InvalidArgumentError
from .models import DagRunState

__all__ = [
    "IfPaused",
    "aware",
    "check_if_paused",
    "iso",
    "json_object",
    "limit",
    "positive",
    "segment",
    "states",
]

#: what to do about a paused DAG in trigger_dag_run / wait_for_dag_run
IfPaused = Literal["warn", "raise", "ignore"]


def segment(value: str, name: str) -> str:
    """``value`` as one URL path segment (quoted); it must be a non-empty string."""
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(f"{name}: expected a non-empty string, got {value!r}")
    return quote(value, safe="")


def aware(value: datetime | None, name: str) -> datetime | None:
    """``value`` unchanged when it is None or a timezone-aware datetime."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidArgumentError(f"{name}: expected a timezone-aware datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidArgumentError(
            f"{name}: got the naive datetime {value.isoformat()}; Airflow needs a timezone-aware one "
            "(for example datetime(..., tzinfo=timezone.utc))"
        )
    return value


def states(state: str | Iterable[str] | None) -> list[str]:
    """One state or several (strings or enum members) as a list of state strings."""
    if state is None:
        return []
    values = [state] if isinstance(state, str) else list(state)
    return [str(s.value if isinstance(s, DagRunState) else s) for s in values]


def positive(value: float, name: str) -> float:
    """``value`` as a float; it must be a positive number of seconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise InvalidArgumentError(f"{name}: expected a positive number of seconds, got {value!r}")
    return float(value)


def limit(value: int | None) -> int | None:
    """``value`` unchanged when it is None or a non-negative integer."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise InvalidArgumentError(f"limit: expected a non-negative integer, got {value!r}")
    return value


def check_if_paused(value: str) -> None:
    """Refuse an ``if_paused`` that is not ``"warn"``, ``"raise"`` or ``"ignore"``."""
    if value not in ("warn", "raise", "ignore"):
        raise InvalidArgumentError(f"if_paused: expected 'warn', 'raise' or 'ignore', got {value!r}")


def iso(value: datetime | None) -> str | None:
    """ISO 8601 text of ``value`` (None stays None)."""
    return value.isoformat() if value is not None else None


def json_object(conf: Mapping[str, Any] | None, name: str) -> dict[str, Any] | None:
    """A copy of ``conf`` that is known to be a JSON object (None stays None)."""
    if conf is None:
        return None
    if not isinstance(conf, Mapping):
        raise InvalidArgumentError(f"{name}: expected a JSON object (a dict), got {type(conf).__name__}")
    try:
        return dict(json.loads(json.dumps(dict(conf), allow_nan=False)))
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"{name}: must be JSON-serialisable: {exc}") from None
