"""The inventory's ``native`` column (opt-in) and ``parity`` column, on REST answers recorded from
Airflow 3.3.2 and 2.10.5 (tests/dags/native_dags.py), with both clients; what it costs in requests."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from kestra_airflow_sdk.airflow.errors import InvalidArgumentError
from kestra_airflow_sdk.migration import INVENTORY
from tests.clients import open_client

RECORDED = Path(__file__).parent / "recorded"
DAGS = ["native_bash_dag", "native_python_dag", "native_taskflow_dag"]


class Airflow:
    """Three DAGs as recorded; ``native_python_dag`` gains a task outside the operator table, and on
    Airflow 3 ``native_bash_dag`` has no source to serve. Keeps the paths asked."""

    def __init__(self, version: str) -> None:
        self.version, self.prefix = version, f"/api/{version}"
        self.answers: dict[str, Any] = copy.deepcopy(
            json.loads((RECORDED / f"native_{version}.json").read_text())
        )
        tasks = self.answers["/dags/native_python_dag/tasks"]["tasks"]
        extra = {**tasks[0], "task_id": "latest_only", "operator_name": "LatestOnlyOperator"}
        extra["class_ref"] = {"class_name": "LatestOnlyOperator"}
        tasks.append(extra)
        if version == "v2":
            del self.answers["/dagSources/native_bash_dag"]
        listing = [self.answers[f"/dags/{d}/details"] for d in DAGS]
        self.answers["/dags"] = {"dags": listing, "total_entries": len(listing)}
        self.paths: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/auth/token":
            return httpx.Response(201, json={"access_token": "token"})
        if path == f"{self.prefix}/version":
            return httpx.Response(200, json={"version": "3.3.2" if self.version == "v2" else "2.10.5"})
        if not path.startswith(self.prefix):
            return httpx.Response(404, json={"detail": "not found"})
        path = path.removeprefix(self.prefix)
        self.paths.append(path)
        if "/dagRuns" in path:  # no runs in the window, none ever
            return httpx.Response(200, json={"dag_runs": [], "total_entries": 0})
        body = self.answers.get(path)
        if body is None:
            return httpx.Response(404, json={"title": "not found", "detail": "not found", "status": 404})
        return httpx.Response(200, json=body)


@pytest.fixture(params=["v1", "v2"])
def recorded(request: pytest.FixtureRequest) -> Airflow:
    return Airflow(request.param)


@pytest.fixture(params=["sync", "async"])
def client(request: pytest.FixtureRequest, recorded: Airflow) -> Iterator[Any]:
    with open_client(
        request.param,
        "http://airflow.test",
        username="admin",
        password="admin",
        transport=httpx.MockTransport(recorded.handle),
    ) as opened:
        yield opened


def test_native_is_opt_in_and_costs_one_source_request_per_dag(client: Any, recorded: Airflow) -> None:
    frame = client.inventory(DAGS, native=True).set_index("dag_id")
    assert list(frame.reset_index().columns) == INVENTORY.names
    assert frame.reset_index().dtypes.to_dict() == INVENTORY.dtypes
    found = {dag_id: None if pd.isna(value) else bool(value) for dag_id, value in frame["native"].items()}
    assert found == {
        "native_bash_dag": None if recorded.version == "v2" else True,  # v2: no source served, unknown
        "native_python_dag": False,  # its LatestOnlyOperator is outside the table
        "native_taskflow_dag": True,
    }
    sources = [p for p in recorded.paths if p.startswith("/dagSources/")]
    assert len(sources) == len(DAGS)  # one per DAG
    assert not [p for p in recorded.paths if p.endswith("/details")]  # the details are not read
    assert len([p for p in recorded.paths if p.endswith("/tasks")]) == len(DAGS)  # read once, used twice


def test_without_native_no_source_is_read_and_the_column_is_missing(client: Any, recorded: Airflow) -> None:
    frame = client.inventory(DAGS)
    assert frame["native"].isna().all()
    assert frame["parity"].isna().all()  # never checked on this machine (a fresh storage folder)
    assert not [p for p in recorded.paths if p.startswith("/dagSources/")]
    assert frame["tasks"].tolist() == [3, 6, 3]  # native_python_dag: 5 recorded tasks + latest_only


def test_native_must_be_a_bool(client: Any, recorded: Airflow) -> None:
    with pytest.raises(InvalidArgumentError, match="native: expected True or False, got 'yes'"):
        client.inventory(DAGS, native="yes")
    assert recorded.paths == []
