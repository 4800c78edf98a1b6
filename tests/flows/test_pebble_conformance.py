"""Kestra's documented results for a trimmed set of expressions (tests/flows/pebble_conformance.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kestra_airflow_sdk.flows import ExpressionError
from kestra_airflow_sdk.flows.expressions import KESTRA_VERSIONS, KestraVersion, Renderer
from kestra_airflow_sdk.flows.secrets import SecretResolver

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).with_name("pebble_conformance.yaml")).read_text(encoding="utf-8")
)["cases"]


def _runs() -> list[Any]:
    return [
        pytest.param(case, version, id=f"{version}:{case['template'][:60]}")
        for case in CASES
        for version in KESTRA_VERSIONS
        if case.get("kestra", version) == version
    ]


def test_the_cases_are_well_formed() -> None:
    assert len(CASES) >= 20
    for case in CASES:
        assert {"template", "source"} <= case.keys() and ("expected" in case) != ("error" in case), case
        assert case.get("kestra", "1.3") in KESTRA_VERSIONS, case


@pytest.mark.parametrize(("case", "kestra"), _runs())
def test_renders_as_kestra_does(case: dict[str, Any], kestra: KestraVersion) -> None:
    renderer = Renderer(case.get("variables") or {}, SecretResolver({}, environ={}), "t", kestra=kestra)
    if "error" in case:
        with pytest.raises(ExpressionError) as err:
            renderer.render_text(case["template"])
        assert case["error"] in str(err.value) and case["template"] in str(err.value)
    else:
        assert renderer.render_text(case["template"]) == case["expected"]
