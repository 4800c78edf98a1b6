"""The corpus as a test: every real Kestra flow of ``../shared/corpus/kestra/`` either runs locally to
the result Kestra gives (state, outputs, Log lines, task runs — ``expected.yaml``) or is refused
before anything runs, the error naming the task type. TriggerDagRun flows run against the real
Airflow 3 and 2 servers. A flow Kestra runs that the SDK still refuses is a *gap* (reported in the
summary, not a failure); a flow that runs and differs from Kestra fails its test.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kestra_airflow_sdk import AirflowClient
from kestra_airflow_sdk.flows import Flow, FlowError, supported_types
from tests.airflow_servers import PASSWORD, USERNAME, AirflowServer
from tests.corpus.harness import (
    KINDS,
    RESULTS,
    Case,
    Context,
    Outcome,
    cases_of,
    compare,
    corpus_dir,
    corpus_files,
    load_expected,
    mismatches,
    task_types,
)

CORE_PREFIXES = ("io.kestra.plugin.core.", "io.kestra.core.tasks.")
TRIGGER_DAG_RUN = "io.kestra.plugin.airflow.dags.TriggerDagRun"
EXPECTED = load_expected()
CASES = [case for path, entry in EXPECTED.items() for case in cases_of(path, entry)]
LOCAL = [c for c in CASES if not c.uses_airflow]
ON_AIRFLOW = [c for c in CASES if c.uses_airflow]


@pytest.fixture(scope="module")
def corpus() -> Path:
    root = corpus_dir()
    if not root.is_dir():
        RESULTS.corpus_missing = (
            f"corpus tests skipped: the optional Kestra corpus ({len(EXPECTED)} real Kestra flows from "
            f"kestra-io's public repositories, kept outside this repository, that measure local runs "
            f"against Kestra) is not at {root}; put it in shared/corpus/kestra beside the repository's "
            "folder or point KAS_CORPUS_DIR at it (docs/corpus.md)"
        )
        pytest.skip(RESULTS.corpus_missing)
    return root


def _airflow_token(server: AirflowServer) -> str:
    response = httpx.post(
        f"{server.base_url}/auth/token", json={"username": USERNAME, "password": PASSWORD}, timeout=30
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def _substitute(value: Any, extra: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, text in extra.items():
            value = value.replace("${" + name + "}", text)
        return value
    if isinstance(value, dict):
        return {k: _substitute(v, extra) for k, v in value.items()}
    return value


def _first_line(exc: BaseException) -> str:
    """The error on one line (its lines joined), for the summary."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {' | '.join(lines)}"


def _refusal(case: Case, exc: BaseException) -> Outcome:
    """An error before anything ran, judged against what the case expects."""
    text = str(exc)
    if case.expect == "refused":
        missing = [t for t in case.spec["refused_types"] if t not in text]
        if isinstance(exc, FlowError) and not missing:
            return Outcome(case.id, "refused", _first_line(exc))
        return Outcome(case.id, "diverged", f"refused without naming {missing}: {_first_line(exc)}")
    if case.expect in ("invalid", "rejected"):
        missing = [t for t in case.spec["error_contains"] if t not in text]
        if isinstance(exc, FlowError) and not missing:
            return Outcome(case.id, "refused" if case.expect == "invalid" else "ran", _first_line(exc))
        return Outcome(case.id, "diverged", f"error does not contain {missing}: {_first_line(exc)}")
    if isinstance(exc, FlowError):  # run expected: the SDK does not run it yet (or not these inputs)
        missing = [t for t in case.spec["types"] if t not in supported_types()]
        return Outcome(
            case.id, "gap", f"[types not yet supported: {', '.join(missing) or 'none'}] {_first_line(exc)}"
        )
    return Outcome(case.id, "diverged", f"raw error before running: {_first_line(exc)}")


def case_text(case: Case, root: Path, extra: dict[str, str]) -> str:
    """The flow text of a case, with the ``replace`` of its entry applied."""
    text = (root / case.path).read_text(encoding="utf-8")
    for source, target in (case.spec.get("replace") or {}).items():
        assert source in text, f"expected.yaml: {case.path} no longer contains {source!r}"
        text = text.replace(source, _substitute(target, extra))
    return text


def case_options(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The inputs, secrets and run options (``globals``, ``flows``) of a case; sets its ``env``."""
    spec = case.spec
    for name, value in (spec.get("env") or {}).items():
        monkeypatch.setenv(name, value)
    inputs = {}
    for name, value in (spec.get("inputs") or {}).items():
        if isinstance(value, str) and value.startswith("${file:"):
            path = tmp_path / value[len("${file:") : -1]
            path.write_text("a file given as an input\n", encoding="utf-8")
            value = str(path)
        inputs[name] = value
    options: dict[str, Any] = {}
    if "globals" in spec:  # a Kestra server's kestra.variables.globals configuration
        options["globals"] = spec["globals"]
    if "subflows" in spec:
        options["flows"] = [Flow.from_yaml(t) for t in spec["subflows"]]
    return inputs, _substitute(spec.get("secrets") or {}, extra), options


def run_case(
    case: Case,
    root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    server: AirflowServer | None = None,
) -> Outcome:
    """Load, run and judge one case of one corpus flow."""
    spec = case.spec
    extra: dict[str, str] = {}
    if server is not None:
        extra["airflow.url"] = server.base_url
        if "${airflow.token}" in yaml.safe_dump(spec):
            extra["airflow.token"] = _airflow_token(server)
    text = case_text(case, root, extra)
    if case.expect != "invalid":
        used = task_types(yaml.safe_load(text))
        assert sorted(used) == sorted(spec["types"]), f"expected.yaml: {case.path} uses {used}"

    try:
        flow = Flow.from_yaml(text)
    except Exception as exc:  # refused while loading
        return _refusal(case, exc)
    if case.expect == "invalid":
        return Outcome(case.id, "diverged", "loads, although Kestra rejects the document")

    inputs, secrets, options = case_options(case, tmp_path, monkeypatch, extra)
    runner = None
    try:
        runner = flow.runner(inputs, secrets, progress=False, **options)
        execution = asyncio.run(runner.run())
    except Exception as exc:
        if runner is not None and runner.execution is not None:
            return Outcome(case.id, "diverged", f"raised after the execution started: {_first_line(exc)}")
        if runner is None and isinstance(exc, TypeError) and case.expect == "run":
            return Outcome(case.id, "gap", f"run option not supported: {_first_line(exc)}")
        return _refusal(case, exc)
    if case.expect != "run":
        return Outcome(case.id, "diverged", f"ran to {execution.state.value}; Kestra: {case.expect}")

    context = Context(execution, extra)
    found = compare(spec, yaml.safe_load(text), context)
    for task_id, conf in (spec.get("dag_run_conf") or {}).items():
        assert server is not None
        outputs = execution.outputs.get(task_id, {})
        with AirflowClient(server.base_url, username=USERNAME, password=PASSWORD) as client:
            stored = client.get_dag_run(outputs["dagId"], outputs["dagRunId"])
        found.extend(mismatches(conf, stored.conf, context.resolver(), f"dag_run_conf.{task_id}"))
    if found:
        return Outcome(case.id, "diverged", "; ".join(found))
    return Outcome(case.id, "ran", execution.state.value)


def _judge(case: Case, outcome: Outcome) -> None:
    """Record the outcome; fail on a divergence (an expected failure while it is a known one)."""
    known = case.spec.get("known_divergence")
    outcome.known = bool(known) and outcome.kind == "diverged"
    RESULTS.add(case.path, outcome)
    if known and outcome.kind != "diverged":
        pytest.fail(
            f"{case.id} no longer diverges ({outcome.kind}): delete its known_divergence in expected.yaml"
        )
    if outcome.kind == "diverged":
        message = f"{case.id} diverges from Kestra ({case.spec.get('kestra', '')}):\n{outcome.detail}"
        if known:
            pytest.xfail(f"known divergence: {known}\n{message}")
        pytest.fail(message)


def test_expectations_cover_the_corpus(corpus: Path) -> None:
    files = set(corpus_files(corpus))
    assert files - set(EXPECTED) == set(), "corpus flows without an entry in expected.yaml"
    assert set(EXPECTED) - files == set(), "expected.yaml entries without a corpus flow"


def test_expectations_follow_the_rule_run_or_refused() -> None:
    """A flow made only of Kestra core tasks, TriggerDagRun and the other types the local runner runs
    (scripts) is expected to run; a refused one names types it uses, and refusing a flow of such
    tasks only needs a reason (``why``)."""
    for path, entry in EXPECTED.items():
        types, expect = entry["types"], entry["expect"]
        core_only = all(
            t.startswith(CORE_PREFIXES) or t == TRIGGER_DAG_RUN or t in supported_types() for t in types
        )
        if expect == "run":
            assert core_only, f"{path}: expected to run but uses {types}"
        if expect == "refused":
            assert set(entry["refused_types"]) <= set(types), path
            assert not core_only or entry.get("why"), f"{path}: only core tasks, refused without a why"
        assert expect in KINDS, path


@pytest.mark.parametrize("case", LOCAL, ids=[c.id for c in LOCAL])
def test_flow(case: Case, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if case.spec.get("skip"):
        RESULTS.add(case.path, Outcome(case.id, "skipped", case.spec["skip"]))
        pytest.skip(case.spec["skip"])
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # script tasks' working dirs and files
    _judge(case, run_case(case, corpus, tmp_path, monkeypatch))


@pytest.mark.parametrize("case", ON_AIRFLOW, ids=[c.id for c in ON_AIRFLOW])
def test_airflow_flow(
    case: Case, corpus: Path, airflow: AirflowServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions = case.spec.get("airflow_versions")
    if versions and airflow.major not in versions:
        RESULTS.add(
            case.path, Outcome(f"{case.id}@{airflow.version_id}", "skipped", case.spec["airflow_skip"])
        )
        pytest.skip(case.spec["airflow_skip"])
    outcome = run_case(case, corpus, tmp_path, monkeypatch, airflow)
    outcome.case = f"{outcome.case}@{airflow.version_id}"
    _judge(case, outcome)
