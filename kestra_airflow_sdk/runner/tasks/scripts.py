"""Kestra's script tasks (``python.Script`` / ``Commands``, ``shell.Script`` / ``Commands``,
``node.Script`` / ``Commands``), run as local processes the way Kestra's ``Process`` task runner
runs them.

As in Kestra (``CommandsWrapper``): the task gets a fresh working directory (``{{ workingDir }}``,
``WORKING_DIR``) holding its ``inputFiles``; ``beforeCommands`` and the commands run in one
``interpreter`` call (default ``/bin/sh -c``), after ``set -e`` unless ``failFast: false``; the
process inherits the environment, plus ``env``; a non-zero exit code fails the task (``Command
failed with exit code N``), standard error alone does not change its state (Kestra >= 0.23).
Outputs: ``exitCode``, ``vars`` (``::{"outputs": {...}}::`` lines) and ``outputFiles``.

Files as in Kestra: output files are stored in the run's internal storage
(:mod:`kestra_airflow_sdk.storage.files`) and given as ``kestra:///…`` URIs; an ``inputFiles`` value
that is such a URI is copied from there, and a URI in the commands (or script) becomes the path of a
local copy in the working directory (Kestra's ``ScriptService.replaceInternalStorage``).
``namespaceFiles`` copies the namespace files (``run(namespace_files_dir=...)``) that its
``include``/``exclude`` globs keep into the working directory before ``inputFiles``. Inside a
``WorkingDirectory`` task, the task runs in that task's directory, shared with its siblings.

Local differences, said in the task's log: a task Kestra would run in a container (the default
Docker task runner, ``containerImage``) runs as a local process; Python tasks use the Python the
SDK runs on (first on the ``PATH``, so ``python`` and ``pip`` in the commands are that Python's);
Node tasks use the ``node`` on the ``PATH`` (a flow with one is refused before running where there
is none).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from ...flows.expressions import Renderer
from ...flows.secrets import reveal
from ...flows.tasks.runnable import scalar_text
from ...flows.tasks.scripts import (
    NodeCommands,
    NodeScript,
    PythonCommands,
    PythonScript,
    ScriptTask,
    ShellCommands,
    ShellScript,
)
from ..executors import TaskContext, TaskFailedError
from ..files import WORKING_DIRECTORY
from ..ids import new_id
from .process import DEBUG_MARKER, INFO_MARKER, LogLineProtocol, run_process
from .python_env import python_environment
from .working_files import (
    copy_namespace_files,
    find_output_files,
    local_paths,
    namespace_files_problems,
    store_output_files,
    write_input_files,
)

__all__ = ["run_script_task", "script_problems"]

DEFAULT_INTERPRETER = ["/bin/sh", "-c"]
#: Kestra's Python tasks prepend this, so Pebble's true/false/null are valid Python
PYTHON_PRELUDE = "true = True\nfalse = False\nnull = None\n"
PYTHON_ENV = {
    "PYTHONUNBUFFERED": "true",
    "PIP_ROOT_USER_ACTION": "ignore",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
}


def script_problems(task: ScriptTask) -> list[str]:
    """What of ``task`` the local runner cannot honour as Kestra does (it refuses the flow)."""
    problems = namespace_files_problems(task.namespace_files)
    if isinstance(task, (PythonScript, PythonCommands)):
        version = task.python_version
        if version is not None and not f"{_python_version()}.".startswith(f"{version}."):
            problems.append(
                f"pythonVersion {version} is not supported locally (the SDK's Python {_python_version()} runs it)"
            )
    if task.LANGUAGE == "node" and shutil.which("node") is None:
        problems.append("node is not on the PATH: Node.js scripts run locally with the node found there")
    if task.target_os == "WINDOWS" or os.name == "nt":
        problems.append("script tasks run locally on POSIX systems only")
    return problems


def _python_version() -> str:
    return platform.python_version()


def _text(value: Any) -> str:
    return "" if value is None else str(scalar_text(reveal(value)))


def _renderer(ctx: TaskContext, extra: dict[str, Any]) -> Renderer:
    base = ctx.renderer
    return Renderer(
        {**base.variables, **extra}, base.secrets, base.task_id, functions=base.functions, kestra=base.kestra
    )


def _note(task: ScriptTask, ctx: TaskContext) -> None:
    """Say how the task runs here when Kestra would run it elsewhere."""
    if not task.runs_in_container:
        return
    runner = f"task runner {task.task_runner['type']}" if task.task_runner else "the Docker task runner"
    if task.LANGUAGE == "python":
        how = f"with Python {_python_version()} ({sys.executable})"
    elif task.LANGUAGE == "node":
        how = f"with {shutil.which('node')}"
    else:
        how = f"with {' '.join(task.interpreter or DEFAULT_INTERPRETER)}"
    ctx.log(
        "INFO",
        f"Kestra runs this task in a container ({runner}, image {task.image}); here it runs as a "
        f"local process, as Kestra's Process task runner does, {how}",
    )


async def _dependencies(
    task: ScriptTask, renderer: Renderer, ctx: TaskContext, working_dir: Path
) -> Path | None:
    """The virtual environment holding a Python task's ``dependencies`` (None without any)."""
    if not isinstance(task, (PythonScript, PythonCommands)) or not task.dependencies:
        return None
    if isinstance(task.dependencies, str):
        text = _text(renderer.render(task.dependencies, "dependencies"))
        try:
            listed = json.loads(text)
        except ValueError:
            listed = None
        if not isinstance(listed, list):
            raise TaskFailedError(f"dependencies: expected a JSON list of requirements, got {text[:200]!r}")
    else:
        listed = [renderer.render(d, f"dependencies[{i}]") for i, d in enumerate(task.dependencies)]
    dependencies = [_text(d).strip() for d in listed if _text(d).strip()]
    if not dependencies:
        return None
    cache = task.dependency_cache_enabled is not False
    return await python_environment(ctx, dependencies, task.package_manager, cache, working_dir)


def _environment(
    task: ScriptTask, renderer: Renderer, working_dir: Path, output_dir: Path | None, venv: Path | None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    if task.LANGUAGE == "python":
        python_dir = venv / "bin" if venv is not None else Path(sys.executable).parent
        env["PATH"] = os.pathsep.join([str(python_dir), env.get("PATH", os.defpath)])
        if venv is not None:
            env["VIRTUAL_ENV"] = str(venv)
        env.update(PYTHON_ENV)
    for name, value in (task.env or {}).items():
        env[str(name)] = _text(renderer.render(value, f"env.{name}"))
    env["WORKING_DIR"] = str(working_dir)
    if output_dir is not None:
        env["OUTPUT_DIR"] = str(output_dir)
    return env


def _script_command(task: ScriptTask, script: str, working_dir: Path) -> str:
    """The command running an inline ``script``: a shell script as it is, a Python or Node.js one
    written to a file of the working directory first (as Kestra's ``Script`` tasks do)."""
    if task.LANGUAGE == "shell":
        return script
    suffix, text = (".py", PYTHON_PRELUDE + script) if task.LANGUAGE == "python" else (".js", script)
    fd, name = tempfile.mkstemp(suffix=suffix, dir=working_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
    if task.LANGUAGE == "node":
        return f'node "{name}"'
    return f'if [ -n "$VIRTUAL_ENV" ]; then "$VIRTUAL_ENV/bin/python" "{name}"; else python "{name}"; fi'


def _command_text(task: ScriptTask, ctx: TaskContext, renderer: Renderer, working_dir: Path) -> str:
    """beforeCommands and commands as one text for the interpreter (Kestra's ``ScriptService``)."""

    def rendered(value: Any, where: str) -> str:
        return local_paths(_text(renderer.render(value, where)), ctx, working_dir)

    before = [rendered(c, f"beforeCommands[{i}]") for i, c in enumerate(task.before_commands or [])]
    if isinstance(task, (ShellCommands, PythonCommands, NodeCommands)):
        commands = [rendered(c, f"commands[{i}]") for i, c in enumerate(task.commands)]
    else:
        assert isinstance(task, (ShellScript, PythonScript, NodeScript))
        commands = [_script_command(task, rendered(task.script, "script"), working_dir)]
    lines = ["set -e"] if task.fail_fast is not False else []
    if before:
        lines += [f"echo '{DEBUG_MARKER}'", *before, f"echo '{INFO_MARKER}'"]
    return "\n".join([*lines, *commands])


async def run_script_task(task: ScriptTask, ctx: TaskContext) -> None:
    """Run the task's commands in a fresh working directory (a ``WorkingDirectory``'s, inside one);
    outputs ``exitCode``, ``vars`` and ``outputFiles``; a non-zero exit code fails the task (the
    outputs are kept)."""
    _note(task, ctx)
    shared = WORKING_DIRECTORY.get()
    working_dir = shared if shared is not None else Path(tempfile.mkdtemp(prefix="kestra-wd-"))
    try:
        output_dir = working_dir / new_id() if task.output_directory else None
        if output_dir is not None:
            output_dir.mkdir()
        variables: dict[str, Any] = {"workingDir": str(working_dir)}
        if output_dir is not None:
            variables["outputDir"] = str(output_dir)
        names = [n for n in task.output_files or [] if not any(c in n for c in "*?[")]
        if names:
            variables["outputFiles"] = {n: str(working_dir / n) for n in names}
        renderer = _renderer(ctx, variables)
        copy_namespace_files(task.namespace_files, ctx, working_dir)
        write_input_files(task.input_files, ctx, renderer, working_dir)
        venv = await _dependencies(task, renderer, ctx, working_dir)
        env = _environment(task, renderer, working_dir, output_dir, venv)
        interpreter = [
            local_paths(_text(renderer.render(p, f"interpreter[{i}]")), ctx, working_dir)
            for i, p in enumerate(task.interpreter or DEFAULT_INTERPRETER)
        ]
        command = [*interpreter, _command_text(task, ctx, renderer, working_dir)]
        protocol = LogLineProtocol(log=ctx.log)
        result = await run_process(
            command,
            cwd=working_dir,
            env=env,
            protocol=protocol,
            started=lambda pid: ctx.log("DEBUG", f"Starting command with pid {pid} [{' '.join(command)}]"),
        )
        kept = store_output_files(find_output_files(task.output_files or [], working_dir, output_dir), ctx)
        ctx.task_run.outputs.update(
            {"vars": protocol.vars, "exitCode": result.exit_code, "outputFiles": kept}
        )
        ctx.task_run.metrics.extend(protocol.metrics)
        if result.exit_code != 0:
            raise TaskFailedError(f"Command failed with exit code {result.exit_code}")
        ctx.log("DEBUG", f"Command succeed with exit code {result.exit_code}")
    finally:
        if shared is None:
            shutil.rmtree(working_dir, ignore_errors=True)
