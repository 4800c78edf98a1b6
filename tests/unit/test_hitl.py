"""Human-in-the-loop requests against a mock Airflow that answers with bodies recorded from Airflow 3.3.2:
the paths and queries sent, the typed models and DataFrame, the SDK's errors for a wrong answer, and
the version gate (nothing of the feature is sent to an older server)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from kestra_airflow_sdk import (
    AirflowClient,
    AlreadyAnsweredError,
    InvalidArgumentError,
    NotFoundError,
    UnsupportedFeatureError,
)
from kestra_airflow_sdk.airflow.hitl_models import HitlRequest, awaits_a_person
from kestra_airflow_sdk.airflow.models import DagRun, TaskInstance
from kestra_airflow_sdk.airflow.operations.hitl import waiting_request
from tests.virtual_time import VirtualTimeClient

RUN = "manual__2026-12-07T15:50:10.297875+00:00_9e764cad"
#: one request as Airflow 3.3.2 lists it (GET /dags/~/dagRuns/~/hitlDetails), task instance trimmed
PENDING: dict[str, Any] = {
    "options": ["Approve", "Reject"],
    "subject": "Publish the weekly report?",
    "body": "The report has **12** rows.",
    "defaults": None,
    "multiple": False,
    "params": {
        "reason": {
            "value": "looks good",
            "description": "why",
            "schema": {"type": "string"},
            "source": "task",
        }
    },
    "assigned_users": [],
    "created_at": "2026-12-07T15:51:08.238383Z",
    "responded_by_user": None,
    "responded_at": None,
    "chosen_options": None,
    "params_input": {},
    "response_received": False,
    "task_instance": {
        "id": "01a25132-c30b-7361-8726-584a1cbe0cf4",
        "task_id": "review",
        "dag_id": "hitl_dag",
        "dag_run_id": RUN,
        "map_index": -1,
        "state": "awaiting_input",
        "try_number": 1,
        "operator": "HITLOperator",
    },
}
#: the same request once answered
ANSWERED = {
    **PENDING,
    "responded_by_user": {"id": "admin", "name": "admin"},
    "responded_at": "2026-12-07T15:51:42.720945Z",
    "chosen_options": ["Approve"],
    "params_input": {"reason": "fine"},
    "response_received": True,
    "task_instance": {**PENDING["task_instance"], "state": "success"},
}
#: PATCH's answer (HITLDetailResponse)
RESPONSE = {
    "responded_by": {"id": "admin", "name": "admin"},
    "responded_at": "2026-12-07T15:51:42.720945Z",
    "chosen_options": ["Approve"],
    "params_input": {"reason": "fine"},
}
DETAIL = f"/api/v2/dags/hitl_dag/dagRuns/{RUN.replace(':', '%3A').replace('+', '%2B')}/taskInstances/review/-1/hitlDetails"

Handler = Callable[[httpx.Request], httpx.Response | None]


class Airflow:
    """A mock server: ``/version`` answers ``version``, the rest goes to ``handler``; every request is kept."""

    def __init__(self, handler: Handler, version: str = "3.3.2") -> None:
        self.handler, self.version = handler, version
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        prefix = "/api/v2" if self.version.startswith("3") else "/api/v1"
        if request.url.path == f"{prefix}/version":
            return httpx.Response(200, json={"version": self.version, "git_version": None})
        if request.url.path.endswith("/version"):
            return httpx.Response(404, json={"detail": "Not Found"})
        if request.url.path == "/auth/token":  # Airflow 3's login
            return httpx.Response(201, json={"access_token": "a-token"})
        return self.handler(request) or httpx.Response(404, json={"detail": "Not Found"})

    def client(self) -> AirflowClient:
        return AirflowClient(
            "http://airflow.test", username="u", password="p", transport=httpx.MockTransport(self)
        )

    def sent(self) -> list[tuple[str, str]]:
        """(method, raw path) of every request but the version probe."""
        return [
            (r.method, r.url.raw_path.decode().split("?")[0])
            for r in self.requests
            if not r.url.path.endswith(("/version", "/auth/token"))
        ]


def test_the_request_model_flattens_the_task_instance() -> None:
    request = HitlRequest.model_validate(ANSWERED)
    assert (request.dag_id, request.dag_run_id, request.task_id, request.map_index) == (
        "hitl_dag",
        RUN,
        "review",
        -1,
    )
    assert request.task_state == "success" and request.try_number == 1
    assert request.responded_by is not None and request.responded_by.name == "admin"
    assert not request.pending and request.chosen_options == ["Approve"]
    assert request.param_defaults == {"reason": "looks good"}
    assert request.created_at is not None and request.created_at.tzinfo is not None


def test_listing_every_pending_request_uses_the_wildcards_and_pages() -> None:
    def handler(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/api/v2/dags/~/dagRuns/~/hitlDetails":
            return httpx.Response(200, json={"hitl_details": [PENDING], "total_entries": 1})
        return None

    airflow = Airflow(handler)
    with airflow.client() as client:
        requests = client.list_hitl_requests(pending=True)
    assert [r.subject for r in requests] == ["Publish the weekly report?"]
    (listed,) = [r for r in airflow.requests if r.url.path.endswith("/hitlDetails")]
    assert listed.url.params["response_received"] == "false"
    assert listed.url.params["order_by"] == "created_at"


def test_the_frame_of_pending_requests_has_typed_columns() -> None:
    seen: list[httpx.QueryParams] = []

    def handler(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/api/v2/dags/hitl_dag/dagRuns/~/hitlDetails":
            seen.append(request.url.params)
            return httpx.Response(200, json={"hitl_details": [PENDING, ANSWERED], "total_entries": 2})
        return None

    with Airflow(handler).client() as client:
        frame = client.hitl_requests("hitl_dag", state="all")
        empty = client.hitl_requests("hitl_dag", state="answered")
    assert "response_received" not in seen[0] and seen[1]["response_received"] == "true"
    assert list(frame["pending"]) == [True, False]
    row = frame.iloc[1]
    assert (row["dag_id"], row["dag_run_id"], row["task_id"], row["map_index"]) == (
        "hitl_dag",
        RUN,
        "review",
        -1,
    )
    assert row["options"] == ["Approve", "Reject"] and row["chosen_options"] == ["Approve"]
    assert row["responded_by"] == "admin" and row["params_input"] == {"reason": "fine"}
    assert str(frame["requested_at"].dtype) == "datetime64[us, UTC]"
    assert str(frame["responded_at"].dtype) == "datetime64[us, UTC]"
    assert str(frame["multiple"].dtype) == "boolean" and str(frame["map_index"].dtype) == "Int64"
    assert list(empty.columns) == list(frame.columns) and empty.dtypes.equals(frame.dtypes)


def test_a_bad_state_is_refused_before_any_request() -> None:
    airflow = Airflow(lambda request: None)
    with airflow.client() as client, pytest.raises(InvalidArgumentError, match="state: expected 'pending'"):
        client.hitl_requests(state="waiting")
    assert airflow.sent() == []


def _answering(state: dict[str, Any]) -> Handler:
    """A request that answers GET with ``state`` and PATCH with RESPONSE (then counts as answered)."""

    def handler(request: httpx.Request) -> httpx.Response | None:
        if request.url.raw_path.decode() != DETAIL:
            return None
        if request.method == "PATCH":
            state.update(copy.deepcopy(ANSWERED))
            return httpx.Response(200, json=RESPONSE)
        return httpx.Response(200, json=state)

    return handler


def test_respond_sends_the_option_and_every_param() -> None:
    airflow = Airflow(_answering(copy.deepcopy(PENDING)))
    with airflow.client() as client:
        response = client.respond("hitl_dag", RUN, "review", "Approve", {"reason": "fine"})
    assert response.chosen_options == ["Approve"] and response.params_input == {"reason": "fine"}
    assert response.responded_by is not None and response.responded_by.id == "admin"
    assert airflow.sent() == [("GET", DETAIL), ("PATCH", DETAIL)]
    (patch,) = [r for r in airflow.requests if r.method == "PATCH"]
    assert json.loads(patch.content) == {"chosen_options": ["Approve"], "params_input": {"reason": "fine"}}


def _fresh(age: float) -> dict[str, Any]:
    """The pending request, written ``age`` seconds ago."""
    request = copy.deepcopy(PENDING)
    request["created_at"] = (datetime.now(UTC) - timedelta(seconds=age)).isoformat()
    return request


@pytest.mark.parametrize(
    ("age", "settle", "waits"),
    [(0.0, 10.0, (9.0, 10.0)), (4.0, 10.0, (5.0, 6.5)), (60.0, 10.0, None), (0.0, 0, None)],
)
def test_an_answer_waits_until_the_request_has_settled(
    age: float, settle: float, waits: tuple[float, float] | None
) -> None:
    """Airflow 3.3.2 fails a task answered within moments of asking: the answer waits, on the
    driver's clock, until the request is ``settle`` seconds old, and never longer than ``settle``."""
    airflow = Airflow(_answering(_fresh(age)))
    with VirtualTimeClient(
        "http://airflow.test", username="u", password="p", transport=httpx.MockTransport(airflow)
    ) as client:
        client.respond("hitl_dag", RUN, "review", "Approve", settle=settle)
    assert airflow.sent() == [("GET", DETAIL), ("PATCH", DETAIL)]
    if waits is None:
        assert client.clock.sleeps == []
    else:
        (slept,) = client.clock.sleeps
        assert waits[0] <= slept <= waits[1]


@pytest.mark.parametrize("settle", [-1, "10", True, 7200])
def test_a_settle_out_of_range_is_refused_before_any_request(settle: Any) -> None:
    airflow = Airflow(_answering(_fresh(0.0)))
    with airflow.client() as client, pytest.raises(InvalidArgumentError, match="settle: expected seconds"):
        client.respond("hitl_dag", RUN, "review", "Approve", settle=settle)
    assert airflow.sent() == []


def test_a_param_not_given_keeps_its_default() -> None:
    airflow = Airflow(_answering(copy.deepcopy(PENDING)))
    with airflow.client() as client:
        client.respond("hitl_dag", RUN, "review", ["Reject"])
    (patch,) = [r for r in airflow.requests if r.method == "PATCH"]
    assert json.loads(patch.content) == {
        "chosen_options": ["Reject"],
        "params_input": {"reason": "looks good"},
    }


@pytest.mark.parametrize(
    ("chosen", "params", "message"),
    [
        (["Maybe"], None, "'Maybe' is not offered .* the options offered are 'Approve', 'Reject'"),
        (["Approve", "Reject"], None, "2 options chosen, but .* takes exactly one of 'Approve', 'Reject'"),
        (["Approve"], {"colour": "red"}, "params: 'colour' not asked for .* its params are 'reason'"),
        ([], None, "chosen_options: expected one option or a list"),
    ],
)
def test_a_wrong_answer_is_refused_before_anything_is_written(
    chosen: list[str], params: dict[str, Any] | None, message: str
) -> None:
    airflow = Airflow(_answering(copy.deepcopy(PENDING)))
    with airflow.client() as client, pytest.raises(InvalidArgumentError, match=message):
        client.respond("hitl_dag", RUN, "review", chosen, params)
    assert all(method == "GET" for method, _ in airflow.sent())


def test_an_answered_request_says_who_answered_it() -> None:
    airflow = Airflow(_answering(copy.deepcopy(ANSWERED)))
    with airflow.client() as client, pytest.raises(AlreadyAnsweredError) as caught:
        client.respond("hitl_dag", RUN, "review", "Reject")
    assert "answered already by admin" in str(caught.value) and "['Approve']" in str(caught.value)
    assert caught.value.responded_by == "admin" and caught.value.chosen_options == ["Approve"]
    assert airflow.sent() == [("GET", DETAIL)]


def test_an_answer_that_lost_the_race_is_already_answered() -> None:
    state = copy.deepcopy(PENDING)

    def handler(request: httpx.Request) -> httpx.Response | None:
        if request.method == "PATCH":  # somebody else answered between the read and the answer
            state.update(copy.deepcopy(ANSWERED))
            return httpx.Response(409, json={"detail": "Human-in-the-loop detail has already been updated"})
        return httpx.Response(200, json=state)

    with Airflow(handler).client() as client, pytest.raises(AlreadyAnsweredError, match="by admin"):
        client.respond("hitl_dag", RUN, "review", "Reject")


def test_a_missing_request_is_a_clear_not_found() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            404, json={"detail": "Human-in-the-loop detail does not exist for Task Instance with id 01a2"}
        )

    with Airflow(handler).client() as client, pytest.raises(NotFoundError) as caught:
        client.respond("hitl_dag", RUN, "use_answer", "Approve")
    assert str(caught.value).startswith(
        f"No human-in-the-loop request of task 'use_answer' in DAG run '{RUN}' of DAG 'hitl_dag'"
    )
    assert caught.value.status == 404


def test_the_request_of_a_try() -> None:
    airflow = Airflow(lambda request: httpx.Response(200, json=ANSWERED))
    with airflow.client() as client:
        request = client.get_hitl_request_try("hitl_dag", RUN, "review", 1)
    assert request.chosen_options == ["Approve"]
    assert airflow.sent() == [("GET", f"{DETAIL}/tries/1")]


@pytest.mark.parametrize("version", ["2.10.5", "3.0.6"])
def test_an_older_server_gets_the_version_error_and_no_request(version: str) -> None:
    airflow = Airflow(lambda request: httpx.Response(200, json=PENDING), version=version)
    calls: list[Callable[[AirflowClient], Any]] = [
        lambda c: c.hitl_requests(),
        lambda c: c.list_hitl_requests("hitl_dag", RUN),
        lambda c: c.get_hitl_request("hitl_dag", RUN, "review"),
        lambda c: c.respond("hitl_dag", RUN, "review", "Approve"),
    ]
    with airflow.client() as client:
        for call in calls:
            with pytest.raises(
                UnsupportedFeatureError, match=r"human-in-the-loop requests need Airflow 3\.1\.0"
            ):
                call(client)
    assert airflow.sent() == []


def test_the_tries_need_airflow_3_2() -> None:
    airflow = Airflow(lambda request: httpx.Response(200, json=PENDING), version="3.1.8")
    with airflow.client() as client:
        assert client.get_hitl_request("hitl_dag", RUN, "review").pending
        with pytest.raises(
            UnsupportedFeatureError, match=r"tries need Airflow 3\.2\.0 or later.*runs Airflow 3\.1\.8"
        ):
            client.get_hitl_request_try("hitl_dag", RUN, "review", 1)
    assert airflow.sent() == [("GET", DETAIL)]


def _run(state: str) -> DagRun:
    return DagRun.model_validate({"dag_id": "hitl_dag", "dag_run_id": RUN, "state": state})


def _ti(state: str | None) -> TaskInstance:
    return TaskInstance.model_validate(
        {"dag_id": "hitl_dag", "dag_run_id": RUN, "task_id": "review", "state": state}
    )


def test_a_run_awaits_a_person_only_while_running_with_a_waiting_task() -> None:
    assert awaits_a_person("running", ["success", "awaiting_input"])
    assert awaits_a_person("running", ["deferred"])
    assert not awaits_a_person("running", ["running", None])
    assert not awaits_a_person("queued", ["awaiting_input"])


@pytest.mark.parametrize(
    ("version", "state", "tis", "asks"),
    [
        ("3.3.2", "running", [_ti("awaiting_input")], True),
        ("3.3.2", "running", None, False),  # a poll that did not read the task instances asks nothing
        ("3.3.2", "running", [_ti("running")], False),
        ("3.3.2", "success", None, False),
        ("3.0.6", "running", [_ti("deferred")], False),
        ("2.10.5", "running", [_ti("deferred")], False),
    ],
)
def test_a_wait_asks_for_the_request_only_when_it_may_be_there(
    version: str, state: str, tis: list[TaskInstance] | None, asks: bool
) -> None:
    def handler(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/hitlDetails"):
            return httpx.Response(200, json={"hitl_details": [PENDING], "total_entries": 1})
        return None

    airflow = Airflow(handler, version=version)
    with airflow.client() as client:
        found = client.execute(waiting_request(client, _run(state), tis))
    assert (found is not None) is asks
    assert len(airflow.sent()) == (1 if asks else 0)
    if asks:
        assert found is not None and found.subject == "Publish the weekly report?"


def test_a_failed_read_of_the_request_never_ends_a_wait() -> None:
    airflow = Airflow(lambda request: httpx.Response(503, json={"detail": "down"}))
    with airflow.client() as client:
        assert client.execute(waiting_request(client, _run("running"), [_ti("awaiting_input")])) is None
    assert len(airflow.sent()) == 1  # no retries for a display's read
