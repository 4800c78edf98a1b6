"""Every flow of the corpus comes back as written: ``Flow.from_yaml(text).to_yaml()`` has the same
keys, in the same order, with the same scalars (``pluginDefaults`` not copied into the tasks, older
spellings such as ``maxAttempt`` kept, dates still dates)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kestra_airflow_sdk.flows import Flow
from tests.corpus.harness import corpus_dir, corpus_files, load_expected


def differences(written: Any, exported: Any, path: str = "flow") -> list[str]:
    """Where two parsed documents differ: types, values, key sets and key order."""
    if type(written) is not type(exported):
        return [f"{path}: {written!r} became {exported!r}"]
    if isinstance(written, dict):
        found = (
            []
            if list(written) == list(exported)
            else [f"{path}: keys {list(written)} became {list(exported)}"]
        )
        return found + [
            d for k in written if k in exported for d in differences(written[k], exported[k], f"{path}.{k}")
        ]
    if isinstance(written, list):
        if len(written) != len(exported):
            return [f"{path}: {len(written)} items became {len(exported)}"]
        return [
            d
            for i, (a, b) in enumerate(zip(written, exported, strict=True))
            for d in differences(a, b, f"{path}[{i}]")
        ]
    return [] if written == exported else [f"{path}: {written!r} became {exported!r}"]


def test_differences_sees_order_types_and_values() -> None:
    assert differences({"a": 1, "b": 2}, {"b": 2, "a": 1}) == ["flow: keys ['a', 'b'] became ['b', 'a']"]
    assert differences({"d": "2023-01-01"}, {"d": 1}) == ["flow.d: '2023-01-01' became 1"]
    assert differences([{"x": [1]}], [{"x": [2]}]) == ["flow[0].x[0]: 1 became 2"]


def test_every_corpus_flow_comes_back_as_written() -> None:
    root = corpus_dir()
    if not root.is_dir():
        pytest.skip(f"corpus folder {root} not found (set KAS_CORPUS_DIR): round trip not checked")
    invalid = {path for path, entry in load_expected().items() if entry["expect"] == "invalid"}
    changed, checked = {}, 0
    for name in corpus_files(root):
        if name in invalid:  # not a flow document (Kestra rejects it too)
            continue
        text = (Path(root) / name).read_text(encoding="utf-8")
        found = differences(yaml.safe_load(text), yaml.safe_load(Flow.from_yaml(text).to_yaml()))
        checked += 1
        if found:
            changed[name] = found[:3]
    assert checked == len(corpus_files(root)) - len(invalid)
    assert changed == {}
