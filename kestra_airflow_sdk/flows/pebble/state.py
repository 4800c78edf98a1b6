"""What a template sees while it renders: undefined values, secrets revealed, the render's state.

This module is the bottom of the pebble package's runtime: filters, tests and functions import it,
and it imports none of them. Per render, the state a template needs (secret resolver, runner
functions, whether a secret was read, the Kestra version) lives in a :class:`contextvars.ContextVar`,
so one compiled template serves every renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any, NoReturn

from jinja2 import StrictUndefined
from jinja2.exceptions import UndefinedError
from jinja2.runtime import LoopContext
from pydantic import SecretStr

from .values import ExpressionProblem
from .versions import KestraVersion

__all__ = [
    "PebbleUndefined",
    "RenderState",
    "UndefinedVariable",
    "current_state",
    "lookup",
    "reset_state",
    "reveal",
    "reveal_deep",
    "set_state",
]


class UndefinedVariable(UndefinedError):
    """A variable path that names nothing was used where a value is needed."""

    def __init__(self, path: str, known: list[str] | None) -> None:
        super().__init__(f"{path} is not defined")
        self.path = path
        self.known = known


class PebbleUndefined(StrictUndefined):
    """What an unknown variable path evaluates to: it passes through ``.x``, ``[k]`` and filters
    (so ``??``, ``default`` and ``is defined`` can handle it) and fails, naming the path, where its
    value is needed (printed, compared, iterated, tested: see :meth:`fail`)."""

    __slots__ = ("known", "path")

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = None,
        name: str | None = None,
        exc: type[UndefinedError] = UndefinedError,
        known: Mapping[Any, Any] | None = None,
    ) -> None:
        super().__init__(hint, name=name, exc=exc)
        self.path = name or "a value"
        self.known = known  # the mapping the path missed a key of (listed only in the error)

    def fail(self) -> NoReturn:
        """Raise :class:`UndefinedVariable` naming the path (and the keys its mapping has)."""
        raise UndefinedVariable(self.path, None if self.known is None else sorted(map(str, self.known)))

    def __getattr__(self, name: str) -> Any:
        if name[:2] == "__":
            raise AttributeError(name)
        return self


@dataclass
class RenderState:
    """What one render needs besides the variables."""

    variables: Mapping[str, Any]
    functions: Mapping[str, Callable[..., Any]]
    #: renders a nested value (``render()``), given by the renderer
    render: Callable[[Any, bool], Any]
    #: resolves ``secret('NAME')``
    secret: Callable[[str], SecretStr]
    tainted: bool = False
    #: the secret values revealed so far, masked in error messages
    revealed: set[str] = field(default_factory=set)
    #: the Kestra version whose expressions are rendered
    kestra: KestraVersion = "1.3"


_STATE: ContextVar[RenderState | None] = ContextVar("pebble_render_state", default=None)


def current_state() -> RenderState:
    """The state of the render in progress (for functions such as ``secret()`` and ``render()``)."""
    state = _STATE.get()
    if state is None:
        raise ExpressionProblem("this function needs a render in progress")
    return state


def set_state(state: RenderState) -> Token[RenderState | None]:
    """Make ``state`` the current render's; returns the token :func:`reset_state` takes."""
    return _STATE.set(state)


def reset_state(token: Token[RenderState | None]) -> None:
    """End the render :func:`set_state` started."""
    _STATE.reset(token)


def reveal(value: Any) -> Any:
    """The text of a secret value, marking the render as having used a secret."""
    if isinstance(value, SecretStr):
        text = value.get_secret_value()
        state = _STATE.get()
        if state is not None:
            state.tainted = True
            state.revealed.add(text)
        return text
    return value


def reveal_deep(value: Any) -> Any:
    """:func:`reveal` applied inside maps and lists too (what filters, functions and output see)."""
    if type(value) in SCALARS:
        return value
    if isinstance(value, Mapping) and not isinstance(value, PebbleUndefined):
        return {k: reveal_deep(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [reveal_deep(v) for v in value]
    return reveal(value)


#: the types a value can have that need no revealing
SCALARS = frozenset({str, int, float, bool, type(None)})
_LOOP_ATTRIBUTES = {
    "index": "index0",
    "revindex": "revindex0",
    "first": "first",
    "last": "last",
    "length": "length",
}


def lookup(node: Any, key: Any, path: str) -> Any:
    """One step of a variable path (``.key`` or ``[key]``): a mapping's key or a list's index."""
    if type(node) is dict and type(key) is str:  # the common case, first
        if key in node:
            return reveal(node[key])
        return PebbleUndefined(name=path, known=node)
    if isinstance(node, PebbleUndefined):
        return node
    if isinstance(key, PebbleUndefined):
        return key
    key = reveal(key)
    if type(node) is dict:
        if key in node:
            return reveal(node[key])
        return PebbleUndefined(name=path, known=node)
    if isinstance(node, Mapping):
        try:
            if key in node:
                return reveal(node[key])
        except TypeError:
            pass
        return PebbleUndefined(name=path, known=node)
    if isinstance(node, (list, tuple)) and isinstance(key, int) and not isinstance(key, bool):
        if 0 <= key < len(node):
            return reveal(node[key])
        return PebbleUndefined(name=f"{path} (index {key} of a list of {len(node)})")
    if isinstance(node, LoopContext) and key in _LOOP_ATTRIBUTES:
        return getattr(node, _LOOP_ATTRIBUTES[key])
    return PebbleUndefined(name=path)
