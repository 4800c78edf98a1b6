"""``df.kestra``: the ``df.airflow`` summaries on Kestra's history frames.

The frames of :meth:`KestraServer.executions` and :meth:`KestraServer.task_runs` are seen as the
Airflow accessor's runs frame (Kestra's ``SUCCESS`` as ``success``, ``FAILED`` as ``failed``,
``start_date`` as ``run_after``, a flow, or a flow's task, as the DAG), and its own code computes
the summary: one definition of success rate and p50/p95 durations for both systems.

    >>> server.executions("company.team", page=None).kestra.summary()   # per flow
    >>> server.task_runs("company.team", "etl").kestra.summary()       # per task of each flow
"""

from __future__ import annotations

import pandas as pd

from ..history.accessor import AirflowAccessor
from .errors import KestraError

__all__ = ["KestraAccessor", "register_kestra_accessor"]

#: Kestra's states as the Airflow accessor's outcomes (others count as runs, neither success nor failure)
_OUTCOMES = {"SUCCESS": "success", "FAILED": "failed"}


class KestraAccessor:
    """``df.kestra`` on a frame of :meth:`KestraServer.executions` or :meth:`KestraServer.task_runs`."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def _as_runs(self) -> tuple[pd.DataFrame, str]:
        frame = self._frame
        needed = ["namespace", "flow_id", "state", "start_date", "end_date", "duration"]
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise KestraError(
                f"df.kestra.summary(): the frame lacks the columns {missing}; expected a frame from "
                "server.executions() or server.task_runs()"
            )
        key = frame["namespace"].astype("string") + "." + frame["flow_id"].astype("string")
        name = "flow"
        if "task_id" in frame.columns:  # task runs: one row per task of each flow
            key, name = key + "." + frame["task_id"].astype("string"), "task"
        runs = pd.DataFrame(
            {
                "dag_id": key,
                "state": frame["state"].astype("string").map(_OUTCOMES),
                "run_after": frame["start_date"],
                "end_date": frame["end_date"],
                "duration": frame["duration"],
            },
            index=frame.index,
        )
        return runs, name

    def summary(self) -> pd.DataFrame:
        """One row per flow (executions) or per ``namespace.flow.task`` (task runs): ``runs``,
        ``success``, ``failed``, ``success_rate`` (of those that ended SUCCESS or FAILED),
        ``p50_duration``, ``p95_duration``, ``max_duration``, ``last_run_after`` (the latest
        start), ``last_state`` (``success``, ``failed`` or missing for other states),
        ``last_success``: the columns of ``df.airflow.summary()``."""
        runs, name = self._as_runs()
        summary = AirflowAccessor(runs).summary()
        summary.index.name = name
        return summary


def register_kestra_accessor() -> None:
    """Register :class:`KestraAccessor` as ``df.kestra`` (once)."""
    if "kestra" not in getattr(pd.DataFrame, "_accessors", set()):
        pd.api.extensions.register_dataframe_accessor("kestra")(KestraAccessor)
