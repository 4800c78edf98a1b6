"""A namespace's files on a Kestra server (``server.files("company.team")``): list, upload a local
folder, download one file or all of them, delete.

The folder is laid out as the local runner reads namespace files (``run(namespace_files_dir=...)``):
``scripts/etl.py`` in the folder is ``/scripts/etl.py`` of the namespace. So a flow tested locally
with its files deploys with the same files. Endpoints (kestra-io/kestra,
``NamespaceFileController``, the same on 1.3 and 2.0): ``GET .../files/directory?path=`` lists a
folder (``FileAttributes``), ``POST .../files?path=`` uploads one file (multipart ``fileContent``),
``GET .../files?path=`` reads one, ``GET .../files/export`` is every file as a ZIP,
``DELETE .../files?path=`` deletes a file or folder.

Kestra unpacks an uploaded file whose *upload name* ends in ``.zip`` and imports files under
``/_flows``: uploads are named ``content`` (the path says where the file goes, so a ``.zip`` stays a
file) and ``_flows`` is refused.
"""

from __future__ import annotations

import builtins
import io
import os
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from ..transport.effects import Op, blocking, gather
from .errors import KestraError
from .namespaced import NamespaceView, view_operation
from .session import segment

__all__ = ["NamespaceFile", "ServerFiles", "file_path"]

S = TypeVar("S", covariant=True)
_CONCURRENCY = 4


@dataclass(frozen=True)
class NamespaceFile:
    """One entry of a namespace's files (Kestra's ``FileAttributes``): its ``path`` in the namespace
    (``/scripts/etl.py``), ``kind`` (``"File"`` or ``"Directory"``), ``size`` in bytes, and when it
    was created and last modified (UTC)."""

    path: str
    kind: str
    size: int | None
    created: datetime | None
    modified: datetime | None

    @property
    def is_dir(self) -> bool:
        """True for a folder."""
        return self.kind.lower() == "directory"


def file_path(path: Any) -> str:
    """``path`` as a namespace file path: ``/`` + its parts (``scripts/etl.py`` → ``/scripts/etl.py``);
    :class:`KestraError` for a path with ``.``/``..`` parts or under ``/_flows``."""
    if not isinstance(path, (str, PurePosixPath)):
        raise KestraError(f"path: expected a namespace file path such as 'scripts/etl.py', got {path!r}")
    parts = [p for p in str(path).replace("\\", "/").split("/") if p]
    if any(p in (".", "..") for p in parts) or "\x00" in str(path):
        raise KestraError(f"path: {str(path)!r} may not use '.' or '..' parts")
    if parts and parts[0] == "_flows":
        raise KestraError(f"path: {str(path)!r} is under /_flows, which Kestra reads as flows, not files")
    return "/" + "/".join(parts)


def _millis(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, timezone.utc)
    except (OverflowError, OSError, ValueError):  # not a time a file can have
        return None


def _local_files(folder: Path) -> builtins.list[tuple[str, Path]]:
    """``(namespace path, local file)`` of every file under ``folder``, sorted by path."""
    if not folder.is_dir():
        raise KestraError(f"folder: {str(folder)!r} is not a folder")
    found = []
    for root, _, names in os.walk(folder):
        for name in names:
            local = Path(root) / name
            if local.is_file():
                found.append((file_path(local.relative_to(folder).as_posix()), local))
    return sorted(found)


def _extract(archive: bytes, folder: Path) -> builtins.list[Path]:
    """The files of Kestra's export ZIP written under ``folder`` (an entry leaving it is refused)."""
    written = []
    root = folder.resolve()
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        for info in zipped.infolist():
            if info.is_dir():
                continue
            target = (folder / file_path(info.filename).lstrip("/")).resolve()
            if root not in target.parents:
                raise KestraError(f"Downloading namespace files: the entry {info.filename!r} leaves {folder}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zipped.read(info))
            written.append(target)
    return sorted(written)


class ServerFiles(NamespaceView[S]):
    """The files of one namespace on the server (``server.files(namespace)``); see the module."""

    def _where(self) -> str:
        return f"/namespaces/{segment(self.namespace)}/files"

    def _directory(self, path: str) -> Op[builtins.list[NamespaceFile]]:
        body = yield from self._ops._call(
            "GET",
            f"{self._where()}/directory",
            action=f"Listing {path} of the {self.namespace} namespace files",
            params={"path": path},
        )
        if not isinstance(body, builtins.list):
            raise KestraError(
                f"Listing {path} of the {self.namespace} namespace files: expected a list, got {str(body)[:200]!r}"
            )
        base = path.rstrip("/")
        return [
            NamespaceFile(
                path=f"{base}/{item['fileName']}",
                kind=str(item.get("type") or "File"),
                size=item.get("size") if isinstance(item.get("size"), int) else None,
                created=_millis(item.get("creationTime")),
                modified=_millis(item.get("lastModifiedTime")),
            )
            for item in body
            if isinstance(item, dict) and isinstance(item.get("fileName"), str) and item["fileName"]
        ]

    def _walk(self, path: str, recursive: bool) -> Op[builtins.list[NamespaceFile]]:
        entries = yield from self._directory(path)
        if not recursive:
            return entries
        below = yield from gather((self._walk(e.path, True) for e in entries if e.is_dir), _CONCURRENCY)
        every = [*entries, *(f for files in below for f in files)]
        return sorted(every, key=lambda f: f.path)

    @view_operation
    def list(self, path: str = "/", *, recursive: bool = True) -> Op[builtins.list[NamespaceFile]]:
        """The files and folders under ``path`` (every level, or this one only), sorted by path."""
        return (yield from self._walk(file_path(path), recursive))

    @view_operation
    def upload(self, folder: str | os.PathLike[str], *, to: str = "/") -> Op[builtins.list[str]]:
        """Upload every file under the local ``folder`` (4 at a time), each to its path under ``to``
        (``folder/scripts/etl.py`` → ``/scripts/etl.py``), replacing what is there; the paths
        uploaded, sorted. Files of the namespace that the folder lacks are kept."""
        base = file_path(to).rstrip("/")
        local = yield from blocking(lambda: _local_files(Path(folder)))

        def send(path: str, source: Path) -> Op[str]:
            content = yield from blocking(source.read_bytes)
            target = base + path
            yield from self._ops._call(
                "POST",
                self._where(),
                action=f"Uploading {target} to the {self.namespace} namespace files",
                params={"path": target},
                files={"fileContent": ("content", content, "application/octet-stream")},
            )
            return target

        return (yield from gather((send(path, source) for path, source in local), _CONCURRENCY))

    @view_operation
    def download(self, path: str, to: str | os.PathLike[str] | None = None) -> Op[bytes]:
        """The bytes of the file ``path`` (``GET .../files?path=``), also written to the local file
        ``to`` when given."""
        where = file_path(path)
        response = yield from self._ops._respond(
            "GET",
            self._where(),
            action=f"Downloading {where} of the {self.namespace} namespace files",
            params={"path": where},
            headers={"Accept": "application/octet-stream"},
        )
        content = response.content
        if to is not None:
            target = Path(to)

            def write() -> None:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)

            yield from blocking(write)
        return content

    @view_operation
    def download_all(self, folder: str | os.PathLike[str]) -> Op[builtins.list[Path]]:
        """Every file of the namespace (``GET .../files/export``, one ZIP) written under the local
        ``folder`` at its path (the layout :meth:`upload` reads); the files written, sorted."""
        response = yield from self._ops._respond(
            "GET",
            f"{self._where()}/export",
            action=f"Downloading the {self.namespace} namespace files",
            headers={"Accept": "application/octet-stream"},
        )
        archive = response.content
        try:
            return (yield from blocking(lambda: _extract(archive, Path(folder))))
        except zipfile.BadZipFile:
            raise KestraError(
                f"Downloading the {self.namespace} namespace files: Kestra's answer is not a ZIP archive"
            ) from None

    @view_operation
    def delete(self, path: str) -> Op[None]:
        """Delete the file or folder ``path`` (``DELETE .../files?path=``)."""
        where = file_path(path)
        if where == "/":
            raise KestraError("path: refusing to delete the namespace's root folder; name a file or folder")
        yield from self._ops._call(
            "DELETE",
            self._where(),
            action=f"Deleting {where} of the {self.namespace} namespace files",
            params={"path": where},
        )
