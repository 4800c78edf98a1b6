"""Kestra's KV tasks on the file-backed store of :mod:`kestra_airflow_sdk.storage.kv` (under the
run's ``storage_dir``), as kestra-io/kestra's ``io.kestra.plugin.core.kv`` tasks run them.

``Set`` renders ``value`` typed (Kestra's ``renderTyped``: a property that is one whole ``{{ ... }}``
expression keeps the expression's type, a number, a map ...; other text is text), then converts
text to ``kvType`` as ``Set.run`` does (NUMBER: a JSON number, BOOLEAN: ``true`` in any case, else
false, DATETIME / DATE: ISO-8601, DURATION: ISO-8601 duration, JSON: parsed; STRING keeps the text
as rendered), with ``ttl``, ``overwrite`` and ``kvDescription``. ``Put`` merges as ``Put.run``.
``Get`` (``value``), ``GetKeys`` (``keys``) and ``Delete`` (``deleted``) fail on a missing key with
``errorOnMissing``, with Kestra's message.

A value read back is what Kestra's outputs hold: a DATETIME as ISO-8601 text (``…Z``), a DATE as
``YYYY-MM-DD``, a DURATION as Java's ``Duration`` text (``PT24H5S``). A value set from a secret
stays secret: read back, it is masked in every log line of the run.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from typing import Any

from pydantic import SecretStr

from ...flows.core_tasks import KvDelete, KvGet, KvGetKeys, KvPut, KvSet, KvTask
from ...flows.durations import parse_duration
from ...flows.errors import ExpressionError
from ...flows.expressions import Renderer
from ...flows.secrets import reveal
from ...flows.tasks.runnable import scalar_text
from ...storage.kv import KV_TYPES, KVStore, KVStoreError, holds_secret, secret_texts
from ..executors import TaskContext, TaskFailedError
from ..functions import flow_value
from ..truth import is_truthy

__all__ = [
    "run_kv_delete",
    "run_kv_get",
    "run_kv_get_keys",
    "run_kv_put",
    "run_kv_set",
]

#: a property that is one whole expression, rendered typed (Kestra's ``TypedObjectWriter``)
_ONE_EXPRESSION = re.compile(r"^\{\{(?P<inner>(?:(?!\{\{|\}\}).)*)\}\}$", re.DOTALL)


def _text(value: Any) -> str:
    return "" if value is None else str(scalar_text(reveal(value)))


def _flag(value: bool | str, name: str, ctx: TaskContext) -> bool:
    return value if isinstance(value, bool) else is_truthy(ctx.renderer.render(value, name))


def render_typed(renderer: Renderer, value: Any, where: str) -> Any:
    """Kestra's ``renderTyped``: text that is one whole ``{{ ... }}`` expression gives the
    expression's value (a number, boolean, map, list, null or text); other text renders to text;
    a map or list is rendered inside. A value that involved a secret comes back as a SecretStr
    (text) or with its texts as SecretStr (inside a map or list)."""
    if not isinstance(value, str):
        return renderer.render(value, where)
    match = _ONE_EXPRESSION.match(value)
    if match is None:
        return renderer.render(value, where)
    try:
        rendered = renderer.render_text(f"{{{{ ({match.group('inner')}) | toJson }}}}", where)
    except ExpressionError:
        return renderer.render(value, where)  # the error as written (or text, where Kestra gives text)
    secret = isinstance(rendered, SecretStr)
    parsed = json.loads(reveal(rendered))
    return secret_texts(parsed) if secret else parsed


def _instant(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed


def _convert(text: str, kind: str) -> Any:
    """Text to ``kind`` as Kestra's ``Set`` converts it (a ValueError names what was expected)."""
    if kind == "NUMBER":
        number = json.loads(text)
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise ValueError("a number")
        return number
    if kind == "BOOLEAN":
        return text.strip().lower() == "true"  # Boolean.parseBoolean
    if kind == "DATETIME":
        return _instant(text)
    if kind == "DATE":
        stripped = text.strip()
        return date.fromisoformat(stripped) if len(stripped) == 10 else _instant(stripped).date()
    if kind == "DURATION":
        return parse_duration(text)
    if kind == "JSON":
        return json.loads(text)
    return text


_EXPECTED = {
    "NUMBER": "a number, e.g. 42 or 1.5",
    "DATETIME": "an ISO-8601 instant, e.g. 2024-05-02T01:02:03Z",
    "DATE": "an ISO-8601 date, e.g. 2024-05-02",
    "DURATION": "an ISO-8601 duration, e.g. PT1H or P1D",
    "JSON": "JSON text",
}


def _typed_value(task: KvSet, ctx: TaskContext, key: str) -> tuple[Any, str | None]:
    """The rendered value to store and its KV type (None: inferred from the value)."""
    kind = _text(ctx.renderer.render(task.kv_type, "kvType")).strip() if task.kv_type is not None else None
    if kind is not None and kind not in KV_TYPES:
        raise TaskFailedError(f"kvType: expected one of {', '.join(KV_TYPES)}, got {kind!r}")
    if kind == "STRING":  # the text as rendered, e.g. "{{ 200 }}" → "200"
        rendered = ctx.renderer.render(task.value, "value")
        if isinstance(rendered, (dict, list)):
            return json.dumps(reveal(rendered)), kind
        return (rendered if isinstance(rendered, SecretStr) else _text(rendered)), kind
    value = render_typed(ctx.renderer, task.value, "value")
    if kind is None or not isinstance(value, (str, SecretStr)):
        return value, None
    try:
        converted = _convert(reveal(value), kind)
    except ValueError:
        shown = "******" if isinstance(value, SecretStr) else repr(value)
        raise TaskFailedError(
            f"key {key!r}: the value {shown} is not {_EXPECTED.get(kind, kind)} (kvType {kind})"
        ) from None
    if isinstance(value, SecretStr):  # its texts stay secret (a number or boolean cannot be masked)
        converted = secret_texts(converted)
    return converted, kind


def _store(task: KvTask, ctx: TaskContext) -> tuple[KVStore, str]:
    assert ctx.runner is not None
    namespace = _text(ctx.renderer.render(task.namespace, "namespace")).strip()
    try:
        return KVStore(namespace, ctx.runner.storage_dir), namespace
    except KVStoreError as exc:
        raise TaskFailedError(f"namespace: {exc}") from None


def _key(value: str, ctx: TaskContext, name: str = "key") -> str:
    rendered = ctx.renderer.render(value, name)
    if isinstance(rendered, SecretStr):
        raise TaskFailedError(f"{name}: a KV key cannot hold a secret (keys are not masked)")
    return _text(rendered)


def _missing(key: str, namespace: str) -> TaskFailedError:
    return TaskFailedError(
        f"No value found for key '{key}' in namespace '{namespace}' and `errorOnMissing` is set to true"
    )


async def run_kv_set(task: KvSet, ctx: TaskContext) -> None:
    """``kv.Set``: store the rendered value (no outputs)."""
    store, _ = _store(task, ctx)
    key = _key(task.key, ctx)
    value, kind = _typed_value(task, ctx, key)
    ttl = None
    if task.ttl is not None:
        text = _text(ctx.renderer.render(task.ttl, "ttl")).strip()
        try:
            ttl = parse_duration(text)
        except ValueError as exc:
            raise TaskFailedError(f"ttl: {exc}") from None
    description = None
    if task.kv_description is not None:
        description = _text(ctx.renderer.render(task.kv_description, "kvDescription"))
    try:
        store.set(
            key,
            value,
            kv_type=kind,
            ttl=ttl,
            overwrite=_flag(task.overwrite, "overwrite", ctx),
            description=description,
        )
    except KVStoreError as exc:
        raise TaskFailedError(str(exc)) from None


def _merge(existing: Any, update: Any) -> Any:
    """Kestra's ``MapUtils.deepMerge``: maps merge key by key, anything else is replaced."""
    if isinstance(existing, dict) and isinstance(update, dict):
        merged = dict(existing)
        for name, value in update.items():
            merged[name] = _merge(merged.get(name), value) if name in merged else value
        return merged
    return update


def _is_entry_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(item, dict) and "value" in item and set(item) <= {"key", "value"} for item in value
        )
    )


def _put_value(existing: Any, update: Any) -> Any:
    """``Put``'s merge of ``update`` into ``existing`` (see :class:`~kestra_airflow_sdk.flows.core_tasks.KvPut`)."""
    if _is_entry_list(update):
        if len(update) == 1 and "key" not in update[0]:
            return update[0]["value"]
        if any("key" not in item for item in update):
            raise TaskFailedError(
                "value: `value` entries without `key` can only be used as a single replacement item."
            )
        nested: dict[str, Any] = {}
        for item in update:
            name = item["key"]
            if not isinstance(name, str) or not name.strip():
                raise TaskFailedError("value: each keyed `value` entry must have a non-empty string `key`.")
            node = nested
            *parents, last = name.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = item["value"]
        if existing is None:
            return nested
        if not isinstance(existing, dict):
            raise TaskFailedError(
                "value: cannot apply keyed `value` updates to a non-JSON existing KV value."
            )
        return _merge(existing, nested)
    return _merge(existing, update)


async def run_kv_put(task: KvPut, ctx: TaskContext) -> None:
    """``kv.Put`` (Kestra 2.0): merge the rendered value into the stored one, keeping its expiry
    and description (no outputs)."""
    store, namespace = _store(task, ctx)
    key = _key(task.key, ctx)
    update = render_typed(ctx.renderer, task.value, "value")
    try:
        current = store.entry(key)
        if current is None and _flag(task.error_on_missing, "errorOnMissing", ctx):
            raise _missing(key, namespace)
        existing = None if current is None else current.value
        merged = _put_value(reveal(existing), reveal(update))
        if holds_secret(update) or holds_secret(existing):
            merged = secret_texts(merged)
        store.set(
            key,
            merged,
            expires=None if current is None else current.expires,
            description=None if current is None else current.description,
        )
    except KVStoreError as exc:
        raise TaskFailedError(str(exc)) from None


async def run_kv_get(task: KvGet, ctx: TaskContext) -> None:
    """``kv.Get``: output ``value`` (null when the key is missing or expired)."""
    store, namespace = _store(task, ctx)
    key = _key(task.key, ctx)
    try:
        found = store.entry(key)
    except KVStoreError as exc:
        raise TaskFailedError(str(exc)) from None
    if found is None and _flag(task.error_on_missing, "errorOnMissing", ctx):
        raise _missing(key, namespace)
    ctx.task_run.outputs["value"] = None if found is None else flow_value(found.value, ctx.renderer.secrets)


async def run_kv_get_keys(task: KvGetKeys, ctx: TaskContext) -> None:
    """``kv.GetKeys``: output ``keys``, the live keys starting with ``prefix`` (all without one)."""
    store, _ = _store(task, ctx)
    prefix = None if task.prefix is None else _text(ctx.renderer.render(task.prefix, "prefix"))
    try:
        ctx.task_run.outputs["keys"] = store.keys(prefix)
    except KVStoreError as exc:
        raise TaskFailedError(str(exc)) from None


async def run_kv_delete(task: KvDelete, ctx: TaskContext) -> None:
    """``kv.Delete``: output ``deleted`` (whether the key had a value)."""
    store, namespace = _store(task, ctx)
    key = _key(task.key, ctx)
    try:
        deleted = store.delete(key)
    except KVStoreError as exc:
        raise TaskFailedError(str(exc)) from None
    if not deleted and _flag(task.error_on_missing, "errorOnMissing", ctx):
        raise _missing(key, namespace)
    ctx.task_run.outputs["deleted"] = deleted
