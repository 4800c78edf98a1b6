"""Per-client state of higher-level operations (the wait poller, paused checks, the run cache), kept on the client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

__all__ = ["per_client"]

T = TypeVar("T")


def per_client(client: Any, name: str, factory: Callable[[], T]) -> T:
    """The object ``factory`` made for ``client`` under ``name`` (made on first use, then kept)."""
    store: dict[str, Any] = client.__dict__.setdefault("_kas_state", {})
    if name not in store:
        store[name] = factory()
    return cast(T, store[name])
