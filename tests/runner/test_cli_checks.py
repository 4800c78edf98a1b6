"""What ``kestra-airflow`` checks before anything runs: the secrets a flow names, task types (a
misspelt one is an error naming the type meant), ``validate --strict``; and ``--version``."""

from __future__ import annotations

import base64
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from kestra_airflow_sdk.cli import main
from kestra_airflow_sdk.flows import Flow
from kestra_airflow_sdk.flows.base import dump_context
from kestra_airflow_sdk.flows.known_types import closest_known_type, is_known_type, unknown_types
from kestra_airflow_sdk.flows.secrets import SecretResolver
from kestra_airflow_sdk.flows.validation import secret_names
from tests.corpus.harness import corpus_dir, corpus_files, load_expected
from tests.flows.conftest import ISSUE_FLOW
from tests.runner.fake_airflow import FakeAirflow

#: a flow whose first task runs before the one that needs the secrets
TWO_TASKS = (
    ISSUE_FLOW.replace(
        "tasks:\n", "tasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hello\n", 1
    )
    .replace("http://host.docker.internal:8080", "http://fake-airflow")
    .replace("dagId: hello_world_dag", "dagId: ok")
)


def _write(tmp_path: Path, text: str, name: str = "flow.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# ---------------------------------------------------------------- secrets


def test_run_refuses_a_flow_whose_secrets_are_not_given_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_USERNAME", "the-user-name")
    monkeypatch.setenv("AIRFLOW_PASSWORD", "the-pass-word")
    path = _write(tmp_path, TWO_TASKS)
    assert main(["run", path]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no execution, no outputs
    assert "[hello]" not in err and "execution " not in err  # the first task did not run
    assert err == (
        f"kestra-airflow: {path} uses secret(s) not given: AIRFLOW_USERNAME, AIRFLOW_PASSWORD. Give each "
        "with --secret NAME (its value is read from the environment variable NAME, or asked for without "
        "echo on a terminal) or as a line NAME=VALUE of a file given with --secrets-file FILE, e.g.\n"
        f"  kestra-airflow run {path} --secret AIRFLOW_USERNAME --secret AIRFLOW_PASSWORD\n"
        "(AIRFLOW_USERNAME, AIRFLOW_PASSWORD are set in this environment but not passed: --secret NAME "
        "passes it)\n"
    )
    assert "run()" not in err and "the-user-name" not in err and "the-pass-word" not in err


def test_only_the_secrets_not_given_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_PASSWORD", raising=False)
    monkeypatch.delenv("SECRET_AIRFLOW_PASSWORD", raising=False)
    secrets = _write(tmp_path, "AIRFLOW_USERNAME=admin\n", "secrets.env")
    assert main(["run", _write(tmp_path, TWO_TASKS), "--secrets-file", secrets]) == 2
    err = capsys.readouterr().err
    assert "uses secret(s) not given: AIRFLOW_PASSWORD. Give each" in err
    assert "set in this environment" not in err  # AIRFLOW_PASSWORD is not
    assert "admin" not in err


def test_secrets_from_options_files_and_secret_variables_all_count(
    fake_airflow: FakeAirflow,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kestra's SECRET_<NAME> (base64) variables are given secrets too; a name's case does not matter."""
    monkeypatch.setenv("SECRET_AIRFLOW_USERNAME", base64.b64encode(b"admin").decode())
    monkeypatch.setenv("airflow_password", "admin")
    code = main(["run", _write(tmp_path, TWO_TASKS), "--secret", "airflow_password"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert yaml.safe_load(out)["state"] == "SUCCESS"


def test_a_secret_named_by_an_expression_is_missed_at_run_time_with_the_command_lines_advice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(
        tmp_path,
        """
id: dynamic
namespace: company.team
inputs:
  - id: which
    type: STRING
tasks:
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: "{{ secret(inputs.which) }}"
""",
    )
    assert main(["run", path, "--input", "which=NOT_GIVEN"]) == 1
    err = capsys.readouterr().err
    assert (
        "Secret 'NOT_GIVEN' (used in task 'show', property message) is not defined: give it with --secret "
        "NOT_GIVEN (or as a line NOT_GIVEN=... of --secrets-file FILE) or set the environment variable "
        "SECRET_NOT_GIVEN to the base64-encoded value"
    ) in err
    assert "run()" not in err


def test_the_python_api_keeps_its_advice() -> None:
    with pytest.raises(Exception, match=r"pass secrets=\{'X': \.\.\.\} to run\(\) or set"):
        SecretResolver({}, environ={}).resolve("x")


def test_secret_names_are_read_from_every_rendered_string() -> None:
    flow = Flow.from_yaml(
        """
id: names
namespace: company.team
description: "{{ secret('IN_THE_DESCRIPTION') }}"
inputs:
  - id: when
    type: STRING
    defaults: "{{ secret('INPUT_DEFAULT') }}"
variables:
  token: "{{ secret('A_VARIABLE') }}"
tasks:
  - id: check
    type: io.kestra.plugin.core.flow.If
    condition: "{{ secret('condition') == 'x' }}"
    then:
      - id: say
        type: io.kestra.plugin.core.log.Log
        message: "{{ secret('CONDITION') }} {{ secret(vars.name) }} {{ 'secret' }}"
        description: "{{ secret('A_TASK_DESCRIPTION') }}"
  - id: defaulted
    type: io.kestra.plugin.core.log.Log
  - id: broken
    type: io.kestra.plugin.core.log.Log
    message: "{{ secret('IN_A_BROKEN_TEXT') "
outputs:
  - id: result
    type: STRING
    value: "{{ secret('AN_OUTPUT') | upper }}"
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: "{{ secret('WEBHOOK_KEY') }}"
pluginDefaults:
  - type: io.kestra.plugin.core.log
    values:
      message: "{{ secret('A_DEFAULT') }}"
"""
    )
    running = flow.model_dump(mode="json", by_alias=True, context=dump_context())
    assert secret_names(running) == [
        "INPUT_DEFAULT",
        "A_VARIABLE",
        "condition",  # as first written; CONDITION is the same secret
        "A_DEFAULT",  # the message of the Log task that has none
        "AN_OUTPUT",
    ]


# ---------------------------------------------------------------- task types


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("io.kestra.plugin.core.log.Logg", "io.kestra.plugin.core.log.Log"),
        ("io.kestra.plugin.core.log.log", "io.kestra.plugin.core.log.Log"),
        ("io.kestra.plugin.core.logs.Log", "io.kestra.plugin.core.log.Log"),
        ("io.kestra.plugin.airflow.TriggerDagRun", "io.kestra.plugin.airflow.dags.TriggerDagRun"),
        ("io.kestra.plugin.scripts.python.Scripts", "io.kestra.plugin.scripts.python.Script"),
        ("io.kestra.plugin.jdbc.postgres.Query", "io.kestra.plugin.jdbc.postgresql.Query"),
        ("io.kestra.core.tasks.flows.Paralel", "io.kestra.core.tasks.flows.Parallel"),
    ],
)
def test_a_near_miss_of_a_known_type_names_it(written: str, meant: str) -> None:
    assert not is_known_type(written)
    assert closest_known_type(written) == meant


@pytest.mark.parametrize(
    "kind",
    [
        "io.kestra.plugin.core.flow.Loop",  # Kestra 2.0
        "io.kestra.core.tasks.flows.Flow",  # a legacy alias of Subflow
        "io.kestra.core.models.triggers.types.Schedule",
        "io.kestra.plugin.core.execution.Exit",  # one the SDK runs
        "io.kestra.plugin.gcp.bigquery.Query",
        "io.kestra.plugin.scripts.runner.docker.Docker",  # a task runner
    ],
)
def test_known_types(kind: str) -> None:
    assert is_known_type(kind) and closest_known_type(kind) is None


@pytest.mark.parametrize(
    "kind",
    [
        "com.example.kestra.MyTask",  # a plugin package the catalogue does not list
        "io.kestra.plugin.acme.widgets.Build",
        "io.kestra.plugin.core.flow.HumanReview",  # in a core package, like none of its classes
    ],
)
def test_an_uncatalogued_type_is_not_a_near_miss(kind: str) -> None:
    assert not is_known_type(kind) and closest_known_type(kind) is None


def test_the_catalogue_is_sorted_and_says_where_it_comes_from() -> None:
    path = Path(__file__).parents[2] / "kestra_airflow_sdk" / "flows" / "known_types.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    names = [line for line in lines if line and not line.startswith("#")]
    assert names == sorted(set(names)) and len(names) > 1000
    assert lines[0].startswith("# ") and any(
        "kestra-io/kestra@" in line for line in lines if line.startswith("#")
    )


MISSPELT = """
id: misspelt
namespace: company.team
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: hi
  - id: group
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: hello
        type: io.kestra.plugin.core.log.Logg
        message: hello
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedulle
    cron: "0 9 * * *"
"""


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_misspelt_type_is_an_error_naming_the_type_meant(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, MISSPELT)
    assert main([command, path]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"kestra-airflow: Invalid flow in {path}:\n"
        "  - tasks[1].tasks[0] (task 'hello'): unknown type io.kestra.plugin.core.log.Logg: no Kestra core or "
        "plugin type has this name; did you mean io.kestra.plugin.core.log.Log?\n"
        "  - triggers[0] (trigger 'daily'): unknown type io.kestra.plugin.core.trigger.Schedulle: no Kestra "
        "core or plugin type has this name; did you mean io.kestra.plugin.core.trigger.Schedule?\n"
    )


def test_a_nested_task_of_a_task_the_sdk_does_not_model_is_checked_too() -> None:
    document = yaml.safe_load(
        """
id: nested
namespace: company.team
tasks:
  - id: workdir
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - id: script
        type: io.kestra.plugin.scripts.python.Scrip
        script: print(1)
        taskRunner:
          type: io.kestra.plugin.scripts.runner.docker.Dockr
"""
    )
    findings = unknown_types(document)
    assert [(f.where, f.suggestion) for f in findings] == [
        ("tasks[0].tasks[0] (task 'script')", "io.kestra.plugin.scripts.python.Script")
    ]  # a task runner has no id: not a task


UNCATALOGUED = """
id: plugin
namespace: company.team
tasks:
  - id: build
    type: io.kestra.plugin.acme.widgets.Build
  - id: stored
    type: io.kestra.plugin.core.log.Log
    message: "{{ kv('LAST_RUN') }}"
  - id: python
    type: io.kestra.plugin.scripts.node.Script
    script: print(1)
"""


def test_validate_notes_an_uncatalogued_type_and_what_run_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, UNCATALOGUED)
    assert main(["validate", path]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{path}: valid flow company.team.plugin with 3 task(s)"
    notes = [line.removeprefix("  note: ") for line in lines[1:]]
    assert notes[:3] == [
        "tasks[0] (task 'build'): type io.kestra.plugin.acme.widgets.Build is not in the SDK's catalogue "
        "of Kestra types (a plugin it does not list, or a newer Kestra's); Kestra accepts it only when a "
        "plugin defines it",
        "task 'build' has type io.kestra.plugin.acme.widgets.Build, which this SDK cannot run locally",
        "task 'python' has type io.kestra.plugin.scripts.node.Script, which this SDK cannot run locally",
    ]
    assert notes[3].startswith("the task types this SDK runs: ") and "core.log.Log, " in notes[3]
    assert notes[4:] == [
        "cannot run locally as Kestra would: tasks[1].message (task 'stored'): function kv() is not "
        "supported by the local runner"
    ]


def test_validate_strict_fails_on_what_run_refuses_naming_each_task(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, UNCATALOGUED)
    assert main(["validate", "--strict", path]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == (
        f"kestra-airflow: {path}: flow company.team.plugin is valid for Kestra but cannot run locally "
        "(validate --strict):"
    )
    assert lines[1:3] == [
        "  - task 'build' has type io.kestra.plugin.acme.widgets.Build, which this SDK cannot run locally",
        "  - task 'python' has type io.kestra.plugin.scripts.node.Script, which this SDK cannot run locally",
    ]
    assert lines[4] == (
        "  - cannot run locally as Kestra would: tasks[1].message (task 'stored'): function kv() is not "
        "supported by the local runner"
    )


def test_validate_strict_refuses_a_disabled_flow_and_passes_one_the_runner_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--strict", _write(tmp_path, ISSUE_FLOW)]) == 0
    assert "valid flow company.team.airflow" in capsys.readouterr().out
    assert main(["validate", "--strict", _write(tmp_path, ISSUE_FLOW + "disabled: true\n")]) == 2
    assert "  - the flow is disabled: Kestra does not execute a disabled flow" in capsys.readouterr().err


# ---------------------------------------------------------------- the corpus


def test_every_corpus_flow_validates_as_kestra_reads_it(capsys: pytest.CaptureFixture[str]) -> None:
    """No flow of the corpus is refused for its types: all validate (non-strict), except the ones
    ``tests/corpus/expected.yaml`` says Kestra rejects too (not YAML), with the error it names."""
    root = corpus_dir()
    if not root.is_dir():
        pytest.skip(f"corpus folder {root} not found (set KAS_CORPUS_DIR): corpus validation not checked")
    expected = load_expected()
    files = corpus_files(root)
    assert len(files) == 71
    migration = root.parent / "kestra2-migration"
    pairs = sorted(str(p) for p in migration.rglob("*.yaml")) if migration.is_dir() else []
    checks = [(str(root / f), expected.get(f, {})) for f in files] + [(p, {}) for p in pairs]
    for name, entry in checks:
        code = main(["validate", name])
        out, err = capsys.readouterr()
        if entry.get("expect") == "invalid":
            assert code == 2 and all(text in err for text in entry["error_contains"]), (name, err)
        else:
            assert code == 0, (name, err)
            assert "did you mean" not in out + err, name


# ---------------------------------------------------------------- --version


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"kestra-airflow {version('kestra-airflow-sdk')}\n"
