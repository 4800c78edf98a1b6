"""The local state a flow run keeps on this machine, in one folder (:func:`storage_root`):
Kestra's internal storage (``kestra:///…`` files), the key-value store per namespace
(:class:`KVStore`) and namespace files. ``run(storage_dir=...)`` chooses the folder; by default it
is under the user's cache.

This package knows no flow model: the runner binds it to an execution."""

from __future__ import annotations

from .kv import KV_TYPES, KVEntry, KVStore, KVStoreError, kv_namespaces
from .root import default_storage_root, storage_root

__all__ = [
    "KV_TYPES",
    "KVEntry",
    "KVStore",
    "KVStoreError",
    "default_storage_root",
    "kv_namespaces",
    "storage_root",
]
