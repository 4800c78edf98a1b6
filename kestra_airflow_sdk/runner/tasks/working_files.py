"""Files in a task's working directory, as Kestra's ``FilesService`` and ``ScriptService`` handle
them, for script tasks and ``WorkingDirectory``: ``namespaceFiles`` copied in, ``inputFiles`` written
(a ``kestra:///`` URI is copied from the internal storage, a ``file://`` URI from the local disk),
``outputFiles`` found by glob and stored, and ``kestra://`` URIs in commands replaced by the paths of
local copies."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from pydantic import SecretStr

from ...flows.expressions import Renderer
from ...flows.secrets import reveal
from ...flows.tasks.runnable import scalar_text
from ...storage import StorageError, uri_path
from ..executors import TaskContext, TaskFailedError
from ..files import ExecutionFiles

__all__ = [
    "copy_namespace_files",
    "find_output_files",
    "local_paths",
    "namespace_files_problems",
    "store_output_files",
    "write_input_files",
]


def _text(value: Any) -> str:
    return "" if value is None else str(scalar_text(reveal(value)))


#: a storage URI in a command, as Kestra's ``ScriptService`` finds them
_STORAGE_URI = re.compile(r"kestra://[-a-zA-Z0-9%._+~#=/]*")


def _files(ctx: TaskContext) -> ExecutionFiles:
    files = ctx.runner.files if ctx.runner is not None else None
    if files is None:  # pragma: no cover - the runner binds the files before any task runs
        raise TaskFailedError("the execution's files are not available")
    return files


def local_paths(text: str, ctx: TaskContext, working_dir: Path) -> str:
    """Each ``kestra://`` URI of ``text`` as the path of a local copy in ``working_dir``."""

    def copy(match: re.Match[str]) -> str:
        uri = match.group(0)
        try:
            source = _files(ctx).local(uri)
            if not source.is_file():
                raise TaskFailedError(f"{uri}: no such file in the internal storage")
            fd, name = tempfile.mkstemp(suffix=Path(uri_path(uri)).suffix, dir=working_dir)
            os.close(fd)
            shutil.copyfile(source, name)
        except StorageError as exc:
            raise TaskFailedError(str(exc)) from None
        return name

    return _STORAGE_URI.sub(copy, text)


def namespace_files_problems(settings: dict[str, Any] | None) -> list[str]:
    """What of a ``namespaceFiles`` property the local runner cannot honour (it refuses the flow)."""
    settings = settings or {}
    if settings.get("enabled", True) is False:
        return []
    problems = []
    if settings.get("namespaces"):
        problems.append("namespaceFiles.namespaces is not supported locally (the flow's namespace only)")
    if settings.get("folderPerNamespace"):
        problems.append("namespaceFiles.folderPerNamespace is not supported locally")
    if settings.get("ifExists") not in (None, "OVERWRITE"):
        problems.append("namespaceFiles.ifExists is not supported locally (files are overwritten)")
    return problems


def _patterns(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value]
    raise TaskFailedError(f"{where}: expected a list of glob patterns, got {value!r}")


def copy_namespace_files(settings: dict[str, Any] | None, ctx: TaskContext, working_dir: Path) -> None:
    """``namespaceFiles``: copy the flow namespace's files its ``include``/``exclude`` keep into
    ``working_dir`` (Kestra's ``NamespaceFilesUtils``)."""
    if not settings:
        return
    rendered = ctx.renderer.render(settings, "namespaceFiles")
    if rendered.get("enabled", True) in (False, "false"):
        return
    files = _files(ctx)
    try:
        found = files.namespace_files_matching(
            files.namespace,
            _patterns(rendered.get("include"), "namespaceFiles.include"),
            _patterns(rendered.get("exclude"), "namespaceFiles.exclude"),
            "namespaceFiles",
        )
    except StorageError as exc:
        raise TaskFailedError(str(exc)) from None
    for relative, source in found:
        target = working_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    ctx.log("DEBUG", f"Copied {len(found)} namespace file(s) into the working directory")


def write_input_files(input_files: Any, ctx: TaskContext, renderer: Renderer, working_dir: Path) -> None:
    """``inputFiles`` (name → content, a ``kestra:///`` URI or a ``file://`` URI) into ``working_dir``."""
    if input_files is None:
        return
    files = renderer.render(input_files, "inputFiles")
    if isinstance(files, (str, SecretStr)):
        try:
            files = json.loads(reveal(files))
        except ValueError:
            raise TaskFailedError(
                "inputFiles: expected a map of file name to content (or JSON of one)"
            ) from None
    if not isinstance(files, dict):
        raise TaskFailedError(
            f"inputFiles: expected a map of file name to content, got {type(files).__name__}"
        )
    storage = _files(ctx)
    for name, content in files.items():
        if content is None:
            continue
        name = str(name)
        if name.startswith(("./", "..", "/")):
            raise TaskFailedError(
                f"inputFiles: invalid file name {name!r} (only relative paths are supported)"
            )
        target = working_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        text = _text(content)
        if text.startswith("file://"):
            source = Path(unquote(urlparse(text).path))
            if not source.is_file():
                raise TaskFailedError(f"inputFiles.{name}: {text} is not a file")
            shutil.copyfile(source, target)
        elif text.startswith("kestra://"):
            try:
                source = storage.local(text)
            except StorageError as exc:
                raise TaskFailedError(f"inputFiles.{name}: {exc}") from None
            if not source.is_file():
                raise TaskFailedError(f"inputFiles.{name}: {text} is not a file of the internal storage")
            shutil.copyfile(source, target)
        else:
            target.write_text(text, encoding="utf-8")


def store_output_files(files: dict[str, Path], ctx: TaskContext) -> dict[str, str]:
    """Store ``files`` (name → local file) among the task run's files; their URIs by name
    (Kestra's ``outputFiles`` output)."""
    storage = _files(ctx)
    run = ctx.task_run
    return {
        name: storage.store_task_file(run.task_id, run.id, name, path) for name, path in sorted(files.items())
    }


def find_output_files(
    patterns: list[str], working_dir: Path, output_dir: Path | None = None
) -> dict[str, Path]:
    """The files of ``working_dir`` matching the ``outputFiles`` globs (and every file of
    ``output_dir``), by their path relative to it."""
    found: dict[str, Path] = {}
    for pattern in patterns:
        for path in sorted(working_dir.glob(pattern)):
            if path.is_file():
                found[path.relative_to(working_dir).as_posix()] = path
    if output_dir is not None:
        for path in sorted(output_dir.rglob("*")):
            if path.is_file():
                found[path.relative_to(output_dir).as_posix()] = path
    return found
