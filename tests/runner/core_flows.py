"""Helpers of the flow tests: run a flow (YAML text or Flow) locally on virtual time, write a small
flow's YAML, cancel a run once it got somewhere."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from kestra_airflow_sdk.flows import Execution, Flow, Observer, TaskRun
from kestra_airflow_sdk.flows.hooks import PreparedRun
from kestra_airflow_sdk.runner import FlowRunner
from kestra_airflow_sdk.wiring import Runtime
from tests.virtual_time import run_virtual_timed


def load(text: str) -> Flow:
    """A flow from YAML text."""
    return Flow.from_yaml(text)


def run(flow: Flow | str, runtime: Runtime | None = None, **options: Any) -> Execution:
    """Run ``flow`` to its end on a virtual-time loop (no progress display), on ``runtime`` (default:
    the installed one)."""
    flow = load(flow) if isinstance(flow, str) else flow
    options.setdefault("progress", False)
    execution, _ = run_virtual_timed(FlowRunner(flow, runtime=runtime, **options).run())
    return execution


def tasks_flow(tasks: str, header: str = "") -> str:
    """The YAML of flow ``f`` (namespace ``n``) running ``tasks``: the YAML of the task list as it
    stands under ``tasks:`` (items at two spaces); ``header`` goes before it (e.g. ``inputs:``)."""
    return f"id: f\nnamespace: n\n{header}tasks:\n{tasks.strip(chr(10))}\n"


async def cancel_when(
    runner: PreparedRun, ready: Callable[[PreparedRun], bool], *, poll: float = 0.01, timeout: float = 60.0
) -> Execution | None:
    """Start ``runner``, cancel it once ``ready(runner)`` (or after ``timeout`` seconds), check that
    the cancel reached the caller, and return the execution as it ended."""
    task = asyncio.ensure_future(runner.run())
    for _ in range(int(timeout / poll)):
        if ready(runner):
            break
        await asyncio.sleep(poll)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return runner.execution


def states(execution: Execution) -> dict[str, str]:
    """Task id → state of its (last) task run."""
    return {run.task_id: run.state.value for run in execution.task_runs}


class Timeline(Observer):
    """Task starts and ends with the virtual time they happened at."""

    def __init__(self) -> None:
        self.events: list[tuple[float, str, str, str | None]] = []

    def _now(self) -> float:
        import asyncio

        return asyncio.get_running_loop().time()

    def task_started(self, execution: Execution, task_run: TaskRun) -> None:
        self.events.append((self._now(), "start", task_run.task_id, task_run.value))

    def task_ended(self, execution: Execution, task_run: TaskRun) -> None:
        self.events.append((self._now(), "end", task_run.task_id, task_run.value))

    def max_in_flight(self, task_id: str) -> int:
        """The most runs of ``task_id`` running at the same time."""
        running = peak = 0
        for _, kind, tid, _ in sorted(self.events, key=lambda e: (e[0], e[1] == "start")):
            if tid == task_id:
                running += 1 if kind == "start" else -1
                peak = max(peak, running)
        return peak

    def started(self, task_id: str) -> float:
        return next(t for t, kind, tid, _ in self.events if kind == "start" and tid == task_id)

    def ended(self, task_id: str) -> float:
        return next(t for t, kind, tid, _ in self.events if kind == "end" and tid == task_id)
