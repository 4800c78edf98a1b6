"""Kestra's internal storage on a local folder: the files of ``kestra:///…`` URIs.

A URI's path is the file's path under the folder (``storage_root(...)/files/``), laid out as Kestra
lays out its storage (``io.kestra.core.storages.StorageContext``)::

    kestra:///<namespace as path>/<flow slug>/executions/<execution id>/inputs/<input id>/<file name>
    kestra:///<namespace as path>/<flow slug>/executions/<execution id>/tasks/<task slug>/<task run id>/<file>
    kestra:///<namespace as path>/_files/<path>                 (namespace files)

:func:`execution_uri`, :func:`task_uri` and :func:`namespace_files_uri` build those prefixes. As
Kestra's local storage does, a URI using ``..`` is refused (:class:`StorageError` naming it): no URI
reaches a file outside the folder, not even through a symbolic link.

Example::

    storage = InternalStorage.under(storage_dir)          # <storage_dir>/files
    uri = storage.put(task_uri("company.team", "etl", run_id, "load", task_run_id) + "/rows.csv", b"a,b\\n")
    storage.get(uri)  # b"a,b\\n"
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from ..errors import KestraAirflowError
from .root import storage_root

__all__ = [
    "InternalStorage",
    "StorageError",
    "execution_uri",
    "file_uri",
    "namespace_files_uri",
    "slugify",
    "task_uri",
    "uri_path",
]

SCHEME = "kestra"
#: characters a URI path keeps as they are (RFC 3986 sub-delimiters, ``:``, ``@``, ``/``)
_PATH_SAFE = "/+!$&'()*,;=:@~"


class StorageError(KestraAirflowError, ValueError):
    """A URI that is not one of the internal storage, one that would leave its folder, or a file
    that is not there; the message names the URI."""


def slugify(text: str) -> str:
    """Kestra's ``Slugify.of``: how a flow id or task id is spelt in storage paths (``My_Flow`` →
    ``my-flow``: whitespace and ``_`` become ``-``, other non-word characters are dropped)."""
    slug = unicodedata.normalize("NFD", re.sub(r"\s", "-", text))
    slug = re.sub(r"[^\w-]", "", slug, flags=re.ASCII).replace("_", "-")
    slug = re.sub(r"-{2,}", "-", slug).strip("-")
    return slug.lower()


def _segment(text: str) -> str:
    return quote(text, safe="")


def execution_uri(namespace: str, flow_id: str, execution_id: str) -> str:
    """``kestra:///<namespace as path>/<flow slug>/executions/<execution id>``: an execution's folder."""
    return f"{SCHEME}:///{namespace.replace('.', '/')}/{slugify(flow_id)}/executions/{_segment(execution_id)}"


def task_uri(namespace: str, flow_id: str, execution_id: str, task_id: str, task_run_id: str) -> str:
    """The folder of one task run's files (``…/executions/<id>/tasks/<task slug>/<task run id>``)."""
    base = execution_uri(namespace, flow_id, execution_id)
    return f"{base}/tasks/{slugify(task_id)}/{_segment(task_run_id)}"


def namespace_files_uri(namespace: str) -> str:
    """``kestra:///<namespace as path>/_files``: the folder of a namespace's files."""
    return f"{SCHEME}:///{namespace.replace('.', '/')}/_files"


def file_uri(prefix: str, name: str) -> str:
    """``prefix`` + ``/`` + ``name`` (a relative path, each part percent-encoded as a URI needs)."""
    return f"{prefix.rstrip('/')}/{quote(name, safe=_PATH_SAFE)}"


def uri_path(uri: str) -> str:
    """The storage path of a ``kestra:///…`` URI (decoded, without a leading ``/``); a URI that is
    not one of the storage, or that uses ``.``/``..`` parts, raises :class:`StorageError`."""
    text = str(uri)
    parts = urlsplit(text)
    if parts.scheme.lower() != SCHEME or parts.netloc or not parts.path.startswith("/"):
        raise StorageError(f"{text!r} is not a URI of Kestra's internal storage (expected kestra:///<path>)")
    if parts.query or parts.fragment:
        raise StorageError(f"{text!r}: a URI of the internal storage has no query or fragment")
    path = unquote(parts.path).lstrip("/")
    pieces = path.split("/")
    if not path or any(p in ("", ".", "..") for p in pieces) or "\\" in path or "\x00" in path:
        raise StorageError(
            f"{text!r} is refused: a URI of the internal storage names a file by its full path, "
            "without '.' or '..' parts (it may not leave the storage folder)"
        )
    return path


class InternalStorage:
    """Kestra's internal storage in the folder ``root``: ``put``/``get``/``exists``/``size``/
    ``delete`` files by their ``kestra:///…`` URI (see the module documentation)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        #: the folder holding the files (created on the first write)
        self.root = Path(root)

    @classmethod
    def under(cls, storage_dir: str | os.PathLike[str] | None = None) -> InternalStorage:
        """The internal storage of the run state folder ``storage_dir`` (its ``files/`` folder;
        default: :func:`~kestra_airflow_sdk.storage.default_storage_root`)."""
        return cls(storage_root(storage_dir) / "files")

    def __repr__(self) -> str:
        return f"InternalStorage({str(self.root)!r})"

    def path(self, uri: str) -> Path:
        """The local file of ``uri`` (it may not exist); :class:`StorageError` for a URI that is not
        of the storage or would lead outside its folder."""
        target = self.root / uri_path(uri)
        root = self.root.resolve()
        resolved = target.resolve()
        if resolved != root and root not in resolved.parents:
            raise StorageError(
                f"{uri!r} is refused: it leads outside the internal storage folder {self.root}"
            )
        return target

    def put(self, uri: str, content: bytes | os.PathLike[str]) -> str:
        """Store ``content`` (bytes, or the local file at that path) as ``uri``; returns ``uri``."""
        if isinstance(content, str):  # text or a path? refuse the guess
            raise StorageError(f"put({uri!r}): content is bytes or a local file's path (a Path), got text")
        target = self.path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, (bytes, bytearray)):
            target.write_bytes(bytes(content))
        else:
            shutil.copyfile(content, target)
        return uri

    def get(self, uri: str) -> bytes:
        """The bytes of the file ``uri``; :class:`StorageError` when there is none."""
        return self._existing(uri).read_bytes()

    def exists(self, uri: str) -> bool:
        """True when the file ``uri`` is in the storage."""
        return self.path(uri).is_file()

    def size(self, uri: str) -> int:
        """The size of the file ``uri`` in bytes; :class:`StorageError` when there is none."""
        return self._existing(uri).stat().st_size

    def delete(self, uri: str) -> bool:
        """Delete the file ``uri``; False when there was none."""
        target = self.path(uri)
        if not target.is_file():
            return False
        target.unlink()
        return True

    def _existing(self, uri: str) -> Path:
        target = self.path(uri)
        if not target.is_file():
            raise StorageError(f"{uri!r}: no such file in the internal storage ({self.root})")
        return target
