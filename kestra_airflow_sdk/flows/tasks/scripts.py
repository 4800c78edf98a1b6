"""Kestra's script tasks (``io.kestra.plugin.scripts``): ``python.Script`` / ``python.Commands``,
``shell.Script`` / ``shell.Commands`` and ``node.Script`` / ``node.Commands``.

Property names and defaults are Kestra's (``AbstractExecScript``): ``beforeCommands``, ``env``,
``inputFiles``, ``outputFiles``, ``interpreter`` (default ``["/bin/sh", "-c"]``), ``failFast``,
``containerImage``, ``taskRunner`` ... Outputs: ``exitCode``, ``vars`` (from the script's
``::{"outputs": {...}}::`` lines) and ``outputFiles``. The local runner runs every one of them as a
local process, as Kestra's ``io.kestra.plugin.core.runner.Process`` task runner does.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, Field, field_validator

from ..registry import register
from ..task import Task

__all__ = [
    "PROCESS_RUNNER",
    "NodeCommands",
    "NodeScript",
    "PythonCommands",
    "PythonScript",
    "ScriptTask",
    "ShellCommands",
    "ShellScript",
]

#: Kestra's task runner that runs a script as a process of the worker (what the local runner does)
PROCESS_RUNNER = "io.kestra.plugin.core.runner.Process"


class ScriptTask(Task):
    """What every script task has (Kestra's ``AbstractExecScript``)."""

    #: the image Kestra's default (Docker) task runner uses when ``containerImage`` is not set
    DEFAULT_IMAGE: ClassVar[str] = "ubuntu"
    #: the language of the task: ``python`` tasks run with a Python interpreter on the PATH,
    #: ``node`` ones with ``node``
    LANGUAGE: ClassVar[Literal["python", "shell", "node"]] = "shell"

    before_commands: list[str] | None = None
    env: dict[str, Any] | None = None
    input_files: dict[str, Any] | str | None = None
    output_files: list[str] | None = None
    output_directory: bool | None = None
    namespace_files: dict[str, Any] | None = None
    interpreter: list[str] | None = None
    fail_fast: bool | None = None
    #: deprecated in Kestra 0.23: standard error no longer makes the task WARNING (accepted, no effect)
    warning_on_std_err: bool | None = None
    container_image: str | None = None
    task_runner: dict[str, Any] | None = None
    #: deprecated Kestra properties of the Docker runner (``docker: {image: ...}``, ``runner: DOCKER``)
    docker: dict[str, Any] | None = None
    runner: Literal["PROCESS", "DOCKER"] | None = None
    target_os: Literal["LINUX", "WINDOWS", "AUTO"] | None = Field(
        default=None, validation_alias=AliasChoices("targetOS", "target_os")
    )

    @field_validator("task_runner")
    @classmethod
    def _runner_type(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and not isinstance(value.get("type"), str):
            raise ValueError(f"a task runner needs a type (e.g. {PROCESS_RUNNER}), got {value!r}")
        return value

    @field_validator("output_files")
    @classmethod
    def _relative(cls, value: list[str] | None) -> list[str] | None:
        for name in value or []:
            if name.startswith(("./", "..", "/")):
                raise ValueError(f"Invalid outputFile (only relative path is supported) for path {name!r}")
        return value

    @property
    def runs_in_container(self) -> bool:
        """True when Kestra would run the task in a container (its default Docker task runner, a
        Docker ``taskRunner``, or the deprecated ``runner: DOCKER``)."""
        if self.task_runner is not None:
            return str(self.task_runner["type"]) != PROCESS_RUNNER
        return self.runner != "PROCESS"

    @property
    def image(self) -> str:
        """The container image Kestra would use."""
        return self.container_image or str((self.docker or {}).get("image") or self.DEFAULT_IMAGE)


class _PythonTask(ScriptTask):
    DEFAULT_IMAGE: ClassVar[str] = "python:3.13-slim"
    LANGUAGE: ClassVar[Literal["python", "shell", "node"]] = "python"

    #: pip requirement specifiers installed before the script runs (Kestra 2.0; locally into a cached
    #: virtual environment of the flow, see ``runner.tasks.python_env``); or an expression rendering
    #: to a JSON list
    dependencies: list[str] | str | None = None
    python_version: str | None = None
    dependency_cache_enabled: bool | None = None
    package_manager: Literal["UV", "PIP"] | None = None
    uv_auto_install_enabled: bool | None = None


@register("io.kestra.plugin.scripts.python.Script")
class PythonScript(_PythonTask):
    """Run an inline Python ``script`` (written to a ``.py`` file of the working directory)."""

    script: str


@register("io.kestra.plugin.scripts.python.Commands")
class PythonCommands(_PythonTask):
    """Run ``commands`` (e.g. ``python main.py``) in a shell, Python on the PATH."""

    commands: list[str] = Field(min_length=1)


@register("io.kestra.plugin.scripts.shell.Script")
class ShellScript(ScriptTask):
    """Run an inline shell ``script`` with the ``interpreter`` (default ``/bin/sh -c``)."""

    script: str


@register("io.kestra.plugin.scripts.shell.Commands")
class ShellCommands(ScriptTask):
    """Run shell ``commands`` with the ``interpreter`` (default ``/bin/sh -c``)."""

    commands: list[str] = Field(min_length=1)


class _NodeTask(ScriptTask):
    DEFAULT_IMAGE: ClassVar[str] = "node"
    LANGUAGE: ClassVar[Literal["python", "shell", "node"]] = "node"


@register("io.kestra.plugin.scripts.node.Script")
class NodeScript(_NodeTask):
    """Run an inline JavaScript ``script`` (written to a ``.js`` file of the working directory) with
    ``node`` (Kestra's ``io.kestra.plugin.scripts.node.Script``)."""

    script: str


@register("io.kestra.plugin.scripts.node.Commands")
class NodeCommands(_NodeTask):
    """Run ``commands`` (e.g. ``node main.js``) in a shell (Kestra's
    ``io.kestra.plugin.scripts.node.Commands``)."""

    commands: list[str] = Field(min_length=1)
