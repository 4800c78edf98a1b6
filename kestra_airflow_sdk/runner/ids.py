"""Kestra-style ids: a random UUID written in base62, always 22 characters (``1KWLxLeaXEXNDaXWP7YSKA``)."""

from __future__ import annotations

import uuid

__all__ = ["ID_LENGTH", "new_id"]

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#: 62**22 > 2**128, so every UUID fits in 22 base62 digits
ID_LENGTH = 22


def new_id() -> str:
    """A new execution or task run id."""
    number = uuid.uuid4().int
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(_ALPHABET[rest])
    return "".join(reversed(digits)).rjust(ID_LENGTH, "0")
