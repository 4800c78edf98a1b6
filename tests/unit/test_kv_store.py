"""The file-backed KV store (kestra_airflow_sdk.storage.kv): types, TTL on a clock the test moves,
concurrent writers, Kestra's key rule, listing and clearing from Python.

Semantics from kestra-io/kestra ``core/.../storages/kv/KVStore.java`` (key pattern),
``InternalKVStore.java`` (overwrite message, expired keys read as missing and are removed) and
``models/kv/KVType.java`` (the type a value gets)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

import kestra_airflow_sdk
from kestra_airflow_sdk.flows.tasks.kv import KV_TYPE_NAMES
from kestra_airflow_sdk.storage import KV_TYPES, KVStore, KVStoreError, kv_namespaces, storage_root

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves; ``on_read``, when set, runs each time the store reads it."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now
        self.on_read: Callable[[], object] | None = None

    def __call__(self) -> datetime:
        if self.on_read is not None:
            self.on_read()
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> KVStore:
    return KVStore("company.team", tmp_path)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("text", "STRING"),
        ("", "STRING"),
        (42, "NUMBER"),
        (-1.5, "NUMBER"),
        (True, "BOOLEAN"),
        (False, "BOOLEAN"),
        (datetime(2024, 5, 2, 1, 2, 3, 456000, tzinfo=timezone.utc), "DATETIME"),
        (date(2024, 5, 2), "DATE"),
        (timedelta(days=1, seconds=5, microseconds=500), "DURATION"),
        ({"a": [1, {"b": None}], "c": "d"}, "JSON"),
        ([1, "two", 3.0], "JSON"),
        (None, "STRING"),
    ],
)
def test_each_type_round_trips_with_the_type_kestra_gives_it(
    tmp_path: Path, store: KVStore, value: Any, kind: str
) -> None:
    store.set("k", value)
    again = KVStore("company.team", tmp_path)  # another instance reads the file
    entry = again.entry("k")
    assert entry is not None
    assert (entry.type, entry.value) == (kind, value)
    assert type(entry.value) is type(value)


def test_an_explicit_type_must_match_the_value(store: KVStore) -> None:
    store.set("n", 3, kv_type="number")
    assert store.entry("n") is not None and store.entry("n").type == "NUMBER"  # type: ignore[union-attr]
    with pytest.raises(KVStoreError, match=r"KV key 'n': a NUMBER value must be a number, got str"):
        store.set("n", "3", kv_type="NUMBER")
    with pytest.raises(KVStoreError, match=r"KV key 'b': a BOOLEAN value must be true or false, got int"):
        store.set("b", 1, kv_type="BOOLEAN")
    with pytest.raises(KVStoreError, match=r"unknown type 'TEXT'; expected one of STRING, NUMBER"):
        store.set("t", "x", kv_type="TEXT")
    with pytest.raises(KVStoreError, match=r"KV key 'j': a JSON value .* expected"):
        store.set("j", {"a": object()})
    with pytest.raises(KVStoreError, match=r"KV key 'f': a NUMBER value must be a number"):
        store.set("f", float("nan"))
    assert store.keys() == ["n"]  # nothing was written by the refused ones


def test_a_naive_datetime_is_utc(store: KVStore) -> None:
    store.set("at", datetime(2024, 5, 2, 1, 2, 3))
    assert store.get("at") == datetime(2024, 5, 2, 1, 2, 3, tzinfo=timezone.utc)


def test_the_flow_model_and_the_store_know_the_same_types() -> None:
    assert KV_TYPE_NAMES == KV_TYPES


# ------------------------------------------------------------------ TTL


def test_a_key_expires_after_its_ttl_on_the_stores_clock(tmp_path: Path) -> None:
    clock = Clock()
    store = KVStore("company.team", tmp_path, clock=clock)
    store.set("short", "v", ttl=timedelta(hours=1))
    store.set("forever", "w")
    entry = store.entry("short")
    assert entry is not None and entry.expires == T0 + timedelta(hours=1)
    clock.now = T0 + timedelta(minutes=59, seconds=59)
    assert store.get("short") == "v" and store.keys() == ["forever", "short"]
    clock.now = T0 + timedelta(hours=1)
    assert [e.key for e in store.list()] == ["forever"]
    assert store.get("short") is None and store.get("short", "gone") == "gone" and "short" not in store
    assert not (store.folder / "short.json").exists(), "an expired key's file is removed when read"
    assert store.get("forever") == "w"


def test_removing_an_expired_key_never_takes_away_a_fresh_write(tmp_path: Path) -> None:
    clock = Clock()
    reader = KVStore("company.team", tmp_path, clock=clock)
    writer = KVStore("company.team", tmp_path)
    reader.set("k", "old", ttl=timedelta(seconds=1))
    clock.now += timedelta(seconds=2)

    def write_in_between() -> None:
        # the reader has read the expired value; another writer stores a fresh one before it decides
        if writer.get("k") is None:
            writer.set("k", "fresh")

    clock.on_read = write_in_between
    assert reader.get("k") == "fresh"
    assert writer.get("k") == "fresh"


def test_ttl_must_be_a_non_negative_timedelta(store: KVStore) -> None:
    with pytest.raises(KVStoreError, match=r"KV key 'k': ttl must be a non-negative timedelta, got"):
        store.set("k", "v", ttl=timedelta(seconds=-1))
    with pytest.raises(KVStoreError, match=r"ttl must be a non-negative timedelta, got 'PT1H'"):
        store.set("k", "v", ttl="PT1H")  # type: ignore[arg-type]
    with pytest.raises(KVStoreError, match="give ttl or expires, not both"):
        store.set("k", "v", ttl=timedelta(1), expires=T0)


def test_overwrite_false_refuses_a_live_key_with_kestras_message(tmp_path: Path) -> None:
    clock = Clock()
    store = KVStore("company.team", tmp_path, clock=clock)
    store.set("k", "first", ttl=timedelta(minutes=5))
    with pytest.raises(KVStoreError) as raised:
        store.set("k", "second", overwrite=False)
    assert str(raised.value) == (
        "Cannot set value for key 'k'. Key already exists and `overwrite` is set to `false`."
    )
    assert store.get("k") == "first"
    clock.now += timedelta(minutes=5)  # expired: it may be set again
    store.set("k", "second", overwrite=False)
    assert store.get("k") == "second"


def test_created_stays_and_updated_moves_on_overwrite(tmp_path: Path) -> None:
    clock = Clock()
    store = KVStore("company.team", tmp_path, clock=clock)
    store.set("k", 1, description="counter")
    clock.now = T0 + timedelta(minutes=1)
    entry = store.set("k", 2)
    assert (entry.created, entry.updated, entry.value, entry.description) == (
        T0,
        T0 + timedelta(minutes=1),
        2,
        None,
    )


# ------------------------------------------------------------------ concurrency


def test_concurrent_writers_never_leave_half_a_value(tmp_path: Path) -> None:
    store = KVStore("company.team", tmp_path)
    writers, rounds = 8, 40
    start = threading.Barrier(writers)
    seen: list[Any] = []

    def write(n: int) -> None:
        start.wait()
        for i in range(rounds):
            store.set(f"own-{n}", i)
            store.set("shared", {"writer": n, "round": i, "pad": "x" * 2000})
            seen.append(store.get("shared"))  # always a whole value some writer wrote

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.keys() == sorted([f"own-{n}" for n in range(writers)] + ["shared"])
    assert all(store.get(f"own-{n}") == rounds - 1 for n in range(writers))
    final = store.get("shared")
    assert final["round"] == rounds - 1 and final["pad"] == "x" * 2000
    assert len(seen) == writers * rounds
    assert all(v is not None and len(v["pad"]) == 2000 for v in seen)
    assert sorted(p.name for p in store.folder.iterdir() if p.name.startswith(".")) == [], "no temp file left"


def test_of_concurrent_creators_exactly_one_wins(tmp_path: Path) -> None:
    store = KVStore("company.team", tmp_path)
    creators = 8
    start = threading.Barrier(creators)
    won: list[int] = []
    lost: list[str] = []

    def create(n: int) -> None:
        start.wait()
        try:
            store.set("once", n, overwrite=False)
            won.append(n)
        except KVStoreError as exc:
            lost.append(str(exc))

    threads = [threading.Thread(target=create, args=(n,)) for n in range(creators)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and store.get("once") == won[0]
    assert len(lost) == creators - 1 and all("Key already exists" in m for m in lost)


# ------------------------------------------------------------------ keys and namespaces


@pytest.mark.parametrize(
    "key", ["", "-dash", "_under", ".dot", "a/b", "../escape", "with space", "é", "a\nb"]
)
def test_a_bad_key_is_refused_naming_it_and_the_rule(store: KVStore, key: str) -> None:
    for operation in (
        lambda: store.set(key, "v"),
        lambda: store.get(key),
        lambda: store.delete(key),
    ):
        with pytest.raises(KVStoreError) as raised:
            operation()
        message = str(raised.value)
        assert message.startswith(f"invalid KV key {key!r}: a key must start with a letter or digit")
        assert "[a-zA-Z0-9][a-zA-Z0-9._-]*" in message
    assert not store.folder.exists()


def test_keys_kestra_allows(store: KVStore) -> None:
    for key in ("A", "9", "my_key", "my-key.v2", "UPPER_case.1-2"):
        store.set(key, key)
    assert store.keys() == sorted(["A", "9", "my_key", "my-key.v2", "UPPER_case.1-2"])
    assert store.keys("my") == ["my-key.v2", "my_key"]


@pytest.mark.parametrize("namespace", ["", "../up", "a/b", ".hidden", 3])
def test_a_bad_namespace_is_refused(tmp_path: Path, namespace: Any) -> None:
    with pytest.raises(KVStoreError, match=r"invalid KV namespace .*: a namespace must start with"):
        KVStore(namespace, tmp_path)


def test_the_store_lives_under_the_storage_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert KVStore("a.b", tmp_path).folder == tmp_path / "kv" / "a.b"
    monkeypatch.setenv("KAS_STORAGE_DIR", str(tmp_path / "env"))
    store = KVStore("a.b")
    assert store.folder == storage_root() / "kv" / "a.b" == tmp_path / "env" / "kv" / "a.b"
    assert not store.folder.exists(), "nothing is created until the first write"
    assert "a.b" in repr(store)


# ------------------------------------------------------------------ listing and clearing


def test_list_delete_clear_and_namespaces(tmp_path: Path) -> None:
    clock = Clock()
    team = KVStore("company.team", tmp_path, clock=clock)
    other = KVStore("company", tmp_path, clock=clock)
    team.set("b", 2, description="two")
    team.set("a", "one", ttl=timedelta(days=1))
    other.set("c", True)
    assert kv_namespaces(tmp_path) == ["company", "company.team"]
    entries = team.list()
    assert [(e.key, e.type, e.value, e.expires, e.description) for e in entries] == [
        ("a", "STRING", "one", T0 + timedelta(days=1), None),
        ("b", "NUMBER", 2, None, "two"),
    ]
    frame = team.frame()
    assert list(frame.columns) == ["key", "type", "value", "created", "updated", "expires", "description"]
    assert frame["key"].tolist() == ["a", "b"] and frame["type"].tolist() == ["STRING", "NUMBER"]
    assert team.delete("a") is True and team.delete("a") is False
    assert team.clear() == 1 and team.keys() == [] and team.clear() == 0
    assert other.keys() == ["c"], "clearing one namespace leaves the others"
    assert KVStore("never.used", tmp_path).clear() == 0 and KVStore("never.used", tmp_path).list() == []
    assert kv_namespaces(tmp_path / "nothing") == []


def test_a_secret_value_reads_back_secret_and_stays_masked(tmp_path: Path, store: KVStore) -> None:
    store.set("token", SecretStr("s3cr3t-value"))
    value = store.get("token")
    assert isinstance(value, SecretStr) and value.get_secret_value() == "s3cr3t-value"
    assert "s3cr3t" not in repr(store.list()) and "s3cr3t" not in repr(store.frame())
    store.set("creds", {"user": "me", "password": SecretStr("pw-9"), "port": 5432})
    creds = store.get("creds")
    assert store.entry("creds").type == "JSON"  # type: ignore[union-attr]
    assert creds["port"] == 5432 and all(isinstance(creds[k], SecretStr) for k in ("user", "password"))
    assert creds["password"].get_secret_value() == "pw-9" and "pw-9" not in repr(creds)


def test_a_damaged_file_is_an_error_naming_it(store: KVStore) -> None:
    store.set("k", 1)
    (store.folder / "k.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(KVStoreError, match=r"cannot read the KV file .*k\.json: JSONDecodeError"):
        store.get("k")
    (store.folder / "k.json").write_text(json.dumps({"type": "TEXT", "value": 1}), encoding="utf-8")
    with pytest.raises(KVStoreError, match=r"k\.json"):
        store.get("k")


def test_the_store_is_exported_from_the_package() -> None:
    assert kestra_airflow_sdk.KVStore is KVStore
    assert kestra_airflow_sdk.KVStoreError is KVStoreError
    assert issubclass(KVStoreError, kestra_airflow_sdk.KestraAirflowError)
