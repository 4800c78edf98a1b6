"""The SDK's Kestra 2.0 upgrade against Kestra's own migrator, on the pairs of
``../shared/corpus/kestra2-migration/`` (read in place; see :mod:`tests.corpus.kestra2` for what
*agree* and *upgraded beyond* mean); a pair upgraded beyond it, and each 1.3 flow of the Kestra corpus
the upgrade changes, is run beside its upgrade (:func:`check_equivalence`)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from kestra_airflow_sdk.flows import Flow, FlowError
from kestra_airflow_sdk.flows.dialect import detect_kestra
from kestra_airflow_sdk.flows.upgrade import BEYOND_KESTRA_MIGRATE, check_kestra2, upgrade_document
from kestra_airflow_sdk.flows.yaml_io import dump_document
from kestra_airflow_sdk.migration.equivalence import check_equivalence
from tests.corpus.harness import Case, cases_of, corpus_dir, load_expected
from tests.corpus.kestra2 import (
    TALLY,
    VERSION_FORMS,
    PairOutcome,
    pair_names,
    pairs_dir,
    without_version_forms,
)
from tests.corpus.test_corpus import case_options, case_text
from tests.corpus.test_round_trip import differences

ROOT = pairs_dir()
NAMES = pair_names(ROOT) if ROOT.is_dir() else []
CORPUS = corpus_dir()


def _upgraded_cases() -> list[Case]:
    """The Kestra corpus's cases of 1.3 flows the upgrade changes and converts whole."""
    if not CORPUS.is_dir():
        return []
    found = []
    for path, entry in load_expected().items():
        try:
            document = yaml.safe_load((CORPUS / path).read_text(encoding="utf-8"))
            if not isinstance(document, dict) or detect_kestra(document) != "1.3":
                continue
        except (yaml.YAMLError, FlowError):  # not a flow, or one mixing 1.3 and 2.0: not upgraded
            continue
        upgrade = upgrade_document(document)
        if upgrade.changes and not upgrade.errors:
            found += [c for c in cases_of(path, entry) if c.expect in ("run", "refused")]
    return found


UPGRADED = _upgraded_cases()
#: corpus cases whose run differs from their upgrade's, and why (the test fails once they agree)
KNOWN_DIFFERENCES = {
    # Not a local divergence from Kestra: Kestra itself changes here. A 1.3 EachSequential takes its
    # task runs' worst state (FlowableUtils.resolveSequentialState: WARNING); a 2.0 Loop ends
    # SUCCESS once every iteration ended, whatever they ended in (kestra-io/kestra executor
    # LoopExecutionEventMessageHandler.handleTerminated -> terminateLoop(SUCCESS)). Kestra's
    # migration guide (foreach-loop) does not list it as an expected change, so the equivalence
    # check does not count it equal; `kestra-airflow upgrade` warns about it.
    "kestra-core/each-sequential.yaml": (
        "an iteration ends WARNING (AllowFailure): the 1.3 ForEach ends WARNING, the 2.0 Loop SUCCESS, "
        "in Kestra as locally (LoopExecutionEventMessageHandler.terminateLoop)"
    ),
}


#: values for the required inputs of pairs whose flows have no defaults (any value the input accepts)
PAIR_INPUTS: dict[str, dict[str, Any]] = {
    "example-blueprints/git-flows-files-kv-sync-from-gitlab": {"branch_target": "main"},
    "example-blueprints/huggingface_message_classification": {"message_id": "42"},
}


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
    kind, ran = run_beside(
        (ROOT / f"{name}.input.yaml").read_text(encoding="utf-8"), mine, inputs=PAIR_INPUTS.get(name)
    )
    kind = {"equal": "beyond", "differ": "disagree"}.get(kind, kind)
    return PairOutcome(name, kind, "; ".join(filter(None, [ran, done, note])))


def run_beside(text: str, upgraded: dict[str, Any], **options: Any) -> tuple[str, str]:
    """Run a 1.3 flow and its upgrade locally: ``equal``, ``unrun`` (why) or ``differ`` (how)."""
    try:
        original = Flow.from_yaml(text)
    except FlowError as exc:
        return "unrun", f"could not run locally: does not load: {str(exc).splitlines()[0]}"
    upgrade = Flow.from_yaml(dump_document(upgraded), kestra="2.0")
    check = check_equivalence(original, upgrade, stand_ins=True, **options)
    if check.not_checked:
        return "unrun", f"could not run locally: {check.not_checked}"
    if check.differences:
        return "differ", "ran to different results: " + "; ".join(check.differences[:5])
    assert check.original is not None
    if check.stand_ins:
        return (
            "equal",
            f"ran equal ({check.original.state}) with plugin stand-ins: {', '.join(check.stand_ins)}",
        )
    return "equal", f"ran equal ({check.original.state})"


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


@pytest.mark.parametrize("case", UPGRADED, ids=[c.id for c in UPGRADED])
def test_corpus_flow_runs_equal_after_the_upgrade(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 1.3 flow of the Kestra corpus and its upgrade run locally to the same result (with the
    inputs, secrets and options of its ``expected.yaml`` case), or are listed as not runnable."""
    if case.uses_airflow or case.spec.get("skip"):
        why = "needs an Airflow (not checkable offline)" if case.uses_airflow else case.spec["skip"]
        TALLY.corpus[case.id] = PairOutcome(case.id, "unrun", f"could not run locally: {why}")
        pytest.skip(why)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # script tasks' working dirs and files
    text = case_text(case, CORPUS, {})
    inputs, secrets, options = case_options(case, tmp_path, monkeypatch, {})
    upgraded = upgrade_document(yaml.safe_load(text)).document
    kind, detail = run_beside(text, upgraded, inputs=inputs, secrets=secrets, **options)
    known = KNOWN_DIFFERENCES.get(case.id)
    TALLY.corpus[case.id] = PairOutcome(
        case.id, kind, f"known difference ({known}): {detail}" if known else detail
    )
    if known:
        assert kind == "differ", f"{case.id} no longer differs ({kind}): delete it from KNOWN_DIFFERENCES"
        pytest.xfail(f"known difference: {known}")
    assert kind != "differ", f"{case.id}: {detail}"
    if case.expect == "run":
        assert kind == "equal", f"{case.id} runs locally as Kestra, but not beside its upgrade: {detail}"
