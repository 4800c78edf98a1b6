"""Kestra 1.3 and 2.0: one model reads both, the version is detected (or forced), a 1.3 flow upgrades
to 2.0, and what 2.0 would reject is named with the page of Kestra's migration guide."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
import yaml

from kestra_airflow_sdk.cli import main
from kestra_airflow_sdk.flows import Flow, FlowValidationError
from kestra_airflow_sdk.flows.dialect import constructs, detect_kestra
from kestra_airflow_sdk.flows.upgrade import check_kestra2, upgrade_document

FOREACH = dedent(
    """\
    id: each
    namespace: company.team
    tasks:
      - id: each
        type: io.kestra.plugin.core.flow.ForEach
        values: ["a", "b"]
        tasks:
          - id: hello
            type: io.kestra.plugin.core.log.Log
            message: "{{ taskrun.value }} {{ json(outputs.first[taskrun.value].value).x }}"
          - id: first
            type: io.kestra.plugin.core.debug.Return
            format: "{{ taskrun.value }}"
      - id: after
        type: io.kestra.plugin.core.log.Log
        message: "{{ outputs.first['a'].value }}"
    """
)
LOOP = dedent(
    """\
    id: loop
    namespace: company.team
    tasks:
      - id: loop
        type: io.kestra.plugin.core.flow.Loop
        values: ["a", "b"]
        tasks:
          - id: hello
            type: io.kestra.plugin.core.log.Log
            message: "{{ item.value }}"
    """
)
NEUTRAL = "id: n\nnamespace: company.team\ntasks:\n  - id: hi\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


def test_the_version_is_read_from_the_constructs() -> None:
    assert Flow.from_yaml(FOREACH).kestra == "1.3"
    assert Flow.from_yaml(LOOP).kestra == "2.0"
    assert Flow.from_yaml(NEUTRAL).kestra == "2.0"  # reads the same in both
    assert Flow.from_yaml(NEUTRAL, kestra="1.3").kestra == "1.3"
    assert Flow("f", "company.team").kestra == "2.0"


@pytest.mark.parametrize(
    ("text", "construct"),
    [
        (
            "pluginDefaults:\n  - type: io.kestra.plugin.core.log.Log\n    values: {level: WARN}\n",
            "pluginDefaults",
        ),
        ("inputs:\n  - id: flag\n    type: BOOLEAN\n", "input type BOOLEAN"),
        ("inputs:\n  - name: who\n    type: STRING\n", "input name"),
        (
            "triggers:\n  - id: t\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '@daily'\n"
            "    conditions:\n      - type: io.kestra.plugin.core.condition.Weekend\n",
            "trigger conditions",
        ),
    ],
)
def test_each_1_3_construct_marks_a_1_3_flow(text: str, construct: str) -> None:
    found = constructs(yaml.safe_load(NEUTRAL + text))
    assert [c.name for c in found] == [construct] and found[0].kestra == "1.3"


def test_a_mixed_document_is_an_error_naming_both_places() -> None:
    mixed = (
        LOOP
        + "  - id: old\n    type: io.kestra.plugin.core.flow.EachSequential\n    value: [1]\n"
        + ("    tasks:\n      - id: x\n        type: io.kestra.plugin.core.log.Log\n        message: x\n")
    )
    with pytest.raises(FlowValidationError) as err:
        Flow.from_yaml(mixed)
    message = str(err.value)
    assert "mixes Kestra versions" in message
    assert "io.kestra.plugin.core.flow.Loop at tasks[0] (task 'loop')" in message
    assert "io.kestra.plugin.core.flow.EachSequential at tasks[1] (task 'old')" in message


def test_forcing_2_0_names_each_removed_construct_and_its_replacement() -> None:
    with pytest.raises(FlowValidationError) as err:
        Flow.from_yaml(FOREACH, kestra="2.0")
    problems = err.value.problems
    assert any(
        p.startswith(
            "tasks[0] (task 'each'): task type io.kestra.plugin.core.flow.ForEach was removed in Kestra 2.0"
        )
        and "io.kestra.plugin.core.flow.Loop" in p
        and "migration-guide/v2.0.0/foreach-loop" in p
        for p in problems
    )
    assert any("Pebble function json()" in p and "fromJson()" in p for p in problems)
    with pytest.raises(FlowValidationError, match=r"Not a Kestra 1.3 flow: tasks\[0\] \(task 'loop'\)"):
        Flow.from_yaml(LOOP, kestra="1.3")
    with pytest.raises(FlowValidationError, match=r"expected one of 1\.3, 2\.0, got '3'"):
        Flow.from_yaml(NEUTRAL, kestra="3")


def test_to_yaml_writes_the_flow_as_written_or_upgraded() -> None:
    flow = Flow.from_yaml(FOREACH)
    assert yaml.safe_load(flow.to_yaml()) == yaml.safe_load(FOREACH)
    upgraded = yaml.safe_load(flow.to_yaml(kestra="2.0"))
    loop = upgraded["tasks"][0]
    assert loop["type"] == "io.kestra.plugin.core.flow.Loop"
    assert loop["tasks"][0]["message"] == "{{ item.value }} {{ fromJson(outputs.first.value).x }}"
    assert loop["tasks"][1]["format"] == "{{ item.value }}"
    # a value-keyed output read after the loop: a declared loop output, read with loopOutputs()
    assert loop["outputs"] == [{"id": "first_value", "type": "STRING", "value": "{{ outputs.first.value }}"}]
    assert upgraded["tasks"][1]["message"] == "{{ loopOutputs(outputs.each.outputs, 'first_value') }}"
    assert Flow.from_yaml(yaml.safe_dump(upgraded), kestra="2.0").kestra == "2.0"
    assert Flow.from_yaml(LOOP).to_yaml(kestra="2.0") == Flow.from_yaml(LOOP).to_yaml()
    with pytest.raises(FlowValidationError, match=r"Not a Kestra 1\.3 flow"):
        Flow.from_yaml(LOOP).to_yaml(kestra="1.3")


def test_nested_loops_and_parent_values() -> None:
    document = yaml.safe_load(
        dedent(
            """\
            id: nested
            namespace: company.team
            tasks:
              - id: outer
                type: io.kestra.plugin.core.flow.EachParallel
                value: ["a", "b"]
                concurrent: 2
                tasks:
                  - id: inner
                    type: io.kestra.plugin.core.flow.ForEach
                    values: "{{ fromJson(taskrun.value).keys }}"
                    tasks:
                      - id: branch
                        type: io.kestra.plugin.core.flow.If
                        condition: "{{ taskrun.iteration > 0 }}"
                        then:
                          - id: log
                            type: io.kestra.plugin.core.log.Log
                            message: "{{ parents[1].taskrun.value }}/{{ parent.taskrun.value }}/{{ taskrun.value }}"
            """
        )
    )
    result = upgrade_document(document)
    outer = result.document["tasks"][0]
    assert (outer["type"], outer["values"], outer["concurrencyLimit"]) == (
        "io.kestra.plugin.core.flow.Loop",
        ["a", "b"],
        2,
    )
    inner = outer["tasks"][0]
    assert inner["values"] == "{{ fromJson(item.value).keys }}"  # evaluated in the outer loop
    branch = inner["tasks"][0]
    assert branch["condition"] == "{{ item.index > 0 }}"
    # parents[1] is the inner loop's run (the outer item); parent is the If (the inner item)
    assert branch["then"][0]["message"] == "{{ item.parent.value }}/{{ item.value }}/{{ item.value }}"
    assert result.errors == []


def test_plugin_defaults_are_inlined_onto_the_tasks_they_apply_to() -> None:
    document = yaml.safe_load(
        NEUTRAL
        + "  - id: warn\n    type: io.kestra.plugin.core.log.Log\n    message: own\n    level: ERROR\n"
        + "pluginDefaults:\n  - type: io.kestra.plugin.core.log\n    values:\n      level: WARN\n      logLevel: DEBUG\n"
        + "  - type: io.kestra.plugin.core.log.Log\n    forced: true\n    values:\n      message: forced\n"
    )
    result = upgrade_document(document)
    assert "pluginDefaults" not in result.document
    assert result.document["tasks"] == [
        {
            "id": "hi",
            "type": "io.kestra.plugin.core.log.Log",
            "message": "forced",
            "level": "WARN",
            "logLevel": "DEBUG",
        },
        {
            "id": "warn",
            "type": "io.kestra.plugin.core.log.Log",
            "message": "forced",
            "level": "ERROR",
            "logLevel": "DEBUG",
        },
    ]


def test_trigger_conditions_become_when_and_depends_on() -> None:
    document = yaml.safe_load(
        NEUTRAL
        + dedent(
            """\
            triggers:
              - id: daily
                type: io.kestra.plugin.core.trigger.Schedule
                cron: "0 9 * * *"
                conditions:
                  - type: io.kestra.plugin.core.condition.Not
                    conditions:
                      - type: io.kestra.plugin.core.condition.Weekend
                  - type: io.kestra.plugin.core.condition.PublicHoliday
                    country: FR
              - id: upstream
                type: io.kestra.plugin.core.trigger.Flow
                states: [FAILED]
                conditions:
                  - type: io.kestra.plugin.core.condition.ExecutionFlow
                    namespace: company
                    flowId: etl
                  - type: io.kestra.plugin.core.condition.ExecutionNamespace
                    namespace: company
                    comparison: PREFIX
            """
        )
    )
    daily, upstream = upgrade_document(document).document["triggers"]
    assert daily["when"] == "{{ (not (isWeekend(trigger.date))) and (isPublicHoliday(trigger.date, 'FR')) }}"
    assert "conditions" not in daily and list(daily) == ["id", "type", "cron", "when"]
    assert upstream["dependsOn"] == [
        {
            "when": "{{ trigger.namespace startsWith 'company' }}",
            "flowId": "etl",
            "namespace": "company",
            "states": ["FAILED"],
        }
    ]
    assert "states" not in upstream


def test_what_cannot_be_converted_is_named_with_the_guide_page() -> None:
    text = NEUTRAL + "  - id: items\n    type: io.kestra.plugin.core.flow.ForEachItem\n    items: x\n"
    with pytest.raises(FlowValidationError) as err:
        Flow.from_yaml(text).to_yaml(kestra="2.0")
    assert (
        "tasks[1] (task 'items'): task type io.kestra.plugin.core.flow.ForEachItem has no automatic rewrite"
        in str(err.value)
    )
    assert "https://kestra.io/docs/migration-guide/v2.0.0/foreach-loop" in str(err.value)


def test_json_is_renamed_outside_raw_blocks_only() -> None:
    document = yaml.safe_load(
        NEUTRAL.replace(
            "message: hi",
            'message: "{{ x | json }} {{ json(y).z }} {% raw %}{{ json(w) }}{% endraw %} {{ v is json }}"',
        )
    )
    message = upgrade_document(document).document["tasks"][0]["message"]
    assert (
        message == "{{ x | toJson }} {{ fromJson(y).z }} {% raw %}{{ json(w) }}{% endraw %} {{ v is json }}"
    )
    assert (
        detect_kestra(yaml.safe_load(NEUTRAL.replace("hi\n", "'{% raw %}{{ json(w) }}{% endraw %}'\n")))
        == "2.0"
    )


def test_check_kestra2_has_two_severities() -> None:
    document = yaml.safe_load(
        FOREACH + "  - id: sync\n    type: io.kestra.plugin.git.SyncFlows\n    url: https://git.example\n"
    )
    notes = check_kestra2(document)
    errors = [n for n in notes if n.severity == "error"]
    warnings = [n for n in notes if n.severity == "warning"]
    assert any(
        "ForEach was removed in Kestra 2.0" in n.message and "upgrade converts it" in n.message
        for n in errors
    )
    assert [n.where for n in warnings if "auth" in n.message] == ["tasks[2] (task 'sync')"]


def test_cli_upgrade_and_validate_kestra(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in"
    (source / "team").mkdir(parents=True)
    (source / "team" / "each.yaml").write_text(FOREACH, encoding="utf-8")
    assert main(["validate", "--kestra", "2.0", str(source / "team" / "each.yaml")]) == 1
    out = capsys.readouterr().out
    assert "error: tasks[0] (task 'each'): task type io.kestra.plugin.core.flow.ForEach was removed" in out
    assert out.endswith("each.yaml: Kestra 2.0: 2 error(s), 1 warning(s)\n")  # ForEach, json(); loopOutputs
    assert main(["upgrade", str(source), "-o", str(tmp_path / "out")]) == 0
    written = (tmp_path / "out" / "team" / "each.yaml").read_text(encoding="utf-8")
    assert Flow.from_yaml(written, kestra="2.0").tasks[0].type == "io.kestra.plugin.core.flow.Loop"
    assert "tasks[0] (task 'each'): ForEach -> Loop" in capsys.readouterr().err
    assert main(["upgrade", str(source)]) == 2  # a folder needs -o
    assert main(["upgrade", str(source / "team" / "each.yaml")]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["tasks"][0]["type"] == "io.kestra.plugin.core.flow.Loop"


def test_input_and_trigger_rules() -> None:
    document = yaml.safe_load(
        NEUTRAL
        + dedent(
            """\
            inputs:
              - id: pick
                type: MULTISELECT
                options: [a, b]
                defaults: [a]
              - id: upload
                type: FILE
                extension: .csv
                required: false
              - id: who
                type: STRING
                required: false
                defaults: me
            triggers:
              - id: t
                type: io.kestra.plugin.core.trigger.Webhook
                key: k
                minLogLevel: WARN
            """
        )
    )
    assert detect_kestra(document) == "1.3"
    result = upgrade_document(document)
    assert result.document["inputs"] == [
        {"id": "pick", "type": "MULTISELECT", "values": ["a", "b"], "defaults": ["a"]},
        {"id": "upload", "type": "FILE", "required": False},
        {"id": "who", "type": "STRING", "defaults": "me"},
    ]
    assert result.document["triggers"] == [
        {"id": "t", "type": "io.kestra.plugin.core.trigger.Webhook", "key": "k"}
    ]
    assert result.errors == []


def test_subflow_outputs_and_pause_delay_are_left_to_a_person() -> None:
    document = yaml.safe_load(
        NEUTRAL
        + "  - id: child\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: n\n    flowId: f\n"
        + "    outputs:\n      x: '{{ outputs.a.value }}'\n"
        + "  - id: wait\n    type: io.kestra.plugin.core.flow.Pause\n    delay: PT1M\n"
    )
    errors = {n.where: n.message for n in upgrade_document(document).errors}
    assert errors == {
        "tasks[1] (task 'child').outputs": "Subflow outputs has no automatic rewrite: use outputs declared by the child "
        "flow (outputs.<subflow>.outputs.<id>)",
        "tasks[2] (task 'wait').delay": "Pause delay has no automatic rewrite: use timeout (and the tasks after the Pause)",
    }


def test_a_flow_built_in_python_is_written_for_kestra_2_0_unless_1_3_is_asked_for() -> None:
    from kestra_airflow_sdk.flows import ForEach, Log

    flow = Flow("built", "company.team").task(
        ForEach(id="each", values=["a"], tasks=[Log(id="hello", message="{{ taskrun.value }}")])
    )
    assert flow.kestra == "1.3"
    written = yaml.safe_load(flow.to_yaml())
    assert written["tasks"][0]["type"] == "io.kestra.plugin.core.flow.Loop"
    assert written["tasks"][0]["tasks"][0]["message"] == "{{ item.value }}"
    assert (
        yaml.safe_load(flow.to_yaml(kestra="1.3"))["tasks"][0]["type"] == "io.kestra.plugin.core.flow.ForEach"
    )
    assert Flow.from_yaml(flow.to_yaml(kestra="1.3")).to_yaml() == flow.to_yaml(kestra="1.3")


def test_upgrade_option_rewrites_the_legacy_options_into_a_2_0_flow(issue_flow_text: str) -> None:
    assert Flow.from_yaml(issue_flow_text).kestra == "1.3"  # options.basicAuthUser
    assert Flow.from_yaml(issue_flow_text, upgrade=True).kestra == "2.0"


def test_check_kestra2_says_why_a_construct_is_not_converted() -> None:
    document = yaml.safe_load(
        NEUTRAL
        + "triggers:\n  - id: t\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '@hourly'\n"
        + "    conditions:\n      - type: io.kestra.plugin.core.condition.TimeBetween\n        after: '09:00:00'\n"
    )
    (note,) = check_kestra2(document)
    assert note.severity == "error" and note.where == "triggers[0] (trigger 't').conditions"
    assert (
        "upgrade cannot convert it: a TimeBetween condition cannot be converted to when/dependsOn"
        in note.message
    )


def test_cli_upgrade_goes_on_after_a_file_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a_mixed.yaml").write_text(
        LOOP + "  - id: old\n    type: io.kestra.plugin.core.flow.ForEach\n    values: [1]\n"
        "    tasks:\n      - id: x\n        type: io.kestra.plugin.core.log.Log\n        message: x\n",
        encoding="utf-8",
    )
    (tmp_path / "in" / "b_each.yaml").write_text(FOREACH, encoding="utf-8")
    assert main(["upgrade", str(tmp_path / "in"), "-o", str(tmp_path / "out")]) == 1
    assert "a_mixed.yaml: Flow" in capsys.readouterr().err
    assert not (tmp_path / "out" / "a_mixed.yaml").exists()
    assert Flow.from_yaml(tmp_path / "out" / "b_each.yaml", kestra="2.0").kestra == "2.0"


def test_the_task_rules_kestra_migrate_automates() -> None:
    document = yaml.safe_load(
        dedent(
            """\
            id: my_flow.v1
            namespace: company.team
            tasks:
              - id: echo
                type: io.kestra.plugin.core.debug.Echo
                format: "{{ flow.id }}"
                level: WARN
              - id: stop
                type: io.kestra.plugin.core.execution.Exit
                state: CANCELED
              - id: purge
                type: io.kestra.plugin.core.kv.PurgeKV
                expiredOnly: false
                namespaces: [a]
              - id: dbt
                type: io.kestra.plugin.dbt.cli.Build
                dbtPath: /usr/local/bin/dbt
                dockerOptions:
                  image: ghcr.io/kestra-io/dbt-duckdb
              - id: run_dag
                type: io.kestra.plugin.airflow.dags.TriggerDagRun
                baseUrl: http://af
                dagId: d
                options:
                  basicAuthUser: "{{ secret('U') }}"
                  basicAuthPassword: "{{ secret('P') }}"
                  readTimeout: PT1M
              - id: save
                type: io.kestra.plugin.core.state.Set
                name: cursor
                data: {last: 1}
              - id: load
                type: io.kestra.plugin.core.state.Get
                name: cursor
              - id: show
                type: io.kestra.core.tasks.log.Log
                message: "{{ outputs.load.data.last }} of {{ outputs.load.count }}"
            """
        )
    )
    result = upgrade_document(document)
    echo, stop, purge, dbt, run_dag, save, load, show = result.document["tasks"]
    assert echo == {
        "id": "echo",
        "type": "io.kestra.plugin.core.log.Log",
        "message": "{{ flow.id }}",
        "level": "WARN",
    }
    assert stop["state"] == "CANCELLED"
    assert purge == {
        "id": "purge",
        "type": "io.kestra.plugin.core.kv.PurgeKV",
        "behavior": {"type": "key", "expiredOnly": False},  # not dropped: false keeps every key purged
        "namespaces": ["a"],
    }
    assert dbt == {
        "id": "dbt",
        "type": "io.kestra.plugin.dbt.cli.DbtCLI",
        "containerImage": "ghcr.io/kestra-io/dbt-duckdb",
        "commands": ["dbt build"],
    }
    assert run_dag["options"] == {
        "auth": {"type": "BASIC", "username": "{{ secret('U') }}", "password": "{{ secret('P') }}"},
        "timeout": {"readIdleTimeout": "PT1M"},
    }
    # the key the 1.3 State Store used (slugified flow id), so the stored state is still found
    assert save == {
        "id": "save",
        "type": "io.kestra.plugin.core.kv.Set",
        "key": "my-flowv1_states_tasks-states_cursor",
        "value": {"last": 1},
    }
    assert load == {
        "id": "load",
        "type": "io.kestra.plugin.core.kv.Get",
        "key": "my-flowv1_states_tasks-states_cursor",
    }
    value = "outputs.load.value"
    parsed = f"fromJson(({value} ?? '{{}}') contains '{{' ? ({value} ?? '{{}}') : ({value} | base64decode))"
    assert show == {
        "id": "show",
        "type": "io.kestra.plugin.core.log.Log",  # the legacy alias, renamed
        "message": "{{ " + parsed + ".last }} of {{ (" + parsed + " | length) }}",
    }
    assert [n.severity for n in result.notes] == ["warning"]  # kv.Set replaces, state.Set merged
    assert constructs(result.document) == []
