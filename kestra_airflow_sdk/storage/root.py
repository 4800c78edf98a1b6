"""Where the local state of flow runs lives: ``storage_dir`` when given, else
``$KAS_STORAGE_DIR``, else ``<user cache>/kestra-airflow-sdk/storage`` (``$XDG_CACHE_HOME`` or
``~/.cache``). Each part of the state has its own folder under it (e.g. ``kv/``, ``files/``)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_storage_root", "storage_root"]


def default_storage_root() -> Path:
    """``$KAS_STORAGE_DIR``, or ``kestra-airflow-sdk/storage`` under the user's cache folder."""
    chosen = os.environ.get("KAS_STORAGE_DIR")
    if chosen:
        return Path(chosen).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "kestra-airflow-sdk" / "storage"


def storage_root(storage_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder of the local state: ``storage_dir`` when given, else :func:`default_storage_root`.
    Nothing is created here; each store creates its own folder when it first writes."""
    return Path(storage_dir).expanduser() if storage_dir is not None else default_storage_root()
