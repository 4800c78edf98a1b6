"""Pictures of the history frames, drawn with matplotlib (the ``plot`` extra).

* :func:`gantt` — the task tries of one or several runs on a time axis, one bar per try, coloured by
  state, like the Gantt view of the Airflow UI;
* :func:`plot_durations` — the duration of each run over time, per DAG, with a rolling p50 and p95;
* :func:`plot_outcomes` — a grid of DAGs by day, coloured by the share of finished runs that succeeded.

Each returns a :class:`matplotlib.figure.Figure` made without ``pyplot`` (no global figure state, nothing
shown twice in a notebook; the figure shows itself as a PNG). matplotlib is imported only when a plot is
drawn: the SDK never imports it otherwise. An empty frame gives a figure that says there is nothing to draw.
"""

from __future__ import annotations

import io
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..airflow.errors import InvalidArgumentError
from .palette import UNKNOWN_COLOUR, state_colour

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["SHORTEST_BAR", "gantt", "plot_durations", "plot_outcomes"]

#: the shortest Gantt bar: a try that took less (a few milliseconds, or no measurable time) is drawn
#: this long from its start, so that it still shows as a sliver; longer tries end at their ``end_date``
SHORTEST_BAR = timedelta(milliseconds=100)

#: rows (tasks or DAGs) up to which every row gets its tick label and small texts are written in
_LABELLED_ROWS = 60
_ANNOTATED_BARS = 300
_ANNOTATED_CELLS = 400


@cache
def _figure_type() -> type[Figure]:
    """A :class:`Figure` that shows itself as a PNG in a notebook, whatever the matplotlib backend."""
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - depends on the environment
        raise InvalidArgumentError(
            "plots are drawn with matplotlib, which is not installed: pip install 'kestra-airflow-sdk[plot]'"
        ) from None

    class NotebookFigure(Figure):
        """A figure that Jupyter displays as a PNG (no ``pyplot`` needed)."""

        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png")
            return buffer.getvalue()

    return NotebookFigure


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    figure = _figure_type()(figsize=(width, height), layout="constrained")
    return figure, figure.subplots()


def _message(title: str, text: str) -> Figure:
    """A figure that only says why there is nothing to draw."""
    figure, ax = _figure(6, 1.6)
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#555555")
    return figure


def _dates() -> Any:
    """``matplotlib.dates`` (whose functions carry no type hints)."""
    from matplotlib import dates

    return dates


def _days(values: pd.Series) -> np.ndarray[Any, Any]:
    """Timezone-aware timestamps as matplotlib date numbers (days since matplotlib's epoch)."""
    naive = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    days: np.ndarray[Any, Any] = _dates().date2num(naive)
    return days


def _date_axis(ax: Axes) -> None:
    dates = _dates()
    locator = dates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
    ax.set_xlabel("time (UTC)")


def _task_labels(tries: pd.DataFrame) -> pd.Series:
    """``task_id`` (``task_id[i]`` for a mapped task), prefixed by the run (and DAG) when several."""
    task = tries["task_id"].astype("string")
    mapped = tries["map_index"].fillna(-1) >= 0
    label = task.where(~mapped, task + "[" + tries["map_index"].astype("string") + "]")
    if tries["dag_run_id"].nunique() > 1:
        label = tries["dag_run_id"].astype("string") + " · " + label
    if tries["dag_id"].nunique() > 1:
        label = tries["dag_id"].astype("string") + " · " + label
    labels: pd.Series = label.fillna("?")
    return labels


def gantt(task_instances: pd.DataFrame) -> Figure:
    """The tries of a task-instances frame on a time axis: one row per task instance (per run), one bar
    per try from its start to its end, coloured by the try's state; a try still running ends at the
    latest time in the frame, a try shorter than :data:`SHORTEST_BAR` (100 ms) is drawn that long.
    Rows follow the runs' and the tasks' start times; tries that never started are left out (the
    title counts them)."""
    title = "Task tries"
    started = task_instances[task_instances["start_date"].notna()]
    if started.empty:
        why = "no task instance" if task_instances.empty else "no task try has started yet"
        return _message(title, f"{why}: nothing to draw")
    latest = pd.concat([started["start_date"], started["end_date"]]).max()
    tries = started.assign(_end=started["end_date"].fillna(latest), _label=_task_labels(started))
    key = [tries["dag_id"], tries["dag_run_id"], tries["_label"]]
    run_start = tries.groupby(["dag_id", "dag_run_id"], observed=True, sort=False)["start_date"].transform(
        "min"
    )
    row_start = tries.groupby(key, observed=True, sort=False)["start_date"].transform("min")
    tries = tries.assign(_run_start=run_start, _row_start=row_start).sort_values(
        ["_run_start", "dag_id", "dag_run_id", "_row_start", "_label", "try_number", "start_date"],
        kind="stable",
    )
    rows, labels = pd.factorize(tries["_label"].astype(object) + "\x1f" + tries["dag_run_id"].astype(object))
    row_labels = [str(label).split("\x1f", 1)[0] for label in labels]
    start, end = _days(tries["start_date"]), _days(tries["_end"])
    end = np.maximum(end, start + SHORTEST_BAR / timedelta(days=1))
    states = tries["state"].astype("string").fillna("none").to_numpy()

    figure, ax = _figure(10, min(1.6 + 0.28 * len(row_labels), 12))
    _draw_bars(ax, rows, start, end, states)
    _label_retries(ax, tries, rows, start)
    pad = (end.max() - start.min()) * 0.02
    ax.set_xlim(start.min() - pad, end.max() + pad)
    ax.set_ylim(len(row_labels) - 0.5, -0.5)
    if len(row_labels) <= _LABELLED_ROWS:
        ax.set_yticks(range(len(row_labels)), row_labels, fontsize=8)
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{len(row_labels)} task instances")
    _date_axis(ax)
    runs = tries[["dag_id", "dag_run_id"]].drop_duplicates()
    what = f"{runs.iloc[0, 0]} / {runs.iloc[0, 1]}" if len(runs) == 1 else f"{len(runs)} runs"
    waiting = len(task_instances) - len(started)
    ax.set_title(f"{title} of {what}" + (f" ({waiting} not started)" if waiting else ""))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, title="state")
    return figure


def _draw_bars(
    ax: Axes, rows: np.ndarray[Any, Any], start: np.ndarray[Any, Any], end: np.ndarray[Any, Any], states: Any
) -> None:
    """One bar per try. The bars of one state are the closed sub-paths of one patch labelled with the
    state (one path of many rectangles draws 100,000 tries fast, where one artist per bar would not)."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path

    low, high = rows - 0.38, rows + 0.38
    rectangle = [Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY]
    for state in pd.unique(states):
        picked = states == state
        x0, x1, y0, y1 = start[picked], end[picked], low[picked], high[picked]
        corners = np.stack(
            [np.stack(pair, axis=-1) for pair in ((x0, y0), (x0, y1), (x1, y1), (x1, y0), (x0, y0))], axis=1
        )
        path = Path(corners.reshape(-1, 2), np.tile(rectangle, int(picked.sum())))
        colour = state_colour(state) if state != "none" else UNKNOWN_COLOUR
        bars = PathPatch(path, facecolor=colour, edgecolor="white", linewidth=0.5, label=str(state))
        ax.add_artist(bars)  # not add_patch: its data limits walk the path in Python; gantt() sets them


def _label_retries(
    ax: Axes, tries: pd.DataFrame, rows: np.ndarray[Any, Any], start: np.ndarray[Any, Any]
) -> None:
    """Write ``try N`` on the bars of the task instances that ran more than once (few bars only)."""
    if len(tries) > _ANNOTATED_BARS:
        return
    retried = pd.Series(rows).map(pd.Series(rows).value_counts()).to_numpy() > 1
    for row, x, number in zip(
        rows[retried], start[retried], tries["try_number"].to_numpy()[retried], strict=True
    ):
        ax.text(x, row, f" try {number}", va="center", ha="left", fontsize=7, color="black", clip_on=True)


def _unit(seconds: float) -> tuple[float, str]:
    """The divisor and name of the unit that shows ``seconds`` (the longest duration) best."""
    if seconds >= 2 * 3600:
        return 3600.0, "h"
    if seconds >= 120:
        return 60.0, "min"
    return 1.0, "s"


def plot_durations(runs: pd.DataFrame, window: int = 20, max_dags: int = 10) -> Figure:
    """The duration of each finished run against its start (or, without one, when it was due), one colour
    per DAG, with the rolling median (p50, solid) and p95 (dashed) over the last ``window`` runs of that
    DAG. Only the ``max_dags`` DAGs with the most runs are drawn (the title says so)."""
    for name, value in (("window", window), ("max_dags", max_dags)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidArgumentError(f"{name}: expected a positive integer, got {value!r}")
    title = "Run durations"
    done = runs[runs["duration"].notna()]
    if done.empty:
        why = "no run" if runs.empty else "no run has finished yet"
        return _message(title, f"{why}: no duration to draw")
    done = done.assign(_when=done["start_date"].fillna(done["run_after"]))
    done = done[done["_when"].notna()]
    counts = done["dag_id"].value_counts(sort=False)
    ranked = sorted(counts.index, key=lambda dag: (-counts[dag], dag))
    shown = sorted(ranked[:max_dags])
    divisor, unit = _unit(done["duration"].max().total_seconds())

    figure, ax = _figure(10, 4.5)
    colours = _cycle(len(shown))
    for colour, (dag, group) in zip(
        colours, done[done["dag_id"].isin(shown)].groupby("dag_id", observed=True, sort=True), strict=True
    ):
        group = group.sort_values("_when", kind="stable")
        x = _days(group["_when"])
        seconds = group["duration"].dt.total_seconds().to_numpy() / divisor
        rolling = pd.Series(seconds).rolling(window, min_periods=1)
        ax.plot(
            x, seconds, linestyle="none", marker=".", markersize=3, alpha=0.35, color=colour, label="_runs"
        )
        ax.plot(x, rolling.median().to_numpy(), "-", color=colour, linewidth=1.5, label=f"{dag} p50")
        ax.plot(x, rolling.quantile(0.95).to_numpy(), "--", color=colour, linewidth=1.0, label=f"{dag} p95")
    ax.set_ylim(bottom=0)
    ax.set_ylabel(f"duration ({unit})")
    _date_axis(ax)
    scope = f" ({len(shown)} busiest of {len(counts)} DAGs)" if len(counts) > len(shown) else ""
    ax.set_title(f"{title}{scope}, rolling p50 / p95 over {window} runs")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return figure


def _cycle(n: int) -> list[Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10" if n <= 10 else "tab20"]
    return [palette(i % palette.N) for i in range(n)]


def plot_outcomes(runs: pd.DataFrame) -> Figure:
    """A grid of DAGs (rows) by day (columns, UTC, by when each run was due): each cell is coloured by
    the share of that day's finished runs that succeeded (green 100 %, red 0 %, blank for no finished
    run); on a small grid each cell also reads ``successes/finished``."""
    from matplotlib import colormaps

    title = "Run outcomes per day"
    state = runs["state"].astype("string")
    finished = runs[state.isin(["success", "failed"]).fillna(False)]
    when = finished["run_after"].fillna(finished["start_date"])
    finished = finished[when.notna()]
    if finished.empty:
        why = "no run" if runs.empty else "no run has succeeded or failed yet"
        return _message(title, f"{why}: no outcome to draw")
    day = when[when.notna()].dt.tz_convert("UTC").dt.floor("D")
    table = (
        pd.DataFrame(
            {
                "dag_id": finished["dag_id"].astype("string"),
                "day": day,
                "success": (finished["state"].astype("string") == "success").to_numpy(),
            }
        )
        .groupby(["dag_id", "day"], sort=True)["success"]
        .agg(["sum", "count"])
    )
    dags = sorted(table.index.get_level_values("dag_id").unique())
    days = pd.date_range(day.min(), day.max(), freq="D")
    successes = table["sum"].unstack("day").reindex(index=dags, columns=days)
    totals = table["count"].unstack("day").reindex(index=dags, columns=days)
    rate = np.ma.masked_invalid((successes / totals).to_numpy(dtype="float64"))

    first, last = _days(pd.Series(days[[0, -1]]))
    figure, ax = _figure(min(4 + 0.35 * len(days), 14), min(1.6 + 0.3 * len(dags), 12))
    colours = colormaps["RdYlGn"].with_extremes(bad="#f2f2f2")
    image = ax.imshow(
        rate,
        cmap=colours,
        vmin=0.0,
        vmax=1.0,
        aspect="auto",
        interpolation="nearest",
        extent=(first - 0.5, last + 0.5, len(dags) - 0.5, -0.5),
    )
    if rate.size <= _ANNOTATED_CELLS:
        for (row, column), total in np.ndenumerate(totals.to_numpy(dtype="float64")):
            if total > 0:
                text = f"{int(successes.iat[row, column])}/{int(total)}"
                ink = "white" if rate[row, column] < 0.25 else "black"
                ax.text(first + column, row, text, ha="center", va="center", fontsize=7, color=ink)
    if len(dags) <= _LABELLED_ROWS:
        ax.set_yticks(range(len(dags)), dags, fontsize=8)
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{len(dags)} DAGs")
    _date_axis(ax)
    ax.set_xlabel("day (UTC)")
    ax.set_title(f"{title}: successful / finished runs")
    figure.colorbar(image, ax=ax, label="success rate", fraction=0.05)
    return figure
