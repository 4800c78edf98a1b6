"""RunColumns, the sink of full run exports: the same frame as ``runs_frame`` whatever the values,
page order and chunks, with its Arrow buffers from Arrow's system pool (no server)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kestra_airflow_sdk.airflow.fetch import _normal_run
from kestra_airflow_sdk.history.frames import RunColumns, runs_frame
from tests.history.test_frames import v2_run

pytest.importorskip("pyarrow")
REPO = Path(__file__).resolve().parents[2]


def built(rows: list[dict[str, Any]], chunk: int, pages: int = 4) -> pd.DataFrame:
    columns = RunColumns(chunk=chunk)
    for start in range(0, len(rows), pages):
        columns.add(rows[start : start + pages])
    return columns.frame()


def test_values_arrow_does_not_read_are_converted_as_pandas_does() -> None:
    rows = [_normal_run(v2_run(f"r{i}", minutes=i)) for i in range(9)]
    rows[1]["note"] = 42  # not a text: pandas' ``string`` dtype makes it "42"
    rows[2]["start_date"] = "2026-01-01T00:00:00.123456789+00:00"  # nanoseconds: Arrow refuses to drop them
    rows[3]["queued_at"] = "2026-01-01T00:00:00.5-02:00"  # an offset other than UTC
    rows[4]["end_date"] = "2026-01-01"  # a date alone
    rows[5]["run_type"] = None
    for chunk in (1, 2, 100):
        pd.testing.assert_frame_equal(built(rows, chunk), runs_frame(rows))
    frame = built(rows, 3)
    assert frame.loc[frame["dag_run_id"] == "r1", "note"].item() == "42"


def test_unknown_and_missing_states_keep_the_categories_runs_frame_gives() -> None:
    states = ["zeta_state", None, "success", "alpha_state", "queued", "zeta_state", None]
    rows = [_normal_run(v2_run(f"r{i}", state="success", minutes=i)) for i in range(len(states))]
    for row, state in zip(rows, states, strict=True):
        row["state"] = state
    for chunk in (1, 2, 5, 100):
        frame = built(rows, chunk, pages=2)
        pd.testing.assert_frame_equal(frame, runs_frame(rows))
    assert list(frame["state"].cat.categories[-2:]) == ["alpha_state", "zeta_state"]


def test_pages_added_in_any_order_give_the_frame_of_every_row() -> None:
    rows = [
        _normal_run(
            v2_run(f"r{i:04d}", dag=f"d{i % 7}", state=["success", "failed", "queued"][i % 3], minutes=i % 50)
        )
        for i in range(3000)
    ]
    pages = [rows[start : start + 100] for start in range(0, len(rows), 100)]
    random.Random(3).shuffle(pages)
    columns = RunColumns(chunk=250)
    for page in pages:
        columns.add(page)
    pd.testing.assert_frame_equal(columns.frame(), runs_frame(rows))


ARROW_PEAKS = """
import json
import pyarrow as pa
from kestra_airflow_sdk.airflow.fetch import _normal_run
from kestra_airflow_sdk.history.frames import RunColumns, runs_frame
from tests.history.test_frames import v2_run

rows = [_normal_run(v2_run(f"run_{i:06d}", dag=f"dag_{i % 9}", minutes=i)) for i in range(20000)]
pages = [rows[start : start + 100] for start in range(0, len(rows), 100)]
warm = RunColumns(chunk=2)
warm.add(rows[:3])
warm.frame()
default = pa.default_memory_pool()
peaks = {"before": default.max_memory()}
columns = RunColumns(chunk=2000)
for page in pages:
    columns.add(page)
columns.frame()
peaks["run_columns"] = default.max_memory()
runs_frame(rows)
peaks["runs_frame"] = default.max_memory()
print(json.dumps(peaks))
"""


def test_arrow_buffers_come_from_the_system_pool() -> None:
    """Arrow's default pool (mimalloc or jemalloc) keeps a heap per thread and freed memory: an
    export of 20,000 runs, page by page, takes no buffer from it (a fresh interpreter, so that the
    pool's peak is this export's), where pandas' own conversions of the same rows take megabytes."""
    child = subprocess.run(
        [sys.executable, "-c", ARROW_PEAKS], capture_output=True, text=True, check=True, cwd=REPO
    )
    peaks = json.loads(child.stdout)
    assert peaks["run_columns"] - peaks["before"] < 64 * 1024
    assert peaks["runs_frame"] - peaks["before"] > 1024 * 1024
