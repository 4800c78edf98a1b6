"""Notebook displays: live DAG-run progress (ipywidgets, or text in a terminal) and rich reprs.

* :class:`RunProgress` is the progress observer: feed it ``update(run, task_instances)`` after each
  poll and ``close()`` at the end; :func:`watch_dag_runs` does that while waiting for DAG runs with
  either client.
* :class:`TaskInstances` and ``DagRun`` display themselves as HTML tables in Jupyter; the renderers
  live in :mod:`.html` and :mod:`.text`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..exports import lazy_exports

if TYPE_CHECKING:
    from .backfill import Backfill
    from .hitl import HitlForm
    from .html import badge, dag_run_html, progress_html, task_instances_html
    from .listing import TaskInstances
    from .progress import ProgressOption, RunObserver, RunProgress, in_notebook, progress_observer
    from .snapshot import COUNTED_STATES, RunSnapshot, airflow_ui_url, format_elapsed
    from .text import dag_run_repr, progress_line, summary_line, task_instances_repr
    from .watch import watch_dag_runs, watch_op

__all__ = [
    "COUNTED_STATES",
    "Backfill",
    "HitlForm",
    "ProgressOption",
    "RunObserver",
    "RunProgress",
    "RunSnapshot",
    "TaskInstances",
    "airflow_ui_url",
    "badge",
    "dag_run_html",
    "dag_run_repr",
    "format_elapsed",
    "in_notebook",
    "progress_html",
    "progress_line",
    "progress_observer",
    "summary_line",
    "task_instances_html",
    "task_instances_repr",
    "watch_dag_runs",
    "watch_op",
]

if not TYPE_CHECKING:  # type checkers read the imports above; at run time each name loads on first use
    __getattr__, __dir__ = lazy_exports(__name__)
