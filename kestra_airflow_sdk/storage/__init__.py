"""The local state a flow run keeps on this machine, in one folder (:func:`storage_root`):
Kestra's internal storage (``kestra:///…`` files, :class:`InternalStorage`), the key-value store per
namespace (:class:`KVStore`) and namespace files. ``run(storage_dir=...)`` chooses the folder; by
default it is under the user's cache.

This package knows no flow model: the runner binds it to an execution."""

from __future__ import annotations

from .files import (
    InternalStorage,
    StorageError,
    execution_uri,
    file_uri,
    namespace_files_uri,
    slugify,
    task_uri,
    uri_path,
)
from .kv import KV_TYPES, KVEntry, KVStore, KVStoreError, kv_namespaces
from .root import default_storage_root, storage_root

__all__ = [
    "KV_TYPES",
    "InternalStorage",
    "KVEntry",
    "KVStore",
    "KVStoreError",
    "StorageError",
    "default_storage_root",
    "execution_uri",
    "file_uri",
    "kv_namespaces",
    "namespace_files_uri",
    "slugify",
    "storage_root",
    "task_uri",
    "uri_path",
]
