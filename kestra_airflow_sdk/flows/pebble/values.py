"""Values as Kestra's Pebble sees them: how they print, compare and combine.

* Printing follows Kestra's ``JsonWriter``: a string as is, null as an empty string, booleans
  ``true``/``false``, maps and lists as compact JSON, numbers as Java prints them, instants in ISO-8601.
* Operators follow Pebble's ``OperatorUtils``: ``+`` concatenates when either side is a string and
  appends to a list, arithmetic converts numeric strings, integer ``/`` and ``%`` truncate as in
  Java, ``<``/``>`` need numbers, ``==`` compares numbers by value and everything else by equality.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from ..limits import MAX_ITEMS, MAX_RANGE, MAX_TEXT

__all__ = ["ExpressionProblem", "iso", "java_text", "plain", "to_ion", "to_json", "to_number", "to_text"]


class ExpressionProblem(Exception):
    """A value-level error inside an expression (bad operand, bad filter argument); the renderer
    turns it into an :class:`~kestra_airflow_sdk.flows.errors.ExpressionError` naming the field."""


_PYTHON_NAME = re.compile(r"^[\w.<>]+\(\) ")


def arguments_problem(name: str, error: TypeError) -> ExpressionProblem | None:
    """A wrong call of a filter or function (missing, extra or unknown argument), said with its
    Kestra name instead of the Python function's; None for any other ``TypeError``."""
    text = str(error)
    if "argument" not in text:
        return None
    return ExpressionProblem(f"{name}: {_PYTHON_NAME.sub('', text)}")


def iso(value: datetime) -> str:
    """Kestra's ISO-8601 form of an instant (UTC, ``Z``)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def java_double(value: float) -> str:
    """``Double.toString``: ``1.0``, ``0.1``, ``1.0E7``, ``1.5E-5``, ``NaN``, ``Infinity``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "." in text else f"{text}.0"
    _, digits, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    assert isinstance(exponent, int)
    mantissa = "".join(map(str, digits))
    power = len(mantissa) + exponent - 1
    return f"{'-' if value < 0 else ''}{mantissa[0]}.{mantissa[1:] or '0'}E{power}"


def plain(value: Any) -> Any:
    """``value`` with instants as ISO text, tuples and sets as lists and secrets revealed (the
    caller marks the result secret), ready for JSON."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return value


def to_json(value: Any, indent: int | None = None) -> str:
    """Jackson's JSON of a value: compact unless ``indent`` is given."""
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(plain(value), separators=separators, indent=indent, ensure_ascii=False, default=str)


_ION_SYMBOL = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_ION_KEYWORDS = {"true", "false", "null", "nan"}


def to_ion(value: Any) -> str:
    """Amazon Ion text, as Kestra's ``toIon`` writes it: ``{key:"text",n:1,f:1.5e0}``."""
    value = plain(value) if isinstance(value, (datetime, date, SecretStr)) else value
    if value is None or isinstance(value, bool):
        return to_text(value) or "null"
    if isinstance(value, float):
        text = java_double(value)
        return text.replace("E", "e") if "E" in text else f"{text}e0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_ion_symbol(str(k))}:{to_ion(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ",".join(to_ion(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _ion_symbol(key: str) -> str:
    if _ION_SYMBOL.match(key) and key not in _ION_KEYWORDS:
        return key
    return "'" + key.replace("\\", "\\\\").replace("'", "\\'") + "'"


def to_text(value: Any) -> str:
    """How ``{{ value }}`` prints (Kestra's ``JsonWriter``)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (Mapping, list, tuple, set, frozenset)):
        return to_json(value)
    return str(value)


def java_text(value: Any) -> str:
    """``String.valueOf``: how ``~`` and string ``+`` see a value (``{a=1}``, ``[1, 2]``, ``null``)."""
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{java_text(k)}={java_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(java_text(v) for v in value) + "]"
    return to_text(value)


def need_string(value: Any, name: str) -> str:
    """``value`` when it is a string; else the error of filter ``name``, which needs one."""
    if not isinstance(value, str):
        raise ExpressionProblem(f"the {name!r} filter needs a string, got {to_text(value)!r}")
    return value


def is_empty(value: Any) -> bool:
    """Pebble's ``empty`` test: null, a blank string, an empty list or map."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, (Mapping, list, tuple, set)):
        return len(value) == 0
    return False


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def to_number(value: Any) -> int | float:
    """A number operand: numbers as they are, numeric strings parsed (Pebble's ``toNumber``)."""
    if is_number(value):
        return value  # type: ignore[no-any-return]
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            raise ExpressionProblem(f"{value!r} is not a number") from None
    raise ExpressionProblem(f"cannot use {java_text(value)!r} ({_kind(value)}) as a number")


def _kind(value: Any) -> str:
    return {dict: "a map", list: "a list", bool: "a boolean", type(None): "null"}.get(type(value), "a value")


def arithmetic(left: Any, right: Any, operation: str) -> int | float:
    """``+ - * / %`` on numbers (numeric strings converted), with Java's integer division."""
    a, b = to_number(left), to_number(right)
    if operation == "+":
        return a + b
    if operation == "-":
        return a - b
    if operation == "*":
        return a * b
    if isinstance(a, int) and isinstance(b, int):
        if b == 0:
            raise ExpressionProblem("division by zero")
        quotient = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)  # Java truncates
        return quotient if operation == "/" else a - b * quotient
    if b == 0:  # Java's double arithmetic: NaN or an infinity, no error
        return math.nan if operation == "%" or a == 0 else math.copysign(math.inf, a)
    return a / b if operation == "/" else math.fmod(a, b)


def check_size(size: int, what: str, *, text: bool = True) -> None:
    """Refuse to build a text of more than :data:`~..limits.MAX_TEXT` characters (``text``) or a
    list or map of more than :data:`~..limits.MAX_ITEMS` items; ``what`` names the builder."""
    limit, unit, name = (MAX_TEXT, "characters", "MAX_TEXT") if text else (MAX_ITEMS, "items", "MAX_ITEMS")
    if size > limit:
        raise ExpressionProblem(f"{what} would build {size} {unit}, more than the limit of {limit} ({name})")


def bounded(value: Any, what: str) -> Any:
    """``value`` once checked against the limits of :func:`check_size` (for a value already built)."""
    if isinstance(value, str):
        check_size(len(value), what)
    elif isinstance(value, (list, dict)):
        check_size(len(value), what, text=False)
    return value


def concat(left: Any, right: Any) -> str:
    """``~``: both sides as Java prints them, null as nothing."""
    a = "" if left is None else java_text(left)
    b = "" if right is None else java_text(right)
    check_size(len(a) + len(b), "~")
    return a + b


def add(left: Any, right: Any) -> Any:
    if isinstance(left, str) or isinstance(right, str):
        a, b = java_text(left), java_text(right)
        check_size(len(a) + len(b), "+")
        return a + b
    if isinstance(left, list):
        check_size(len(left) + (len(right) if isinstance(right, (list, tuple)) else 1), "+", text=False)
        return [*left, *right] if isinstance(right, (list, tuple)) else [*left, right]
    return arithmetic(left, right, "+")


def subtract(left: Any, right: Any) -> Any:
    if isinstance(left, list):
        removed = right if isinstance(right, (list, tuple)) else [right]
        return [item for item in left if item not in removed]
    return arithmetic(left, right, "-")


def equals(left: Any, right: Any) -> bool:
    if is_number(left) and is_number(right):
        return float(left) == float(right)
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    return bool(left == right)


def compare(left: Any, right: Any, operation: str) -> bool:
    if left is None or right is None:
        return False
    if not (is_number(left) and is_number(right)):
        raise ExpressionProblem(
            f"{operation} compares numbers only, got {java_text(left)!r} and {java_text(right)!r}"
        )
    a, b = float(left), float(right)
    return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[operation]


def contains(container: Any, item: Any) -> bool:
    if container is None:
        return False
    if isinstance(container, Mapping):
        return item in container
    if isinstance(container, (list, tuple, set)):
        wanted = item if isinstance(item, (list, tuple, set)) else [item]
        return all(any(equals(element, w) for element in container) for w in wanted)
    if isinstance(container, str):
        return java_text(item) in container
    raise ExpressionProblem(f"contains works on lists, maps and strings, not on {_kind(container)}")


def truth(value: Any) -> bool:
    """A condition's value as Pebble casts it: null false, numbers non-zero, strings non-empty."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if is_number(value):
        return not math.isnan(value) and value != 0
    if isinstance(value, str):
        return value != ""
    raise ExpressionProblem(f"a condition must be a boolean, got {_kind(value)} {to_text(value)}")


def inclusive_range(start: Any, end: Any, step: Any = 1) -> list[Any]:
    """Pebble's ``a..b`` and ``range(a, b, step)``: both ends included."""
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end, step)):
        raise ExpressionProblem("a range needs whole numbers")
    if step == 0:
        raise ExpressionProblem("a range's step cannot be 0")
    count = max(0, ((end - start) // step if step > 0 else (start - end) // -step) + 1)
    if count > MAX_RANGE:  # counted, not built (len(range) overflows past sys.maxsize)
        raise ExpressionProblem(
            f"a range of {count} items is more than the limit of {MAX_RANGE} (MAX_RANGE, as Jinja2's sandbox)"
        )
    return list(range(start, end + (1 if step > 0 else -1), step))
