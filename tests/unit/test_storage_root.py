"""Where the local state of flow runs lives (kestra_airflow_sdk.storage.root)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kestra_airflow_sdk.storage import default_storage_root, storage_root


def test_tests_never_use_the_users_cache() -> None:
    assert ".cache" not in default_storage_root().parts


def test_storage_dir_wins_then_the_environment_then_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert storage_root(tmp_path / "mine") == tmp_path / "mine"
    monkeypatch.setenv("KAS_STORAGE_DIR", str(tmp_path / "env"))
    assert storage_root() == tmp_path / "env"
    monkeypatch.delenv("KAS_STORAGE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert storage_root() == tmp_path / "cache" / "kestra-airflow-sdk" / "storage"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert storage_root() == tmp_path / "home" / ".cache" / "kestra-airflow-sdk" / "storage"
    assert not (tmp_path / "home").exists(), "nothing is created until a store writes"
