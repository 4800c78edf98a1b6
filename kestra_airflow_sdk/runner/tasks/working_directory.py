"""``io.kestra.plugin.core.flow.WorkingDirectory``: child tasks sharing one working directory, as
Kestra's worker runs them (``Worker.handleWorkingDirectory``, ``WorkingDirectory.preExecuteTasks`` /
``postExecuteTasks``).

A fresh folder is made; ``namespaceFiles`` then ``inputFiles`` are put in it; the children run one
after the other in it (script tasks use it as their ``{{ workingDir }}`` and leave their files
there), stopping at the first that fails (unless it ``allowFailure``); then the ``outputFiles``
globs are stored (output ``outputFiles``: name → ``kestra:///`` URI), ``errors`` and ``finally``
run as a ``Sequential``'s, and the folder is deleted.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ...flows.core_tasks import WorkingDirectory
from ...flows.execution import ExecutionState, TaskRun
from ..files import WORKING_DIRECTORY
from ..flowable import run_sequence, with_handlers
from .working_files import (
    copy_namespace_files,
    find_output_files,
    namespace_files_problems,
    store_output_files,
    write_input_files,
)

if TYPE_CHECKING:
    from ..engine import FlowRunner

__all__ = ["run_working_directory", "working_directory_problems"]


def working_directory_problems(task: WorkingDirectory) -> list[str]:
    """What of ``task`` the local runner cannot honour as Kestra does (it refuses the flow)."""
    problems = namespace_files_problems(task.namespace_files)
    if task.cache is not None:
        problems.append("cache is not supported locally (every run starts from an empty working directory)")
    return problems


async def run_working_directory(
    runner: FlowRunner, task: WorkingDirectory, task_run: TaskRun
) -> ExecutionState:
    """Run the children in one working directory; the task's state."""
    ctx = runner.task_context(task, task_run)
    folder = Path(tempfile.mkdtemp(prefix="kestra-wd-"))
    token = WORKING_DIRECTORY.set(folder)
    try:
        copy_namespace_files(task.namespace_files, ctx, folder)
        write_input_files(task.input_files, ctx, ctx.renderer, folder)
        state = await run_sequence(runner, task.tasks, task_run)
        if task.output_files is not None:
            patterns = [str(p) for p in ctx.renderer.render(task.output_files, "outputFiles")]
            task_run.outputs["outputFiles"] = store_output_files(find_output_files(patterns, folder), ctx)
    finally:
        WORKING_DIRECTORY.reset(token)
        shutil.rmtree(folder, ignore_errors=True)
    return await with_handlers(runner, state, task.errors, task.finally_, task_run)
