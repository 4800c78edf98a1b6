"""The progress widget, driven poll by poll with recorded real runs (Airflow 3.3.2 and 2.10.5)."""

from __future__ import annotations

import io
from collections import Counter
from datetime import datetime, timezone

import pytest

from kestra_airflow_sdk.airflow import DagRun, InvalidArgumentError, TaskInstance
from kestra_airflow_sdk.display import (
    COUNTED_STATES,
    RunProgress,
    airflow_ui_url,
    in_notebook,
    progress_observer,
)
from tests.display.html_table import read_table
from tests.display.recorded import RECORDINGS, load_polls, parse_poll

FIXED_NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)


def expected_counts(tis: list[TaskInstance]) -> dict[str, int]:
    states = Counter("none" if ti.state is None else str(ti.state) for ti in tis)
    return {state: states.get(state, 0) for state in COUNTED_STATES}


def test_recordings_are_there() -> None:
    assert "v2_progress_polls.json" in RECORDINGS
    assert "v2_progress_polls_failing.json" in RECORDINGS
    assert any(name.startswith("v1_") for name in RECORDINGS)


@pytest.mark.parametrize("recording", RECORDINGS)
def test_widget_state_follows_each_recorded_poll(recording: str) -> None:
    polls = [parse_poll(p) for p in load_polls(recording)]
    assert len(polls) >= 3, "a recording covers the run from queued to its end"
    api = recording[:2]
    progress = RunProgress("widget", base_url="http://airflow.example:8080", api_version=api)
    assert progress.widget is not None
    for run, tis in polls:
        progress.update(run, tis)
        title, finished_flag, rows = read_table(progress.widget.value)
        [row] = rows
        assert (row.dag_id, row.run_id) == (run.dag_id, run.dag_run_id)
        assert row.state == row.badge == str(run.state)
        assert row.counts == expected_counts(tis)
        assert row.total == len(tis)
        assert row.finished == sum(1 for ti in tis if ti.state is not None and ti.state.is_final)
        assert row.link == airflow_ui_url("http://airflow.example:8080", api, run.dag_id, run.dag_run_id)
        assert finished_flag == ("true" if run.state is not None and run.state.is_final else "false")
    final_run, final_tis = polls[-1]
    progress.close()
    title, finished_flag, rows = read_table(progress.widget.value)
    assert title == f"All 1 DAG run finished: 1 {final_run.state}"
    assert rows[0].finished == rows[0].total == len(final_tis)
    assert progress.closed


def test_many_runs_make_one_table_in_first_seen_order() -> None:
    recordings = [load_polls(name) for name in RECORDINGS]
    progress = RunProgress("widget")
    longest = max(len(r) for r in recordings)
    for i in range(longest):  # interleave the runs like one poll round of a Parallel would
        for polls in recordings:
            run, tis = parse_poll(polls[min(i, len(polls) - 1)])
            progress.update(run, tis)
    title, _, rows = read_table(progress.widget.value)
    assert [r.run_id for r in rows] == [r[0]["dag_run"]["dag_run_id"] for r in recordings]
    finals = Counter(r[-1]["dag_run"]["state"] for r in recordings)
    assert title == f"All {len(recordings)} DAG runs finished: " + ", ".join(
        f"{n} {s}" for s, n in sorted(finals.items())
    )
    assert len(rows) == len(recordings)


def test_text_mode_prints_a_line_per_change_and_a_summary() -> None:
    polls = [parse_poll(p) for p in load_polls("v2_progress_polls.json")]
    out = io.StringIO()
    progress = RunProgress("text", stream=out, clock=lambda: FIXED_NOW)
    for run, tis in polls:
        progress.update(run, tis)
        progress.update(run, tis)  # the same poll twice prints once
    progress.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == len(polls) + 1
    run, tis = polls[-1]
    assert lines[-2].startswith(f"hello_world_dag {run.dag_run_id} success: 3/3 tasks done (success 3)")
    assert lines[-1] == "All 1 DAG run finished: 1 success"
    assert "queued: 0/3 tasks done" in lines[0]


def test_before_airflow_lists_any_task_the_progress_says_starting_never_0_of_0() -> None:
    """Right after a trigger, Airflow answers the run (queued) with no task instance until the
    scheduler creates them: the recorded run, first without its task instances, then as recorded."""
    polls = [parse_poll(p) for p in load_polls("v2_progress_polls.json")]
    first_run, _ = polls[0]
    polls = [(first_run, []), *polls]
    out = io.StringIO()
    text = RunProgress("text", stream=out, clock=lambda: FIXED_NOW)
    widget = RunProgress("widget")
    shown = []
    for run, tis in polls:
        text.update(run, tis)
        widget.update(run, tis)
        [row] = read_table(widget.widget.value)[2]
        shown.append(row.done)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"hello_world_dag {first_run.dag_run_id} queued: starting…, ")
    assert lines[1].startswith(f"hello_world_dag {first_run.dag_run_id} queued: 0/3 tasks done (no status 3)")
    assert shown[0] == "starting…" and shown[1:] == [
        f"{sum(1 for ti in tis if ti.state is not None and ti.state.is_final)}/{len(tis)}"
        for _, tis in polls[1:]
    ]
    assert shown[-1] == "3/3"
    assert not any("0/0" in line for line in [*lines, widget.widget.value, text.text()])


def test_a_run_that_ended_without_any_task_instance_says_so() -> None:
    run, _ = parse_poll(load_polls("v2_progress_polls_failing.json")[-1])
    assert str(run.state) == "failed"
    out = io.StringIO()
    with RunProgress("text", stream=out, clock=lambda: FIXED_NOW) as progress:
        progress.update(run, [])
    assert (
        out.getvalue()
        .splitlines()[0]
        .startswith(f"{run.dag_id} {run.dag_run_id} failed: no task instances, ")
    )
    widget = RunProgress("widget")
    widget.update(run, [])
    [row] = read_table(widget.widget.value)[2]
    assert row.done == "no task instances" and (row.finished, row.total) == (0, 0)


def test_off_mode_shows_nothing_but_keeps_snapshots(capsys: pytest.CaptureFixture[str]) -> None:
    run, tis = parse_poll(load_polls("v2_progress_polls_failing.json")[-1])
    progress = progress_observer(False)
    assert isinstance(progress, RunProgress)
    progress.update(run, tis)
    progress.close()
    assert capsys.readouterr() == ("", "")
    snap = progress.snapshot(run.dag_id, run.dag_run_id)
    assert (snap.state, snap.finished, snap.total, snap.counts["failed"]) == ("failed", 1, 1, 1)


def test_auto_mode_outside_a_notebook_is_text() -> None:
    assert not in_notebook()
    assert RunProgress().mode == "text"
    assert progress_observer(True).mode == "text"  # type: ignore[attr-defined]


def test_elapsed_time_uses_the_run_end_or_the_clock() -> None:
    polls = [parse_poll(p) for p in load_polls("v2_progress_polls.json")]
    progress = RunProgress("off", clock=lambda: FIXED_NOW)
    run, tis = polls[2]  # running
    assert run.start_date is not None and run.end_date is None
    assert progress.update(run, tis).elapsed == FIXED_NOW - run.start_date
    run, tis = polls[-1]
    assert progress.update(run, tis).elapsed == run.duration


@pytest.mark.parametrize("bad", ["fancy", 3, object()])
def test_bad_progress_option_is_a_clear_error(bad: object) -> None:
    with pytest.raises(InvalidArgumentError, match="progress: expected True, False"):
        progress_observer(bad)  # type: ignore[arg-type]


def test_bad_mode_is_a_clear_error() -> None:
    with pytest.raises(InvalidArgumentError, match="mode: expected one of"):
        RunProgress("loud")  # type: ignore[arg-type]


def test_a_custom_observer_is_used_as_it_is() -> None:
    class Seen:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def update(self, run: DagRun, task_instances: object) -> None:
            self.calls.append(str(run.state))

        def close(self) -> None:
            self.calls.append("closed")

    seen = Seen()
    assert progress_observer(seen) is seen


def test_ui_links_for_both_airflow_generations() -> None:
    run_id = "manual__2026-11-24T18:30:17.564523+00:00"
    assert (
        airflow_ui_url("http://h:8080/", "v2", "my dag", run_id)
        == "http://h:8080/dags/my%20dag/runs/manual__2026-11-24T18%3A30%3A17.564523%2B00%3A00"
    )
    assert (
        airflow_ui_url("http://h:8080", "v1", "d", run_id)
        == "http://h:8080/dags/d/grid?dag_run_id=manual__2026-11-24T18%3A30%3A17.564523%2B00%3A00"
    )


def test_airflow_text_is_escaped() -> None:
    run = DagRun(dag_id="<script>x</script>", dag_run_id='r"1', state="running")  # type: ignore[arg-type]
    progress = RunProgress("off")
    progress.update(run, [])
    html = progress.html()
    assert "<script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    _, _, [row] = read_table(html)
    assert (row.dag_id, row.run_id, row.total, row.finished) == ("<script>x</script>", 'r"1', 0, 0)


def test_without_ipywidgets_the_widget_mode_falls_back_to_text(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> None:
        raise ImportError("No module named 'ipywidgets'")

    monkeypatch.setattr("kestra_airflow_sdk.display.progress._ipywidgets", missing)
    out = io.StringIO()
    progress = RunProgress("widget", stream=out)
    assert (progress.mode, progress.widget) == ("text", None)
    run, tis = parse_poll(load_polls("v2_progress_polls.json")[-1])
    progress.update(run, tis)
    progress.close()
    assert out.getvalue().splitlines()[-1] == "All 1 DAG run finished: 1 success"


def test_a_widget_outside_ipython_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    run, tis = parse_poll(load_polls("v2_progress_polls.json")[-1])
    with RunProgress("widget") as progress:
        progress.update(run, tis)
    assert capsys.readouterr() == ("", "")
    assert "All 1 DAG run finished: 1 success" in progress.widget.value
