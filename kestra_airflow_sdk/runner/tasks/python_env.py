"""The Python environment of a Python script task with ``dependencies`` (Kestra 2.0's property of
``python.Script`` / ``python.Commands``: a list of pip requirement specifiers, e.g. ``pandas==2.0.0``;
kestra-io/plugin-scripts ``PythonBasedPlugin``, ``PythonEnvironmentManager``).

Kestra installs them with uv (default) or pip into the task's environment and, with
``dependencyCacheEnabled`` (default true), caches that environment by Python version and
requirements. Locally the same: a virtual environment of the SDK's Python holding the rendered
dependencies, made once and reused by every later run of the flow whose Python and (sorted)
dependencies are the same. It lives under the run's storage folder
(``<storage>/python-envs/<namespace>.<flow id>/<key>/``) and is made with ``uv`` when ``uv`` is on the
``PATH`` (and ``packageManager`` is not PIP), else with ``python -m venv`` and the SDK's pip
(``pip --python``: the environment itself gets no pip, which keeps making it fast); pip and uv read
their usual configuration (index, find-links). ``dependencyCacheEnabled: false`` makes a fresh one in
the task's working directory. The installer's output is written to the task's log at DEBUG; a
failed install fails the task with its last lines.

The environment is isolated, as Kestra's container is: the script sees its dependencies and the
standard library, not the packages of the SDK's own environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import sys
import weakref
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path

from ..executors import TaskContext, TaskFailedError
from .process import LogLineProtocol, run_process

__all__ = ["ENVS_FOLDER", "environment_key", "installer", "python_environment"]

#: the folder of the cached environments under the run's storage folder
ENVS_FOLDER = "python-envs"
#: written in an environment once its dependencies are installed (an interrupted one is made again)
_READY = ".kestra-ready"
#: how many lines of a failed installer's output the error keeps
_TAIL = 20
#: per event loop, one lock per environment folder (tasks of one run making the same environment wait
#: for the first; an asyncio lock belongs to one loop, and each ``Flow.run`` has a loop of its own)
_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Path, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def environment_key(dependencies: list[str]) -> str:
    """The cache key of an environment: the SDK's Python (version and interpreter) and the sorted
    dependencies."""
    document = json.dumps(
        {
            "python": platform.python_version(),
            "executable": sys.executable,
            "dependencies": sorted(dependencies),
        }
    )
    return hashlib.sha256(document.encode("utf-8")).hexdigest()[:16]


def installer(package_manager: str | None) -> str:
    """``uv`` when it is on the PATH (and ``packageManager`` is not PIP), else ``pip``."""
    return "uv" if package_manager != "PIP" and shutil.which("uv") is not None else "pip"


def _commands(tool: str, folder: Path, dependencies: list[str]) -> list[list[str]]:
    python = str(folder / "bin" / "python")
    if tool == "uv":
        uv = shutil.which("uv") or "uv"
        return [
            [uv, "venv", "--quiet", "--python", sys.executable, str(folder)],
            [uv, "pip", "install", "--python", python, *dependencies],
        ]
    if importlib.util.find_spec("pip") is not None:  # the SDK's pip installs into the environment
        return [
            [sys.executable, "-m", "venv", "--without-pip", str(folder)],
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                python,
                "install",
                "--disable-pip-version-check",
                *dependencies,
            ],
        ]
    return [
        [sys.executable, "-m", "venv", str(folder)],
        [python, "-m", "pip", "install", "--disable-pip-version-check", *dependencies],
    ]


#: how often a task waiting for another process's install looks again (seconds)
_LOCK_POLL = 0.2


@contextlib.asynccontextmanager
async def _file_lock(path: Path) -> AsyncIterator[None]:
    """Hold an exclusive lock on ``path``: another process making the same environment waits (the
    wait can be cancelled: the task's timeout, Ctrl-C)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(_LOCK_POLL)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def _install(ctx: TaskContext, tool: str, folder: Path, dependencies: list[str]) -> None:
    shutil.rmtree(folder, ignore_errors=True)  # what an interrupted install left
    folder.parent.mkdir(parents=True, exist_ok=True)
    ctx.log("INFO", f"Installing dependencies with {tool} into {folder}: {', '.join(dependencies)}")
    for command in _commands(tool, folder, dependencies):
        tail: deque[str] = deque(maxlen=_TAIL)

        def log(level: str, message: str, tail: deque[str] = tail) -> None:
            tail.append(message)
            ctx.log("DEBUG", message)

        result = await run_process(
            command, cwd=folder.parent, env=_installer_env(), protocol=LogLineProtocol(log)
        )
        if result.exit_code != 0:
            shutil.rmtree(folder, ignore_errors=True)
            message = f"dependencies: {' '.join(command[:3])} ... failed with exit code {result.exit_code}:\n"
            raise TaskFailedError(ctx.renderer.secrets.redact(message + "\n".join(tail)))  # a token in a URL
    (folder / _READY).write_text(
        ctx.renderer.secrets.redact("\n".join(sorted(dependencies))) + "\n", encoding="utf-8"
    )


def _installer_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


async def python_environment(
    ctx: TaskContext, dependencies: list[str], package_manager: str | None, cache: bool, working_dir: Path
) -> Path:
    """The folder of a virtual environment holding ``dependencies``: the flow's cached one (made
    now if there is none yet), or with ``cache`` false a fresh one in ``working_dir``."""
    tool = installer(package_manager)
    if not cache:
        folder = working_dir / ".venv"
        await _install(ctx, tool, folder, dependencies)
        return folder
    assert ctx.runner is not None
    flow = f"{ctx.execution.namespace}.{ctx.execution.flow_id}"
    folder = Path(ctx.runner.storage_dir, ENVS_FOLDER, flow, environment_key(dependencies))
    lock = _LOCKS.setdefault(asyncio.get_running_loop(), {}).setdefault(folder, asyncio.Lock())
    async with lock:
        if (folder / _READY).is_file():
            ctx.log("DEBUG", f"Using the cached Python environment {folder}")
            return folder
        async with _file_lock(folder.with_name(folder.name + ".lock")):
            if not (folder / _READY).is_file():  # another process may have made it meanwhile
                await _install(ctx, tool, folder, dependencies)
    return folder
