"""Per-session state of higher-level operations (a wait poller, paused checks, a run cache).

A :class:`Slot` is a typed key: ``SLOT.of(session)`` is what its factory made for that session,
made on first use and kept in the session's own store (shared by the views :meth:`with_retry
<.session.HttpSession.with_retry>` makes), never in the client's ``__dict__``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

__all__ = ["SessionState", "Slot"]

T = TypeVar("T")


class SessionState:
    """The store behind the slots of one session."""

    def __init__(self) -> None:
        self._values: dict[Slot[Any], Any] = {}
        self._lock = threading.Lock()

    def get(self, slot: Slot[T]) -> T:
        """The value of ``slot`` (made by its factory on first use)."""
        with self._lock:
            if slot not in self._values:
                self._values[slot] = slot.factory()
            return cast(T, self._values[slot])


class Slot(Generic[T]):
    """A typed key of per-session state whose value ``factory()`` makes on first use."""

    def __init__(self, name: str, factory: Callable[[], T]) -> None:
        self.name = name
        self.factory = factory

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"

    def of(self, session: Any) -> T:
        """This slot's value for ``session`` (an :class:`~.session.HttpSession`)."""
        state: SessionState = session._state
        return state.get(self)
