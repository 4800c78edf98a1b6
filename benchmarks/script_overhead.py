"""Benchmark: the SDK's overhead per script task over a bare ``subprocess.run`` of the same command.

    PYTHONPATH=. .venv/bin/python benchmarks/script_overhead.py --tasks 20 --repeat 5

For each case the same command runs ``--tasks`` times, two ways, in one process (imports and a
warm-up run first, so neither side pays them): bare, ``subprocess.run([...], capture_output=True)``
one after the other; and as a local flow of ``--tasks`` script tasks in sequence
(``io.kestra.plugin.core.runner.Process`` task runner, ``progress=False``), the run's wall time
divided by the number of tasks. What the flow adds per task is everything the SDK does around the
process: the task run record, rendering, the working directory, the script file, the environment,
reading both output streams line by line through Kestra's log-line protocol, outputs, the log
entries. The two ways alternate ``--repeat`` times and the medians are compared (the difference and
the ratio); the SDK's target is at most 50 ms per task. Wall time on a shared machine includes the
time other processes hold the cores: the difference within one run is what counts.

Cases: ``shell.Commands`` running ``echo hello`` (``/bin/sh -c``) and ``python.Script`` running
``print('hello')`` (the bare side: the SDK's Python on a file through ``/bin/sh -c``, as the task
runs it: the task's ``python`` is the SDK's, first on its ``PATH``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kestra_airflow_sdk.flows import ExecutionState, Flow
from kestra_airflow_sdk.runner import FlowRunner

PROCESS = "    taskRunner:\n      type: io.kestra.plugin.core.runner.Process\n"
TARGET_MS = 50.0


def shell_task(i: int) -> str:
    return f"  - id: t{i}\n    type: io.kestra.plugin.scripts.shell.Commands\n{PROCESS}    commands:\n      - echo hello\n"


def python_task(i: int) -> str:
    return f"  - id: t{i}\n    type: io.kestra.plugin.scripts.python.Script\n{PROCESS}    script: print('hello')\n"


def bare_shell(folder: Path) -> list[str]:
    return ["/bin/sh", "-c", "set -e\necho hello"]


def bare_python(folder: Path) -> list[str]:
    script = folder / "bare.py"
    script.write_text("print('hello')\n", encoding="utf-8")
    return ["/bin/sh", "-c", f'set -e\n"{sys.executable}" "{script}"']  # the Python the task runs


CASES = {
    "shell.Commands `echo hello`": (shell_task, bare_shell),
    "python.Script `print('hello')`": (python_task, bare_python),
}


def time_bare(command: list[str], tasks: int) -> float:
    """Seconds per command, run ``tasks`` times one after the other."""
    start = time.perf_counter()
    for _ in range(tasks):
        subprocess.run(command, capture_output=True, check=True)
    return (time.perf_counter() - start) / tasks


def time_flow(flow: Flow, tasks: int, storage: Path) -> float:
    """Seconds per task of one local run of ``flow`` (``tasks`` script tasks in sequence)."""
    start = time.perf_counter()
    execution = asyncio.run(FlowRunner(flow, progress=False, storage_dir=storage).run())
    elapsed = time.perf_counter() - start
    if execution.state is not ExecutionState.SUCCESS:
        raise SystemExit(f"the benchmark flow ended {execution.state}: {execution.task_runs}")
    return elapsed / tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20, help="script tasks per flow (commands per bare run)")
    parser.add_argument("--repeat", type=int, default=5, help="alternating measurements of each way")
    args = parser.parse_args()
    print(
        f"{args.tasks} tasks per flow, {args.repeat} repeats, Python {sys.version.split()[0]}; "
        "medians, milliseconds per task"
    )
    print(f"{'case':<34}{'bare':>9}{'SDK':>9}{'overhead':>10}{'ratio':>8}  target <= {TARGET_MS:g} ms")
    with tempfile.TemporaryDirectory(prefix="kas-script-bench-") as folder:
        root = Path(folder)
        tempfile.tempdir = folder  # the tasks' working directories, too
        for label, (task, bare) in CASES.items():
            flow = Flow.from_yaml(
                "id: bench\nnamespace: bench\ntasks:\n" + "".join(task(i) for i in range(args.tasks))
            )
            command = bare(root)
            time_bare(command, 2)  # warm-up: the page cache, the interpreter's first start
            time_flow(flow, args.tasks, root / "storage")  # warm-up: imports, validators
            bare_times: list[float] = []
            sdk_times: list[float] = []
            for _ in range(args.repeat):
                bare_times.append(time_bare(command, args.tasks))
                sdk_times.append(time_flow(flow, args.tasks, root / "storage"))
            bare_ms = statistics.median(bare_times) * 1000
            sdk_ms = statistics.median(sdk_times) * 1000
            overhead = sdk_ms - bare_ms
            verdict = "ok" if overhead <= TARGET_MS else "OVER"
            print(
                f"{label:<34}{bare_ms:>9.1f}{sdk_ms:>9.1f}{overhead:>10.1f}{sdk_ms / bare_ms:>7.2f}x  {verdict}"
            )


if __name__ == "__main__":
    main()
