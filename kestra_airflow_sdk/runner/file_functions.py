"""Kestra's file functions, bound to one execution's files (:class:`~.files.ExecutionFiles`):
``read(path)``, ``fileURI(path)``, ``fileSize(path)``, ``fileExists(path)`` and
``isFileEmpty(path)`` (kestra-io/kestra, ``core/.../runners/pebble/functions/ReadFileFunction``,
``FileURIFunction``, ``FileSizeFunction``, ``FileExistsFunction``, ``IsFileEmptyFunction`` and their
``AbstractFileFunction``).

``path`` is a ``kestra:///`` URI of the internal storage (which the execution may read: see
:mod:`.files`), a namespace file URI (``nsfile:///path``, ``nsfile://<namespace>/path``), or a
namespace file path (``scripts/query.sql``), of the flow's namespace or of ``namespace=``. As on a
Kestra server that does not enable them, ``file://`` paths are refused; a namespace file's
``version``/``revision`` is refused (a local folder holds one version of each file).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..flows.pebble.values import ExpressionProblem
from ..storage import StorageError, namespace_files_uri
from .files import ExecutionFiles

__all__ = ["file_functions"]

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:.*")
_MISSING: Any = object()


def _problem(function: str, message: str) -> ExpressionProblem:
    return ExpressionProblem(f"{function}(path): {message}")


class _Resolved:
    """Where ``path`` of one call points: a storage URI (checked) and its local file."""

    def __init__(self, files: ExecutionFiles, function: str, path: Any, namespace: Any) -> None:
        if path is _MISSING or path is None:
            raise _problem(
                function,
                f"the '{function}' function expects an argument 'path' that is a path to a namespace "
                "file or an internal storage URI",
            )
        if not isinstance(path, str):
            raise _problem(
                function,
                f"expected 'path' to be a kestra:/// URI or a namespace file path (text), got {path!r}",
            )
        if namespace is not None and not isinstance(namespace, str):
            raise _problem(function, f"expected 'namespace' to be a namespace name, got {namespace!r}")
        where = f"{function}({path!r})"
        try:
            if path.lower().startswith("kestra:"):
                files.readable(path, where)
                self.uri, self.local = path, files.local(path)
            elif path.lower().startswith("file:"):
                raise _problem(
                    function,
                    f"{path!r}: the file:// protocol is disabled (as in Kestra's default configuration); "
                    "use a namespace file or a kestra:/// URI",
                )
            elif path.lower().startswith("nsfile:"):
                parts = urlsplit(path)
                if parts.netloc and namespace is not None:
                    raise _problem(
                        function,
                        "you cannot set a namespace both as the function argument and inside the URI",
                    )
                self._namespace_file(files, unquote(parts.path), parts.netloc or namespace, where)
            elif _SCHEME.match(path):
                raise _problem(function, f"cannot process the URI {path}: scheme not supported")
            else:
                self._namespace_file(files, path, namespace, where)
        except StorageError as exc:
            raise ExpressionProblem(str(exc)) from None

    def _namespace_file(self, files: ExecutionFiles, path: str, namespace: str | None, where: str) -> None:
        namespace = namespace or files.namespace
        relative = path.lstrip("/")
        self.uri = f"{namespace_files_uri(namespace)}/{relative}"
        self.local = files.namespace_file(relative, namespace, where)

    def existing(self, function: str) -> Path:
        if not self.local.is_file():
            raise _problem(function, f"no such file: {self.uri}")
        return self.local


def file_functions(files: ExecutionFiles | None) -> dict[str, Callable[..., Any]]:
    """The file functions of the execution whose files are ``files`` (none before it exists)."""
    if files is None:
        return {}
    bound = files

    def read(path: Any = _MISSING, namespace: Any = None, version: Any = None, revision: Any = None) -> str:
        """Kestra's ``read(path)``: the file's text (UTF-8)."""
        _no_revision("read", version, revision)
        local = _Resolved(bound, "read", path, namespace).existing("read")
        return local.read_bytes().decode("utf-8", errors="replace")

    def file_uri(
        path: Any = _MISSING, namespace: Any = None, version: Any = None, revision: Any = None
    ) -> str:
        """Kestra's ``fileURI(path)``: the ``kestra:///`` URI of a namespace file (a URI as is)."""
        _no_revision("fileURI", version, revision)
        if isinstance(path, str) and "../" in path:
            raise _problem("fileURI", f"{path!r}: path must not contain '../'")
        return _Resolved(bound, "fileURI", path, namespace).uri

    def file_size(path: Any = _MISSING, namespace: Any = None) -> int:
        """Kestra's ``fileSize(path)``: the size in bytes."""
        return _Resolved(bound, "fileSize", path, namespace).existing("fileSize").stat().st_size

    def file_exists(path: Any = _MISSING, namespace: Any = None) -> bool:
        """Kestra's ``fileExists(path)``."""
        return _Resolved(bound, "fileExists", path, namespace).local.is_file()

    def is_file_empty(path: Any = _MISSING, namespace: Any = None) -> bool:
        """Kestra's ``isFileEmpty(path)``: true for a file of 0 bytes."""
        return _Resolved(bound, "isFileEmpty", path, namespace).existing("isFileEmpty").stat().st_size == 0

    return {
        "read": read,
        "fileURI": file_uri,
        "fileSize": file_size,
        "fileExists": file_exists,
        "isFileEmpty": is_file_empty,
    }


def _no_revision(function: str, version: Any, revision: Any) -> None:
    if version is not None or revision is not None:
        raise _problem(
            function,
            "namespace file revisions are not supported locally (the namespace files folder holds one "
            "version of each file)",
        )
