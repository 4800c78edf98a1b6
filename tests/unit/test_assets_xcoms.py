"""Assets, XComs, task tries and event logs on real response bodies (tests/samples/assets_xcoms),
served by ``httpx.MockTransport``: the requests sent (paths, filters, ``~`` for every run), the typed
models and frames, Airflow 2's dialect, the version errors and the argument errors, sync and async."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from kestra_airflow_sdk import AirflowClient, AsyncAirflowClient
from kestra_airflow_sdk.airflow import InvalidArgumentError, UnsupportedFeatureError
from kestra_airflow_sdk.airflow.asset_models import Asset
from kestra_airflow_sdk.transport.retry import NO_RETRY

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "assets_xcoms"
VERSIONS = {"v2": "3.3.2", "v1": "2.10.5"}
RUNS = ("xcom_run_2", "xcom_run_5")


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def error_sample(name: str) -> tuple[int, Any]:
    text, _, status = (SAMPLES / name).read_text().strip().rpartition("\nHTTP ")
    return int(status), json.loads(text)


class Airflow:
    """A fake server answering from the samples: ``routes`` maps (method, path) to a body, or to a
    function of the request; every request is recorded."""

    def __init__(self, api: str, routes: dict[tuple[str, str], Any], version: str | None = None) -> None:
        self.api = api
        self.version = version or VERSIONS[api]
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == f"/api/{self.api}/version":
            return httpx.Response(200, json={"version": self.version, "git_version": None})
        answer = self.routes.get((request.method, path.removeprefix(f"/api/{self.api}")))
        if answer is None:
            return httpx.Response(404, json={"detail": "Not Found"})
        if callable(answer):
            result: httpx.Response = answer(request)
            return result
        return httpx.Response(200, json=answer)

    def sent(self, method: str = "GET") -> list[httpx.Request]:
        """The requests of the API (not the version probe)."""
        return [r for r in self.requests if r.method == method and not r.url.path.endswith("/version")]


def call(mode: str, airflow: Airflow, method: str, *args: Any, **kwargs: Any) -> Any:
    """``client.<method>(*args, **kwargs)`` on the sync client, or awaited on the async one."""
    options: dict[str, Any] = {
        "token": "t",
        "api_version": airflow.api,
        "retry": NO_RETRY,
    }
    if mode == "sync":
        with AirflowClient(
            "http://airflow.test", transport=httpx.MockTransport(airflow), **options
        ) as client:
            return getattr(client, method)(*args, **kwargs)

    async def main() -> Any:
        async with AsyncAirflowClient(
            "http://airflow.test", transport=httpx.MockTransport(airflow), **options
        ) as client:
            return await getattr(client, method)(*args, **kwargs)

    return asyncio.run(main())


MODES = ["sync", "async"]
ENTRY = "/dags/xcom_dag/dagRuns/{run}/taskInstances/{task}/xcomEntries/return_value"


def xcom_airflow(api: str) -> Airflow:
    """Airflow (3.3.2 or 2.10.5) after two runs of ``xcom_dag``: the listing with ``~``, each value."""
    routes: dict[tuple[str, str], Any] = {
        ("GET", "/dags/xcom_dag/dagRuns/~/taskInstances/~/xcomEntries"): sample(f"{api}_xcom_entries.json"),
        ("GET", "/dags/xcom_dag/dagRuns"): sample("v1_xcom_dag_runs.json"),
    }
    entries = sample(f"{api}_xcom_entries.json")["xcom_entries"]
    # Airflow 2's entries name their run by execution date only
    dates = {r["execution_date"]: r["dag_run_id"] for r in sample("v1_xcom_dag_runs.json")["dag_runs"]}
    for run in RUNS:
        mine = [e for e in entries if e.get("run_id", dates.get(e.get("execution_date"))) == run]
        run_entries = {"xcom_entries": mine, "total_entries": len(mine)}
        routes[("GET", f"/dags/xcom_dag/dagRuns/{run}/taskInstances/~/xcomEntries")] = run_entries
        factor = int(run.rsplit("_", 1)[1])
        for task in ("extract", "total", "describe"):
            body = sample(f"{api}_xcom_{task}.json")  # recorded for xcom_run_5; the values of each run
            if task == "total":
                body = {**body, "value": 6 * factor}
            if task == "describe":
                body = {**body, "value": f"total {6 * factor}"}
            routes[("GET", ENTRY.format(run=run, task=task))] = body
    return Airflow(api, routes)


# ------------------------------------------------------------------ XComs


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("api", ["v2", "v1"])
def test_xcoms_of_every_run_are_one_listing_and_their_values_as_json(api: str, mode: str) -> None:
    airflow = xcom_airflow(api)
    frame = call(mode, airflow, "xcoms", "xcom_dag")
    assert list(frame["dag_run_id"]) == ["xcom_run_2"] * 3 + ["xcom_run_5"] * 3  # runs in the order due
    values = {(row.dag_run_id, row.task_id): row.value for row in frame.itertuples()}
    assert values[("xcom_run_2", "total")] == 12 and values[("xcom_run_5", "total")] == 30
    assert values[("xcom_run_5", "describe")] == "total 30"
    assert values[("xcom_run_2", "extract")] == {"orders": [1, 2, 3], "currency": "EUR"}
    assert set(frame["key"]) == {"return_value"} and set(frame["map_index"]) == {-1}
    assert str(frame["run_after"].dtype) == "datetime64[us, UTC]" and frame["run_after"].notna().all()
    assert str(frame["map_index"].dtype) == "Int64" and str(frame["task_id"].dtype) == "string"
    listings = [r for r in airflow.sent() if r.url.path.endswith("/xcomEntries")]
    assert len(listings) == 1 and "/dagRuns/~/taskInstances/~/" in listings[0].url.path
    assert listings[0].url.params["xcom_key"] == "return_value"
    reads = [r for r in airflow.sent() if r.url.path.endswith("/return_value")]
    assert len(reads) == 6 and all(r.url.params["stringify"] == "false" for r in reads)
    assert all(r.url.params["map_index"] == "-1" for r in reads)
    run_listings = [r for r in airflow.sent() if r.url.path.endswith("/dagRuns")]
    # Airflow 2's entries name their run by execution date: one listing of the runs names them
    assert len(run_listings) == (1 if api == "v1" else 0)


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_xcoms_of_a_list_of_runs_is_one_listing_per_run(api: str) -> None:
    airflow = xcom_airflow(api)
    frame = call("sync", airflow, "xcoms", "xcom_dag", ["xcom_run_5", "xcom_run_2", "xcom_run_5"])
    listings = sorted(r.url.path for r in airflow.sent() if r.url.path.endswith("/xcomEntries"))
    assert listings == [f"/api/{api}/dags/xcom_dag/dagRuns/{run}/taskInstances/~/xcomEntries" for run in RUNS]
    assert set(frame["dag_run_id"]) == set(RUNS) and len(frame) == 6


def test_an_empty_frame_has_the_columns_and_dtypes() -> None:
    airflow = Airflow(
        "v2",
        {
            ("GET", "/dags/xcom_dag/dagRuns/~/taskInstances/total/xcomEntries"): {
                "xcom_entries": [],
                "total_entries": 0,
            }
        },
    )
    frame = call("sync", airflow, "xcoms", "xcom_dag", task_id="total")
    assert frame.empty and list(frame.columns) == [
        "dag_id",
        "dag_run_id",
        "task_id",
        "map_index",
        "key",
        "value",
        "timestamp",
        "logical_date",
        "run_after",
    ]
    assert str(frame["timestamp"].dtype) == "datetime64[us, UTC]"


@pytest.mark.parametrize("mode", MODES)
def test_set_xcom_creates_and_updates_on_conflict(mode: str) -> None:
    status, conflict = error_sample("v2_409_xcom_exists.txt")
    base = "/dags/xcom_dag/dagRuns/xcom_run_2/taskInstances/extract/xcomEntries"
    created = sample("v2_xcom_created.json")
    airflow = Airflow(
        "v2",
        {
            ("POST", base): lambda r: (
                httpx.Response(status, json=conflict)
                if json.loads(r.content)["key"] == "obj"
                else httpx.Response(201, json=created)
            ),
            ("PATCH", f"{base}/obj"): sample("v2_xcom_updated.json"),
        },
    )
    updated = call(mode, airflow, "set_xcom", "xcom_dag", "xcom_run_2", "extract", "obj", {"b": 2})
    assert updated.value == {"b": 2} and updated.dag_run_id == "xcom_run_2" and updated.has_value
    (patch,) = airflow.sent("PATCH")
    assert json.loads(patch.content) == {"value": {"b": 2}, "map_index": -1}
    fresh = call(mode, airflow, "set_xcom", "xcom_dag", "xcom_run_2", "extract", "new", [1])
    assert fresh.value == {"a": [1, 2]}  # what the (recorded) server answered
    assert json.loads(airflow.sent("POST")[-1].content) == {"key": "new", "value": [1], "map_index": -1}


def test_writing_an_xcom_on_airflow_2_names_the_release() -> None:
    airflow = Airflow("v1", {})
    with pytest.raises(UnsupportedFeatureError, match=r"XCom writes need Airflow 3\.0\.0 or later.*2\.10\.5"):
        call("sync", airflow, "set_xcom", "xcom_dag", "xcom_run_2", "extract", "k", 1)
    assert airflow.sent("POST") == [] and airflow.sent("PATCH") == []


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "message"),
    [
        ("xcoms", ("xcom_dag",), {"run_id": ["ok", 3]}, r"run_id: expected non-empty run ids \(str\), got 3"),
        (
            "xcoms",
            ("xcom_dag",),
            {"run_id": 7},
            r"run_id: expected a run id, a list of run ids or None, got 7",
        ),
        ("xcoms", ("xcom_dag",), {"key": ""}, r"key: expected a non-empty XCom key \(str\) or None, got ''"),
        ("xcoms", ("",), {}, r"dag_id: expected a non-empty string, got ''"),
        ("xcoms", ("xcom_dag",), {"map_index": -2}, r"map_index: expected an integer >= -1"),
        ("xcoms", ("xcom_dag",), {"limit": -1}, r"limit: expected a non-negative integer, got -1"),
        ("get_xcom", ("xcom_dag", None, "total"), {}, r"dag_run_id: expected a non-empty string, got None"),
        (
            "set_xcom",
            ("xcom_dag", "xcom_run_2", "extract", "k", {1, 2}),
            {},
            r"value: must be JSON-serialisable",
        ),
        (
            "task_tries",
            ("retried_dag", "retried_1", "flaky"),
            {"map_index": "0"},
            r"map_index: expected an integer",
        ),
        ("event_logs", (), {"since": datetime(2026, 1, 1)}, r"since: got the naive datetime"),
        ("event_logs", (), {"event": ""}, r"event: expected a non-empty string or None, got ''"),
        ("asset_events", (True,), {}, r"asset: expected an asset id \(int >= 0\), an asset name or URI"),
        ("materialize", (-1,), {}, r"asset: expected an asset id \(int >= 0\).*got -1"),
        ("get_asset", ("",), {}, r"asset: expected .*got ''"),
        ("create_asset_event", ("kas_orders",), {"extra": ["x"]}, r"extra: expected a JSON object"),
    ],
)
def test_bad_arguments_name_the_argument_the_value_and_what_was_expected(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    airflow = Airflow("v2", {})
    with pytest.raises(InvalidArgumentError, match=message):
        call("sync", airflow, method, *args, **kwargs)
    assert airflow.requests == []  # checked before any request


# ------------------------------------------------------------------ assets


def asset_airflow() -> Airflow:
    assets = sample("v2_assets.json")

    def listing(request: httpx.Request) -> httpx.Response:
        pattern = request.url.params.get("name_pattern") or request.url.params.get("uri_pattern") or ""
        rows = [a for a in assets["assets"] if pattern.lower() in (a["name"] + a["uri"]).lower()]
        return httpx.Response(200, json={"assets": rows, "total_entries": len(rows)})

    return Airflow(
        "v2",
        {
            ("GET", "/assets"): listing,
            ("GET", "/assets/1"): assets["assets"][0],
            ("GET", "/assets/events"): sample("v2_asset_events.json"),
            ("POST", "/assets/events"): sample("v2_create_asset_event.json"),
            ("POST", "/assets/1/materialize"): sample("v2_materialize.json"),
        },
    )


@pytest.mark.parametrize("mode", MODES)
def test_the_assets_frame_has_the_dags_each_asset_schedules_and_that_produce_it(mode: str) -> None:
    frame = call(mode, asset_airflow(), "assets").set_index("name")
    orders = frame.loc["kas_orders"]
    assert orders["uri"] == "file:///tmp/kestra-airflow-sdk/orders.csv" and orders["group"] == "sdk-test"
    assert orders["scheduled_dags"] == ["asset_consumer_dag"]
    assert orders["producing_dags"] == ["asset_producer_dag"]
    assert orders["producing_tasks"] == ["asset_producer_dag.write_orders"]
    assert orders["last_event_at"] == pd.Timestamp("2026-12-07T15:45:02.756674Z")
    assert str(frame["asset_id"].dtype) == "Int64" and str(frame["created_at"].dtype) == "datetime64[us, UTC]"


@pytest.mark.parametrize("asset", ["kas_orders", "file:///tmp/kestra-airflow-sdk/orders.csv", 1])
def test_asset_events_of_one_asset_by_name_uri_or_id(asset: Any) -> None:
    airflow = asset_airflow()
    frame = call("sync", airflow, "asset_events", asset, since=datetime(2026, 12, 1, tzinfo=timezone.utc))
    (events,) = [r for r in airflow.sent() if r.url.path.endswith("/assets/events")]
    assert events.url.params["asset_id"] == "1" and events.url.params["order_by"] == "timestamp"
    assert events.url.params["timestamp_gte"] == "2026-12-01T00:00:00+00:00"
    assert list(frame["event_id"]) == [1, 2]
    runs = frame.loc[0, "created_dag_runs"]
    assert runs == [
        {
            "dag_id": "asset_consumer_dag",
            "dag_run_id": "asset_triggered__2026-12-07T15:43:47.031836+00:00_svSF2W7u",
            "state": "success",
            "triggering": True,
        }
    ]
    assert pd.isna(frame.loc[0, "source_dag_id"]) and frame.loc[1, "source_dag_id"] == "asset_producer_dag"


def test_an_unknown_asset_name_is_an_argument_error() -> None:
    with pytest.raises(InvalidArgumentError, match=r"asset: no asset named 'nope' or with that URI"):
        call("sync", asset_airflow(), "materialize", "nope")


@pytest.mark.parametrize("mode", MODES)
def test_create_asset_event_and_materialize(mode: str) -> None:
    airflow = asset_airflow()
    event = call(
        mode,
        airflow,
        "create_asset_event",
        Asset.model_validate(sample("v2_assets.json")["assets"][0]),
        extra={"from": "sdk"},
    )
    assert event.asset_id == 1 and event.extra == {"from": "sdk", "from_rest_api": True}
    (created,) = [r for r in airflow.sent("POST") if r.url.path.endswith("/assets/events")]
    assert json.loads(created.content) == {"asset_id": 1, "extra": {"from": "sdk"}}
    run = call(mode, airflow, "materialize", 1)
    assert run.dag_id == "asset_producer_dag" and run.run_type == "asset_materialization"
    assert str(run.state) == "queued"


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("assets", ()),
        ("asset_events", ()),
        ("create_asset_event", ("kas_orders",)),
        ("materialize", ("kas_orders",)),
        ("list_assets", ()),
    ],
)
def test_assets_on_airflow_2_name_the_release_before_any_request(method: str, args: tuple[Any, ...]) -> None:
    airflow = Airflow("v1", {})
    with pytest.raises(UnsupportedFeatureError) as caught:
        call("sync", airflow, method, *args)
    assert caught.value.since == "3.0.0" and caught.value.server_version == "2.10.5"
    assert "assets need Airflow 3.0.0 or later" in str(caught.value)
    assert airflow.sent() == airflow.sent("POST") == []


# ------------------------------------------------------------------ task tries and event logs


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("api", ["v2", "v1"])
def test_task_tries_frame_has_one_row_per_try(api: str, mode: str) -> None:
    path = "/dags/retried_dag/dagRuns/retried_1/taskInstances/flaky/tries"
    airflow = Airflow(api, {("GET", path): sample(f"{api}_task_tries.json")})
    frame = call(mode, airflow, "task_tries", "retried_dag", "retried_1", "flaky")
    assert list(frame["try_number"]) == [1, 2] and list(frame["state"].astype(str)) == ["failed", "success"]
    assert str(frame["duration"].dtype) == "timedelta64[us]" and (frame["duration"] > pd.Timedelta(0)).all()


def test_the_tries_of_a_mapped_task_on_airflow_2_use_the_map_index_path() -> None:
    path = "/dags/retried_dag/dagRuns/retried_1/taskInstances/flaky/3/tries"
    airflow = Airflow("v1", {("GET", path): sample("v1_task_tries.json")})
    call("sync", airflow, "task_tries", "retried_dag", "retried_1", "flaky", map_index=3)
    assert [r.url.path for r in airflow.sent()] == [f"/api/v1{path}"]


def test_task_tries_on_airflow_2_9_name_the_release() -> None:
    airflow = Airflow("v1", {}, version="2.9.3")
    with pytest.raises(UnsupportedFeatureError, match=r"task-instance tries need Airflow 2\.10\.0"):
        call("sync", airflow, "task_tries", "retried_dag", "retried_1", "flaky")
    assert airflow.sent() == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("api", ["v2", "v1"])
def test_event_logs_frame_with_the_filters_sent_to_airflow(api: str, mode: str) -> None:
    airflow = Airflow(api, {("GET", "/eventLogs"): sample(f"{api}_event_logs.json")})
    since = datetime(2026, 12, 7, tzinfo=timezone.utc)
    frame = call(mode, airflow, "event_logs", "xcom_dag", since=since, event="success")
    (request,) = airflow.sent()
    params = request.url.params
    assert (params["dag_id"], params["event"], params["after"]) == ("xcom_dag", "success", since.isoformat())
    assert params["order_by"] == "event_log_id"
    body = sample(f"{api}_event_logs.json")
    assert len(frame) == body["total_entries"] == len(body["event_logs"])
    assert list(frame["event_log_id"]) == sorted(e["event_log_id"] for e in body["event_logs"])
    assert str(frame["when"].dtype) == "datetime64[us, UTC]" and frame["when"].notna().all()
    assert set(frame["dag_id"]) == {"xcom_dag"} and "success" in set(frame["event"])


def test_xcom_values_are_read_a_few_at_a_time() -> None:
    """200 entries: their values are read concurrently, never more than the client's connections."""
    listing = "/api/v2/dags/xcom_dag/dagRuns/~/taskInstances/~/xcomEntries"
    entry = sample("v2_xcom_entries.json")["xcom_entries"][0]
    entries = [{**entry, "run_id": f"run_{i}"} for i in range(200)]
    value = sample("v2_xcom_total.json")
    in_flight, peak = 0, 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        if request.url.path == "/api/v2/version":
            return httpx.Response(200, json={"version": "3.3.2"})
        if request.url.path == listing:
            return httpx.Response(200, json={"xcom_entries": entries, "total_entries": len(entries)})
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)  # let the other reads in flight start
        in_flight -= 1
        return httpx.Response(200, json={**value, "run_id": request.url.path.split("/")[6]})

    async def main() -> pd.DataFrame:
        async with AsyncAirflowClient(
            "http://airflow.test",
            token="t",
            max_connections=3,
            transport=httpx.MockTransport(handler),
        ) as client:
            frame: pd.DataFrame = await client.xcoms("xcom_dag")
            return frame

    frame = asyncio.run(main())
    assert len(frame) == 200 and set(frame["dag_run_id"]) == {f"run_{i}" for i in range(200)}
    assert set(frame["value"]) == {30}
    assert peak == 3  # concurrent, and within max_connections
