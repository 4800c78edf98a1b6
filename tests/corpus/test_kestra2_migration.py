"""The SDK's Kestra 2.0 upgrade against Kestra's own migrator, on the pairs of
``../shared/corpus/kestra2-migration/`` (read in place; see :mod:`tests.corpus.kestra2` for what
*agree* and *upgraded beyond* mean)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kestra_airflow_sdk.flows import Flow
from kestra_airflow_sdk.flows.upgrade import BEYOND_KESTRA_MIGRATE, check_kestra2, upgrade_document
from kestra_airflow_sdk.flows.yaml_io import dump_document
from tests.corpus.kestra2 import (
    TALLY,
    VERSION_FORMS,
    PairOutcome,
    pair_names,
    pairs_dir,
    without_version_forms,
)
from tests.corpus.test_round_trip import differences

ROOT = pairs_dir()
NAMES = pair_names(ROOT) if ROOT.is_dir() else []


def _read(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} is not a flow document"
    return data


def judge(name: str) -> PairOutcome:
    """Compare the SDK's upgrade of one pair's input with kestra-migrate's output."""
    official = _read(ROOT / f"{name}.output.yaml")
    mine = upgrade_document(_read(ROOT / f"{name}.input.yaml")).document
    official_forms: set[str] = set()
    mine_forms: set[str] = set()
    official_now = without_version_forms(official, official_forms)
    mine_now = without_version_forms(mine, mine_forms)
    forms = official_forms ^ mine_forms  # the forms only one side used
    note = f"differs only by the migrator version: {'; '.join(sorted(forms))}" if forms else ""
    if mine_now == official_now:
        return PairOutcome(name, "agree", note)
    further = upgrade_document(official, rules=BEYOND_KESTRA_MIGRATE)
    beyond = without_version_forms(further.document, set())
    if mine_now != beyond:
        return PairOutcome(name, "disagree", "; ".join(differences(beyond, mine_now)[:5]))
    rejected = [str(n) for n in check_kestra2(mine) if n.severity == "error"]
    if rejected:
        return PairOutcome(
            name, "disagree", f"upgraded beyond kestra-migrate, but not valid 2.0: {rejected[:3]}"
        )
    Flow.from_yaml(dump_document(mine), kestra="2.0")  # loads as a Kestra 2.0 flow
    done = "; ".join(further.changes)
    return PairOutcome(name, "beyond", "; ".join(filter(None, [done, note])))


def test_the_pairs_are_there() -> None:
    if not ROOT.is_dir():
        TALLY.missing = (
            f"kestra2-migration folder {ROOT} not found (set KAS_CORPUS_DIR): migration pairs not compared"
        )
        pytest.skip(TALLY.missing)
    assert len(NAMES) == len(list(ROOT.rglob("*.input.yaml"))) > 0, "every input has its output"


def test_version_forms_are_read_as_the_sdk_writes_them() -> None:
    used: set[str] = set()
    older = {"when": "{{ trigger.namespace | startsWith('company') and trigger.date > '2025' }}"}
    assert without_version_forms({"w": "(trigger.date | timestamp()) > ('2025' | timestamp())"}, used) == {
        "w": "trigger.date > '2025'"
    }
    assert (
        without_version_forms(older, used)["when"]
        == "{{ trigger.namespace startsWith 'company' and trigger.date > '2025' }}"
    )
    assert used == {description for description, _, _ in VERSION_FORMS}


@pytest.mark.parametrize("name", NAMES)
def test_upgrade_agrees_with_kestra_migrate(name: str) -> None:
    outcome = judge(name)
    TALLY.outcomes[name] = outcome
    assert outcome.kind != "disagree", f"{name}: {outcome.detail}"
