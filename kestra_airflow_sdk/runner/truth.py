"""Kestra's truthiness of a rendered condition (``TruthUtils.isTruthy``): every text but ``false``,
``0``, ``-0`` and the empty string is true (``If.condition``, ``Fail.condition``, ``runIf``)."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

__all__ = ["is_truthy"]

_FALSE = ("false", "0", "-0", "")


def is_truthy(rendered: Any) -> bool:
    """True unless ``rendered`` (a rendered condition) is ``false``, ``0``, ``-0``, empty or null."""
    if rendered is None:
        return False
    if isinstance(rendered, SecretStr):
        rendered = rendered.get_secret_value()
    if isinstance(rendered, bool):
        return rendered
    if isinstance(rendered, (int, float)):
        return rendered != 0
    return str(rendered) not in _FALSE
