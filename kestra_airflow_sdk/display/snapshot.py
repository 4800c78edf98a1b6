"""What a progress display shows about one DAG run at one poll, computed without any I/O.

A :class:`RunSnapshot` is built from the ``DagRun`` and the ``TaskInstance`` list of one poll; the
HTML and text renderers only format snapshots, so the numbers they show are tested once, here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from ..airflow.models import DagRun, TaskInstance

__all__ = ["COUNTED_STATES", "RunSnapshot", "airflow_ui_url", "format_elapsed"]

#: the task states a progress display counts, in the order it shows them
COUNTED_STATES: tuple[str, ...] = (
    "success",
    "running",
    "queued",
    "failed",
    "upstream_failed",
    "skipped",
    "up_for_retry",
)

#: task states that end a task instance (a finished task counts towards the progress bar)
FINISHED_STATES = frozenset({"success", "failed", "upstream_failed", "skipped", "removed"})


def airflow_ui_url(base_url: str, api_version: str | None, dag_id: str, dag_run_id: str) -> str:
    """The page of one DAG run in the Airflow UI.

    Args:
        base_url: the Airflow root URL (as given to the client).
        api_version: ``"v2"`` (Airflow 3: ``/dags/{dag_id}/runs/{run_id}``) or ``"v1"`` (Airflow 2:
            the grid view of the run); ``None`` is taken as Airflow 3.
        dag_id: the DAG (URL-encoded in the link).
        dag_run_id: the run (URL-encoded: generated run ids contain ``:`` and ``+``).
    """
    root = base_url.rstrip("/")
    dag = quote(dag_id, safe="")
    run = quote(dag_run_id, safe="")
    if api_version == "v1":
        return f"{root}/dags/{dag}/grid?dag_run_id={run}"
    return f"{root}/dags/{dag}/runs/{run}"


def format_elapsed(elapsed: timedelta | None) -> str:
    """``"7s"``, ``"2m 05s"`` or ``"1h 02m"``; an empty string when unknown."""
    if elapsed is None:
        return ""
    seconds = max(int(elapsed.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


@dataclass(frozen=True)
class RunSnapshot:
    """One DAG run as seen at one poll.

    Attributes:
        dag_id: the run's DAG.
        dag_run_id: the run's id.
        state: the run's state (``"queued"``, ``"running"``, ``"success"``, ``"failed"``, or
            whatever a newer Airflow says); ``"unknown"`` before Airflow reports one.
        total: how many task instances the run has.
        finished: how many of them ended (success, failed, upstream_failed, skipped, removed).
        counts: task instances per state, for every state in :data:`COUNTED_STATES` (zeros
            included) and any other state seen; ``"none"`` counts those without a state yet.
        elapsed: time since the run started (or was queued), up to its end, or ``None``.
        url: the run's page in the Airflow UI, when the Airflow URL is known.
        waiting_for: the subject of the human-in-the-loop request the running run waits on, if any.
    """

    dag_id: str
    dag_run_id: str
    state: str
    total: int
    finished: int
    counts: dict[str, int] = field(default_factory=dict)
    elapsed: timedelta | None = None
    url: str | None = None
    waiting_for: str | None = None

    @classmethod
    def of(
        cls,
        run: DagRun,
        task_instances: Iterable[TaskInstance],
        *,
        url: str | None = None,
        now: datetime | None = None,
        waiting_for: str | None = None,
    ) -> RunSnapshot:
        """Summarise one poll: ``run`` and the run's task instances at that moment.

        ``now`` (timezone-aware, default: the current time) ends the elapsed time of a run that
        has not ended yet; ``waiting_for``: the subject of a request the run waits on a person for.
        """
        states = Counter("none" if ti.state is None else str(ti.state) for ti in task_instances)
        counts = {state: states.get(state, 0) for state in COUNTED_STATES}
        counts.update({state: n for state, n in states.items() if state not in counts})
        begin = run.start_date or run.queued_at
        end = run.end_date or now or datetime.now(timezone.utc)
        return cls(
            dag_id=run.dag_id,
            dag_run_id=run.dag_run_id,
            state="unknown" if run.state is None else str(run.state),
            total=sum(states.values()),
            finished=sum(n for state, n in states.items() if state in FINISHED_STATES),
            counts=counts,
            elapsed=None if begin is None else max(end - begin, timedelta(0)),
            url=url,
            waiting_for=waiting_for if str(run.state) == "running" else None,
        )

    @property
    def shown_state(self) -> str:
        """The state as displays say it: ``"waiting for a person: <subject>"`` instead of
        ``"running"`` while the run waits for an answer to a human-in-the-loop request."""
        return f"waiting for a person: {self.waiting_for}" if self.waiting_for else self.state

    @property
    def is_final(self) -> bool:
        """True once the run is ``success`` or ``failed``."""
        return self.state in ("success", "failed")

    @property
    def tasks_done(self) -> str:
        """The progress as shown: ``"1/3"`` (finished over total task instances) or, before Airflow
        lists any task instance of the run, ``"starting…"`` (``"no task instances"`` once the run
        has ended without any), never ``"0/0"``."""
        if self.total:
            return f"{self.finished}/{self.total}"
        return "no task instances" if self.is_final else "starting…"

    @property
    def fraction(self) -> float:
        """Finished task instances over total, between 0 and 1 (0 while there are none)."""
        return self.finished / self.total if self.total else 0.0

    def nonzero_counts(self) -> dict[str, int]:
        """The counts that are not zero, in display order."""
        return {state: n for state, n in self.counts.items() if n}
