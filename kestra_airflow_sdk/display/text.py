"""Plain-text renderers: terminal progress lines and readable reprs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..airflow.models import DagRun, TaskInstance
from .snapshot import RunSnapshot, format_elapsed

if TYPE_CHECKING:
    pass

__all__ = ["dag_run_repr", "progress_line", "summary_line", "task_instances_repr"]


def progress_line(snapshot: RunSnapshot) -> str:
    """One concise log line, e.g.
    ``hello_world_dag manual__2026-… running: 1/3 tasks done (success 1, running 1), 4s``, or
    ``hello_world_dag manual__2026-… queued: starting…, 0s`` before Airflow lists any task instance."""
    counts = ", ".join(
        f"{'no status' if state == 'none' else state} {n}" for state, n in snapshot.nonzero_counts().items()
    )
    done = f"{snapshot.tasks_done} tasks done" if snapshot.total else snapshot.tasks_done
    line = f"{snapshot.dag_id} {snapshot.dag_run_id} {snapshot.shown_state}: {done}"
    if counts:
        line += f" ({counts})"
    if snapshot.elapsed is not None:
        line += f", {format_elapsed(snapshot.elapsed)}"
    return line


def summary_line(snapshots: Sequence[RunSnapshot]) -> str:
    """What all runs are doing, e.g. ``3 DAG runs: 2 success, 1 running`` or, once every run
    ended, ``All 3 DAG runs finished: 3 success``."""
    if not snapshots:
        return "Waiting for DAG runs"
    states = Counter(s.state for s in snapshots)
    noun = "DAG run" if len(snapshots) == 1 else "DAG runs"
    parts = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
    if all(s.is_final for s in snapshots):
        return f"All {len(snapshots)} {noun} finished: {parts}"
    return f"{len(snapshots)} {noun}: {parts}"


def dag_run_repr(run: DagRun) -> str:
    """``DagRun(dag_id='hello_world_dag', dag_run_id='manual__…', state='success', duration='9s')``."""
    parts = [f"dag_id={run.dag_id!r}", f"dag_run_id={run.dag_run_id!r}", f"state={str(run.state)!r}"]
    if run.duration is not None:
        parts.append(f"duration={format_elapsed(run.duration)!r}")
    elif run.start_date is not None:
        parts.append(f"start_date={run.start_date.isoformat(timespec='seconds')!r}")
    return f"DagRun({', '.join(parts)})"


def task_instances_repr(task_instances: Sequence[TaskInstance]) -> str:
    """A small aligned text table, one task instance per line."""
    if not task_instances:
        return "TaskInstances([])"
    names = [ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]" for ti in task_instances]
    width = max(len(n) for n in names)
    lines = [
        f"  {name:<{width}}  {'none' if ti.state is None else ti.state!s:<15}  try {ti.try_number}"
        f"  {format_elapsed(ti.duration)}".rstrip()
        for name, ti in zip(names, task_instances, strict=True)
    ]
    return "TaskInstances([\n" + "\n".join(lines) + "\n])"
