"""Exploration helpers on the history frames, as the pandas accessor ``df.airflow``.

:func:`register_accessor` registers it; :mod:`.frames` calls it, so every frame the SDK builds has
it. On a ``dag_runs`` / ``run_history`` frame:

    >>> runs = client.dag_runs()
    >>> runs.airflow.summary()                     # per DAG: runs, success rate, p50/p95/max duration, ...
    >>> runs.airflow.failures(since=yesterday)     # failed runs that ended in a window

On a ``task_instances`` frame:

    >>> tis = client.task_instances("etl")
    >>> tis.airflow.slowest_tasks(5)               # tasks by p95 duration
    >>> tis.airflow.task_states()                  # one row per run, one column per task, the state

Pictures (matplotlib, the ``plot`` extra; each returns the figure): ``tis.airflow.gantt()``,
``runs.airflow.plot_durations()``, ``runs.airflow.plot_outcomes()``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from ..airflow.arguments import aware
from ..airflow.errors import InvalidArgumentError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["AirflowAccessor", "register_accessor"]

_FAILED = ("failed", "upstream_failed")


def _dag_ids(dag_id: str | Iterable[str] | None) -> list[str]:
    """The DAG ids of a ``dag_id`` argument (one id, an iterable of ids, or None for none)."""
    if dag_id is None:
        return []
    ids = [dag_id] if isinstance(dag_id, str) else dag_id
    if isinstance(ids, pd.DataFrame) or not isinstance(ids, Iterable):
        raise InvalidArgumentError(
            f"dag_id: expected a DAG id or several (a list, a Series), got {type(dag_id).__name__}"
        )
    out = list(ids)
    bad = [i for i in out if not isinstance(i, str) or not i]
    if bad:
        raise InvalidArgumentError(f"dag_id: expected non-empty strings, got {bad[0]!r}")
    return out


class AirflowAccessor:
    """``df.airflow``: summaries of frames returned by ``dag_runs``, ``run_history`` and ``task_instances``."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def _need(self, columns: Iterable[str], what: str) -> pd.DataFrame:
        missing = [c for c in columns if c not in self._frame.columns]
        if missing:
            raise InvalidArgumentError(
                f"df.airflow.{what}(): the frame lacks the columns {missing}; expected a frame from "
                "client.dag_runs(), client.run_history() or client.task_instances()"
            )
        return self._frame

    def summary(self, dag_id: str | Iterable[str] | None = None) -> pd.DataFrame:
        """One row per DAG of a runs frame, and per DAG of ``dag_id`` even without runs.

        Columns: ``runs``, ``success``, ``failed``, ``success_rate`` (of finished runs),
        ``p50_duration``, ``p95_duration``, ``max_duration``, ``last_run_after``, ``last_state``
        (of the latest run), ``last_success`` (end of the latest successful run). Index: ``dag_id``,
        sorted.

        A runs frame only knows the DAGs that have runs in it: pass the DAGs you asked about as
        ``dag_id`` (one id, or several) and those without a run get a row too, with ``runs``,
        ``success`` and ``failed`` at 0 and the other columns missing (``<NA>`` / ``NaT``).
        DAGs of the frame that are not in ``dag_id`` keep their rows.

        Example:
            >>> dags = ["etl", "reports"]
            >>> client.dag_runs(dags, since=last_week).airflow.summary(dags).sort_values("success_rate")
            >>> runs.airflow.summary(client.dags()["dag_id"])  # every DAG of the server
        """
        runs = self._need(["dag_id", "state", "run_after", "end_date", "duration"], "summary")
        asked = _dag_ids(dag_id)
        state = runs["state"].astype("string")
        grouped = runs.assign(
            success=(state == "success").fillna(False),
            failed=(state == "failed").fillna(False),
        ).groupby("dag_id", observed=True, sort=True)
        out = pd.DataFrame(
            {
                "runs": grouped.size(),
                "success": grouped["success"].sum(),
                "failed": grouped["failed"].sum(),
            }
        ).astype("Int64")
        if asked:
            every = pd.Index(sorted(set(out.index).union(asked)), dtype=out.index.dtype, name="dag_id")
            out = out.reindex(every, fill_value=0)
        finished = out["success"] + out["failed"]
        out["success_rate"] = (out["success"] / finished.where(finished > 0)).astype("Float64")
        durations = grouped["duration"]
        out["p50_duration"] = durations.quantile(0.5)
        out["p95_duration"] = durations.quantile(0.95)
        out["max_duration"] = durations.max()
        latest = runs.sort_values(["run_after"], kind="stable").groupby("dag_id", observed=True).tail(1)
        latest = latest.set_index("dag_id")
        out["last_run_after"] = latest["run_after"]
        out["last_state"] = latest["state"]
        successes = runs[state == "success"]
        out["last_success"] = successes.groupby("dag_id", observed=True)["end_date"].max()
        summary: pd.DataFrame = out
        return summary

    def failures(self, since: datetime | None = None, until: datetime | None = None) -> pd.DataFrame:
        """The failed rows (runs, or task instances ``failed`` / ``upstream_failed``) that ended in
        ``[since, until]`` (timezone-aware; rows that never ended count by ``start_date``, then by
        ``run_after``), latest first.

        Example:
            >>> runs.airflow.failures(since=datetime.now(timezone.utc) - timedelta(days=1))
        """
        frame = self._need(["state", "end_date", "start_date"], "failures")
        when = frame["end_date"].fillna(frame["start_date"])
        if "run_after" in frame.columns:
            when = when.fillna(frame["run_after"])
        mask = frame["state"].astype("string").isin(_FAILED).fillna(False)
        start, end = aware(since, "since"), aware(until, "until")
        if start is not None:
            mask &= (when >= pd.Timestamp(start)).fillna(False)
        if end is not None:
            mask &= (when <= pd.Timestamp(end)).fillna(False)
        order = when[mask].sort_values(ascending=False, kind="stable").index
        failed: pd.DataFrame = frame.loc[order]
        return failed

    def slowest_tasks(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` slowest tasks of a task-instances frame, by p95 duration.

        One row per ``(dag_id, task_id)``: ``tries`` (rows with a duration), ``p50_duration``,
        ``p95_duration``, ``max_duration``, ``mean_duration``.

        Example:
            >>> client.task_instances("etl").airflow.slowest_tasks(5)
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidArgumentError(f"n: expected a positive integer, got {n!r}")
        tis = self._need(["dag_id", "task_id", "duration"], "slowest_tasks")
        timed = tis[tis["duration"].notna()]
        grouped = timed.groupby(["dag_id", "task_id"], observed=True, sort=True)["duration"]
        out = pd.DataFrame(
            {
                "tries": grouped.size().astype("Int64"),
                "p50_duration": grouped.quantile(0.5),
                "p95_duration": grouped.quantile(0.95),
                "max_duration": grouped.max(),
                "mean_duration": grouped.mean(),
            }
        )
        slowest: pd.DataFrame = out.sort_values(
            ["p95_duration", "max_duration"], ascending=False, kind="stable"
        )
        top: pd.DataFrame = slowest.iloc[:n]
        return top

    def task_states(self) -> pd.DataFrame:
        """Pivot of a task-instances frame: one row per run (``dag_id``, ``dag_run_id``), one column
        per task (mapped tasks as ``task_id[map_index]``), the state of the task's latest try as the value.

        Example:
            >>> client.task_instances("etl").airflow.task_states()
        """
        tis = self._need(["dag_id", "dag_run_id", "task_id", "map_index", "state"], "task_states")
        mapped = tis["map_index"].fillna(-1) >= 0
        task = (
            tis["task_id"]
            .astype("string")
            .where(~mapped, tis["task_id"].astype("string") + "[" + tis["map_index"].astype("string") + "]")
        )
        if "try_number" in tis.columns:  # one row per try: the latest one wins
            tis = tis.sort_values("try_number", kind="stable", na_position="first")
        table = tis.assign(task=task, state=tis["state"].astype("string")).pivot_table(
            index=["dag_id", "dag_run_id"], columns="task", values="state", aggfunc="last", observed=True
        )
        table.columns.name = None
        pivot: pd.DataFrame = table
        return pivot

    def gantt(self) -> Figure:
        """A Gantt chart of a task-instances frame (one run or several): one row per task instance,
        one bar per try from its start to its end (at least :data:`~.plots.SHORTEST_BAR` long), coloured
        by state as in the Airflow UI, so retries show as several bars on a row (labelled ``try N``). Returns the matplotlib figure; an empty
        frame gives a figure that says there is nothing to draw.

        Example:
            >>> client.task_instances("etl", run_id).airflow.gantt()
        """
        from . import plots

        columns = [
            "dag_id",
            "dag_run_id",
            "task_id",
            "map_index",
            "try_number",
            "state",
            "start_date",
            "end_date",
        ]
        return plots.gantt(self._need(columns, "gantt"))

    def plot_durations(self, window: int = 20, max_dags: int = 10) -> Figure:
        """Run durations over time for each DAG of a runs frame, with the rolling p50 (solid) and p95
        (dashed) over the last ``window`` runs; the ``max_dags`` DAGs with the most runs are drawn.
        Returns the matplotlib figure.

        Example:
            >>> client.dag_runs(since=last_week).airflow.plot_durations(window=10)
        """
        from . import plots

        columns = ["dag_id", "state", "run_after", "start_date", "duration"]
        return plots.plot_durations(self._need(columns, "plot_durations"), window=window, max_dags=max_dags)

    def plot_outcomes(self) -> Figure:
        """A heat-map of a runs frame: one row per DAG, one column per day (UTC, by ``run_after``), each
        cell coloured by the share of that day's finished runs that succeeded. Returns the matplotlib
        figure.

        Example:
            >>> client.dag_runs(since=last_month).airflow.plot_outcomes()
        """
        from . import plots

        return plots.plot_outcomes(
            self._need(["dag_id", "state", "run_after", "start_date"], "plot_outcomes")
        )


@functools.cache
def register_accessor() -> None:
    """Register :class:`AirflowAccessor` as ``df.airflow`` on every pandas DataFrame (once; later calls do nothing)."""
    pd.api.extensions.register_dataframe_accessor("airflow")(AirflowAccessor)
