"""compare_history: a DAG's runs on the fake Airflow and its flow's executions on a recorded-shape
Kestra (tests/kestra/test_history.py's ``History``) on one timeline; the cut-over; the plot, checked
through the figure's artists (as tests/history/test_plots.py does)."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.dates import date2num

from kestra_airflow_sdk import Flow, KestraServer
from kestra_airflow_sdk.airflow import InvalidArgumentError
from kestra_airflow_sdk.flows import Log
from kestra_airflow_sdk.history.palette import STATE_COLOURS
from kestra_airflow_sdk.migration.compare import (
    compare_history,
    cut_over,
    history_timeline,
    plot_history,
    timeline_schema,
)
from tests.fake_airflow import FakeAirflow, FakeRun, fake_client
from tests.kestra.test_history import START, History, execution_body

REPO = Path(__file__).resolve().parents[2]
PICTURES = REPO / "build" / "img"
FLOW = Flow(id="etl", namespace="company.team").task(Log(id="hello", message="hi"))


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def airflow_run(fake: FakeAirflow, run_id: str, start: datetime, state: str, seconds: int = 60) -> None:
    """A finished (or running) run of ``etl`` that started at ``start``, as Airflow 3 answers it."""
    body = {
        "dag_id": "etl",
        "dag_run_id": run_id,
        "state": state,
        "run_type": "scheduled",
        "logical_date": _iso(start),
        "run_after": _iso(start),
        "start_date": _iso(start),
        "end_date": _iso(start + timedelta(seconds=seconds)) if state in ("success", "failed") else None,
        "conf": {},
    }
    fake.runs[run_id] = FakeRun(
        "etl", run_id, {}, [state], recorded=[{"dag_run": body, "task_instances": {"task_instances": []}}]
    )


def both_systems() -> tuple[FakeAirflow, History]:
    """Airflow ran ``etl`` daily at 06:00 for four days, once more after Kestra took over; Kestra
    runs it every minute from START (2026-11-24 10:00), one execution failing, one running; the late
    Airflow run lasts ten minutes."""
    fake = FakeAirflow()
    for day in range(4):
        state = "failed" if day == 1 else "success"
        airflow_run(fake, f"scheduled__{day}", START - timedelta(days=4 - day, hours=4), state)
    airflow_run(fake, "manual__late", START + timedelta(minutes=1, seconds=30), "success", seconds=600)
    bodies = [execution_body(i) for i in range(3)]
    bodies.append(execution_body(3, state="FAILED"))
    running = execution_body(4)
    running["state"] = {"current": "RUNNING", "startDate": running["state"]["startDate"]}
    bodies.append(running)
    return fake, History(bodies, "2.0")


def timeline() -> pd.DataFrame:
    fake, kestra = both_systems()
    with (
        fake_client(fake) as client,
        KestraServer("http://kestra.test", token="t", transport=httpx.MockTransport(kestra)) as server,
    ):
        return compare_history(client, server, "etl", FLOW)


def test_both_histories_on_one_typed_timeline() -> None:
    fake, kestra = both_systems()
    with (
        fake_client(fake) as client,
        KestraServer("http://kestra.test", token="t", transport=httpx.MockTransport(kestra)) as server,
    ):
        frame = compare_history(client, server, "etl", ("company.team", "etl"))
    assert dict(frame.dtypes.astype(str)) == dict(timeline_schema().empty().dtypes.astype(str))
    assert list(frame.columns) == ["system", "name", "id", "state", "outcome", "start", "end", "duration"]
    # in start order, the late Airflow run between Kestra's executions
    assert list(frame["id"]) == [
        "scheduled__0",
        "scheduled__1",
        "scheduled__2",
        "scheduled__3",
        "e0",
        "e1",
        "manual__late",
        "e2",
        "e3",
        "e4",
    ]
    assert list(frame["system"]) == ["airflow"] * 4 + ["kestra"] * 2 + ["airflow"] + ["kestra"] * 3
    assert set(frame.loc[frame["system"] == "kestra", "name"]) == {"company.team.etl"}
    assert set(frame.loc[frame["system"] == "airflow", "name"]) == {"etl"}
    # each system's own state, and one vocabulary for both
    by_id = frame.set_index("id")
    assert (by_id.loc["scheduled__1", "state"], by_id.loc["scheduled__1", "outcome"]) == ("failed", "failed")
    assert (by_id.loc["e3", "state"], by_id.loc["e3", "outcome"]) == ("FAILED", "failed")
    assert (by_id.loc["e4", "state"], by_id.loc["e4", "outcome"]) == ("RUNNING", "running")
    assert pd.isna(by_id.loc["e4", "end"]) and pd.isna(by_id.loc["e4", "duration"])
    assert by_id.loc["e0", "duration"] == pd.Timedelta(seconds=10)
    assert by_id.loc["scheduled__0", "duration"] == pd.Timedelta(seconds=60)
    assert by_id.loc["e0", "start"] == pd.Timestamp(START)
    # what was asked: the DAG's runs, and every page of the flow's executions
    assert any(r.url.path == "/api/v2/dags/etl/dagRuns" for r in fake.requests)
    [search] = [r for r in kestra.requests if r.url.path.endswith("/executions/search")]
    assert search.url.params["filters[namespace][EQUALS]"] == "company.team"
    assert search.url.params["filters[flowId][EQUALS]"] == "etl"


def test_the_cut_over_names_the_first_kestra_execution_and_the_last_airflow_run() -> None:
    cut = cut_over(timeline())
    assert cut.first_kestra == START
    assert cut.last_airflow == START + timedelta(minutes=1, seconds=30)
    assert (cut.overlap, cut.airflow_runs, cut.kestra_executions) == (1, 5, 5)
    assert not cut.done
    # without the late run, a clean cut
    frame = timeline()
    clean = cut_over(frame[frame["id"] != "manual__late"])
    assert clean.overlap == 0 and clean.done
    assert clean.last_airflow == START - timedelta(days=1, hours=4)
    # nothing on Kestra yet: not done, no overlap
    airflow_only = cut_over(frame[frame["system"] == "airflow"])
    assert airflow_only.first_kestra is None and not airflow_only.done


def test_an_empty_history_is_an_empty_typed_frame() -> None:
    from kestra_airflow_sdk.history import DAG_RUNS
    from kestra_airflow_sdk.kestra.executions import executions_schema

    empty = history_timeline(DAG_RUNS.empty(), executions_schema().empty())
    assert empty.empty
    assert dict(empty.dtypes.astype(str)) == dict(timeline_schema().empty().dtypes.astype(str))
    cut = cut_over(empty)
    assert (cut.first_kestra, cut.last_airflow, cut.overlap) == (None, None, 0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", FLOW), r"dag_id: expected a DAG id, got ''"),
        (
            ("etl", "company.team.etl"),
            r"flow: expected a Flow or a \(namespace, flow_id\) pair, got 'company",
        ),
        (("etl", ("company.team",)), r"flow: expected a Flow or a \(namespace, flow_id\) pair"),
    ],
)
def test_bad_arguments_are_named_before_any_request(args: tuple[Any, ...], message: str) -> None:
    fake, kestra = both_systems()
    with (
        fake_client(fake) as client,
        KestraServer("http://kestra.test", token="t", transport=httpx.MockTransport(kestra)) as server,
        pytest.raises(InvalidArgumentError, match=message),
    ):
        compare_history(client, server, *args)
    assert not fake.requests and not kestra.requests


def test_naive_since_and_frames_of_the_wrong_view_are_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="since: expected a timezone-aware datetime"):
        compare_history(object(), object(), "etl", FLOW, since=datetime(2026, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match=r"runs: the frame lacks the columns \['dag_run_id'"):
        history_timeline(pd.DataFrame({"dag_id": []}), pd.DataFrame())
    with pytest.raises(InvalidArgumentError, match="executions: expected a pandas DataFrame, got list"):
        from kestra_airflow_sdk.history import DAG_RUNS

        history_timeline(DAG_RUNS.empty(), [])  # type: ignore[arg-type]


def days(value: Any) -> float:
    return float(date2num(pd.Timestamp(value).tz_convert("UTC").tz_localize(None).to_datetime64()))


def bars_of(figure: Any) -> list[Any]:
    return [c for c in figure.axes[0].collections if isinstance(c, PolyCollection)]


def test_the_plot_draws_each_system_on_its_row_and_marks_the_cut_over() -> None:
    frame = timeline()
    figure = plot_history(frame)
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Airflow", "Kestra"]
    airflow_row, kestra_row = (float(y) for y in ax.get_yticks())
    collections = bars_of(figure)
    assert len(collections) == 2
    for collection, row, system in zip(
        collections, (airflow_row, kestra_row), ("airflow", "kestra"), strict=True
    ):
        mine = frame[frame["system"] == system].reset_index(drop=True)
        paths = collection.get_paths()
        assert len(paths) == len(mine)
        for path, (_, item), colour in zip(paths, mine.iterrows(), collection.get_facecolors(), strict=True):
            xs, ys = path.vertices[:, 0], path.vertices[:, 1]
            assert float(ys.min()) == pytest.approx(row - 0.35) and float(ys.max()) == pytest.approx(
                row + 0.35
            )
            assert float(xs.min()) == pytest.approx(days(item["start"]), abs=1e-9)
            if pd.notna(item["end"]):
                assert float(xs.max()) == pytest.approx(days(item["end"]), abs=1e-9)
            assert tuple(colour) == pytest.approx(to_rgba(STATE_COLOURS[item["outcome"]]))
    # a tick at each start, in the bar's colour
    ticks = [c for c in ax.collections if c not in collections]
    for tick, row, system in zip(ticks, (airflow_row, kestra_row), ("airflow", "kestra"), strict=True):
        mine = frame[frame["system"] == system]
        assert [float(x) for x, _ in tick.get_offsets()] == pytest.approx([days(s) for s in mine["start"]])
        assert {float(y) for _, y in tick.get_offsets()} == {row}
        drawn = tick.get_edgecolors()  # a "|" marker is drawn by its edge
        assert np.allclose(drawn, [to_rgba(STATE_COLOURS[o]) for o in mine["outcome"]])
    # the running execution ends at the latest time of the frame (the late Airflow run's end)
    latest = max(frame["start"].max(), frame["end"].max())
    assert latest == pd.Timestamp(START + timedelta(minutes=11, seconds=30))
    running = bars_of(figure)[1].get_paths()[-1]
    assert float(running.vertices[:, 0].max()) == pytest.approx(days(latest), abs=1e-9)
    # the cut-over lines, at the first Kestra execution and the last Airflow run
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert float(lines["first Kestra execution"].get_xdata()[0]) == pytest.approx(days(START))
    late = START + timedelta(minutes=1, seconds=30)
    assert float(lines["last Airflow run"].get_xdata()[0]) == pytest.approx(days(late))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["first Kestra execution", "last Airflow run", "success", "failed", "running"]
    assert (
        ax.get_title()
        == "Airflow runs and Kestra executions, 1 Airflow run(s) after the first Kestra execution"
    )
    assert figure._repr_png_().startswith(b"\x89PNG")
    PICTURES.mkdir(parents=True, exist_ok=True)
    figure.savefig(PICTURES / "history-cut-over.png", dpi=100)


def test_a_plot_of_nothing_says_so() -> None:
    from kestra_airflow_sdk.history import DAG_RUNS
    from kestra_airflow_sdk.kestra.executions import executions_schema

    figure = plot_history(history_timeline(DAG_RUNS.empty(), executions_schema().empty()))
    assert [t.get_text() for t in figure.axes[0].texts] == [
        "no run or execution has started: nothing to draw"
    ]
    assert not bars_of(figure)


def test_comparing_does_not_import_matplotlib_until_the_plot() -> None:
    code = (
        "import sys\n"
        "from kestra_airflow_sdk.migration.compare import history_timeline, cut_over\n"
        "from kestra_airflow_sdk.history import DAG_RUNS\n"
        "from kestra_airflow_sdk.kestra.executions import executions_schema\n"
        "cut_over(history_timeline(DAG_RUNS.empty(), executions_schema().empty()))\n"
        "assert 'matplotlib' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
