"""Backfills against an httpx.MockTransport fed with real Airflow 3.3.2 bodies (tests/samples/v2_backfill*):
argument checks before any request, the version gate, the dry-run and list frames, the handle's
operations, the 503 of a locked SQLite retried, the runs of a backfill told apart, and a wait with
progress in virtual time, on the sync and the async client."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from kestra_airflow_sdk import (
    AsyncAirflowClient,
    ConflictError,
    InvalidArgumentError,
    UnsupportedFeatureError,
)
from kestra_airflow_sdk.airflow import AirflowBackfill, ApiError, BackfillState, ReprocessBehavior
from kestra_airflow_sdk.display import Backfill, RunProgress
from kestra_airflow_sdk.history.backfill_frames import BACKFILL_DRY_RUN, BACKFILLS
from kestra_airflow_sdk.history.schemas import DAG_RUNS
from tests.virtual_time import VirtualTimeClient, run_virtual

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
UTC = timezone.utc
START, END = datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 2, 3, tzinfo=UTC)


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def error_sample(name: str) -> httpx.Response:
    """A ``.txt`` error sample: the body, then an ``HTTP <status>`` line."""
    body, status = (SAMPLES / name).read_text().rstrip().rsplit("\n", 1)
    return httpx.Response(
        int(status.split()[1]), content=body.encode(), headers={"content-type": "application/json"}
    )


class FakeAirflow:
    """Airflow 3.3.2 (or 2.10.5) answering the backfill endpoints with the real bodies.

    The backfill's three runs are ``running`` until ``10 * (i + 1)`` virtual seconds after the
    first poll of the runs, then ``success``; ``now`` reads the driver's clock.
    """

    def __init__(self, now: Callable[[], float], version: str = "3.3.2") -> None:
        self.now = now
        self.version = version
        self.requests: list[httpx.Request] = []
        self.posts: list[httpx.Response] = []  # answers of POST /backfills, in turn (then: created)
        self.created = sample("v2_backfill_created.json")
        self.runs = sample("v2_backfill_runs.json")["dag_runs"]
        self.started: float | None = None

    def paths(self, method: str = "") -> list[str]:
        return [r.url.path for r in self.requests if not method or r.method == method]

    def bodies(self, path: str) -> list[Any]:
        return [json.loads(r.content) for r in self.requests if r.url.path == path and r.content]

    def run_states(self) -> list[dict[str, Any]]:
        if self.started is None:
            self.started = self.now()
        elapsed = self.now() - self.started
        out = []
        for index, run in enumerate(self.runs):
            row = copy.deepcopy(run)
            if elapsed >= 10 * (index + 1):
                row.update(state="success", end_date="2026-12-07T15:47:00Z")
            out.append(row)
        return out

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path, method = request.url.path, request.method
        if path.endswith("/version"):
            api = "/api/v2" if self.version.startswith("3") else "/api/v1"
            if path.startswith(api):
                return httpx.Response(200, json={"version": self.version, "git_version": None})
            return httpx.Response(404, json={"detail": "Not Found"})
        if path == "/api/v2/backfills/dry_run":
            return httpx.Response(200, json=sample("v2_backfill_dry_run.json"))
        if path == "/api/v2/backfills" and method == "POST":
            return self.posts.pop(0) if self.posts else httpx.Response(200, json=self.created)
        if path == "/api/v2/backfills":
            listed = sample("v2_backfills_list.json")
            if request.url.params.get("dag_id") != "backfill_dag":
                listed = {"backfills": [], "total_entries": 0}
            return httpx.Response(200, json=listed)
        if path == "/api/v2/backfills/1":
            return httpx.Response(200, json=self.created)
        if path.startswith("/api/v2/backfills/1/") and method == "PUT":
            verb = path.rsplit("/", 1)[1]
            changed = {
                "pause": {"is_paused": True},
                "unpause": {"is_paused": False},
                "cancel": {"is_paused": True, "completed_at": "2026-12-07T15:47:10.5Z"},
            }[verb]
            return httpx.Response(200, json={**self.created, **changed})
        if path == "/api/v2/dags":
            return httpx.Response(
                200, json={"dags": [{"dag_id": "backfill_dag"}, {"dag_id": "other_dag"}], "total_entries": 2}
            )
        if path == "/api/v2/dags/backfill_dag/dagRuns":
            rows = self.run_states()
            wanted = request.url.params.get_list("state")
            if wanted:
                rows = [r for r in rows if r["state"] in wanted]
            return httpx.Response(
                200, json={"dag_runs": rows, "total_entries": len(rows), "next_cursor": None}
            )
        if path.startswith("/api/v2/dags/backfill_dag/dagRuns/") and path.endswith("/taskInstances"):
            return httpx.Response(200, json={"task_instances": [], "total_entries": 0})
        if path.startswith("/api/v2/dags/backfill_dag/dagRuns/"):
            run_id = path.rsplit("/", 1)[1]
            return httpx.Response(200, json=next(r for r in self.run_states() if r["dag_run_id"] == run_id))
        return httpx.Response(404, json={"detail": f"unexpected {method} {path}"})


def sync_client(version: str = "3.3.2") -> tuple[VirtualTimeClient, FakeAirflow]:
    holder: list[VirtualTimeClient] = []
    fake = FakeAirflow(lambda: holder[0].clock.now, version)
    client = VirtualTimeClient("http://airflow.test", token="t", transport=httpx.MockTransport(fake))
    holder.append(client)
    return client, fake


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"start": datetime(2024, 2, 1)}, "start: got the naive datetime 2024-02-01T00:00:00"),
        ({"end": datetime(2024, 2, 3)}, "end: got the naive datetime 2024-02-03T00:00:00"),
        (
            {"start": END, "end": START},
            "start: 2024-02-03T00:00:00+00:00 is after end 2024-02-01T00:00:00+00:00",
        ),
        ({"reprocess": "all"}, "reprocess: expected 'none' (only dates without a run), 'failed'"),
        ({"max_active_runs": 0}, "max_active_runs: expected an integer >= 1, got 0"),
        ({"conf": ["a"]}, "conf: expected a JSON object (a dict), got list"),
        ({"dry_run": "yes"}, "dry_run: expected True or False, got 'yes'"),
        ({"dag_id": ""}, "dag_id: expected a non-empty string, got ''"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(arguments: dict[str, Any], named: str) -> None:
    client, fake = sync_client()
    call = {"dag_id": "backfill_dag", "start": START, "end": END, **arguments}
    with client, pytest.raises(InvalidArgumentError) as caught:
        client.backfill(call.pop("dag_id"), call.pop("start"), call.pop("end"), **call)
    assert named in str(caught.value)
    assert fake.requests == []
    if "reprocess" in arguments:
        assert "got 'all'" in str(caught.value) and "'completed' (every finished run too)" in str(
            caught.value
        )


@pytest.mark.parametrize("bad", [-1, "3", True])
def test_a_bad_backfill_id_is_refused(bad: Any) -> None:
    client, fake = sync_client()
    with client, pytest.raises(InvalidArgumentError, match="backfill_id: expected a backfill id"):
        client.get_backfill(bad)
    assert fake.requests == []


def test_airflow_2_gets_the_version_error_and_no_backfill_request() -> None:
    client, fake = sync_client("2.10.5")
    with client:
        for call in (
            lambda: client.backfill("backfill_dag", START, END),
            lambda: client.backfill("backfill_dag", START, END, dry_run=False),
            lambda: client.backfills(),
            lambda: client.cancel_backfill(1),
        ):
            with pytest.raises(UnsupportedFeatureError) as caught:
                call()
            assert str(caught.value).startswith("backfills need Airflow 3.0.0 or later")
            assert "runs Airflow 2.10.5" in str(caught.value)
            assert (caught.value.feature, caught.value.since) == ("backfills", "3.0.0")
    assert all(path.endswith("/version") for path in fake.paths())


# --------------------------------------------------------------------------- frames and the handle


def test_a_dry_run_is_a_typed_frame_of_the_dates_and_creates_nothing() -> None:
    client, fake = sync_client()
    with client:
        frame = client.backfill(
            "backfill_dag", START, END, conf={"source": "sdk"}, reprocess=ReprocessBehavior.FAILED
        )
    assert list(frame.columns) == BACKFILL_DRY_RUN.names
    assert frame.dtypes.to_dict() == BACKFILL_DRY_RUN.dtypes
    assert list(frame["logical_date"]) == [pd.Timestamp(f"2024-01-0{d}", tz="UTC") for d in (1, 2, 3)]
    assert set(frame["dag_id"]) == {"backfill_dag"}
    (body,) = fake.bodies("/api/v2/backfills/dry_run")
    assert body == {
        "dag_id": "backfill_dag",
        "from_date": "2024-02-01T00:00:00+00:00",
        "to_date": "2024-02-03T00:00:00+00:00",
        "run_backwards": False,
        "reprocess_behavior": "failed",
        "max_active_runs": 10,
        "dag_run_conf": {"source": "sdk"},
    }
    assert "/api/v2/backfills" not in fake.paths("POST")


def test_creating_returns_a_handle_and_its_operations_follow_airflow() -> None:
    client, fake = sync_client()
    with client:
        backfill = client.backfill("backfill_dag", START, END, dry_run=False, max_active_runs=2)
        assert isinstance(backfill, Backfill)
        assert (backfill.id, backfill.dag_id, backfill.state) == (1, "backfill_dag", BackfillState.RUNNING)
        assert backfill.from_date == START and backfill.to_date == END
        assert repr(backfill) == (
            "Backfill(id=1, dag_id='backfill_dag', 2024-02-01T00:00:00+00:00 .. 2024-02-03T00:00:00+00:00, "
            "state='running')"
        )
        assert 'class="ka-backfill"' in backfill._repr_html_()
        paused = backfill.pause()
        assert (paused.state, paused.is_paused) == (BackfillState.PAUSED, True)
        assert paused.unpause().state is BackfillState.RUNNING
        cancelled = backfill.cancel()
        assert cancelled.state is BackfillState.COMPLETED and cancelled.completed_at is not None
        assert backfill.refresh().info == backfill.info
    assert fake.bodies("/api/v2/backfills")[0]["max_active_runs"] == 2
    assert [p for p in fake.paths("PUT")] == [
        f"/api/v2/backfills/1/{v}" for v in ("pause", "unpause", "cancel")
    ]


def test_backfills_frame_of_every_dag() -> None:
    client, fake = sync_client()
    with client:
        frame = client.backfills()
        models = client.list_backfills("backfill_dag")
    assert list(frame.columns) == BACKFILLS.names and frame.dtypes.to_dict() == BACKFILLS.dtypes
    assert frame["id"].tolist() == [1] and frame["state"].tolist() == ["running"]
    assert frame["reprocess_behavior"].tolist() == ["none"] and bool(frame["is_paused"][0]) is False
    assert models == [AirflowBackfill.model_validate(sample("v2_backfills_list.json")["backfills"][0])]
    asked = sorted(r.url.params["dag_id"] for r in fake.requests if r.url.path == "/api/v2/backfills")
    assert asked == ["backfill_dag", "backfill_dag", "other_dag"]  # every DAG once, then the one


def test_a_conflict_says_another_backfill_runs() -> None:
    client, fake = sync_client()
    fake.posts.append(error_sample("v2_backfill_409_running.txt"))
    with (
        client,
        pytest.raises(ConflictError, match="There is already a running backfill for dag backfill_dag"),
    ):
        client.create_backfill("backfill_dag", START, END)


def test_a_locked_sqlite_503_is_tried_again_with_backoff() -> None:
    client, fake = sync_client()
    fake.posts.extend([error_sample("v2_backfill_503_locked.txt")] * 2)
    with client:
        created = client.create_backfill("backfill_dag", START, END)
    assert created.id == 1
    assert fake.paths("POST").count("/api/v2/backfills") == 3
    assert len(client.clock.sleeps) == 2 and all(s > 0 for s in client.clock.sleeps)


def test_a_dates_422_names_what_airflow_refused() -> None:
    client, fake = sync_client()
    fake.posts.append(error_sample("v2_backfill_422_dates.txt"))
    with client, pytest.raises(ApiError, match="must not be after to_date") as caught:
        client.create_backfill("backfill_dag", START, END)
    assert caught.value.status == 422


def test_the_runs_of_a_backfill_are_its_dates_queued_after_it_was_created() -> None:
    client, fake = sync_client()
    older = copy.deepcopy(fake.runs[0])  # a run of an earlier backfill of the same date
    older.update(dag_run_id="backfill__older", queued_at="2026-12-07T15:40:00Z")
    scheduled = copy.deepcopy(fake.runs[1])
    scheduled.update(dag_run_id="scheduled__x", run_type="scheduled")
    fake.runs = [older, *fake.runs, scheduled]
    with client:
        runs = client.list_backfill_runs(1)
        frame = client.backfill_runs(1)
    assert [r.dag_run_id for r in runs] == [f"backfill__2024-02-0{d}T00:00:00+00:00" for d in (1, 2, 3)]
    assert list(frame.columns) == DAG_RUNS.names and frame["dag_run_id"].tolist() == [
        r.dag_run_id for r in runs
    ]
    (listing,) = [r for r in fake.requests if r.url.path == "/api/v2/dags/backfill_dag/dagRuns"][:1]
    assert listing.url.params.get_list("run_type") == ["backfill"]
    assert listing.url.params["logical_date_gte"] == "2024-02-01T00:00:00+00:00"
    assert listing.url.params["logical_date_lte"] == "2024-02-03T00:00:00+00:00"


def test_a_later_backfill_takes_over_the_runs_it_queued_again() -> None:
    client, fake = sync_client()
    later = {**fake.created, "id": 2, "created_at": "2026-12-07T15:46:03.25Z"}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v2/backfills" and request.method == "GET":
            return httpx.Response(200, json={"backfills": [fake.created, later], "total_entries": 2})
        return fake(request)

    client = VirtualTimeClient("http://airflow.test", token="t", transport=httpx.MockTransport(answer))
    with client:
        runs = client.list_backfill_runs(1)
    assert [r.dag_run_id for r in runs] == ["backfill__2024-02-01T00:00:00+00:00"]


# --------------------------------------------------------------------------- waiting, with progress


def test_wait_follows_every_run_to_its_end_in_virtual_time() -> None:
    client, _ = sync_client()
    progress = RunProgress("off")
    with client:
        backfill = client.backfill("backfill_dag", START, END, dry_run=False)
        final = backfill.wait(progress=progress, poll_frequency=5)
        frame = backfill.runs()
    assert [str(r.state) for r in final] == ["success"] * 3
    assert [s.state for s in progress.snapshots] == ["success"] * 3 and progress.closed
    assert 30 <= client.clock.now <= 35  # the last run ends 30 s in; polled every 5 s
    assert frame["state"].tolist() == ["success"] * 3


def test_the_async_client_awaits_the_same_handle() -> None:
    async def main() -> tuple[list[Any], Any, float]:
        fake = FakeAirflow(lambda: asyncio.get_running_loop().time())
        async with AsyncAirflowClient(
            "http://airflow.test", token="t", transport=httpx.MockTransport(fake)
        ) as client:
            frame = await client.backfill("backfill_dag", START, END)
            backfill = await client.backfill("backfill_dag", START, END, dry_run=False)
            started = asyncio.get_running_loop().time()
            final = await backfill.wait(progress=False, poll_frequency=5)
            waited = asyncio.get_running_loop().time() - started
            cancelled = await backfill.cancel()
            return [frame, final], cancelled, waited

    (frame, final), cancelled, waited = run_virtual(main())
    assert len(frame) == 3
    assert [str(r.state) for r in final] == ["success"] * 3
    assert cancelled.state is BackfillState.COMPLETED
    assert timedelta(seconds=waited) >= timedelta(seconds=30)


def test_the_handle_wants_a_client_and_a_backfill() -> None:
    with pytest.raises(InvalidArgumentError, match="client: expected an AirflowClient"):
        Backfill(object(), AirflowBackfill(id=1, dag_id="d"))  # type: ignore[arg-type]
    client, _ = sync_client()
    with client, pytest.raises(InvalidArgumentError, match="info: expected an AirflowBackfill"):
        Backfill(client, {"id": 1})  # type: ignore[arg-type]


def test_a_cancelled_backfill_is_completed_and_paused() -> None:
    cancelled = AirflowBackfill.model_validate(sample("v2_backfill_cancelled.json"))
    assert (cancelled.state, cancelled.is_paused, cancelled.dag_run_conf) == (
        BackfillState.COMPLETED,
        True,
        {},
    )
    assert cancelled.completed_at == datetime(2026, 12, 7, 16, 11, 57, 298766, tzinfo=UTC)


def test_pausing_a_completed_backfill_is_a_conflict() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return error_sample("v2_backfill_409_completed.txt")
        return httpx.Response(200, json={"version": "3.3.2", "git_version": None})

    with (
        VirtualTimeClient("http://airflow.test", token="t", transport=httpx.MockTransport(answer)) as client,
        pytest.raises(
            ConflictError, match=r"Pausing backfill 2 failed: Airflow answered 409 .*already completed"
        ),
    ):
        client.pause_backfill(2)
