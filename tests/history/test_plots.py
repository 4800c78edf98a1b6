"""The plots of the history frames (``gantt``, ``plot_durations``, ``plot_outcomes``), checked through
the figure's artists, on frames built from the real response bodies in tests/samples.

The figures of the larger frames are also saved to ``build/img/`` (git-ignored):
``scripts/refresh-plot-images.sh`` copies them into docs/img/.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba
from matplotlib.dates import date2num, num2date
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch

from kestra_airflow_sdk.airflow import InvalidArgumentError
from kestra_airflow_sdk.airflow.fetch import _normal_run
from kestra_airflow_sdk.airflow.task_instances import _normal_task_instance
from kestra_airflow_sdk.history import DAG_RUNS, TASK_INSTANCES
from kestra_airflow_sdk.history.frames import runs_frame, task_instances_frame
from kestra_airflow_sdk.history.palette import STATE_COLOURS
from kestra_airflow_sdk.history.plots import SHORTEST_BAR

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "tests" / "samples"
PICTURES = REPO / "build" / "img"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def at(text: str, seconds: float = 0) -> str:
    return (pd.Timestamp(text) + pd.Timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def save(figure: Figure, name: str) -> None:
    PICTURES.mkdir(parents=True, exist_ok=True)
    figure.savefig(PICTURES / name, dpi=100)


def bars(figure: Figure) -> dict[str, PathPatch]:
    """The Gantt bars: one patch per state (each bar a closed rectangle of its path), by state."""
    return {p.get_label(): p for p in figure.axes[0].patches if isinstance(p, PathPatch)}


def spans(patch: PathPatch) -> list[tuple[float, float, float]]:
    """(row, start, end) of each bar of a patch, in date numbers."""
    out = []
    for polygon in patch.get_path().to_polygons(closed_only=True):
        xs, ys = polygon[:4, 0], polygon[:4, 1]  # the fifth vertex closes it
        out.append((round(float(ys.mean()), 6), float(xs.min()), float(xs.max())))
    return out


def row_of(figure: Figure, label: str) -> int:
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    return labels.index(label)


def days(text: str) -> float:
    return float(date2num(pd.Timestamp(text).tz_convert("UTC").tz_localize(None).to_datetime64()))


def real_tries() -> pd.DataFrame:
    """The three task instances of a real Airflow 3 run (v2 sample), where ``sleep_a_bit`` ran twice:
    its first try failed (a copy of the real row, earlier, as the ``/tries`` endpoint returns it)."""
    rows = sample("v2_task_instances_list.json")["task_instances"]
    latest = next(r for r in rows if r["task_id"] == "sleep_a_bit")
    first = copy.deepcopy(latest)
    first.update(
        try_number=1,
        state="failed",
        start_date=at(latest["start_date"], -0.5),
        end_date=at(latest["start_date"], -0.2),
        duration=0.3,
    )
    latest["try_number"] = 2
    return task_instances_frame([_normal_task_instance(r) for r in [*rows, first]])


def test_gantt_draws_one_bar_per_try_coloured_by_state_on_its_task_row() -> None:
    tis = real_tries()
    figure = tis.airflow.gantt()
    by_state = bars(figure)
    assert set(by_state) == {"success", "failed"}
    assert len(spans(by_state["success"])) == 3 and len(spans(by_state["failed"])) == 1
    for state, patch in by_state.items():
        assert patch.get_facecolor() == to_rgba(STATE_COLOURS[state])
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["say_hello", "sleep_a_bit", "print_conf"]
    # the retried task: two bars on its row, the failed try first, each spanning its own start and end
    row = row_of(figure, "sleep_a_bit")
    [failed] = spans(by_state["failed"])
    second = [s for s in spans(by_state["success"]) if s[0] == row]
    assert failed[0] == row and len(second) == 1
    for (_, start, end), (_, want) in zip(
        [failed, second[0]], tis[tis["task_id"] == "sleep_a_bit"].iterrows(), strict=True
    ):
        assert start == pytest.approx(days(want["start_date"]), abs=1e-9)
        assert end == pytest.approx(days(want["end_date"]), abs=1e-9)
    assert failed[2] <= second[0][1]
    assert sorted(t.get_text().strip() for t in ax.texts) == ["try 1", "try 2"]
    # the time axis spans the tries, with a small margin only
    low, high = ax.get_xlim()
    first, last = days(tis["start_date"].min()), days(tis["end_date"].max())
    assert low <= first and high >= last
    assert (first - low) < 0.05 * (last - first) and (high - last) < 0.05 * (last - first)
    assert num2date(low).year == 2026 and ax.get_xlabel() == "time (UTC)"
    assert ax.get_ylim() == (2.5, -0.5)
    assert ax.get_title() == "Task tries of hello_world_dag / sdk_run_1"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["success", "failed"]
    assert figure._repr_png_().startswith(b"\x89PNG")  # type: ignore[attr-defined]


@pytest.mark.parametrize("seconds", [0.0, 0.005, 0.099, 0.1, 0.101, 5.0, 3600.0])
def test_a_gantt_bar_spans_its_try_or_the_shortest_bar_whichever_is_longer(seconds: float) -> None:
    """How long a try takes depends on the machine (a real run's ``flaky`` try: 5 ms on a fast box,
    seconds on a busy one): each bar starts at its try's start and ends at its end, or
    ``SHORTEST_BAR`` after its start when the try was shorter."""
    rows = sample("v2_task_instances_list.json")["task_instances"]
    timed = copy.deepcopy(rows[1])  # sleep_a_bit: after say_hello (3 s), before print_conf
    timed.update(end_date=at(timed["start_date"], seconds), duration=seconds)
    tis = task_instances_frame([_normal_task_instance(r) for r in [rows[0], timed, rows[2]]])
    figure = tis.airflow.gantt()
    [(_, start, end)] = [s for s in spans(bars(figure)["success"]) if s[0] == row_of(figure, "sleep_a_bit")]
    began, ended = days(timed["start_date"]), days(timed["end_date"])
    assert start == pytest.approx(began, abs=1e-9)
    shortest = SHORTEST_BAR.total_seconds()
    if seconds >= shortest:
        assert end == pytest.approx(ended, abs=1e-9)
    else:
        assert end == pytest.approx(began + shortest / 86400, abs=1e-9) and end > ended
    low, high = figure.axes[0].get_xlim()
    assert low < start and end < high  # the whole bar is on the axis
    # the other tries (2.9 s and 102 ms, both longer than SHORTEST_BAR) end at their end_date
    for label, raw in (("say_hello", rows[0]), ("print_conf", rows[2])):
        [(_, other_start, other_end)] = [
            s for s in spans(bars(figure)["success"]) if s[0] == row_of(figure, label)
        ]
        assert (other_start, other_end) == pytest.approx(
            (days(raw["start_date"]), days(raw["end_date"])), abs=1e-9
        )


def test_gantt_of_several_runs_names_the_run_on_each_row_and_orders_runs_by_start() -> None:
    v1 = sample("v1_task_instances_list.json")["task_instances"]
    v2 = sample("v2_task_instances_list.json")["task_instances"]
    later = copy.deepcopy(v2)
    for row in later:
        row.update(
            dag_run_id="sdk_run_2",
            start_date=at(row["start_date"], 3600),
            end_date=at(row["end_date"], 3600),
        )
    later[-1].update(state="upstream_failed", start_date=at(later[0]["end_date"]), end_date=None)
    tis = task_instances_frame([_normal_task_instance(r) for r in [*v2, *later]])
    figure = tis.airflow.gantt()
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert len(labels) == 6
    assert labels[:3] == [f"sdk_run_1 · {t}" for t in ("say_hello", "sleep_a_bit", "print_conf")]
    assert all(label.startswith("sdk_run_2 · ") for label in labels[3:])
    by_state = bars(figure)
    assert len(spans(by_state["success"])) == 5 and len(spans(by_state["upstream_failed"])) == 1
    assert by_state["upstream_failed"].get_facecolor() == to_rgba(STATE_COLOURS["upstream_failed"])
    # a try without an end is drawn up to the latest time in the frame
    [(_, _, open_end)] = spans(by_state["upstream_failed"])
    assert open_end == pytest.approx(days(tis["end_date"].max()), abs=1e-9)
    assert figure.axes[0].get_title() == "Task tries of 2 runs"
    assert not figure.axes[0].texts  # no task instance ran twice
    # Airflow 2 bodies give the same picture
    v1_figure = task_instances_frame([_normal_task_instance(r) for r in v1]).airflow.gantt()
    assert sum(len(spans(p)) for p in bars(v1_figure).values()) == len(v1)


def test_gantt_of_nothing_says_so() -> None:
    empty = TASK_INSTANCES.empty().airflow.gantt()
    assert [t.get_text() for t in empty.axes[0].texts] == ["no task instance: nothing to draw"]
    assert not bars(empty)
    queued = task_instances_frame(
        [{"dag_id": "d", "dag_run_id": "r", "task_id": "t", "try_number": 0, "state": "queued"}]
    )
    assert [t.get_text() for t in queued.airflow.gantt().axes[0].texts] == [
        "no task try has started yet: nothing to draw"
    ]
    assert empty._repr_png_().startswith(b"\x89PNG")  # type: ignore[attr-defined]


def test_plots_refuse_frames_of_the_wrong_view() -> None:
    runs = DAG_RUNS.empty()
    with pytest.raises(InvalidArgumentError, match=r"gantt\(\): the frame lacks the columns \['task_id'"):
        runs.airflow.gantt()
    with pytest.raises(InvalidArgumentError, match=r"plot_durations\(\): the frame lacks .*'duration'"):
        TASK_INSTANCES.empty().drop(columns=["duration"]).airflow.plot_durations()
    with pytest.raises(InvalidArgumentError, match=r"plot_outcomes\(\): the frame lacks .*'run_after'"):
        TASK_INSTANCES.empty().airflow.plot_outcomes()
    with pytest.raises(InvalidArgumentError, match=r"window: expected a positive integer, got 0"):
        runs.airflow.plot_durations(window=0)


def history(dags: dict[str, float], n_days: int = 21, per_day: int = 4, fail_every: int = 0) -> pd.DataFrame:
    """Runs of several DAGs over ``n_days`` (``per_day`` a day each), built from the real v2 run body:
    DAG ``d`` takes about ``dags[d]`` seconds, growing over time, with noise; every ``fail_every``-th
    run of a DAG failed."""
    body = sample("v2_dag_run_success.json")
    rng = np.random.default_rng(15)
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    rows = []
    for dag, seconds in dags.items():
        for i in range(n_days * per_day):
            due = start + timedelta(hours=24 / per_day * i, minutes=7)
            took = seconds * (1 + i / (n_days * per_day)) * rng.uniform(0.7, 1.6)
            row = dict(body, dag_id=dag, dag_run_id=f"{dag}_{i}", conf={})
            row.update(
                run_after=due.isoformat(),
                queued_at=due.isoformat(),
                start_date=(due + timedelta(seconds=1)).isoformat(),
                end_date=(due + timedelta(seconds=1 + took)).isoformat(),
                duration=took,
                state="failed" if fail_every and i % fail_every == fail_every - 1 else "success",
            )
            rows.append(_normal_run(row))
    return runs_frame(rows)


def test_plot_durations_draws_each_dags_runs_and_rolling_p50_p95() -> None:
    runs = history({"hello_world_dag": 8.0, "etl_daily": 300.0, "reports": 90.0}, fail_every=5)
    runs = pd.concat([runs, runs_frame([_normal_run(sample("v2_dag_runs_list_limit2.json")["dag_runs"][0])])])
    figure = runs.airflow.plot_durations(window=10)
    save(figure, "history-durations.png")
    ax = figure.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}
    assert sorted(lines) == sorted(
        f"{dag} {p}" for dag in ("hello_world_dag", "etl_daily", "reports") for p in ("p50", "p95")
    )
    assert ax.get_ylabel() == "duration (min)"  # the longest run is over two minutes
    etl = runs[runs["dag_id"] == "etl_daily"].sort_values("start_date")
    minutes = etl["duration"].dt.total_seconds().reset_index(drop=True) / 60
    np.testing.assert_allclose(
        lines["etl_daily p50"].get_ydata(), minutes.rolling(10, min_periods=1).median()
    )
    np.testing.assert_allclose(
        lines["etl_daily p95"].get_ydata(), minutes.rolling(10, min_periods=1).quantile(0.95)
    )
    assert (lines["etl_daily p95"].get_ydata() >= lines["etl_daily p50"].get_ydata()).all()
    np.testing.assert_allclose(lines["etl_daily p50"].get_xdata(), [days(t) for t in etl["start_date"]])
    assert lines["etl_daily p50"].get_color() == lines["etl_daily p95"].get_color()
    assert lines["etl_daily p50"].get_color() != lines["reports p50"].get_color()
    points = [line for line in ax.get_lines() if line.get_label() == "_runs"]
    assert sum(len(p.get_xdata()) for p in points) == runs["duration"].notna().sum()
    low, high = ax.get_ylim()
    assert low == 0 and high >= runs["duration"].max().total_seconds() / 60
    assert ax.get_xlim()[0] <= days(runs["start_date"].min()) and ax.get_xlim()[1] >= days(
        runs["start_date"].max()
    )


def test_plot_durations_keeps_the_busiest_dags_and_copes_with_no_duration() -> None:
    runs = pd.concat([history({f"dag_{i:02}": 10.0}, n_days=2, per_day=1 + i) for i in range(5)])
    figure = runs.airflow.plot_durations(max_dags=2)
    labels = {line.get_label() for line in figure.axes[0].get_lines()} - {"_runs"}
    assert labels == {"dag_03 p50", "dag_03 p95", "dag_04 p50", "dag_04 p95"}
    assert "(2 busiest of 5 DAGs)" in figure.axes[0].get_title()
    assert figure.axes[0].get_ylabel() == "duration (s)"
    empty = DAG_RUNS.empty().airflow.plot_durations()
    assert [t.get_text() for t in empty.axes[0].texts] == ["no run: no duration to draw"]
    queued = runs_frame(
        [{"dag_id": "d", "dag_run_id": "r", "state": "queued", "run_after": "2026-01-01T00:00:00Z"}]
    )
    assert [t.get_text() for t in queued.airflow.plot_durations().axes[0].texts] == [
        "no run has finished yet: no duration to draw"
    ]


def test_plot_outcomes_colours_each_dag_day_by_its_success_rate() -> None:
    runs = history({"hello_world_dag": 8.0, "etl_daily": 300.0, "reports": 90.0}, n_days=14, fail_every=3)
    # one more DAG that failed every run on one day, five days after the others began, and a queued run
    extra = [
        _normal_run(
            dict(sample("v2_dag_run_failed.json"), dag_run_id=f"f{i}", run_after="2026-11-06T10:00:00Z")
        )
        for i in range(2)
    ]
    queued = {
        "dag_id": "failing_dag",
        "dag_run_id": "q",
        "state": "queued",
        "run_after": "2026-11-07T10:00:00Z",
    }
    runs = pd.concat([runs, runs_frame([*extra, queued])], ignore_index=True)
    figure = runs.airflow.plot_outcomes()
    ax = figure.axes[0]
    [image] = ax.images
    grid = image.get_array()
    dags = [t.get_text() for t in ax.get_yticklabels()]
    assert dags == sorted(["hello_world_dag", "etl_daily", "reports", "failing_dag"])
    assert grid.shape == (4, 14)
    failing = dags.index("failing_dag")
    assert grid[failing, 5] == 0.0 and grid.mask[failing].sum() == 13  # one day of two failures
    state = runs["state"].astype("string")
    for dag in ("hello_world_dag", "etl_daily", "reports"):
        mine = runs[runs["dag_id"] == dag]
        day = mine["run_after"].dt.floor("D")
        rate = (state[mine.index] == "success").groupby(day).mean().to_numpy()
        np.testing.assert_allclose(grid[dags.index(dag)].filled(np.nan), rate)
    assert tuple(image.cmap(1.0)) == pytest.approx(to_rgba("#006837"), abs=0.01)  # green: all succeeded
    assert tuple(image.cmap(0.0)) == pytest.approx(to_rgba("#a50026"), abs=0.01)  # red: all failed
    low, high = ax.get_xlim()
    assert low == pytest.approx(days("2026-11-01T00:00:00Z") - 0.5)
    assert high == pytest.approx(days("2026-11-14T00:00:00Z") + 0.5)
    texts = {
        (round(t.get_position()[0] - low - 0.5), round(t.get_position()[1])): t.get_text() for t in ax.texts
    }
    assert texts[(5, failing)] == "0/2" and (6, failing) not in texts  # the queued run is not an outcome
    assert texts[(0, dags.index("reports"))] == "3/4"
    save(figure, "history-outcomes.png")


def test_plot_outcomes_of_nothing_says_so() -> None:
    empty = DAG_RUNS.empty().airflow.plot_outcomes()
    assert [t.get_text() for t in empty.axes[0].texts] == ["no run: no outcome to draw"]
    queued = runs_frame(
        [{"dag_id": "d", "dag_run_id": "r", "state": "running", "run_after": "2026-01-01T00:00:00Z"}]
    )
    assert [t.get_text() for t in queued.airflow.plot_outcomes().axes[0].texts] == [
        "no run has succeeded or failed yet: no outcome to draw"
    ]


def test_the_sdk_does_not_import_matplotlib_until_a_plot_is_drawn() -> None:
    code = (
        "import sys, kestra_airflow_sdk\n"
        "from kestra_airflow_sdk.history import DAG_RUNS\n"
        "assert 'matplotlib' not in sys.modules, 'imported at import time'\n"
        "DAG_RUNS.empty().airflow.summary()\n"
        "assert 'matplotlib' not in sys.modules, 'imported by summary()'\n"
        "DAG_RUNS.empty().airflow.plot_outcomes()\n"
        "assert 'matplotlib' in sys.modules and 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
