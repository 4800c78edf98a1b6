"""Kestra's tests (``x is defined``, ``x is null``, ``x is empty`` ...); ``is not`` negates them."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from .state import PebbleUndefined, reveal_deep
from .values import is_empty, is_number

__all__ = ["TESTS"]


def _test(function: Callable[[Any], bool]) -> Callable[..., bool]:
    """A test: an undefined value fails (strict variables), a secret is revealed."""

    def apply(value: Any, *args: Any) -> bool:
        if isinstance(value, PebbleUndefined):
            value.fail()
        return function(reveal_deep(value), *map(reveal_deep, args))

    return apply


def _is_json(value: Any) -> bool:
    try:
        json.loads(value)
    except (TypeError, ValueError):
        return False
    return True


TESTS: dict[str, Callable[..., bool]] = {
    "defined": lambda v: not isinstance(v, PebbleUndefined) and v is not None,
    "null": _test(lambda v: v is None),
    "empty": _test(is_empty),
    "even": _test(lambda v: is_number(v) and v % 2 == 0),
    "odd": _test(lambda v: is_number(v) and v % 2 == 1),
    "iterable": _test(lambda v: isinstance(v, (list, tuple, set, Mapping))),
    "map": _test(lambda v: isinstance(v, Mapping)),
    "json": _test(_is_json),
}
