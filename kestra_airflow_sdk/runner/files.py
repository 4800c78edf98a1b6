"""The files of one execution: Kestra's internal storage (:mod:`kestra_airflow_sdk.storage.files`)
bound to the execution, namespace files from local folders (``run(namespace_files_dir=...)``) and
the working directory a ``WorkingDirectory`` task shares with its children.

Which ``kestra:///`` files an execution may read is Kestra's rule (``AbstractFileFunction`` of
kestra-io/kestra, open-source edition): those of its own execution, of the execution that started it
(a ``Subflow``'s parent, Kestra's ``trigger``), the namespace files of its namespace, and the task
files of other executions (namespace restrictions are an Enterprise feature); anything else, e.g.
another execution's input files, is refused naming the URI.
"""

from __future__ import annotations

import contextvars
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..storage import (
    InternalStorage,
    StorageError,
    execution_uri,
    file_uri,
    namespace_files_uri,
    task_uri,
    uri_path,
)

__all__ = [
    "WORKING_DIRECTORY",
    "ExecutionFiles",
    "NamespaceFolders",
    "glob_matches",
    "namespace_folders",
]

#: the folder of the running ``WorkingDirectory`` task: its children (script tasks) run in it
WORKING_DIRECTORY: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "WORKING_DIRECTORY", default=None
)

#: namespace → the local folder holding its namespace files
NamespaceFolders = Mapping[str, Path]
_EXECUTION_FILE = re.compile(r".*/.*/executions/.*/tasks/.*/.*")


def namespace_folders(
    given: str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]] | None, namespace: str
) -> dict[str, Path]:
    """``run(namespace_files_dir=...)`` as namespace → folder: one folder is ``namespace``'s (the
    flow's); a mapping names the namespace of each folder."""
    if given is None:
        return {}
    if isinstance(given, Mapping):
        folders = {str(ns): Path(folder).expanduser() for ns, folder in given.items()}
    else:
        folders = {namespace: Path(given).expanduser()}
    for ns, folder in folders.items():
        if not folder.is_dir():
            raise StorageError(f"namespace_files_dir for namespace {ns}: {str(folder)!r} is not a folder")
    return folders


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    """Kestra's namespace-file patterns: a glob (``**`` crosses folders), matched anywhere below
    the root when it starts with a word character (``*.py`` and ``scripts/**`` as written)."""
    text = pattern.removeprefix("glob:").lstrip("/")
    out = "(?:.*/)?" if re.match(r"\w", text) or text.startswith("*") else ""
    i = 0
    while i < len(text):
        if text.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif text.startswith("**", i):
            out, i = out + ".*", i + 2
        elif text[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif text[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(text[i]), i + 1
    return re.compile(out)


def glob_matches(path: str, patterns: Iterable[str]) -> bool:
    """True when the relative ``path`` (``a/b.py``) matches one of ``patterns``."""
    return any(_glob(str(p)).fullmatch(path) for p in patterns)


@dataclass
class ExecutionFiles:
    """The files of one execution (see the module documentation)."""

    storage: InternalStorage
    namespace: str
    flow_id: str
    execution_id: str
    namespace_files: dict[str, Path] = field(default_factory=dict)
    #: the files of the execution that started this one (a Subflow's parent)
    parent: ExecutionFiles | None = None

    @property
    def prefix(self) -> str:
        """``kestra:///<namespace>/<flow>/executions/<id>``."""
        return execution_uri(self.namespace, self.flow_id, self.execution_id)

    def store_input(self, input_id: str, value: Any) -> str:
        """A FILE input's value (a local file, or a ``kestra:///`` URI this execution may read) as
        the URI of its copy in the storage; ``ValueError`` saying what was expected."""
        if isinstance(value, str) and value.lower().startswith("kestra:"):
            self.readable(value, f"inputs.{input_id}")
            if not self.storage.exists(value):
                raise ValueError(f"{value} is not a file of the internal storage ({self.storage.root})")
            return value
        path = Path(os.fspath(value)) if isinstance(value, (str, os.PathLike)) else None
        if path is None or not path.is_file():
            raise ValueError(f"expected the path of a local file or a kestra:/// URI, but received {value!r}")
        return self.storage.put(file_uri(f"{self.prefix}/inputs/{input_id}", path.name), path)

    def store_task_file(
        self, task_id: str, task_run_id: str, name: str, source: bytes | os.PathLike[str]
    ) -> str:
        """Store ``source`` (bytes, or a local file) as ``name`` among the task run's files; its URI
        (``kestra:///<namespace>/<flow>/executions/<id>/tasks/<task>/<task run id>/<name>``)."""
        prefix = task_uri(self.namespace, self.flow_id, self.execution_id, task_id, task_run_id)
        return self.storage.put(file_uri(prefix, name), source)

    # ------------------------------------------------------------------ reading

    def readable(self, uri: str, where: str) -> None:
        """Kestra's rule of which ``kestra:///`` files this execution may read (see the module
        documentation); :class:`StorageError` naming ``where`` and the URI otherwise."""
        path = "/" + uri_path(uri)
        if path.startswith("/" + uri_path(namespace_files_uri(self.namespace)) + "/"):
            return
        execution: ExecutionFiles | None = self
        while execution is not None:
            if path.startswith("/" + uri_path(execution.prefix) + "/"):
                return
            execution = execution.parent
        if not _EXECUTION_FILE.fullmatch(path):
            raise StorageError(
                f"{where}: unable to read the file '{uri}' as it is not an execution file "
                f"(an execution reads the files of its own execution, {self.prefix}/…, the task files "
                "of other executions and its namespace files)"
            )

    def local(self, uri: str) -> Path:
        """The local file of a ``kestra:///`` URI: a namespace file's in its namespace folder, any
        other in the storage (it may not exist)."""
        path = uri_path(uri)
        for namespace, folder in self.namespace_files.items():
            prefix = uri_path(namespace_files_uri(namespace)) + "/"
            if path.startswith(prefix):
                return _inside(folder, path[len(prefix) :], uri)
        return self.storage.path(uri)

    def namespace_file(self, path: str, namespace: str | None, where: str) -> Path:
        """The local file of namespace file ``path`` of ``namespace`` (default: the flow's)."""
        namespace = namespace or self.namespace
        folder = self.namespace_files.get(namespace)
        if folder is None:
            given = ", ".join(sorted(self.namespace_files)) or "none"
            raise StorageError(
                f"{where}: namespace {namespace} has no namespace files here; give their folder with "
                f"run(namespace_files_dir=...) (namespaces with files: {given})"
            )
        return _inside(folder, path.lstrip("/"), path)

    def namespace_files_matching(
        self, namespace: str, include: Iterable[str] | None, exclude: Iterable[str] | None, where: str
    ) -> list[tuple[str, Path]]:
        """The namespace files of ``namespace`` (relative path, local file) kept by ``include``
        (default: all) and not removed by ``exclude``, as Kestra's ``findAllFilesMatching``."""
        folder = self.namespace_file("", namespace, where)
        include, exclude = list(include or []), list(exclude or [])
        found = []
        for file in sorted(folder.rglob("*")):
            if not file.is_file():
                continue
            relative = file.relative_to(folder).as_posix()
            if include and not glob_matches(relative, include):
                continue
            if glob_matches(relative, exclude):
                continue
            found.append((relative, file))
        return found


def _inside(folder: Path, relative: str, named: str) -> Path:
    parts = relative.split("/") if relative else []
    if any(p in (".", "..") for p in parts) or "\\" in relative:
        raise StorageError(f"{named!r} is refused: a namespace file path may not use '.' or '..' parts")
    target = folder.joinpath(*parts)
    root, resolved = folder.resolve(), target.resolve()
    if resolved != root and root not in resolved.parents:
        raise StorageError(f"{named!r} is refused: it leads outside the namespace files folder {folder}")
    return target
