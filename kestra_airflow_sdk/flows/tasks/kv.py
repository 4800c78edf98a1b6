"""Kestra's key-value store tasks (``io.kestra.plugin.core.kv``): ``Set``, ``Put``, ``Get``,
``GetKeys`` and ``Delete``.

Property names, defaults and outputs are Kestra's (kestra-io/kestra, ``core/.../plugin/core/kv/``):
every task has ``namespace`` (default ``{{ flow.namespace }}``); ``Set`` has ``key``, ``value``,
``kvType``, ``ttl``, ``overwrite`` (default true) and ``kvDescription``; ``Put`` (Kestra 2.0) merges
``value`` into the stored one, ``errorOnMissing`` (default false); ``Get`` outputs ``value``,
``GetKeys`` ``keys`` (with ``prefix``), ``Delete`` ``deleted``; ``Get`` and ``Delete`` fail on a
missing key with ``errorOnMissing``. Properties are dynamic, as Kestra's ``Property<...>`` ones.
"""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from ..durations import parse_duration
from ..registry import register
from ..task import Task

__all__ = ["KV_TYPE_NAMES", "KvDelete", "KvGet", "KvGetKeys", "KvPut", "KvSet", "KvTask"]

#: Kestra's ``KVType`` (the same list as :data:`kestra_airflow_sdk.storage.KV_TYPES`, which the
#: flow model may not import)
KV_TYPE_NAMES = ("STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON")
#: a property Kestra renders before use: a literal, or an expression giving one
Dynamic = bool | str


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


class KvTask(Task):
    """What every KV task has: the ``namespace`` of the store (default: the flow's)."""

    namespace: str = "{{ flow.namespace }}"


@register("io.kestra.plugin.core.kv.Set")
class KvSet(KvTask):
    """Store ``value`` under ``key``: the value is rendered keeping its type (a whole ``{{ ... }}``
    expression gives a number, a map ...), then text is converted to ``kvType`` when given."""

    key: str
    value: Any
    kv_type: str | None = None
    ttl: str | None = None
    overwrite: Dynamic = True
    kv_description: str | None = None

    @field_validator("kv_type")
    @classmethod
    def _kv_type(cls, value: str | None) -> str | None:
        if value is not None and not _is_expression(value) and value not in KV_TYPE_NAMES:
            raise ValueError(f"expected one of {', '.join(KV_TYPE_NAMES)} (or an expression), got {value!r}")
        return value

    @field_validator("ttl", mode="before")
    @classmethod
    def _ttl(cls, value: Any) -> Any:
        if isinstance(value, str) and not _is_expression(value):
            parse_duration(value)  # an ISO-8601 duration such as PT1H or P7D
        return value


@register("io.kestra.plugin.core.kv.Put")
class KvPut(KvTask):
    """Update ``key`` (Kestra 2.0): a map ``value`` is deep-merged into the stored map, a list of
    ``{key, value}`` entries sets those (dotted) fields, a list of one ``{value}`` replaces the
    value; the key's expiry and description are kept. A missing key is created, unless
    ``errorOnMissing``."""

    key: str
    value: Any
    error_on_missing: Dynamic = False


@register("io.kestra.plugin.core.kv.Get")
class KvGet(KvTask):
    """Output ``value``: the value of ``key`` (null when missing, unless ``errorOnMissing``)."""

    key: str
    error_on_missing: Dynamic = False


@register("io.kestra.plugin.core.kv.GetKeys")
class KvGetKeys(KvTask):
    """Output ``keys``: the keys of the namespace (those starting with ``prefix`` when given)."""

    prefix: str | None = None


@register("io.kestra.plugin.core.kv.Delete")
class KvDelete(KvTask):
    """Delete ``key``; output ``deleted`` (whether it had a value). A missing key fails the task
    with ``errorOnMissing``."""

    key: str
    error_on_missing: Dynamic = False
