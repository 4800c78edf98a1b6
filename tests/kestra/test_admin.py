"""Flows, the KV store and namespace files on a Kestra 1.3 or 2.0 answering with the recorded bodies
of tests/kestra/samples (see its README for their sources), sync and async.

The KV store answers only the bodies Kestra's own ``KVControllerTest`` writes (``kv-values.json``):
a value the SDK would write differently is refused with 400, as Kestra refuses what it cannot parse.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from kestra_airflow_sdk import AsyncKestraServer, Flow, KestraServer
from kestra_airflow_sdk.flows import Log, Return
from kestra_airflow_sdk.kestra import KestraApiError, KestraError, NamespaceFile, StoredFlow
from kestra_airflow_sdk.kestra.flow_admin import flows_schema
from kestra_airflow_sdk.storage import KVEntry, KVStore, KVStoreError
from tests.virtual_time import run_virtual

SAMPLES = Path(__file__).resolve().parent / "samples"
URL = "http://kestra.test"
NS = "/api/v1/main/namespaces/company.team"
VERSIONS = ["1.3", "2.0"]
MODES = ["sync", "async"]
#: the Python value of each pair of kv-values.json, in its order
KV_VALUES: list[Any] = [
    {"hello": "world"},
    ["hello", "world"],
    "hello",
    1,
    1.0,
    True,
    False,
    date(2021, 9, 1),
    datetime(2021, 9, 1, 1, 2, 3, tzinfo=timezone.utc),
    timedelta(seconds=5),
]


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


class AdminKestra:
    """A Kestra 1.3 or 2.0 holding a namespace's flows, keys and files; anything else is 404."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.requests: list[httpx.Request] = []
        self.recorded = {pair["body"]: pair["answer"] for pair in sample("kv-values.json")}
        listing = sample(f"kv-list-{version}.json")
        entries = listing if version == "1.3" else listing["results"]
        self.kv: dict[str, dict[str, Any]] = {
            e["key"]: {"type": "STRING", "value": f"value of {e['key']}"} for e in entries
        }
        self.expired: set[str] = set()
        self.files: dict[str, bytes] = {}
        self.export: bytes | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path, method = request.url.path, request.method
        if path == "/api/v1/configs":
            return httpx.Response(200, json=sample(f"configs-{self.version}.json"))
        if path.startswith(f"{NS}/kv"):
            return self._kv(request, path[len(f"{NS}/kv") :].lstrip("/"))
        if path == "/api/v1/main/kv" and self.version == "2.0" and method == "GET":
            return self._kv_page(request)
        if path.startswith(f"{NS}/files"):
            return self._files(request, path[len(f"{NS}/files") :])
        if path.startswith("/api/v1/main/flows"):
            return self._flows(request, path[len("/api/v1/main/flows") :])
        return httpx.Response(404, json={"message": f"Not Found: {method} {path}"})

    # ------------------------------------------------------------------ KV

    def _kv(self, request: httpx.Request, key: str) -> httpx.Response:
        if not key:  # the namespace's list: 1.3 only
            if self.version == "1.3" and request.method == "GET":
                return httpx.Response(
                    200, json=[e for e in sample("kv-list-1.3.json") if e["key"] in self.kv]
                )
            return httpx.Response(
                405 if self.version == "2.0" else 404, json={"message": "Method Not Allowed"}
            )
        if request.method == "PUT":
            body = request.content.decode()
            if body not in self.recorded:
                return httpx.Response(400, json={"message": f"Invalid JSON value for: {body}"})
            self.kv[key] = self.recorded[body]
            return httpx.Response(200)
        if request.method == "DELETE":
            return httpx.Response(200, json=self.kv.pop(key, None) is not None)
        if key in self.expired:
            return httpx.Response(
                410, json={"message": "Resource has expired: The requested value has expired"}
            )
        if key not in self.kv:
            message = f"Not Found: No value found for key '{key}' in namespace 'company.team'"
            return httpx.Response(404, json={"message": message})
        answer = dict(self.kv[key])
        if self.version == "2.0":  # KvDetail
            answer.update(revision=1, updated="2026-11-24T05:08:01.003Z")
        return httpx.Response(200, json=answer)

    def _kv_page(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        assert params["filters[namespace][EQUALS]"] == "company.team"
        page, size = int(params["page"]), int(params["size"])
        results = [e for e in sample("kv-list-2.0.json")["results"] if e["key"] in self.kv]
        return httpx.Response(
            200, json={"results": results[(page - 1) * size : page * size], "total": len(results)}
        )

    # ------------------------------------------------------------------ files

    def _files(self, request: httpx.Request, rest: str) -> httpx.Response:
        where = request.url.params.get("path")
        if rest == "/directory":
            listing = sample("files-directory.json")
            return httpx.Response(200, json=listing[where]) if where in listing else httpx.Response(404)
        if rest == "/export":
            return httpx.Response(
                200, content=self.export or b"", headers={"Content-Type": "application/octet-stream"}
            )
        if request.method == "POST":
            form = request.content
            match = re.search(
                rb'name="fileContent"; filename="([^"]*)"\r\nContent-Type: [^\r]*\r\n\r\n', form
            )
            assert match is not None, form[:300]
            boundary = request.headers["content-type"].split("boundary=")[1].encode()
            start = match.end()
            self.files[str(where)] = form[start : form.index(b"\r\n--" + boundary, start)]
            self.upload_names = [*getattr(self, "upload_names", []), match.group(1).decode()]
            return httpx.Response(200)
        if request.method == "DELETE":
            self.files.pop(str(where), None)
            return httpx.Response(200)
        if where in self.files:
            return httpx.Response(
                200, content=self.files[where], headers={"Content-Type": "application/octet-stream"}
            )
        return httpx.Response(404, json={"message": f"File not found: {where}"})

    # ------------------------------------------------------------------ flows

    def _flows(self, request: httpx.Request, rest: str) -> httpx.Response:
        if rest in ("/enable/by-ids", "/disable/by-ids") and request.method == "POST":
            ids = json.loads(request.content)
            known = {(f["namespace"], f["id"]) for f in sample("flows-namespace.json")}
            return httpx.Response(200, json={"count": sum((i["namespace"], i["id"]) in known for i in ids)})
        if rest == "/company.team" and request.method == "GET":
            return httpx.Response(200, json=sample("flows-namespace.json"))
        if rest == "/company.team/myflow":
            if request.method == "DELETE":
                return httpx.Response(204)
            return httpx.Response(200, json=sample("flow-source.json"))
        return httpx.Response(404, json={"message": f"Not Found: {rest}"})


def on(fake: AdminKestra, mode: str, action: Callable[[Any], Any]) -> Any:
    """``action(server)`` on a sync server, or awaited on an async one (a virtual-time loop)."""
    if mode == "sync":
        with KestraServer(URL, token="t", transport=httpx.MockTransport(fake)) as server:
            return action(server)

    async def main() -> Any:
        async with AsyncKestraServer(URL, token="t", transport=httpx.MockTransport(fake)) as server:
            return await action(server)

    return run_virtual(main())


# ---------------------------------------------------------------------------------------------- KV


@pytest.mark.parametrize("mode", MODES)
def test_kv_values_are_written_and_read_back_typed_as_kestra_does(mode: str) -> None:
    fake = AdminKestra("2.0")
    for i, value in enumerate(KV_VALUES):
        kind = on(fake, mode, lambda s, i=i, value=value: s.kv("company.team").set(f"k{i}", value))
        assert kind == sample("kv-values.json")[i]["answer"]["type"]
        assert KVStore("company.team").set(f"k{i}", value).type == kind  # the local store's type
        read = on(fake, mode, lambda s, i=i: s.kv("company.team").get(f"k{i}"))
        assert read == value and type(read) is type(value)
    puts = [r for r in fake.requests if r.method == "PUT"]
    assert [r.content.decode() for r in puts] == [pair["body"] for pair in sample("kv-values.json")]
    assert all(r.headers["content-type"].startswith("text/plain") for r in puts)
    assert "ttl" not in puts[0].headers and "description" not in puts[0].headers


def test_kv_ttl_description_secret_and_an_explicit_type() -> None:
    fake = AdminKestra("2.0")
    kv = KestraServer(URL, token="t", transport=httpx.MockTransport(fake)).kv("company.team")
    assert (
        kv.set("token", SecretStr("hello"), ttl=timedelta(minutes=5), description="for the API") == "STRING"
    )
    put = fake.requests[-1]
    assert (put.headers["ttl"], put.headers["description"]) == ("PT5M", "for the API")
    assert put.content == b'"hello"'  # sent in clear, as Kestra stores it
    assert kv.get("token") == "hello"
    assert kv.set("n", 1, kv_type="number") == "NUMBER"
    assert repr(kv) == (
        "ServerKV(KestraServer(url='http://kestra.test', tenant='main', auth='bearer', version='auto'), "
        "namespace='company.team')"
    )


@pytest.mark.parametrize("mode", MODES)
def test_missing_and_expired_keys_read_as_missing(mode: str) -> None:
    fake = AdminKestra("1.3")
    fake.expired.add("old")
    assert on(fake, mode, lambda s: s.kv("company.team").get("nope", "default")) == "default"
    assert on(fake, mode, lambda s: s.kv("company.team").get("old")) is None
    assert on(fake, mode, lambda s: s.kv("company.team").delete("my-key")) is True
    assert on(fake, mode, lambda s: s.kv("company.team").delete("my-key")) is False
    assert [r.url.path for r in fake.requests if r.method == "DELETE"] == [f"{NS}/kv/my-key"] * 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("version", VERSIONS)
def test_listing_keys_uses_each_versions_endpoint(mode: str, version: str) -> None:
    fake = AdminKestra(version)
    keys = on(fake, mode, lambda s: s.kv("company.team").keys())
    assert keys == ["my-key", "my-second-key"]
    assert on(fake, mode, lambda s: s.kv("company.team").keys(prefix="my-s")) == ["my-second-key"]
    listed = [r.url.path for r in fake.requests if r.url.path != "/api/v1/configs"]
    assert set(listed) == ({f"{NS}/kv"} if version == "1.3" else {"/api/v1/main/kv"})
    entries = on(fake, mode, lambda s: s.kv("company.team").list())
    assert all(isinstance(e, KVEntry) for e in entries)
    first, second = entries
    assert (first.key, first.type, first.value) == ("my-key", "STRING", "value of my-key")
    assert first.created == datetime(2026, 11, 24, 5, 7, 28, 447000, tzinfo=timezone.utc)
    assert first.expires == datetime(2026, 11, 24, 5, 12, 28, 447000, tzinfo=timezone.utc)
    assert (second.description, second.expires) == ("the second", None)
    assert second.updated == datetime(2026, 11, 24, 5, 8, 1, 3000, tzinfo=timezone.utc)
    frame = on(fake, mode, lambda s: s.kv("company.team").frame())
    assert list(frame.columns) == list(KVStore("company.team").frame().columns)
    assert list(frame["key"]) == ["my-key", "my-second-key"]


def test_an_entry_without_its_creation_date_is_named() -> None:
    fake = AdminKestra("1.3")
    original = fake._kv

    def without_dates(request: httpx.Request, key: str) -> httpx.Response:
        answer = original(request, key)
        if not key:
            return httpx.Response(200, json=[{"key": e["key"]} for e in answer.json()])
        return answer

    fake._kv = without_dates  # type: ignore[method-assign]
    kv = KestraServer(URL, token="t", transport=httpx.MockTransport(fake)).kv("company.team")
    with pytest.raises(KestraError, match=r"Kestra's entry for 'my-key' has no creationDate"):
        kv.list()


def test_a_key_expiring_while_listed_is_left_out() -> None:
    fake = AdminKestra("2.0")
    fake.expired.add("my-key")
    entries = KestraServer(URL, token="t", transport=httpx.MockTransport(fake)).kv("company.team").list()
    assert [e.key for e in entries] == ["my-second-key"]


@pytest.mark.parametrize(
    ("call", "local"),
    [
        (lambda kv: kv.set("bad key", 1), lambda kv: kv.set("bad key", 1)),
        (lambda kv: kv.get("../x"), lambda kv: kv.get("../x")),
        (lambda kv: kv.set("k", "text", kv_type="NUMBER"), lambda kv: kv.set("k", "text", kv_type="NUMBER")),
        (lambda kv: kv.set("k", 1, kv_type="MONEY"), lambda kv: kv.set("k", 1, kv_type="MONEY")),
        (lambda kv: kv.set("k", 1, ttl=timedelta(-1)), lambda kv: kv.set("k", 1, ttl=timedelta(-1))),
    ],
)
def test_bad_keys_and_values_get_the_local_stores_error_before_any_request(
    call: Callable[[Any], Any], local: Callable[[Any], Any]
) -> None:
    fake = AdminKestra("2.0")
    with pytest.raises(KVStoreError) as expected:
        local(KVStore("company.team"))
    with pytest.raises(KVStoreError) as raised:
        call(KestraServer(URL, token="t", transport=httpx.MockTransport(fake)).kv("company.team"))
    assert str(raised.value) == str(expected.value)
    assert not fake.requests


def test_a_bad_namespace_is_named() -> None:
    server = KestraServer(URL, token="t", transport=httpx.MockTransport(AdminKestra("2.0")))
    with pytest.raises(KestraError, match=r"namespace: expected a Kestra namespace .* got 'Company Team'"):
        server.kv("Company Team")
    with pytest.raises(KestraError, match=r"namespace: expected a Kestra namespace"):
        server.files(None)  # type: ignore[arg-type]


def test_kestras_refusal_is_an_sdk_error_naming_the_key() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"message": "Forbidden"})

    kv = KestraServer(URL, token="t", transport=httpx.MockTransport(refuse), version="2.0").kv("company.team")
    with pytest.raises(
        KestraApiError, match=r"Reading KV key 'k' of company.team failed: Kestra answered 403"
    ) as info:
        kv.get("k")
    assert info.value.status == 403


# ------------------------------------------------------------------------------------------- flows


@pytest.mark.parametrize("mode", MODES)
def test_a_namespaces_flows_as_a_typed_frame(mode: str) -> None:
    fake = AdminKestra("2.0")
    frame = on(fake, mode, lambda s: s.flows("company.team"))
    assert dict(frame.dtypes.astype(str)) == dict(flows_schema().empty().dtypes.astype(str))
    assert list(frame["id"]) == ["archive", "myflow"]
    row = frame.set_index("id").loc["myflow"]
    assert (row["revision"], row["tasks"], row["disabled"]) == (3, 2, False)
    assert row["triggers"] == ["daily"] and row["labels"] == {"team": "data"}
    assert bool(frame.set_index("id").loc["archive", "disabled"]) is True
    assert [r.url.path for r in fake.requests] == ["/api/v1/main/flows/company.team"]


@pytest.mark.parametrize("mode", MODES)
def test_a_flow_with_its_source_reads_as_a_flow(mode: str) -> None:
    fake = AdminKestra("1.3")
    stored = on(fake, mode, lambda s: s.get_flow(("company.team", "myflow")))
    assert isinstance(stored, StoredFlow)
    assert (stored.id, stored.revision, stored.disabled) == ("myflow", 3, False)
    flow = stored.to_flow()
    expected = (
        Flow(id="myflow", namespace="company.team", description="Hello from Kestra")
        .task(Return(id="mytask", format="hello from kestra"))
        .task(Log(id="log", message="{{ outputs.mytask.value }}"))
    )
    assert flow.to_dict() == expected.to_dict()
    [request] = fake.requests
    assert request.url.params["source"] == "true" and "revision" not in request.url.params
    on(fake, mode, lambda s: s.get_flow(expected, revision=2))
    assert fake.requests[-1].url.params["revision"] == "2"


@pytest.mark.parametrize("mode", MODES)
def test_delete_enable_and_disable_flows(mode: str) -> None:
    fake = AdminKestra("2.0")
    assert on(fake, mode, lambda s: s.delete_flow(("company.team", "myflow"))) is None
    assert (fake.requests[-1].method, fake.requests[-1].url.path) == (
        "DELETE",
        "/api/v1/main/flows/company.team/myflow",
    )
    flows = [
        ("company.team", "myflow"),
        Flow(id="archive", namespace="company.team").task(Log(id="l", message="m")),
    ]
    assert on(fake, mode, lambda s: s.disable_flows(flows)) == 2
    request = fake.requests[-1]
    assert request.url.path == "/api/v1/main/flows/disable/by-ids"
    assert json.loads(request.content) == [
        {"namespace": "company.team", "id": "myflow"},
        {"namespace": "company.team", "id": "archive"},
    ]
    assert on(fake, mode, lambda s: s.enable_flows(("company.team", "gone"))) == 0
    assert fake.requests[-1].url.path == "/api/v1/main/flows/enable/by-ids"


def test_bad_flow_references_are_named_before_any_request() -> None:
    fake = AdminKestra("2.0")
    server = KestraServer(URL, token="t", transport=httpx.MockTransport(fake))
    with pytest.raises(
        KestraError, match=r"flow: expected a Flow or a \(namespace, flow_id\) pair, got 'myflow'"
    ):
        server.delete_flow("myflow")  # type: ignore[arg-type]
    with pytest.raises(KestraError, match=r"flows: expected one or more flows"):
        server.enable_flows([])
    with pytest.raises(KestraError, match=r"revision: expected a flow revision number \(>= 1\), got 0"):
        server.get_flow(("company.team", "myflow"), revision=0)
    with pytest.raises(KestraError, match="Kestra sent no source"):
        StoredFlow(id="f", namespace="n").to_flow()
    assert not fake.requests


# ------------------------------------------------------------------------------------------- files


def a_folder(root: Path) -> Path:
    folder = root / "ns_files"
    (folder / "scripts").mkdir(parents=True)
    (folder / "scripts" / "etl.py").write_text("print('etl')\n")
    (folder / "readme.md").write_text("hello files\n")
    (folder / "data.zip").write_bytes(b"PK\x05\x06" + bytes(18))  # stays a file on the server
    return folder


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("version", VERSIONS)
def test_uploading_a_folder_puts_each_file_at_its_path(mode: str, version: str, tmp_path: Path) -> None:
    fake = AdminKestra(version)
    folder = a_folder(tmp_path)
    uploaded = on(fake, mode, lambda s: s.files("company.team").upload(folder))
    assert uploaded == ["/data.zip", "/readme.md", "/scripts/etl.py"]
    assert fake.files == {
        "/data.zip": (folder / "data.zip").read_bytes(),
        "/readme.md": b"hello files\n",
        "/scripts/etl.py": b"print('etl')\n",
    }
    assert fake.upload_names == ["content"] * 3  # never a '.zip' name, which Kestra would unpack
    assert {r.url.path for r in fake.requests if r.method == "POST"} == {f"{NS}/files"}
    on(fake, mode, lambda s: s.files("company.team").upload(folder / "scripts", to="/lib"))
    assert fake.files["/lib/etl.py"] == b"print('etl')\n"


@pytest.mark.parametrize("mode", MODES)
def test_downloading_one_file_and_every_file(mode: str, tmp_path: Path) -> None:
    fake = AdminKestra("2.0")
    fake.files["/scripts/etl.py"] = b"print('etl')\n"
    content = on(
        fake, mode, lambda s: s.files("company.team").download("scripts/etl.py", tmp_path / "one" / "etl.py")
    )
    assert content == b"print('etl')\n" and (tmp_path / "one" / "etl.py").read_bytes() == content
    assert fake.requests[-1].url.params["path"] == "/scripts/etl.py"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # as NamespaceFileController.exportNamespaceFiles writes it
        archive.writestr("scripts/etl.py", "print('etl')\n")
        archive.writestr("readme.md", "hello files\n")
    fake.export = buffer.getvalue()
    written = on(fake, mode, lambda s: s.files("company.team").download_all(tmp_path / "all"))
    assert written == sorted(
        [(tmp_path / "all" / "readme.md").resolve(), (tmp_path / "all" / "scripts" / "etl.py").resolve()]
    )
    assert (tmp_path / "all" / "scripts" / "etl.py").read_text() == "print('etl')\n"
    assert fake.requests[-1].url.path == f"{NS}/files/export"
    with pytest.raises(
        KestraApiError, match=r"Downloading /nope of the company.team namespace files failed: .*404"
    ):
        on(fake, mode, lambda s: s.files("company.team").download("/nope"))


def test_an_export_entry_leaving_the_folder_is_refused(tmp_path: Path) -> None:
    fake = AdminKestra("2.0")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../escape.txt", "x")
    fake.export = buffer.getvalue()
    files = KestraServer(URL, token="t", transport=httpx.MockTransport(fake)).files("company.team")
    with pytest.raises(KestraError, match=r"path: '../escape.txt' may not use '.' or '..' parts"):
        files.download_all(tmp_path / "all")
    assert not (tmp_path / "escape.txt").exists()
    fake.export = b"not a zip"
    with pytest.raises(KestraError, match="Kestra's answer is not a ZIP archive"):
        files.download_all(tmp_path / "all")


@pytest.mark.parametrize("mode", MODES)
def test_listing_walks_every_folder(mode: str) -> None:
    fake = AdminKestra("1.3")
    listed = on(fake, mode, lambda s: s.files("company.team").list())
    assert [f.path for f in listed] == ["/readme.md", "/test", "/test/test.txt", "/test/test2.txt"]
    assert all(isinstance(f, NamespaceFile) for f in listed)
    test_dir = listed[1]
    assert test_dir.is_dir and not listed[0].is_dir
    assert listed[0].size == 12
    assert listed[0].modified == datetime.fromtimestamp(1795842448.512, timezone.utc)
    top = on(fake, mode, lambda s: s.files("company.team").list(recursive=False))
    assert [f.path for f in top] == ["/test", "/readme.md"]
    assert [r.url.params["path"] for r in fake.requests if r.url.path.endswith("/directory")] == [
        "/",
        "/test",
        "/",
    ]


def test_bad_paths_are_refused_before_any_request(tmp_path: Path) -> None:
    fake = AdminKestra("2.0")
    files = KestraServer(URL, token="t", transport=httpx.MockTransport(fake)).files("company.team")
    with pytest.raises(KestraError, match=r"path: '../x' may not use"):
        files.download("../x")
    with pytest.raises(KestraError, match=r"is under /_flows"):
        files.download("_flows/f.yml")
    with pytest.raises(KestraError, match="refusing to delete the namespace's root folder"):
        files.delete("/")
    with pytest.raises(KestraError, match="is not a folder"):
        files.upload(tmp_path / "missing")
    assert not fake.requests
    files.delete("scripts/etl.py")
    assert (fake.requests[-1].method, fake.requests[-1].url.params["path"]) == ("DELETE", "/scripts/etl.py")
