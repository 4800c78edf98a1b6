"""A DAG's Airflow runs and its flow's Kestra executions on one timeline: the strangler-fig cut-over.

While a workflow moves from Airflow to Kestra, the two histories overlap: the DAG still runs on
Airflow, its flow starts running on Kestra, and at some point Airflow stops. :func:`compare_history`
reads both (``client.run_history`` and ``server.executions``) into one typed frame;
:func:`cut_over` says where the hand-over happened; :func:`plot_history` draws both on one time axis.

    >>> frame = compare_history(client, server, "etl", ("company.team", "etl"))
    >>> cut_over(frame)            # first Kestra execution, last Airflow run, the overlap
    >>> plot_history(frame)        # a matplotlib figure (the ``plot`` extra)

The module knows neither client class: it asks for what it calls (:class:`RunHistorySource`,
:class:`ExecutionSource`), so it stands beside the Kestra client, not on it. With the asynchronous
clients, await both frames and give them to :func:`history_timeline`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from ..airflow.errors import InvalidArgumentError
from ..flows.flow import Flow

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..history.schemas import Schema

__all__ = [
    "SYSTEMS",
    "CutOver",
    "ExecutionSource",
    "RunHistorySource",
    "compare_history",
    "cut_over",
    "history_timeline",
    "plot_history",
    "timeline_schema",
]

#: the ``system`` categories, in the order the timeline draws them (top to bottom)
SYSTEMS = ("airflow", "kestra")
#: Kestra's states as the timeline's ``outcome`` (Airflow's run states are already these words)
_KESTRA_OUTCOMES = {
    "SUCCESS": "success",
    "WARNING": "success",
    "FAILED": "failed",
    "KILLED": "failed",
    "CANCELLED": "failed",
    "RETRIED": "failed",
    "SKIPPED": "skipped",
    "CREATED": "queued",
    "SUBMITTED": "queued",
    "QUEUED": "queued",
}
_OUTCOMES = ("success", "failed", "running", "queued", "skipped")


class RunHistorySource(Protocol):
    """What :func:`compare_history` asks of the Airflow client (:class:`AirflowClient` has it)."""

    def run_history(self, dag_id: str, *, since: datetime | None = None) -> pd.DataFrame:
        """The runs of ``dag_id`` (frame of :data:`~kestra_airflow_sdk.history.schemas.DAG_RUNS`)."""
        ...


class ExecutionSource(Protocol):
    """What :func:`compare_history` asks of the Kestra server (:class:`KestraServer` has it)."""

    def executions(
        self,
        namespace: str | None = None,
        flow_id: str | None = None,
        *,
        since: datetime | None = None,
        page: int | None = 1,
    ) -> pd.DataFrame:
        """Executions (frame of :func:`~kestra_airflow_sdk.kestra.executions.executions_schema`)."""
        ...


@cache
def timeline_schema() -> Schema:
    """The columns of :func:`compare_history`: ``system`` (``airflow`` or ``kestra``, a category),
    ``name`` (the DAG id, or ``namespace.flow_id``), ``id`` (the DAG run id or the execution id),
    ``state`` (as that system says it: ``success``, ``SUCCESS``...), ``outcome`` (one vocabulary for
    both: ``success``, ``failed``, ``running``, ``queued``, ``skipped``; Kestra's WARNING counts as a
    success, KILLED/CANCELLED/RETRIED as failures), ``start``, ``end`` (UTC), ``duration``."""
    from ..history.schemas import Column, Schema

    return Schema(
        "history_timeline",
        (
            Column("system", "category", SYSTEMS),
            Column("name", "str"),
            Column("id", "str"),
            Column("state", "str"),
            Column("outcome", "category", _OUTCOMES),
            Column("start", "datetime"),
            Column("end", "datetime"),
            Column("duration", "duration"),
        ),
    )


def _require(frame: Any, what: str, columns: list[str]) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InvalidArgumentError(f"{what}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidArgumentError(f"{what}: the frame lacks the columns {missing}")
    return frame


def history_timeline(runs: pd.DataFrame, executions: pd.DataFrame) -> pd.DataFrame:
    """Airflow runs (``client.dag_runs``/``run_history``) and Kestra executions
    (``server.executions``) as one frame of :func:`timeline_schema`, ordered by ``start`` (rows
    without one last). An Airflow run not started yet starts, here, when it was due (``run_after``)."""
    runs = _require(runs, "runs", ["dag_id", "dag_run_id", "state", "start_date", "end_date", "duration"])
    executions = _require(
        executions,
        "executions",
        ["id", "namespace", "flow_id", "state", "start_date", "end_date", "duration"],
    )
    schema = timeline_schema()
    airflow_start = runs["start_date"]
    if "run_after" in runs.columns:
        airflow_start = airflow_start.fillna(runs["run_after"])
    airflow_state = runs["state"].astype("string")
    airflow = pd.DataFrame(
        {
            "system": "airflow",
            "name": runs["dag_id"].astype("string"),
            "id": runs["dag_run_id"].astype("string"),
            "state": airflow_state,
            "outcome": airflow_state.where(airflow_state.isin(_OUTCOMES), None),
            "start": airflow_start,
            "end": runs["end_date"],
            "duration": runs["duration"],
        }
    )
    kestra_state = executions["state"].astype("string")
    kestra = pd.DataFrame(
        {
            "system": "kestra",
            "name": executions["namespace"].astype("string") + "." + executions["flow_id"].astype("string"),
            "id": executions["id"].astype("string"),
            "state": kestra_state,
            "outcome": kestra_state.map(
                lambda s: _KESTRA_OUTCOMES.get(s, "running") if isinstance(s, str) else None
            ),
            "start": executions["start_date"],
            "end": executions["end_date"],
            "duration": executions["duration"],
        }
    )
    both = [frame for frame in (airflow, kestra) if not frame.empty]
    if not both:
        return schema.empty()
    joined = pd.concat(both, ignore_index=True)
    joined = joined.sort_values(["start", "system"], kind="stable", na_position="last").reset_index(drop=True)
    return schema.conform(joined)


def _flow_ref(flow: Any) -> tuple[str, str]:
    if isinstance(flow, Flow):
        return flow.namespace, flow.id
    if isinstance(flow, tuple) and len(flow) == 2 and all(isinstance(x, str) and x for x in flow):
        return flow[0], flow[1]
    raise InvalidArgumentError(f"flow: expected a Flow or a (namespace, flow_id) pair, got {flow!r}")


def compare_history(
    client: RunHistorySource,
    server: ExecutionSource,
    dag_id: str,
    flow: Flow | tuple[str, str],
    *,
    since: datetime | None = None,
) -> pd.DataFrame:
    """The runs of ``dag_id`` on Airflow and the executions of ``flow`` on Kestra, on one timeline.

    Reads ``client.run_history(dag_id, since=since)`` (incremental: calling again is cheap) and every
    page of ``server.executions(namespace, flow_id, since=since, page=None)``, then joins them as
    :func:`history_timeline` does (columns: :func:`timeline_schema`).

    Args:
        client: an :class:`~kestra_airflow_sdk.AirflowClient` (sync).
        server: a :class:`~kestra_airflow_sdk.KestraServer` (sync).
        dag_id: the DAG being moved.
        flow: its Kestra flow, a :class:`Flow` or ``(namespace, flow_id)``.
        since: only runs and executions started at or after this timezone-aware time.

    Raises:
        InvalidArgumentError: a bad ``dag_id``, ``flow`` or ``since``.
    """
    if not isinstance(dag_id, str) or not dag_id:
        raise InvalidArgumentError(f"dag_id: expected a DAG id, got {dag_id!r}")
    namespace, flow_id = _flow_ref(flow)
    if since is not None and (not isinstance(since, datetime) or since.tzinfo is None):
        raise InvalidArgumentError(f"since: expected a timezone-aware datetime, got {since!r}")
    runs = client.run_history(dag_id, since=since)
    executions = server.executions(namespace, flow_id, since=since, page=None)
    return history_timeline(runs, executions)


@dataclass(frozen=True)
class CutOver:
    """Where the hand-over happened on a timeline of :func:`compare_history`.

    Attributes:
        first_kestra: when the first Kestra execution started (None: none yet).
        last_airflow: when the last Airflow run started (None: none).
        overlap: the Airflow runs that started at or after the first Kestra execution (both
            systems ran the workflow then); 0 for a clean cut.
        airflow_runs, kestra_executions: how many of each the timeline holds.
    """

    first_kestra: datetime | None
    last_airflow: datetime | None
    overlap: int
    airflow_runs: int
    kestra_executions: int

    @property
    def done(self) -> bool:
        """True when Kestra has run and Airflow has not run since (the cut-over is complete)."""
        return self.first_kestra is not None and self.overlap == 0


def _moment(value: Any) -> datetime | None:
    return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def cut_over(timeline: pd.DataFrame) -> CutOver:
    """The :class:`CutOver` of a frame of :func:`compare_history` / :func:`history_timeline`."""
    frame = _require(timeline, "timeline", ["system", "start"])
    airflow = frame.loc[frame["system"] == "airflow", "start"]
    kestra = frame.loc[frame["system"] == "kestra", "start"]
    first_kestra = _moment(kestra.min()) if kestra.notna().any() else None
    last_airflow = _moment(airflow.max()) if airflow.notna().any() else None
    overlap = int((airflow >= pd.Timestamp(first_kestra)).sum()) if first_kestra is not None else 0
    return CutOver(first_kestra, last_airflow, overlap, len(airflow), len(kestra))


def plot_history(timeline: pd.DataFrame) -> Figure:
    """Both histories on one time axis: a row per system (Airflow above, Kestra below), one bar per
    run or execution from its start to its end (one still running ends at the latest time of the
    frame; a very short one is drawn :data:`~kestra_airflow_sdk.history.plots.SHORTEST_BAR` long),
    coloured by ``outcome``, with a tick at its start (visible however long the timeline); a dashed line at the first Kestra execution and a dotted one at the
    last Airflow run mark the cut-over. matplotlib is imported only here (the ``plot`` extra)."""
    from matplotlib.patches import Patch

    from ..history.palette import state_colour
    from ..history.plots import SHORTEST_BAR, _date_axis, _days, _figure, _message

    frame = _require(timeline, "timeline", ["system", "outcome", "start", "end"])
    title = "Airflow runs and Kestra executions"
    drawn = frame[frame["start"].notna()]
    if drawn.empty:
        return _message(title, "no run or execution has started: nothing to draw")
    latest = pd.concat([drawn["start"], drawn["end"].dropna()]).max()
    ends = drawn["end"].fillna(latest)
    ends = ends.where(ends - drawn["start"] >= SHORTEST_BAR, drawn["start"] + SHORTEST_BAR)
    starts = _days(drawn["start"])
    widths = _days(ends) - starts
    figure, ax = _figure(10, 2.8)
    rows = {system: len(SYSTEMS) - 1 - i for i, system in enumerate(SYSTEMS)}
    outcomes = drawn["outcome"].astype("string")
    for system, row in rows.items():
        mine = (drawn["system"] == system).to_numpy()
        colours = [state_colour(o if isinstance(o, str) else None) for o in outcomes[mine]]
        ax.broken_barh(
            list(zip(starts[mine], widths[mine], strict=True)),
            (row - 0.35, 0.7),
            facecolors=colours,
            label=f"_{system}",
        )
        # a tick at each start: a run of minutes still shows on a timeline of months
        ax.scatter(
            starts[mine], [row] * len(colours), marker="|", s=300, c=colours, label=f"_{system} starts"
        )
    ax.set_yticks(list(rows.values()), [s.capitalize() for s in rows])
    ax.set_ylim(-0.6, len(SYSTEMS) - 0.4)
    cut = cut_over(frame)
    if cut.first_kestra is not None:
        ax.axvline(
            _days(pd.Series([cut.first_kestra]))[0],
            color="#333333",
            linestyle="--",
            label="first Kestra execution",
        )
    if cut.last_airflow is not None:
        ax.axvline(
            _days(pd.Series([cut.last_airflow]))[0], color="#333333", linestyle=":", label="last Airflow run"
        )
    seen = [o for o in _OUTCOMES if (outcomes == o).any()]
    handles = [*ax.get_legend_handles_labels()[0], *(Patch(color=state_colour(o), label=o) for o in seen)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    _date_axis(ax)
    overlap = f", {cut.overlap} Airflow run(s) after the first Kestra execution" if cut.overlap else ""
    ax.set_title(f"{title}{overlap}")
    return figure
