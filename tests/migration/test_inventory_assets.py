"""The inventory's ``assets`` column: the assets (Airflow 3) or datasets (Airflow 2) whose events
schedule a DAG, read from ``/dags/{id}/details`` for the DAGs scheduled that way only, on a mock
Airflow answering with the fields of 3.3.2 (``timetable_summary``, ``asset_expression``) and 2.10.5
(``dataset_expression``); sync and async clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kestra_airflow_sdk.migration import INVENTORY
from kestra_airflow_sdk.migration.inventory import scheduling_assets
from tests.clients import open_client

ORDERS = {"asset": {"name": "kas_orders", "uri": "file:///tmp/orders.csv", "group": "sdk-test"}}
LEDGER = {"asset": {"name": "s3://ledger", "uri": "s3://ledger", "group": "asset"}}

#: per API: each DAG's listing row (its schedule summary) and its details' schedule expression;
#: None as details: Airflow refuses to serve them (403)
DAGS: dict[str, dict[str, tuple[str | None, Any]]] = {
    "v2": {
        "consumer": ("Asset", {"any": [ORDERS]}),
        "both": ("Asset or 0 6 * * *", {"all": [ORDERS, LEDGER, {"alias": {"name": "late", "group": ""}}]}),
        "by_ref": ("Asset", {"asset_ref": {"name": "kas_orders"}}),
        "hidden": ("Asset", None),
        "cron": ("0 0 * * *", None),
        "manual": (None, None),
    },
    "v1": {
        "consumer": ("Dataset", "s3://sdk-test/ledger.parquet"),
        "both": ("Dataset", {"any": ["s3://a", {"all": ["s3://b", "s3://a"]}, {"alias": "late"}]}),
        "cron": ("0 0 * * *", None),
    },
}


class Airflow:
    def __init__(self, api: str) -> None:
        self.api, self.prefix, self.dags = api, f"/api/{api}", DAGS[api]
        self.paths: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/auth/token":
            return httpx.Response(201, json={"access_token": "token"})
        if path == f"{self.prefix}/version":
            return httpx.Response(200, json={"version": "3.3.2" if self.api == "v2" else "2.10.5"})
        path = path.removeprefix(self.prefix)
        self.paths.append(path)
        if path == "/dags":
            summary = "timetable_summary"
            rows = [
                {"dag_id": d, summary: schedule, "is_paused": False} for d, (schedule, _) in self.dags.items()
            ]
            return httpx.Response(200, json={"dags": rows, "total_entries": len(rows)})
        if "/dagRuns" in path:
            return httpx.Response(200, json={"dag_runs": [], "total_entries": 0})
        dag_id = path.split("/")[2]
        if path.endswith("/tasks"):
            return httpx.Response(200, json={"tasks": [], "total_entries": 0})
        if path.endswith("/details"):
            schedule, expression = self.dags[dag_id]
            if expression is None:
                return httpx.Response(403, json={"detail": "Forbidden", "status": 403, "title": "Forbidden"})
            key = "asset_expression" if self.api == "v2" else "dataset_expression"
            return httpx.Response(
                200, json={"dag_id": dag_id, "timetable_summary": schedule, key: expression, "params": {}}
            )
        return httpx.Response(404, json={"detail": "not found"})


@pytest.fixture(params=["v2", "v1"])
def mock(request: pytest.FixtureRequest) -> Airflow:
    return Airflow(request.param)


@pytest.fixture(params=["sync", "async"])
def client(request: pytest.FixtureRequest, mock: Airflow) -> Iterator[Any]:
    with open_client(
        request.param,
        "http://airflow.test",
        username="admin",
        password="admin",
        transport=httpx.MockTransport(mock.handle),
    ) as opened:
        yield opened


def test_the_assets_column_names_what_schedules_each_dag(client: Any, mock: Airflow) -> None:
    frame = client.inventory()
    assert list(frame.columns) == INVENTORY.names and frame.dtypes.to_dict() == INVENTORY.dtypes
    assets = dict(zip(frame["dag_id"], frame["assets"], strict=True))
    if mock.api == "v2":
        assert assets == {
            "both": ["kas_orders", "s3://ledger", "alias:late"],
            "by_ref": ["kas_orders"],
            "consumer": ["kas_orders"],
            "cron": [],
            "hidden": None,  # Airflow would not serve its details: unknown, not "none"
            "manual": [],
        }
    else:  # Airflow 2: datasets, named by their URI
        assert assets == {
            "both": ["s3://a", "s3://b", "alias:late"],
            "consumer": ["s3://sdk-test/ledger.parquet"],
            "cron": [],
        }


def test_only_dags_scheduled_by_assets_cost_a_request(client: Any, mock: Airflow) -> None:
    client.inventory()
    asked = sorted(p.split("/")[2] for p in mock.paths if p.endswith("/details"))
    expected = [d for d, (schedule, _) in mock.dags.items() if schedule and "set" in schedule.lower()]
    assert asked == sorted(expected) and "cron" not in asked and "manual" not in asked


@pytest.mark.parametrize(
    ("expression", "names"),
    [
        (None, []),
        ({}, []),
        ("s3://one", ["s3://one"]),
        ({"asset": {"name": "", "uri": "file:///x"}}, ["file:///x"]),
        ({"asset_ref": {"uri": "s3://by-uri"}}, ["s3://by-uri"]),
        (
            {"any": [{"all": [ORDERS, ORDERS]}, {"alias": {"name": "a"}}, {"unknown": 1}]},
            ["kas_orders", "alias:a"],
        ),
        ({"asset": "not a mapping"}, []),
    ],
)
def test_scheduling_assets_reads_every_shape(expression: Any, names: list[str]) -> None:
    assert scheduling_assets(expression) == names
