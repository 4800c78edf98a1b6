"""Kestra's key-value store on this machine: one store per namespace, one file per key, under
``<storage root>/kv/<namespace>/<key>.json`` (see :func:`~kestra_airflow_sdk.storage.storage_root`).

As Kestra's ``InternalKVStore`` (kestra-io/kestra, ``core/.../storages/kv/InternalKVStore.java``
and ``KVStore.java``): keys match ``[a-zA-Z0-9][a-zA-Z0-9._-]*``; a value is typed (``KVType``:
STRING, NUMBER, BOOLEAN, DATETIME, DATE, DURATION, JSON, inferred from the Python value as
``KVType.from`` infers it unless given); a TTL gives an expiry date after which the key reads as
missing (and its file is removed on that read), is left out of :meth:`KVStore.keys` and
:meth:`KVStore.list`; ``overwrite=False`` refuses to replace a live key with Kestra's message.

Each write goes to a temporary file in the namespace's folder, then replaces the key's file
(``os.replace``): a reader sees the old value or the new one, never half of one, whether the writer
is another thread or another process; of two concurrent writers of one key the last one wins.
``overwrite=False`` creates the file with ``os.link``, which fails when the key exists (so of two
concurrent creators exactly one succeeds, across processes too). In a process, writes to a store
and the removal of expired keys take turns (a lock per folder), so removing an expired key never
takes away a value another thread just wrote.

A value set from a secret (a :class:`pydantic.SecretStr`, or a map or list holding one) is stored in
clear, as Kestra stores it, marked secret: it reads back as a ``SecretStr`` (in a map or list, every
text in it; the runner then masks them in log lines).
This module knows no flow model (the runner binds it to an execution); durations are
:class:`~datetime.timedelta`, instants aware :class:`~datetime.datetime` (UTC when naive).
"""

from __future__ import annotations

import builtins
import contextlib
import json
import math
import os
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from ..errors import KestraAirflowError
from .root import storage_root

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "KEY_RULE",
    "KV_TYPES",
    "KVEntry",
    "KVStore",
    "KVStoreError",
    "holds_secret",
    "kv_namespaces",
    "kv_type_of",
    "secret_texts",
]

#: Kestra's ``KVType``
KV_TYPES = ("STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON")
#: Kestra's ``KVStore.KEY_VALIDATOR_PATTERN`` (a namespace's folder name follows it too)
_KEY = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]*")
KEY_RULE = (
    "a key must start with a letter or digit and contain only letters, digits, '.', '_' and '-' "
    "(Kestra's [a-zA-Z0-9][a-zA-Z0-9._-]*)"
)
_SUFFIX = ".json"
#: one lock per store folder: in a process, a write (its read of the previous entry included) and the
#: removal of an expired key happen one at a time, so that removal never takes a fresh value away
_LOCKS: dict[Path, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()

Clock = Callable[[], datetime]


class KVStoreError(KestraAirflowError):
    """A key-value store operation that cannot be done: a bad key, namespace or value, a key that
    exists with ``overwrite=False``, a stored file that cannot be read."""


@dataclass(frozen=True)
class KVEntry:
    """One key of a store: its value and type, when it was created and last updated, when it
    expires (None: never) and its description."""

    key: str
    type: str
    value: Any
    created: datetime
    updated: datetime
    expires: datetime | None = None
    description: str | None = None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def kv_type_of(value: Any) -> str:
    """The KV type Kestra gives a value (``KVType.from``): None and text STRING, a number NUMBER, a
    boolean BOOLEAN, an instant DATETIME, a date DATE, a timedelta DURATION, anything else JSON."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None or isinstance(value, str):
        return "STRING"
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, (int, float)):
        return "NUMBER"
    if isinstance(value, datetime):
        return "DATETIME"
    if isinstance(value, date):
        return "DATE"
    if isinstance(value, timedelta):
        return "DURATION"
    return "JSON"


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not _KEY.fullmatch(name):
        rule = KEY_RULE if what == "key" else KEY_RULE.replace("a key", "a namespace")
        raise KVStoreError(f"invalid KV {what} {name!r}: {rule}")
    return name


def _encode(key: str, kind: str, value: Any) -> Any:
    """The JSON form of a ``kind`` value (KVStoreError naming the key when it is not of that kind)."""
    if value is None:
        return None
    expected = {
        "STRING": "text",
        "NUMBER": "a number",
        "BOOLEAN": "true or false",
        "DATETIME": "a datetime",
        "DATE": "a date",
        "DURATION": "a timedelta",
        "JSON": "a JSON value (map, list, text, number, boolean)",
    }[kind]
    ok = {
        "STRING": isinstance(value, str),
        "NUMBER": isinstance(value, (int, float)) and not isinstance(value, bool),
        "BOOLEAN": isinstance(value, bool),
        "DATETIME": isinstance(value, datetime),
        "DATE": isinstance(value, date) and not isinstance(value, datetime),
        "DURATION": isinstance(value, timedelta),
        "JSON": True,
    }[kind]
    if not ok or (isinstance(value, float) and not math.isfinite(value)):
        raise KVStoreError(f"KV key {key!r}: a {kind} value must be {expected}, got {type(value).__name__}")
    if kind == "DATETIME":
        return _utc(value).isoformat()
    if kind == "DATE":
        return value.isoformat()
    if kind == "DURATION":
        return value.total_seconds()
    if kind == "JSON":
        try:
            return json.loads(json.dumps(value, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise KVStoreError(f"KV key {key!r}: {expected} expected ({exc})") from None
    return value


def _decode(kind: str, stored: Any) -> Any:
    if stored is None:
        return None
    if kind == "DATETIME":
        return _utc(datetime.fromisoformat(stored))
    if kind == "DATE":
        return date.fromisoformat(stored)
    if kind == "DURATION":
        return timedelta(seconds=stored)
    return stored


def holds_secret(value: Any) -> bool:
    """True when ``value`` is a SecretStr or a map or list holding one."""
    if isinstance(value, dict):
        return any(holds_secret(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(holds_secret(v) for v in value)
    return isinstance(value, SecretStr)


def _revealed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _revealed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_revealed(v) for v in value]
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def secret_texts(value: Any) -> Any:
    """``value`` with every text in it a SecretStr (how a value stored as secret reads back)."""
    if isinstance(value, dict):
        return {k: secret_texts(v) for k, v in value.items()}
    if isinstance(value, list):
        return [secret_texts(v) for v in value]
    return SecretStr(value) if isinstance(value, str) else value


def _time(text: Any) -> datetime | None:
    return None if text is None else _utc(datetime.fromisoformat(str(text)))


class KVStore:
    """The key-value store of ``namespace``, in files under ``<storage root>/kv/<namespace>/``.

    Args:
        namespace: the Kestra namespace (``company.team``).
        storage_dir: the folder of the local state (default: :func:`~kestra_airflow_sdk.storage.default_storage_root`,
            ``$KAS_STORAGE_DIR`` or under the user's cache); ``run(storage_dir=...)`` uses the same.
        clock: what time it is (an aware datetime); TTLs and expiry are measured on it (tests pass
            one they control). Default: the system clock.

    Example::

        store = KVStore("company.team", storage_dir="state")
        store.set("last_run", datetime.now(timezone.utc), ttl=timedelta(days=7))
        store.get("last_run")  # the datetime; None once expired
        store.keys()  # ['last_run']

    Raises:
        KVStoreError: ``namespace`` is not a valid namespace.
    """

    def __init__(
        self,
        namespace: str,
        storage_dir: str | os.PathLike[str] | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.namespace = _check_name(namespace, "namespace")
        #: the store's folder (created on the first write)
        self.folder = storage_root(storage_dir) / "kv" / namespace
        self._clock = clock or _now

    def __repr__(self) -> str:
        return f"KVStore({self.namespace!r}, folder={str(self.folder)!r})"

    # ------------------------------------------------------------------ reading

    def entry(self, key: str) -> KVEntry | None:
        """The live entry of ``key``, or None when there is none (an expired key's file is removed,
        as Kestra removes it on read)."""
        path = self._path(key)
        found = self._read(path)
        if found is None or found.expires is None or self._clock() < found.expires:
            return found
        with self._lock():
            found = self._read(path)  # again: another thread may have written the key meanwhile
            if found is None or found.expires is None or self._clock() < found.expires:
                return found
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return None

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` (a DATETIME as an aware datetime, a DATE as a date, a DURATION as a
        timedelta, a secret as a SecretStr), or ``default`` when it is missing or expired."""
        found = self.entry(key)
        return default if found is None else found.value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.entry(key) is not None

    def list(self) -> list[KVEntry]:
        """Every live entry, by key."""
        if not self.folder.is_dir():
            return []
        entries = []
        for path in sorted(self.folder.glob(f"*{_SUFFIX}")):
            key = path.name[: -len(_SUFFIX)]
            if _KEY.fullmatch(key):
                found = self.entry(key)
                if found is not None:
                    entries.append(found)
        return entries

    def keys(self, prefix: str | None = None) -> builtins.list[str]:
        """The live keys (those starting with ``prefix`` when given), sorted, as ``kv.GetKeys`` lists them."""
        return [e.key for e in self.list() if prefix is None or e.key.startswith(prefix)]

    def frame(self) -> pd.DataFrame:
        """:meth:`list` as a pandas DataFrame (one row per key: key, type, value, created, updated,
        expires, description); a secret value shows masked."""
        import pandas as pd

        rows = [
            {
                "key": e.key,
                "type": e.type,
                "value": e.value,
                "created": e.created,
                "updated": e.updated,
                "expires": e.expires,
                "description": e.description,
            }
            for e in self.list()
        ]
        columns = ["key", "type", "value", "created", "updated", "expires", "description"]
        frame: pd.DataFrame = pd.DataFrame(rows, columns=columns)
        return frame

    # ------------------------------------------------------------------ writing

    def set(
        self,
        key: str,
        value: Any,
        *,
        kv_type: str | None = None,
        ttl: timedelta | None = None,
        overwrite: bool = True,
        description: str | None = None,
        expires: datetime | None = None,
    ) -> KVEntry:
        """Store ``value`` under ``key`` and return its entry.

        Args:
            kv_type: one of :data:`KV_TYPES` (default: :func:`kv_type_of` the value); the value
                must already be of that type (``kv.Set`` converts text before storing it).
            ttl: how long the key lives (default: for ever); not negative.
            overwrite: False refuses to replace a key that exists (and has not expired).
            description: Kestra's ``kvDescription``.
            expires: when the key expires, instead of a ``ttl`` (``kv.Put`` keeps the expiry a key had).

        Raises:
            KVStoreError: a bad key, type or TTL, a value not of its type, or ``overwrite=False``
                and the key exists.
        """
        path = self._path(key)
        secret = holds_secret(value)
        plain = _revealed(value)
        kind = kv_type_of(plain) if kv_type is None else str(kv_type).upper()
        if kind not in KV_TYPES:
            raise KVStoreError(
                f"KV key {key!r}: unknown type {kv_type!r}; expected one of {', '.join(KV_TYPES)}"
            )
        if ttl is not None and (not isinstance(ttl, timedelta) or ttl < timedelta(0)):
            raise KVStoreError(f"KV key {key!r}: ttl must be a non-negative timedelta, got {ttl!r}")
        if ttl is not None and expires is not None:
            raise KVStoreError(f"KV key {key!r}: give ttl or expires, not both")
        now = self._clock()
        if ttl is not None:
            expires = now + ttl
        with self._lock():
            return self._set(path, key, kind, plain, secret, now, overwrite, expires, description)

    def _set(
        self,
        path: Path,
        key: str,
        kind: str,
        plain: Any,
        secret: bool,
        now: datetime,
        overwrite: bool,
        expires: datetime | None,
        description: str | None,
    ) -> KVEntry:
        previous = self.entry(key)
        if previous is not None and not overwrite:
            raise KVStoreError(
                f"Cannot set value for key '{key}'. Key already exists and `overwrite` is set to `false`."
            )
        document = {
            "key": key,
            "type": kind,
            "value": _encode(key, kind, plain),
            "secret": secret,
            "created": (previous.created if previous is not None else now).isoformat(),
            "updated": now.isoformat(),
            "expires": None if expires is None else _utc(expires).isoformat(),
            "description": description,
        }
        self._write(path, json.dumps(document, ensure_ascii=False), exclusive=not overwrite)
        return self._entry(document, path)

    def delete(self, key: str) -> bool:
        """Remove ``key``; True when it had a value (as ``kv.Delete``'s ``deleted`` output)."""
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def clear(self) -> int:
        """Remove every key of the store; how many there were (expired ones included)."""
        if not self.folder.is_dir():
            return 0
        removed = 0
        for path in self.folder.glob(f"*{_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
        return removed

    # ------------------------------------------------------------------ files

    def _lock(self) -> threading.RLock:
        with _LOCKS_GUARD:
            return _LOCKS.setdefault(self.folder, threading.RLock())

    def _path(self, key: str) -> Path:
        return self.folder / f"{_check_name(key, 'key')}{_SUFFIX}"

    def _read(self, path: Path) -> KVEntry | None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            return self._entry(json.loads(text), path)
        except (ValueError, KeyError, TypeError) as exc:
            raise KVStoreError(f"cannot read the KV file {path}: {type(exc).__name__}: {exc}") from None

    @staticmethod
    def _entry(document: dict[str, Any], path: Path) -> KVEntry:
        kind = document["type"]
        if kind not in KV_TYPES:
            raise ValueError(f"unknown type {kind!r}")
        value = _decode(kind, document["value"])
        if document.get("secret"):
            value = secret_texts(value)
        created = _time(document["created"])
        updated = _time(document["updated"])
        assert created is not None and updated is not None
        return KVEntry(
            key=path.name[: -len(_SUFFIX)],
            type=kind,
            value=value,
            created=created,
            updated=updated,
            expires=_time(document.get("expires")),
            description=document.get("description"),
        )

    def _write(self, path: Path, text: str, *, exclusive: bool) -> None:
        """Write ``text`` to ``path`` atomically: a temporary file, then replace (``exclusive``:
        hard-link, which fails when the key's file exists; :meth:`set` removed an expired one)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
            if not exclusive:
                os.replace(temporary, path)
                return
            try:
                os.link(temporary, path)  # fails when the key's file exists
            except FileExistsError:
                key = path.name[: -len(_SUFFIX)]
                raise KVStoreError(
                    f"Cannot set value for key '{key}'. Key already exists and `overwrite` is set to `false`."
                ) from None
            except OSError:  # a file system without hard links: checked just before, then replaced
                os.replace(temporary, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)


def kv_namespaces(storage_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """The namespaces that have a KV folder under the storage root, sorted."""
    root = storage_root(storage_dir) / "kv"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _KEY.fullmatch(p.name))
