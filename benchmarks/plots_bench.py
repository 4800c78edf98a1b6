"""Benchmark: the history plots on 100,000 rows (the target: each under 2 s to build its figure).

    .venv/bin/python benchmarks/plots_bench.py [--rows 100000] [--repeat 3]

Builds, without any server, a ``task_instances`` frame of ``--rows`` task tries (500 DAG runs of 20 DAGs,
tasks with retries, every state) and a ``dag_runs`` frame of ``--rows`` runs (50 DAGs over a year), then
times, median of ``--repeat``, ``tis.airflow.gantt()``, ``runs.airflow.plot_durations()`` and
``runs.airflow.plot_outcomes()`` (the figure returned), and separately the PNG rendering of each figure
(what a notebook does to show it). Prints one line per plot and exits 1 when a figure took 2 s or more.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import kestra_airflow_sdk  # noqa: F401  (registers df.airflow)
from kestra_airflow_sdk.history import DAG_RUNS, TASK_INSTANCES

BUDGET_SECONDS = 2.0
TI_STATES = ["success", "failed", "upstream_failed", "skipped", "up_for_retry", "running", "queued"]


def task_tries(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """``rows`` task tries: 500 runs of 20 DAGs, 10 % of task instances retried once."""
    runs = 500
    per_run = rows // runs
    run = np.repeat(np.arange(runs), per_run)[:rows]
    task = np.tile(np.arange(per_run), runs)[:rows]
    retried = rng.random(rows) < 0.1
    t0 = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(run * 3600, unit="s")
    start = t0 + pd.to_timedelta(task * 5 + rng.uniform(0, 4, rows), unit="s")
    took = pd.to_timedelta(rng.uniform(1, 30, rows), unit="s")
    states = rng.choice(TI_STATES, rows, p=[0.8, 0.05, 0.03, 0.04, 0.03, 0.03, 0.02])
    frame = pd.DataFrame(
        {
            "dag_id": [f"dag_{r % 20:02}" for r in run],
            "dag_run_id": [f"run_{r:04}" for r in run],
            "task_id": [f"task_{t:03}" for t in task],
            "map_index": -1,
            "try_number": np.where(retried, 2, 1),
            "state": states,
            "operator": "BashOperator",
            "start_date": start,
            "end_date": (start + took).where(states != "running"),
            "duration": took,
            "queue": "default",
            "pool": "default_pool",
            "hostname": "worker",
        }
    )
    return TASK_INSTANCES.conform(frame)


def dag_runs(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """``rows`` runs of 50 DAGs over a year, 7 % failed, 1 % still running."""
    due = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(np.sort(rng.uniform(0, 365, rows)), unit="D")
    took = pd.to_timedelta(rng.gamma(2.0, 60.0, rows), unit="s")
    states = rng.choice(["success", "failed", "running"], rows, p=[0.92, 0.07, 0.01])
    frame = pd.DataFrame(
        {
            "dag_id": [f"dag_{i:02}" for i in rng.integers(0, 50, rows)],
            "dag_run_id": [f"run_{i}" for i in range(rows)],
            "state": states,
            "run_type": "scheduled",
            "logical_date": due,
            "run_after": due,
            "queued_at": due,
            "start_date": due + pd.Timedelta(seconds=2),
            "end_date": (due + pd.Timedelta(seconds=2) + took).where(states != "running"),
            "duration": pd.Series(took).where(states != "running"),
            "conf": [{}] * rows,
            "note": None,
        }
    )
    return DAG_RUNS.conform(frame)


def timed(make: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median seconds to build the figure, and to render it as a PNG."""
    build, render = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        figure = make()
        build.append(time.perf_counter() - started)
        started = time.perf_counter()
        figure.savefig(io.BytesIO(), format="png")
        render.append(time.perf_counter() - started)
    return statistics.median(build), statistics.median(render)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(15)
    tis, runs = task_tries(args.rows, rng), dag_runs(args.rows, rng)
    plots: dict[str, Callable[[], Any]] = {
        "tis.airflow.gantt()": tis.airflow.gantt,
        "runs.airflow.plot_durations()": runs.airflow.plot_durations,
        "runs.airflow.plot_outcomes()": runs.airflow.plot_outcomes,
    }
    slow = []
    print(f"{args.rows:,} rows, median of {args.repeat}")
    for name, make in plots.items():
        build, render = timed(make, args.repeat)
        print(f"{name:32} figure {build:6.2f} s   PNG render {render:6.2f} s")
        if build >= BUDGET_SECONDS:
            slow.append(name)
    if slow:
        print(f"over the {BUDGET_SECONDS} s budget: {', '.join(slow)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
