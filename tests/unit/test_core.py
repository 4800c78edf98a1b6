"""Core behaviour on a fake transport: pagination, version probing, auth, argument validation."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from kestra_airflow_sdk import AirflowClient, AsyncAirflowClient
from kestra_airflow_sdk.airflow import InvalidArgumentError
from kestra_airflow_sdk.airflow.auth import AirflowPasswordAuth, BearerTokenAuth
from tests.fake_airflow import FakeAirflow, make_runs
from tests.virtual_time import VirtualTimeClient


def client_for(fake: FakeAirflow, **kwargs: object) -> AirflowClient:
    return AirflowClient(
        "http://airflow.test", username="admin", password="s3cret-pw", transport=fake.transport(), **kwargs
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_pagination_survives_a_silent_page_clamp(api: str) -> None:
    fake = FakeAirflow(api=api, max_page=3, runs=make_runs(10))
    runs = client_for(fake).list_dag_runs("d")
    assert [r.dag_run_id for r in runs] == [f"r{i}" for i in range(10)]
    pages = [r.url.params for r in fake.requests if r.url.path.endswith("/dagRuns")]
    if api == "v2":  # the first page asks for a cursor; this server ignores it, so offsets follow
        assert pages[0]["cursor"] == "" and "offset" not in pages[0]
    assert sorted(int(p.get("offset", 0)) for p in pages) == [0, 3, 6, 9]  # advanced by what was received


def test_cursor_pagination_is_used_when_offered() -> None:
    fake = FakeAirflow(api="v2", max_page=4, runs=make_runs(10), cursor=True)
    runs = client_for(fake).list_dag_runs("d", limit=9)
    assert [r.dag_run_id for r in runs] == [f"r{i}" for i in range(9)]
    page_requests = [r for r in fake.requests if r.url.path.endswith("/dagRuns")]
    assert [r.url.params["cursor"] for r in page_requests] == ["", "4", "8"]
    assert all("offset" not in r.url.params for r in page_requests)


def test_version_is_probed_once_and_v2_first() -> None:
    fake = FakeAirflow(api="v1")
    client = client_for(fake)
    client.list_dag_runs("d")
    client.list_dag_runs("d")
    probes = [r.url.path for r in fake.requests if r.url.path.endswith("/version")]
    assert probes == ["/api/v2/version", "/api/v1/version"]
    assert client.api_version == "v1" and client.server_version == "2.10.5"


def test_expired_jwt_is_refreshed_once() -> None:
    fake = FakeAirflow(api="v2", runs=make_runs(1))
    client = client_for(fake)
    client.list_dag_runs("d")
    assert fake.logins == 1
    fake.valid_tokens = {"something-else"}  # the token "expired": Airflow 3 answers 403
    client.list_dag_runs("d")
    assert fake.logins == 2
    assert [p for p in fake.paths if p.endswith("/dagRuns")] == [
        "/api/v2/dags/d/dagRuns"
    ] * 3  # 1, then rejected + retried


def test_v2_trigger_body_always_has_logical_date() -> None:
    fake = FakeAirflow(api="v2")
    client_for(fake).trigger_dag_run("d", conf={"a": 1})
    (post,) = [r for r in fake.requests if r.method == "POST" and r.url.path.endswith("/dagRuns")]
    body = json.loads(post.content)
    assert body.pop("dag_run_id").startswith("manual__")  # the client chooses the run id (exactly-once)
    assert body == {"logical_date": None, "conf": {"a": 1}}


def test_v1_trigger_body_has_no_null_logical_date() -> None:
    fake = FakeAirflow(api="v1")
    client_for(fake).trigger_dag_run("d", conf={"a": 1}, dag_run_id="mine")
    (post,) = [r for r in fake.requests if r.method == "POST" and r.url.path.endswith("/dagRuns")]
    assert json.loads(post.content) == {"dag_run_id": "mine", "conf": {"a": 1}}


def test_async_client_runs_the_same_operations() -> None:
    fake = FakeAirflow(api="v2", max_page=2, runs=make_runs(5))

    async def main() -> list[str]:
        transport = httpx.MockTransport(fake.handle)
        async with AsyncAirflowClient(
            "http://airflow.test", username="admin", password="pw", transport=transport
        ) as client:
            return [r.dag_run_id for r in await client.list_dag_runs("d")]

    assert asyncio.run(main()) == [f"r{i}" for i in range(5)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": "localhost:8080"}, r"base_url: expected an http\(s\) URL"),
        ({"base_url": ""}, "base_url"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"base_url": "http://u:topsecret@host"}, "must not contain credentials"),
        ({"base_url": "http://h", "api_version": "v3"}, "api_version: expected 'auto', 'v1' or 'v2'"),
        ({"base_url": "http://h", "username": "u"}, "both are needed"),
        ({"base_url": "http://h", "username": "u", "password": "p", "token": "t"}, "only one of"),
        ({"base_url": "http://h/api/v1", "api_version": "v2"}, "contradicts base_url"),
    ],
)
def test_constructor_rejects_bad_input(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message) as err:
        AirflowClient(**kwargs)  # type: ignore[arg-type]
    assert "topsecret" not in str(err.value)


def test_base_url_is_normalised() -> None:
    client = AirflowClient("http://host:8080/api/v2/")
    assert client.base_url == "http://host:8080"
    assert client.api_version == "v2"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.trigger_dag_run("d", conf=[1, 2]), "conf: expected a JSON object"),
        (lambda c: c.trigger_dag_run("d", conf={"x": float("nan")}), "conf: must be JSON-serialisable"),
        (lambda c: c.trigger_dag_run("d", logical_date=datetime(2024, 1, 1)), "logical_date: got the naive"),
        (lambda c: c.trigger_dag_run(""), "dag_id: expected a non-empty string"),
        (lambda c: c.wait_for_dag_run("d", "r", poll_frequency=0), "poll_frequency"),
        (
            lambda c: c.set_dag_run_state("d", "r", "running"),
            "state: expected 'success', 'failed' or 'queued'",
        ),
        (lambda c: c.list_dag_runs("d", limit=-1), "limit"),
    ],
)
def test_bad_arguments_fail_before_any_request(call, message: str) -> None:  # type: ignore[no-untyped-def]
    fake = FakeAirflow(api="v1")
    client = client_for(fake)
    with pytest.raises(InvalidArgumentError, match=message):
        call(client)
    if "limit" not in message:  # limit is checked after the (cached) version probe
        assert fake.requests == []


def test_secrets_stay_out_of_reprs() -> None:
    client = AirflowClient("http://h", username="admin", password="s3cret-pw")
    assert "s3cret-pw" not in repr(client)
    auth = AirflowPasswordAuth("admin", "s3cret-pw", root_url="http://h")
    assert "s3cret-pw" not in repr(auth)
    assert "tok-s3cret" not in repr(AirflowClient("http://h", token="tok-s3cret"))
    assert "tok-s3cret" not in repr(BearerTokenAuth("tok-s3cret"))


def test_method_signatures_are_the_same_on_both_clients() -> None:
    import inspect

    sync_client, async_client = AirflowClient("http://h"), AsyncAirflowClient("http://h")
    names = [n for n in dir(sync_client) if not n.startswith("_") and callable(getattr(sync_client, n))]
    assert {"trigger_dag_run", "wait_for_dag_run", "list_dag_runs", "get_task_log", "get_version"} <= set(
        names
    )
    async_names = {
        n for n in dir(async_client) if not n.startswith("_") and callable(getattr(async_client, n))
    }
    # the sync client closes with close(), the async one with aclose(), as in httpx
    assert set(names) - {"close"} == async_names - {"aclose"}
    assert "close" in names and "aclose" not in names
    assert "aclose" in async_names and "close" not in async_names
    # the request core's building blocks are not part of a client's surface: only its operations are
    assert not {"send", "call", "dialect", "build_request"} & (set(names) | async_names)
    for name in names:
        if name == "close":
            continue
        assert inspect.signature(getattr(sync_client, name)) == inspect.signature(
            getattr(async_client, name)
        ), name


def test_transport_is_the_seam_and_must_match_the_driver() -> None:
    fake = FakeAirflow(api="v1", runs=make_runs(2))
    with AirflowClient(
        "http://airflow.test", username="a", password="b", transport=fake.transport()
    ) as client:
        assert client.get_version().version == "2.10.5"
    assert fake.paths[:2] == ["/api/v2/version", "/api/v1/version"]  # the probe went through the fake

    class Sync(httpx.BaseTransport):  # (httpx.MockTransport is both kinds)
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return fake.handle(request)

    with pytest.raises(InvalidArgumentError, match=r"transport: expected an httpx\.AsyncBaseTransport"):
        AsyncAirflowClient("http://airflow.test", transport=Sync())

    class Async(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return fake.handle(request)

    with pytest.raises(InvalidArgumentError, match=r"transport: expected an httpx\.BaseTransport"):
        AirflowClient("http://airflow.test", transport=Async())  # type: ignore[arg-type]


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_the_fake_replays_recorded_polls_of_a_real_run(api: str) -> None:
    """The one fake also serves runs recorded from real Airflow, poll by poll, with their task instances."""
    polls = json.loads(
        (Path(__file__).resolve().parents[1] / "samples" / f"{api}_progress_polls.json").read_text()
    )
    fake = FakeAirflow(api=api)
    run = fake.replay(polls)
    seen = []
    with VirtualTimeClient(  # the final wait polls on a virtual clock
        "http://airflow.test", username="a", password="b", transport=fake.transport()
    ) as client:
        for _ in polls:
            state = client.get_dag_run(run.dag_id, run.run_id).state
            tis = client.list_task_instances(run.dag_id, run.run_id)
            seen.append((state, [ti.task_id for ti in tis]))
        final = client.wait_for_dag_run(run.dag_id, run.run_id, poll_frequency=5.0, timeout=600.0)
    expected = [
        (p["dag_run"]["state"], [t["task_id"] for t in p["task_instances"]["task_instances"]]) for p in polls
    ]
    assert [(str(s), t) for s, t in seen] == expected
    assert str(final.state) == polls[-1]["dag_run"]["state"]
