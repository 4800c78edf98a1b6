"""``@operation``: a client method declared once, as a generator of effects, for both drivers."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Concatenate, Generic, TypeVar, overload

from typing_extensions import ParamSpec

from .effects import Op
from .session import HttpSession

if TYPE_CHECKING:
    from .drivers import AsyncDriver, SyncDriver

__all__ = ["operation"]

T = TypeVar("T")
P = ParamSpec("P")
C = TypeVar("C", bound=HttpSession)


class operation(Generic[C, P, T]):
    """Declare a public client method once, as a generator of effects.

    On a synchronous client (:class:`~.drivers.SyncDriver`) the method runs to completion and
    returns ``T``; on an asynchronous one (:class:`~.drivers.AsyncDriver`) it returns a coroutine
    of ``T``. ``Class.method.fn`` is the generator function itself, to compose operations.
    """

    def __init__(self, fn: Callable[Concatenate[C, P], Op[T]]) -> None:
        self.fn = fn
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]
        signature = inspect.signature(fn)
        self._signature = signature.replace(parameters=list(signature.parameters.values())[1:])

    @overload
    def __get__(self, obj: None, owner: type[Any] | None = None) -> operation[C, P, T]: ...
    @overload
    def __get__(self, obj: SyncDriver, owner: type[Any] | None = None) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, obj: AsyncDriver, owner: type[Any] | None = None
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, obj: Any, owner: type[Any] | None = None) -> Any:
        if obj is None:
            return self
        fn = self.fn

        @functools.wraps(fn)
        def bound(*args: Any, **kwargs: Any) -> Any:
            return obj.execute(fn(obj, *args, **kwargs))

        bound.__signature__ = self._signature  # type: ignore[attr-defined]
        return bound
