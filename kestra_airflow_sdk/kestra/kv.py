"""A namespace's key-value store on a Kestra server, typed as the local
:class:`~kestra_airflow_sdk.storage.KVStore` (``server.kv("company.team")``).

Values keep their Kestra type (``KVType``) both ways, as on the local store: text is STRING, a
number NUMBER, a boolean BOOLEAN, an aware :class:`~datetime.datetime` DATETIME, a
:class:`~datetime.date` DATE, a :class:`~datetime.timedelta` DURATION, anything else JSON. They
are written as Kestra's ``KVController`` reads them (``PUT /namespaces/{ns}/kv/{key}``, a text body
parsed as Ion: ``"text"``, ``1``, ``true``, ``2021-09-01``, ``2021-09-01T01:02:03Z``, ``"PT5S"``,
``{"a": 1}``; ``ttl`` and ``description`` headers) and read back from its typed answer
(``{"type": "DATE", "value": "2021-09-01"}``), the pairs of ``KVControllerTest`` in
kestra-io/kestra (``kvGetArgs``, ``kvPutArgs``). A missing key (404) or an expired one (410) reads
as missing.

Listing differs by version: Kestra 1.3 lists a namespace's keys at ``GET /namespaces/{ns}/kv``;
Kestra 2.0 has no such endpoint and pages ``GET /kv`` with ``filters[namespace][EQUALS]``.

A secret (a :class:`pydantic.SecretStr`) is sent in clear, as Kestra stores KV values; the server
does not mark it, so it reads back as plain text (the local store keeps the mark).
"""

from __future__ import annotations

import builtins
import json
import math
import re
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import SecretStr

from ..flows.durations import format_duration, parse_duration
from ..storage.kv import KEY_RULE, KV_TYPES, KVEntry, KVStoreError, kv_type_of
from ..transport.effects import Op, gather
from .errors import KestraApiError, KestraError
from .models import KestraVersion
from .namespaced import NamespaceView, view_operation
from .session import segment

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ServerKV", "kv_body", "kv_value"]

S = TypeVar("S", covariant=True)

_KEY = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]*")
#: keys listed per page on Kestra 2.0, and values read at once by ``list()``
_PAGE = 100
_CONCURRENCY = 4
#: what each type's value must be, for the error naming the key
_EXPECTED = {
    "STRING": "text",
    "NUMBER": "a number",
    "BOOLEAN": "true or false",
    "DATETIME": "a datetime",
    "DATE": "a date",
    "DURATION": "a timedelta",
    "JSON": "a JSON value (map, list, text, number, boolean)",
}


def _revealed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _revealed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_revealed(v) for v in value]
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _is(kind: str, value: Any) -> bool:
    if kind == "STRING":
        return isinstance(value, str)
    if kind == "NUMBER":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind == "BOOLEAN":
        return isinstance(value, bool)
    if kind == "DATETIME":
        return isinstance(value, datetime)
    if kind == "DATE":
        return isinstance(value, date) and not isinstance(value, datetime)
    if kind == "DURATION":
        return isinstance(value, timedelta) and value >= timedelta(0)
    return True


def kv_body(key: str, value: Any, kv_type: str | None = None) -> tuple[str, str]:
    """``(type, body)``: the KV type of ``value`` (or ``kv_type``, checked against the value) and the
    text Kestra's ``PUT /kv/{key}`` reads as that type.

    Raises:
        KVStoreError: an unknown type, or a value that is not of its type (the local store's messages).
    """
    plain = _revealed(value)
    kind = kv_type_of(plain) if kv_type is None else str(kv_type).upper()
    if kind not in KV_TYPES:
        raise KVStoreError(f"KV key {key!r}: unknown type {kv_type!r}; expected one of {', '.join(KV_TYPES)}")
    if plain is None:
        return kind, "null"
    if not _is(kind, plain):
        raise KVStoreError(
            f"KV key {key!r}: a {kind} value must be {_EXPECTED[kind]}, got {type(plain).__name__}"
        )
    if kind == "DATETIME":
        when = plain.replace(tzinfo=timezone.utc) if plain.tzinfo is None else plain.astimezone(timezone.utc)
        return kind, when.isoformat().replace("+00:00", "Z")  # an Ion timestamp: unquoted
    if kind == "DATE":
        return kind, plain.isoformat()
    if kind == "DURATION":
        return kind, json.dumps(format_duration(plain))  # Kestra reads "PT5S" as a Duration
    try:
        return kind, json.dumps(plain, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise KVStoreError(f"KV key {key!r}: {_EXPECTED['JSON']} expected ({exc})") from None


def kv_value(key: str, body: Any) -> Any:
    """The Python value of Kestra's typed answer ``{"type": ..., "value": ...}`` (a DATETIME as an
    aware datetime, a DATE as a date, a DURATION as a timedelta)."""
    if not isinstance(body, dict) or "value" not in body:
        raise KestraError(f"Reading KV key {key!r}: expected Kestra's typed value, got {str(body)[:200]!r}")
    kind, value = str(body.get("type") or "JSON"), body["value"]
    if value is None:
        return None
    try:
        if kind == "DATETIME":
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment
        if kind == "DATE":
            return date.fromisoformat(str(value)[:10])
        if kind == "DURATION":
            return parse_duration(value) if isinstance(value, str) else timedelta(seconds=float(value))
    except (TypeError, ValueError):
        raise KestraError(f"Reading KV key {key!r}: {value!r} is not a {kind} value") from None
    return value


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _check_key(key: Any) -> str:
    """``key`` when Kestra accepts it (``KVStore.KEY_VALIDATOR_PATTERN``), with the local store's message."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise KVStoreError(f"invalid KV key {key!r}: {KEY_RULE}")
    return key


class ServerKV(NamespaceView[S]):
    """The KV store of one namespace on the server (``server.kv(namespace)``): :meth:`get`,
    :meth:`set`, :meth:`delete`, :meth:`keys`, :meth:`list` and :meth:`frame`, as the local
    :class:`~kestra_airflow_sdk.storage.KVStore` has them (awaited on an async server).

    Example::

        kv = server.kv("company.team")
        kv.set("last_run", datetime.now(timezone.utc), ttl=timedelta(days=7))
        kv.get("last_run")  # the aware datetime
        kv.keys()  # ['last_run']
    """

    def _path(self, key: str) -> str:
        return f"/namespaces/{segment(self.namespace)}/kv/{segment(_check_key(key))}"

    def _read(self, key: str) -> Op[Any]:
        """The typed answer for ``key``, or None when Kestra has no live value."""
        try:
            return (
                yield from self._ops._call(
                    "GET", self._path(key), action=f"Reading KV key {key!r} of {self.namespace}"
                )
            )
        except KestraApiError as exc:
            if exc.status in (404, 410):  # no such key; expired
                return None
            raise

    @view_operation
    def get(self, key: str, default: Any = None) -> Op[Any]:
        """The value of ``key`` (``GET /namespaces/{ns}/kv/{key}``), typed as Kestra says (see the
        module), or ``default`` when it is missing or expired."""
        body = yield from self._read(key)
        return default if body is None else kv_value(key, body)

    @view_operation
    def set(
        self,
        key: str,
        value: Any,
        *,
        kv_type: str | None = None,
        ttl: timedelta | None = None,
        description: str | None = None,
    ) -> Op[str]:
        """Store ``value`` under ``key`` (``PUT /namespaces/{ns}/kv/{key}``); returns its KV type.

        Args:
            kv_type: one of :data:`~kestra_airflow_sdk.storage.KV_TYPES` (default: the value's,
                as the local store infers it); the value must already be of that type.
            ttl: how long the key lives (Kestra's ``ttl`` header, ISO-8601); default: for ever.
            description: Kestra's ``description`` header.

        Raises:
            KVStoreError: a bad key, type or TTL, or a value not of its type (before any request).
        """
        path = self._path(key)
        kind, body = kv_body(key, value, kv_type)
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if ttl is not None:
            if not isinstance(ttl, timedelta) or ttl < timedelta(0):
                raise KVStoreError(f"KV key {key!r}: ttl must be a non-negative timedelta, got {ttl!r}")
            headers["ttl"] = format_duration(ttl)
        if description is not None:
            if not isinstance(description, str):
                raise KVStoreError(
                    f"KV key {key!r}: description must be text, got {type(description).__name__}"
                )
            headers["description"] = description
        yield from self._ops._call(
            "PUT",
            path,
            action=f"Setting KV key {key!r} of {self.namespace}",
            content=body.encode("utf-8"),
            headers=headers,
        )
        return kind

    @view_operation
    def delete(self, key: str) -> Op[bool]:
        """Remove ``key`` (``DELETE /namespaces/{ns}/kv/{key}``); True when it had a value."""
        try:
            deleted = yield from self._ops._call(
                "DELETE", self._path(key), action=f"Deleting KV key {key!r} of {self.namespace}"
            )
        except KestraApiError as exc:
            if exc.status == 404:
                return False
            raise
        return bool(deleted)

    def _entries(self) -> Op[builtins.list[dict[str, Any]]]:
        """Kestra's ``KVEntry`` metadata of every live key of the namespace, by key."""
        version = yield from self._ops._api()
        action = f"Listing the KV keys of {self.namespace} ({self._ops._label(version)})"
        if version is KestraVersion.V1_3:
            body = yield from self._ops._call(
                "GET", f"/namespaces/{segment(self.namespace)}/kv", action=action
            )
            items = body if isinstance(body, builtins.list) else None
        else:
            items, page = [], 1
            while True:
                body = yield from self._ops._call(
                    "GET",
                    "/kv",
                    action=action,
                    params=[
                        ("page", page),
                        ("size", _PAGE),
                        ("filters[namespace][EQUALS]", self.namespace),
                    ],
                )
                results = body.get("results") if isinstance(body, dict) else None
                if not isinstance(results, builtins.list):
                    items = None
                    break
                items.extend(results)
                total = body.get("total")
                if not results or not isinstance(total, int) or len(items) >= total:
                    break
                page += 1
        if items is None:
            raise KestraError(f"{action}: expected Kestra's list of keys, got {str(body)[:200]!r}")
        found = [item for item in items if isinstance(item, dict) and isinstance(item.get("key"), str)]
        return sorted(found, key=lambda item: str(item["key"]))

    @view_operation
    def keys(self, prefix: str | None = None) -> Op[builtins.list[str]]:
        """The live keys (those starting with ``prefix`` when given), sorted: one listing request."""
        entries = yield from self._entries()
        return [e["key"] for e in entries if prefix is None or str(e["key"]).startswith(prefix)]

    @view_operation
    def list(self) -> Op[builtins.list[KVEntry]]:
        """Every live entry, by key, with its value (the listing, then each value, 4 at a time): the
        local store's :class:`~kestra_airflow_sdk.storage.KVEntry`. A key that expires meanwhile is
        left out."""
        entries = yield from self._entries()

        def read(item: dict[str, Any]) -> Op[KVEntry | None]:
            key = str(item["key"])
            body = yield from self._read(key)
            if body is None:
                return None
            created = _moment(item.get("creationDate"))
            if created is None:
                raise KestraError(
                    f"Listing the KV keys of {self.namespace}: Kestra's entry for {key!r} has no creationDate "
                    f"(got {str(item)[:200]!r})"
                )
            updated = _moment(item.get("updateDate")) or created
            return KVEntry(
                key=key,
                type=str(body.get("type") or kv_type_of(body.get("value"))),
                value=kv_value(key, body),
                created=created,
                updated=updated,
                expires=_moment(item.get("expirationDate")),
                description=item.get("description"),
            )

        found = yield from gather((read(item) for item in entries), _CONCURRENCY)
        return [entry for entry in found if entry is not None]

    @view_operation
    def frame(self) -> Op[pd.DataFrame]:
        """:meth:`list` as a DataFrame, the columns of the local store's ``frame()``: key, type,
        value, created, updated, expires, description."""
        import pandas as pd

        entries = yield from ServerKV.list.fn(self)
        columns = ["key", "type", "value", "created", "updated", "expires", "description"]
        rows = [{c: getattr(e, c) for c in columns} for e in entries]
        frame: pd.DataFrame = pd.DataFrame(rows, columns=columns)
        return frame
