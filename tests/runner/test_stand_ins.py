"""Plugin tasks as stand-ins in an upgrade check (:mod:`kestra_airflow_sdk.migration.stand_ins`):
what each plugin task is given is compared, in every iteration, secrets masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from kestra_airflow_sdk.cli import main
from kestra_airflow_sdk.flows import Flow
from kestra_airflow_sdk.migration.equivalence import check_equivalence
from kestra_airflow_sdk.migration.stand_ins import STAND_IN_PREFIX

PLUGINS = """
id: plugins
namespace: company.team
pluginDefaults:
  - type: io.kestra.plugin.jdbc.postgresql
    values:
      url: jdbc:postgresql://db:5432/shop
      password: "{{ secret('PG_PASSWORD') }}"
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["orders", "customers"]
    tasks:
      - id: copy
        type: io.kestra.plugin.jdbc.postgresql.Query
        sql: "SELECT count(*) FROM {{ taskrun.value }}"
        fetchType: FETCH_ONE
  - id: notify
    type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
    url: https://hooks.example.test/x
    payload: '{"text": "copied {{ outputs.copy.orders.row }}"}'
"""
SECRET = "s3cr3t-pg-password"


def _pair(text: str) -> tuple[Flow, Flow]:
    original = Flow.from_yaml(text)
    return original, Flow.from_yaml(original.to_yaml(kestra="2.0"), kestra="2.0")


def test_plugin_tasks_run_as_stand_ins_and_what_they_get_is_compared() -> None:
    original, upgraded = _pair(PLUGINS)
    without = check_equivalence(original, upgraded, secrets={"PG_PASSWORD": SECRET})
    assert "cannot run locally" in without.not_checked and not without.stand_ins
    result = check_equivalence(original, upgraded, secrets={"PG_PASSWORD": SECRET}, stand_ins=True)
    assert result.equal, str(result)
    assert result.stand_ins == [
        "copy (io.kestra.plugin.jdbc.postgresql.Query)",
        "notify (io.kestra.plugin.notifications.slack.SlackIncomingWebhook)",
    ]
    assert any("ran as stand-ins" in note for note in result.notes)
    assert result.original is not None
    lines = [e.message for e in result.original.logs if e.task_id == "copy"]
    # one line per iteration, with the plugin defaults applied and the iteration's value rendered
    assert sorted(lines) == sorted(
        f'{STAND_IN_PREFIX}io.kestra.plugin.jdbc.postgresql.Query: {{"fetchType": "FETCH_ONE", '
        f'"password": "{"*" * len(SECRET)}", "sql": "SELECT count(*) FROM {table}", '
        f'"url": "jdbc:postgresql://db:5432/shop"}}'
        for table in ("orders", "customers")
    )
    # an output the plugin would have produced does not render: recorded, the task still ends SUCCESS
    notify = [e.message for e in result.original.logs if e.task_id == "notify"]
    assert len(notify) == 1 and '"payload": "<not rendered:' in notify[0]
    everything = repr(result) + str(result) + "".join(e.message for e in result.original.logs)
    assert SECRET not in everything


def test_a_plugin_task_given_something_else_after_the_upgrade_is_a_difference() -> None:
    original, upgraded = _pair(PLUGINS)
    changed = upgraded.to_yaml().replace("FROM {{ item.value }}", "FROM {{ item.value }}_v2")
    assert changed != upgraded.to_yaml()
    result = check_equivalence(
        original, Flow.from_yaml(changed, kestra="2.0"), secrets={"PG_PASSWORD": SECRET}, stand_ins=True
    )
    assert not result.equal
    assert any("task 'copy'" in d and "orders_v2" in d for d in result.differences), result.differences

    dropped = upgraded.to_yaml().replace("url: jdbc:postgresql://db:5432/shop", "url: jdbc:postgresql://db/x")
    assert dropped != upgraded.to_yaml()
    other = check_equivalence(
        original, Flow.from_yaml(dropped, kestra="2.0"), secrets={"PG_PASSWORD": SECRET}, stand_ins=True
    )
    assert any("task 'copy'" in d and "db/x" in d for d in other.differences), other.differences


def test_a_plugin_type_the_upgrade_changes_is_noted_not_compared() -> None:
    original, upgraded = _pair(PLUGINS)
    retyped = upgraded.to_yaml().replace(
        "type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook",
        "type: io.kestra.plugin.slack.SlackIncomingWebhook",
    )
    result = check_equivalence(
        original, Flow.from_yaml(retyped, kestra="2.0"), secrets={"PG_PASSWORD": SECRET}, stand_ins=True
    )
    assert result.equal, str(result)
    assert any("task 'notify': the upgrade changed its type" in note for note in result.notes), result.notes


def test_cli_check_equivalence_with_stand_ins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    monkeypatch.setenv("SECRET_PG_PASSWORD", base64.b64encode(SECRET.encode()).decode())
    flow = tmp_path / "plugins.yaml"
    flow.write_text(PLUGINS)
    assert main(["upgrade", str(flow), "-o", str(tmp_path / "out"), "--check-equivalence"]) == 1
    refused = capsys.readouterr().err
    assert "equivalence: not checked: the 1.3 flow cannot run locally" in refused, refused
    assert (
        main(["upgrade", str(flow), "-o", str(tmp_path / "out"), "--check-equivalence", "--stand-ins"]) == 0
    )
    err = capsys.readouterr().err
    assert "equivalence: equivalent" in err and "ran as stand-ins" in err
    assert SECRET not in err
