"""The internal storage on a local folder (``kestra_airflow_sdk.storage.files``): Kestra's URI layout
(``StorageContext``: ``/<namespace>/<flow slug>/executions/<id>/tasks/<task slug>/<task run id>/…``,
``/<namespace>/_files/…``; ``Slugify.of``) and its local storage's refusal of ``..``
(``LocalStorage.parentTraversalGuard``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kestra_airflow_sdk.errors import KestraAirflowError
from kestra_airflow_sdk.storage import (
    InternalStorage,
    StorageError,
    execution_uri,
    file_uri,
    namespace_files_uri,
    slugify,
    task_uri,
)


def test_put_get_exists_size_delete(tmp_path: Path) -> None:
    storage = InternalStorage(tmp_path / "files")
    uri = task_uri("company.team", "etl", "exec1", "load", "run1") + "/rows.csv"
    assert uri == "kestra:///company/team/etl/executions/exec1/tasks/load/run1/rows.csv"
    assert not storage.exists(uri)
    assert storage.put(uri, b"a,b\n") == uri
    assert (
        tmp_path / "files/company/team/etl/executions/exec1/tasks/load/run1/rows.csv"
    ).read_bytes() == b"a,b\n"
    assert storage.exists(uri) and storage.get(uri) == b"a,b\n" and storage.size(uri) == 4
    source = tmp_path / "local.txt"
    source.write_text("copied")
    other = storage.put(uri.replace("rows.csv", "local.txt"), source)
    assert storage.get(other) == b"copied"
    with pytest.raises(StorageError, match="content is bytes or a local file's path"):
        storage.put(uri, "text")  # type: ignore[arg-type]
    assert storage.delete(uri) is True
    assert storage.delete(uri) is False
    with pytest.raises(StorageError, match=r"rows\.csv.*no such file in the internal storage"):
        storage.get(uri)
    with pytest.raises(StorageError, match="no such file"):
        storage.size(uri)


def test_under_a_run_state_folder_it_is_the_files_folder(tmp_path: Path) -> None:
    assert InternalStorage.under(tmp_path).root == tmp_path / "files"
    assert InternalStorage.under().root.parent == Path(os.environ["KAS_STORAGE_DIR"])


def test_uri_layout_is_kestras() -> None:
    assert slugify("My_Flow.v2 x") == "my-flowv2-x"  # Slugify.of: _ and spaces become -, dots go
    assert execution_uri("a.b.c", "My_Flow", "id1") == "kestra:///a/b/c/my-flow/executions/id1"
    assert namespace_files_uri("company.team") == "kestra:///company/team/_files"
    assert file_uri("kestra:///n/_files", "dir/my file+1.txt") == "kestra:///n/_files/dir/my%20file+1.txt"


@pytest.mark.parametrize(
    "uri",
    [
        "kestra:///company/../../../etc/passwd",
        "kestra:///company/%2e%2e/%2E%2E/etc/passwd",
        "kestra:///company/./x",
        "kestra:///company//x",
        "kestra:///",
    ],
)
def test_a_uri_leaving_the_folder_is_refused_naming_it(tmp_path: Path, uri: str) -> None:
    storage = InternalStorage(tmp_path / "files")
    with pytest.raises(StorageError) as error:
        storage.path(uri)
    assert repr(uri) in str(error.value)
    assert isinstance(error.value, KestraAirflowError)
    with pytest.raises(StorageError):
        storage.put(uri, b"x")
    assert not (tmp_path / "etc").exists()


@pytest.mark.parametrize("uri", ["file:///etc/passwd", "kestra://host/x", "s3://b/k", "/etc/passwd", "x?y"])
def test_a_uri_of_something_else_is_refused(tmp_path: Path, uri: str) -> None:
    with pytest.raises(
        StorageError, match=r"is not a URI of Kestra's internal storage \(expected kestra:///<path>\)"
    ):
        InternalStorage(tmp_path).path(uri)


def test_a_symbolic_link_does_not_lead_out_of_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("no")
    root = tmp_path / "files"
    (root / "n").mkdir(parents=True)
    (root / "n" / "link").symlink_to(outside)
    with pytest.raises(StorageError, match="leads outside the internal storage folder"):
        InternalStorage(root).get("kestra:///n/link/secret.txt")
