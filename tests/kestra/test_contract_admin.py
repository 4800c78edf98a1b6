"""Flows, the KV store and namespace files against the Prism mock of Kestra's 2.0 spec (see
test_contract.py): every request the SDK sends must conform, and the SDK must read the spec's answers.
Real answers (1.3 and 2.0) are tested in test_admin.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kestra_airflow_sdk import AsyncKestraServer
from kestra_airflow_sdk.kestra import KestraApiError, NamespaceFile, StoredFlow
from kestra_airflow_sdk.kestra.flow_admin import flows_schema
from kestra_airflow_sdk.storage import KVEntry
from tests.kestra.test_contract import Awaited, Recording, RecordingAsync, _conformant, recording, server
from tests.virtual_time import run_virtual

__all__ = ["recording", "server"]  # the fixtures of test_contract.py, used here


class AwaitedView:
    """``server.kv(ns)`` / ``server.files(ns)`` of an :class:`Awaited` server: each call awaited on a
    virtual-time loop with an :class:`AsyncKestraServer` opened on it."""

    def __init__(self, awaited: Awaited, kind: str, namespace: str) -> None:
        self.awaited, self.kind, self.namespace = awaited, kind, namespace

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            async def main() -> Any:
                async with AsyncKestraServer(
                    self.awaited.url,
                    username="admin@kestra.io",
                    password="Admin1234",
                    transport=RecordingAsync(self.awaited.recording),
                    version="2.0",
                ) as async_server:
                    return await getattr(getattr(async_server, self.kind)(self.namespace), name)(
                        *args, **kwargs
                    )

            return run_virtual(main())

        return call


def view(server: Any, kind: str, namespace: str = "company.team") -> Any:
    """The ``kind`` view (``"kv"`` or ``"files"``) of ``namespace`` on the sync or async server."""
    return (
        AwaitedView(server, kind, namespace)
        if isinstance(server, Awaited)
        else getattr(server, kind)(namespace)
    )


def test_listing_a_namespaces_flows(server: Any, recording: Recording) -> None:
    frame = server.flows("company.team")
    _conformant(recording)
    assert list(frame.columns) == flows_schema().names and len(frame) >= 1
    [(request, _)] = recording.exchanges
    assert (request.method, request.url.path) == ("GET", "/api/v1/main/flows/company.team")


def test_reading_deleting_enabling_and_disabling_flows(server: Any, recording: Recording) -> None:
    stored = server.get_flow(("company.team", "etl"), revision=2)
    assert isinstance(stored, StoredFlow)
    assert server.delete_flow(("company.team", "etl")) is None
    assert isinstance(server.enable_flows([("company.team", "etl"), ("company.team", "reports")]), int)
    assert isinstance(server.disable_flows(("company.team", "etl")), int)
    _conformant(recording)
    sent = [(r.method, r.url.path) for r, _ in recording.exchanges]
    assert sent == [
        ("GET", "/api/v1/main/flows/company.team/etl"),
        ("DELETE", "/api/v1/main/flows/company.team/etl"),
        ("POST", "/api/v1/main/flows/enable/by-ids"),
        ("POST", "/api/v1/main/flows/disable/by-ids"),
    ]
    assert recording.exchanges[0][0].url.params["source"] == "true"


def test_kv_get_set_delete(server: Any, recording: Recording) -> None:
    kv = view(server, "kv")
    kv.get("my-key")  # the spec's value is an object: read as it came
    assert kv.set("my-key", {"hello": "world"}) == "JSON"
    assert isinstance(kv.delete("my-key"), bool)
    _conformant(recording)
    sent = [(r.method, r.url.path) for r, _ in recording.exchanges]
    assert sent == [(m, "/api/v1/main/namespaces/company.team/kv/my-key") for m in ("GET", "PUT", "DELETE")]


def test_kv_listing_pages_the_2_0_endpoint(server: Any, recording: Recording) -> None:
    entries = view(server, "kv").list()
    _conformant(recording)
    assert entries and all(isinstance(e, KVEntry) for e in entries)
    listing = recording.exchanges[0][0]
    assert (listing.method, listing.url.path) == ("GET", "/api/v1/main/kv")
    assert listing.url.params["filters[namespace][EQUALS]"] == "company.team"
    reads = [r.url.path for r, _ in recording.exchanges[1:]]
    assert reads == [f"/api/v1/main/namespaces/company.team/kv/{e.key}" for e in entries]


def test_namespace_files(server: Any, recording: Recording, tmp_path: Path) -> None:
    folder = tmp_path / "files"
    (folder / "scripts").mkdir(parents=True)
    (folder / "scripts" / "etl.py").write_text("print('etl')\n")
    files = view(server, "files")
    assert files.upload(folder) == ["/scripts/etl.py"]
    listed = files.list()
    assert listed and all(isinstance(f, NamespaceFile) for f in listed)
    assert isinstance(files.download("scripts/etl.py"), bytes)
    files.delete("scripts/etl.py")
    _conformant(recording)
    sent = [(r.method, r.url.path, r.url.params.get("path")) for r, _ in recording.exchanges]
    assert sent[0] == ("POST", "/api/v1/main/namespaces/company.team/files", "/scripts/etl.py")
    assert sent[1] == ("GET", "/api/v1/main/namespaces/company.team/files/directory", "/")
    assert sent[-2:] == [
        ("GET", "/api/v1/main/namespaces/company.team/files", "/scripts/etl.py"),
        ("DELETE", "/api/v1/main/namespaces/company.team/files", "/scripts/etl.py"),
    ]


def test_the_export_request_conforms(server: Any, recording: Recording, tmp_path: Path) -> None:
    """Prism cannot invent the export's ``format: byte`` answer (its 500 names the *response* as the
    violation): the request itself passed validation, which would otherwise be answered 422. A real
    export (a ZIP) is read in test_admin.py."""
    with pytest.raises(KestraApiError) as info:
        view(server, "files").download_all(tmp_path / "all")
    assert info.value.status == 500
    [(request, response)] = recording.exchanges
    assert request.url.path == "/api/v1/main/namespaces/company.team/files/export"
    assert [v["location"] for v in response.json()["validation"]] == [["response", "body"]]
    assert not (tmp_path / "all").exists()
