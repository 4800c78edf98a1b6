"""The public operations reading a DAG's definition and a task's XCom value (airflow/operations/
dag_details.py), on REST answers recorded from Airflow 3.3.2 and 2.10.5, with both clients; and the
migration's reads built on them (migration/dag_reads.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kestra_airflow_sdk.airflow.errors import InvalidArgumentError, NotFoundError
from kestra_airflow_sdk.airflow.operations import DagDetails
from kestra_airflow_sdk.migration.dag_reads import read_dag_definition, read_return_value
from tests.clients import BlockingAsync, open_client

RECORDED = Path(__file__).parent / "recorded"
SAMPLES = Path(__file__).parents[1] / "samples" / "assets_xcoms"
XCOM = "/dags/native_taskflow_dag/dagRuns/run 1/taskInstances/total/xcomEntries/return_value"


class Airflow:
    """The recorded answers of one API generation, plus one XCom entry; keeps the requests made."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.prefix = f"/api/{version}"
        self.answers: dict[str, Any] = json.loads((RECORDED / f"native_{version}.json").read_text())
        # a real XCom entry of this API generation (tests/samples/assets_xcoms), for this DAG and value
        entry = json.loads((SAMPLES / f"{version}_xcom_total.json").read_text())
        self.answers[XCOM] = {
            **entry,
            "dag_id": "native_taskflow_dag",
            "task_id": "total",
            "value": {"total": 75},
        }
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/auth/token":
            return httpx.Response(201, json={"access_token": "token"})
        if path == f"{self.prefix}/version":
            return httpx.Response(200, json={"version": "3.3.2" if self.version == "v2" else "2.10.5"})
        if path.endswith("/version"):  # the other generation's probe
            return httpx.Response(404, json={"detail": "not found"})
        self.requests.append(request)
        body = self.answers.get(path.removeprefix(self.prefix))
        if body is None:
            return httpx.Response(404, json={"title": "not found", "detail": "not found", "status": 404})
        return httpx.Response(200, json=body)

    @property
    def paths(self) -> list[str]:
        return [r.url.path.removeprefix(self.prefix) for r in self.requests]


@pytest.fixture(params=["v1", "v2"])
def recorded(request: pytest.FixtureRequest) -> Airflow:
    return Airflow(request.param)


@pytest.fixture(params=["sync", "async"])
def client(request: pytest.FixtureRequest, recorded: Airflow) -> Iterator[Any]:
    transport = httpx.MockTransport(recorded.handle)  # serves both drivers
    with open_client(
        request.param, "http://airflow.test", username="admin", password="admin", transport=transport
    ) as opened:
        yield opened


def test_details_give_the_dag_its_param_values_and_file_token(client: Any, recorded: Airflow) -> None:
    details = client.get_dag_details("native_taskflow_dag")
    assert isinstance(details, DagDetails)
    assert details.dag.dag_id == "native_taskflow_dag"
    assert details.params == {"factor": 3, "label": "orders"}
    assert details.file_token and details.dag.file_token == details.file_token
    assert "params" in details.raw
    assert recorded.paths == ["/dags/native_taskflow_dag/details"]


def test_tasks_keep_every_field_airflow_serves(client: Any) -> None:
    rows = client.get_dag_tasks("native_bash_dag")
    assert sorted(r["task_id"] for r in rows) == ["extract", "load", "transform"]
    load = next(r for r in rows if r["task_id"] == "load")
    assert load["trigger_rule"] == "all_done" and "is_mapped" in load and "retry_delay" in load


def test_the_source_is_one_request_by_dag_id_or_file_token(client: Any, recorded: Airflow) -> None:
    token = client.get_dag_details("native_bash_dag").file_token
    recorded.requests.clear()
    text = client.get_dag_source("native_bash_dag", file_token=token)
    assert 'dag_id="native_bash_dag"' in text or "native_bash_dag" in text
    [path] = recorded.paths
    assert path == ("/dagSources/native_bash_dag" if recorded.version == "v2" else f"/dagSources/{token}")
    assert recorded.requests[0].headers["accept"] == "application/json"


def test_without_a_file_token_airflow_2_reads_the_details_first(client: Any, recorded: Airflow) -> None:
    text = client.get_dag_source("native_bash_dag")
    assert "BashOperator" in text
    expected = ["/dags/native_bash_dag/details"] if recorded.version == "v1" else []
    assert recorded.paths[:-1] == expected and recorded.paths[-1].startswith("/dagSources/")


def test_a_bad_file_token_is_refused_before_any_request(client: Any, recorded: Airflow) -> None:
    with pytest.raises(InvalidArgumentError, match="file_token: expected a non-empty string"):
        client.get_dag_source("native_bash_dag", file_token="")
    assert recorded.requests == []


def test_an_xcom_value_is_read_as_json_and_a_missing_one_is_not_found(client: Any, recorded: Airflow) -> None:
    assert client.get_xcom("native_taskflow_dag", "run 1", "total").value == {"total": 75}
    assert recorded.requests[-1].url.params["stringify"] == "false"
    with pytest.raises(NotFoundError, match="Reading XCom 'return_value' of task 'describe'"):
        client.get_xcom("native_taskflow_dag", "run 1", "describe")


def _execute(client: Any, op: Any, *args: Any) -> Any:
    """Run a migration read (an operation on the client) with the sync client or on the async one's loop."""
    if isinstance(client, BlockingAsync):
        real = client._client
        return asyncio.run_coroutine_threadsafe(real.execute(op(real, *args)), client._loop).result()
    return client.execute(op(client, *args))


def test_the_migration_reads_are_built_on_the_public_operations(client: Any, recorded: Airflow) -> None:
    definition = _execute(client, read_dag_definition, "native_taskflow_dag")
    assert sorted(t.task_id for t in definition.tasks) == ["describe", "extract", "total"]
    assert definition.params == {"factor": 3, "label": "orders"} and "def total" in definition.source
    assert len(recorded.requests) == 3  # details, tasks, source: the file token came with the details
    total = _execute(client, read_return_value, "native_taskflow_dag", "run 1", "total")
    assert total == (True, {"total": 75})
    assert _execute(client, read_return_value, "native_taskflow_dag", "run 1", "describe") == (False, None)
