"""Helpers of the core task tests: run a flow (YAML text or Flow) locally on virtual time."""

from __future__ import annotations

from typing import Any

from kestra_airflow_sdk.flows import Execution, Flow, Observer, TaskRun
from tests.virtual_time import run_virtual_timed


def load(text: str) -> Flow:
    """A flow from YAML text."""
    return Flow.from_yaml(text)


def run(flow: Flow | str, **options: Any) -> Execution:
    """Run ``flow`` to its end on a virtual-time loop (no progress display)."""
    flow = load(flow) if isinstance(flow, str) else flow
    options.setdefault("progress", False)
    execution, _ = run_virtual_timed(flow.arun(**options))
    return execution


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
