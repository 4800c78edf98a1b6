"""What a server holds per namespace (its KV store, its files), as an object bound to one namespace:
``server.kv("company.team").get("key")``, awaited on an :class:`AsyncKestraServer`.

A view's methods are declared once, as generators of effects (:class:`view_operation`, the
:func:`~kestra_airflow_sdk.transport.operation.operation` of views): the view's server runs them,
so they are synchronous on a :class:`KestraServer` and coroutines on an :class:`AsyncKestraServer`.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Concatenate, Generic, TypeVar, cast, overload

from typing_extensions import ParamSpec

from ..transport.effects import Op
from .errors import KestraError

if TYPE_CHECKING:
    from ..transport.drivers import AsyncDriver, SyncDriver
    from .server import KestraOperations

__all__ = ["NamespaceView", "check_namespace", "view_operation"]

#: Kestra's namespace pattern (``Flow.namespace``: ``^[a-z0-9][a-z0-9._-]*``, at most 150 characters)
_NAMESPACE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")

S = TypeVar("S", covariant=True)
V = TypeVar("V", bound="NamespaceView[Any]")
P = ParamSpec("P")
T = TypeVar("T")


def check_namespace(namespace: Any) -> str:
    """``namespace`` when it is a valid Kestra namespace, else :class:`KestraError` naming it."""
    if not isinstance(namespace, str) or not _NAMESPACE.match(namespace) or len(namespace) > 150:
        raise KestraError(
            f"namespace: expected a Kestra namespace (lower-case letters, digits, '.', '_', '-', e.g. "
            f"'company.team'), got {namespace!r}"
        )
    return namespace


class NamespaceView(Generic[S]):
    """One namespace of a server (``S``: :class:`KestraServer` or :class:`AsyncKestraServer`)."""

    def __init__(self, server: S, namespace: str) -> None:
        self._server = server
        #: the namespace
        self.namespace = check_namespace(namespace)

    @property
    def server(self) -> S:
        """The server the view's operations run on."""
        return self._server

    @property
    def _ops(self) -> KestraOperations:
        """The server, as what the operations are written against."""
        return cast("KestraOperations", self._server)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._server!r}, namespace={self.namespace!r})"


class view_operation(Generic[V, P, T]):
    """Declare a view method once, as a generator of effects, run by the view's server: it returns
    ``T`` on a :class:`KestraServer`, a coroutine of ``T`` on an :class:`AsyncKestraServer`."""

    def __init__(self, fn: Callable[Concatenate[V, P], Op[T]]) -> None:
        self.fn = fn
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]
        signature = inspect.signature(fn)
        self._signature = signature.replace(parameters=list(signature.parameters.values())[1:])

    @overload
    def __get__(self, obj: None, owner: type[Any] | None = None) -> view_operation[V, P, T]: ...
    @overload
    def __get__(self, obj: NamespaceView[SyncDriver], owner: type[Any] | None = None) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, obj: NamespaceView[AsyncDriver], owner: type[Any] | None = None
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, obj: Any, owner: type[Any] | None = None) -> Any:
        if obj is None:
            return self
        fn = self.fn

        @functools.wraps(fn)
        def bound(*args: Any, **kwargs: Any) -> Any:
            return obj.server.execute(fn(obj, *args, **kwargs))

        bound.__signature__ = self._signature  # type: ignore[attr-defined]
        return bound
