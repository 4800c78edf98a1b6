"""The Gantt chart of a real run whose task was retried (``retried_dag``, tests/dags/plots_dags.py),
against real Airflow 3 and 2: one bar per try, on the task's row, coloured by the try's state, from
the try's start to its end, or :data:`~kestra_airflow_sdk.history.plots.SHORTEST_BAR` long when the
try was shorter (how long a try takes depends on the machine; tests/history/test_plots.py covers both
cases on recorded rows).

The Airflow 3 figure is saved as ``build/img/history-gantt.png`` (git-ignored) for the docs
(``scripts/refresh-plot-images.sh`` copies it into docs/img/)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from matplotlib.colors import to_rgba
from matplotlib.dates import date2num
from matplotlib.patches import PathPatch

from kestra_airflow_sdk import AirflowClient
from kestra_airflow_sdk.history.palette import state_colour
from kestra_airflow_sdk.history.plots import SHORTEST_BAR
from tests.airflow_servers import PASSWORD, USERNAME, AirflowServer

PICTURES = Path(__file__).resolve().parents[2] / "build" / "img"


def test_gantt_of_a_real_run_with_a_retried_task_has_a_bar_per_try(airflow: AirflowServer) -> None:
    with AirflowClient(airflow.base_url, username=USERNAME, password=PASSWORD) as client:
        run = client.trigger_dag_run("retried_dag")
        final = client.wait_for_dag_run(run.dag_id, run.dag_run_id, poll_frequency=1.0, timeout=600)
        assert str(final.state) == "success"
        tis = client.task_instances("retried_dag", run.dag_run_id)
    flaky = tis[tis["task_id"] == "flaky"].sort_values("try_number")
    assert flaky["try_number"].tolist() == [1, 2]
    assert str(flaky["state"].iloc[1]) == "success" and str(flaky["state"].iloc[0]) != "success"
    assert (
        flaky["end_date"].iloc[0] <= flaky["start_date"].iloc[1]
    )  # the retry began after the first try ended

    figure = tis.airflow.gantt()
    ax = figure.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["prepare", "flaky"]  # in the order they started
    patches = {p.get_label(): p for p in ax.patches if isinstance(p, PathPatch)}
    assert set(patches) == {str(s) for s in tis["state"]}
    bars = []  # (state, row, start, end) of every bar drawn
    for state, patch in patches.items():
        assert patch.get_facecolor() == to_rgba(state_colour(state))
        for polygon in patch.get_path().to_polygons(closed_only=True):
            corners = polygon[:4]
            bars.append((state, round(float(corners[:, 1].mean())), corners[:, 0].min(), corners[:, 0].max()))
    assert len(bars) == len(tis) == 3
    on_flaky = sorted((b for b in bars if b[1] == labels.index("flaky")), key=lambda b: b[2])
    assert len(on_flaky) == 2
    shortest = SHORTEST_BAR / timedelta(days=1)
    for (state, _, start, end), (_, want) in zip(on_flaky, flaky.iterrows(), strict=True):
        assert state == str(want["state"])
        began, ended = (date2num(want[c].to_pydatetime()) for c in ("start_date", "end_date"))
        assert abs(start - began) < 1e-9
        # at the try's end, or SHORTEST_BAR after its start when the try was shorter (a fast machine)
        assert abs(end - max(ended, began + shortest)) < 1e-9
    assert sorted(t.get_text().strip() for t in ax.texts) == ["try 1", "try 2"]
    assert ax.get_title() == f"Task tries of retried_dag / {run.dag_run_id}"
    if airflow.major == "3":
        PICTURES.mkdir(parents=True, exist_ok=True)
        figure.savefig(PICTURES / "history-gantt.png", dpi=100)
