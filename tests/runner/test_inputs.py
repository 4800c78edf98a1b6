"""Inputs checked and typed as Kestra does, before an execution exists.

Expected values and messages come from Kestra's own test of its ``inputs.yaml`` flow
(kestra-io/kestra ``core/src/test/java/io/kestra/core/runners/InputsTest.java``): the same inputs
are declared here, the same values given, the same typed values and rule messages expected.
"""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from kestra_airflow_sdk import Flow
from kestra_airflow_sdk.flows import FlowValidationError, Log
from kestra_airflow_sdk.flows.errors import InvalidInputsError
from kestra_airflow_sdk.flows.execution import ExecutionState
from kestra_airflow_sdk.flows.secrets import SecretResolver
from kestra_airflow_sdk.runner.files import ExecutionFiles
from kestra_airflow_sdk.runner.inputs import resolve_inputs
from kestra_airflow_sdk.storage import InternalStorage

# the inputs of Kestra's core/src/test/resources/flows/valids/inputs.yaml, but FILE ones
INPUTS_YAML = """
id: inputs
namespace: io.kestra.tests
inputs:
- {id: string, type: STRING}
- {id: enum, type: ENUM, values: [ENUM_VALUE, OTHER_ONE]}
- {id: optional, type: STRING, required: false}
- {id: int, type: INT}
- {id: bool, type: BOOLEAN, required: false}
- {id: float, type: FLOAT}
- {id: instant, type: DATETIME}
- {id: date, type: DATE, required: false}
- {id: time, type: TIME, required: false}
- {id: duration, type: DURATION, required: false}
- {id: instantDefaults, type: DATETIME, defaults: "2013-08-09T14:19:00Z"}
- {id: json, type: JSON, required: false}
- {id: uri, type: URI, required: false}
- {id: nested.string, type: STRING, required: false}
- {id: nested.more.int, type: INT, required: false}
- {id: nested.bool, type: BOOLEAN, required: false}
- {id: validatedString, type: STRING, validator: A\\d+, required: false}
- {id: validatedInt, type: INT, min: 10, max: 20, required: false}
- {id: validatedDate, type: DATE, after: 2023-01-01, before: 2023-12-31, required: false}
- id: validatedDateTime
  type: DATETIME
  after: "2023-01-01T00:00:00Z"
  before: "2023-12-31T23:59:59Z"
  required: false
- {id: validatedDuration, type: DURATION, min: PT10S, max: PT20S, required: false}
- {id: validatedFloat, type: FLOAT, min: 0.1, max: 0.5, required: false}
- {id: validatedTime, type: TIME, after: "01:00:00", before: "11:59:59", required: false}
- {name: secret, type: SECRET}
- {name: array, type: ARRAY, itemType: INT}
- name: yaml
  type: YAML
  defaults:
    property: something
- {name: empty, type: STRING, defaults: '', required: true}
tasks:
- {id: log, type: io.kestra.plugin.core.log.Log, message: "{{ inputs.string }}"}
"""

# InputsTest.inputs (as text, the way Kestra's API receives them)
GIVEN: dict[str, Any] = {
    "string": "myString",
    "enum": "ENUM_VALUE",
    "int": "42",
    "float": "42.42",
    "bool": "false",
    "instant": "2019-10-06T18:27:49Z",
    "date": "2019-10-06",
    "time": "18:27:49",
    "duration": "PT5M6S",
    "json": '{"a": "b"}',
    "uri": "https://www.google.com",
    "nested.string": "a string",
    "nested.more.int": "123",
    "nested.bool": "true",
    "validatedString": "A123",
    "validatedInt": "12",
    "validatedDate": "2023-01-02",
    "validatedDateTime": "2023-01-01T00:00:10Z",
    "validatedDuration": "PT15S",
    "validatedFloat": "0.42",
    "validatedTime": "11:27:49",
    "secret": "secret",
    "array": "[1, 2, 3]",
    "yaml": "some: property\nalist:\n- of\n- values",
}


@pytest.fixture(scope="module")
def flow() -> Flow:
    return Flow.from_yaml(INPUTS_YAML)


def typed(flow: Flow, **changes: Any) -> dict[str, Any]:
    given = {**GIVEN, **changes}
    return resolve_inputs(flow.inputs, {k: v for k, v in given.items() if v is not None}, SecretResolver())


def test_all_types_are_typed_as_kestra_types_them(flow: Flow) -> None:  # InputsTest.allValidInputs
    inputs = typed(flow)
    assert inputs["string"] == "myString"
    assert inputs["int"] == 42 and isinstance(inputs["int"], int)
    assert inputs["float"] == pytest.approx(42.42)
    assert inputs["bool"] is False
    assert inputs["instant"] == datetime(2019, 10, 6, 18, 27, 49, tzinfo=timezone.utc)
    assert inputs["instantDefaults"] == datetime(2013, 8, 9, 14, 19, tzinfo=timezone.utc)
    assert inputs["date"] == date(2019, 10, 6)
    assert inputs["time"] == time(18, 27, 49)
    assert inputs["duration"] == timedelta(minutes=5, seconds=6)
    assert inputs["json"] == {"a": "b"}
    assert inputs["uri"] == "https://www.google.com"
    assert inputs["nested"] == {"string": "a string", "more": {"int": 123}, "bool": True}
    assert inputs["validatedInt"] == 12
    assert inputs["validatedDuration"] == timedelta(seconds=15)
    assert inputs["validatedTime"] == time(11, 27, 49)
    assert isinstance(inputs["secret"], SecretStr) and inputs["secret"].get_secret_value() == "secret"
    assert inputs["array"] == [1, 2, 3]
    assert inputs["yaml"] == {"some": "property", "alist": ["of", "values"]}
    assert inputs["empty"] == ""  # required with an empty default: the default is a value
    assert inputs["optional"] is None  # not required, not given: present and null


def test_missing_optional_input_is_null(flow: Flow) -> None:  # InputsTest.missingOptional
    assert typed(flow, bool=None)["bool"] is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [  # InputsTest: inputString/Int/Date/DateTime/Duration/Float/Time/Uri/Enum/Array Failed
        ({"validatedString": "foo"}, "inputs.validatedString (STRING): it must match the pattern `A\\d+`"),
        ({"validatedInt": "9"}, "inputs.validatedInt (INT): it must be more than `10`, but received `9`"),
        ({"validatedInt": "21"}, "it must be less than `20`, but received `21`"),
        ({"validatedDate": "2022-01-01"}, "it must be after `2023-01-01`, but received `2022-01-01`"),
        ({"validatedDate": "2024-01-01"}, "it must be before `2023-12-31`, but received `2024-01-01`"),
        (
            {"validatedDateTime": "2022-01-01T00:00:00Z"},
            "it must be after `2023-01-01T00:00:00Z`, but received `2022-01-01T00:00:00Z`",
        ),
        ({"validatedDateTime": "2024-01-01T00:00:00Z"}, "it must be before `2023-12-31T23:59:59Z`"),
        ({"validatedDuration": "PT1S"}, "It must be more than `PT10S`, but received `PT1S`"),
        ({"validatedDuration": "PT30S"}, "It must be less than `PT20S`, but received `PT30S`"),
        ({"validatedFloat": "0.01"}, "it must be more than `0.1`, but received `0.01`"),
        ({"validatedFloat": "1.01"}, "it must be less than `0.5`, but received `1.01`"),
        ({"validatedTime": "00:00:01"}, "it must be after `01:00`, but received `00:00:01`"),
        ({"validatedTime": "14:00:00"}, "it must be before `11:59:59`, but received `14:00:00`"),
        ({"uri": "http:/bla"}, "Expected `URI` but received `http:/bla`"),
        ({"enum": "INVALID"}, "it must match the values `[ENUM_VALUE, OTHER_ONE]`, but received `INVALID`"),
        ({"array": '["s1", "s2"]'}, "Unable to parse array element as `INT` on `s1`"),
        ({"string": None}, "inputs.string: required input (STRING) has no value and no defaults"),
        ({"int": "4.2"}, "inputs.int (INT): Expected `INT` (a whole number), but received `4.2`"),
        ({"instant": "2019-10-06"}, "inputs.instant (DATETIME): Expected `DATETIME`"),
        ({"json": "{nope"}, "inputs.json (JSON): Expected `JSON` but the text is not JSON"),
    ],
)
def test_each_broken_rule_names_input_value_and_rule(
    flow: Flow, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputsError) as err:
        typed(flow, **changes)
    assert message in str(err.value)
    assert str(err.value).startswith("Invalid inputs: ")


def test_several_problems_are_reported_together(flow: Flow) -> None:
    with pytest.raises(InvalidInputsError) as err:
        typed(flow, validatedInt="9", uri="nope", string=None, unknown="x")
    assert len(err.value.problems) == 4
    assert "'unknown': not declared by the flow" in str(err.value)
    assert isinstance(err.value, FlowValidationError)


def test_secret_values_never_show_in_errors() -> None:
    spec = [{"id": "token", "type": "SECRET", "validator": "tok-[0-9]+"}]
    with pytest.raises(InvalidInputsError) as err:
        resolve_inputs(Flow("f", "n", inputs=spec).inputs, {"token": "hunter2-not-valid"})
    assert "hunter2" not in str(err.value)
    assert "it must match the pattern `tok-[0-9]+`, but received a SECRET value (not shown)" in str(err.value)


def test_select_multiselect_and_custom_values() -> None:
    declared = Flow(
        "f",
        "n",
        inputs=[
            {"id": "env", "type": "SELECT", "values": ["dev", "prod"]},
            {"id": "any", "type": "SELECT", "values": ["a"], "allowCustomValue": True},
            {"id": "opt", "type": "SELECT", "values": ["a"], "required": False},
            {"id": "tags", "type": "MULTISELECT", "values": ["x", "y"]},
            {"id": "nums", "type": "MULTISELECT", "values": ["1", "2"], "itemType": "INT"},
        ],
    ).inputs
    got = resolve_inputs(
        declared, {"env": "prod", "any": "zzz", "opt": "other", "tags": ["y"], "nums": "[2]"}
    )
    # Kestra checks a SELECT's values only when it is required (SelectInput.validate)
    assert got == {"env": "prod", "any": "zzz", "opt": "other", "tags": ["y"], "nums": [2]}
    with pytest.raises(InvalidInputsError, match=r"it must match the values `\[x, y\]`, but received `z`"):
        resolve_inputs(declared, {"env": "prod", "any": "a", "tags": '["x", "z"]', "nums": [1]})
    with pytest.raises(
        InvalidInputsError, match=r"inputs.env \(SELECT\): it must match the values `\[dev, prod\]`"
    ):
        resolve_inputs(declared, {"env": "qa", "any": "a", "tags": [], "nums": []})


def test_booleans_follow_java_boolean_value_of() -> None:
    declared = Flow("f", "n", inputs=[{"id": "b", "type": "BOOL"}]).inputs
    assert resolve_inputs(declared, {"b": "TRUE"}) == {"b": True}
    assert resolve_inputs(declared, {"b": "yes"}) == {"b": False}  # Boolean.valueOf: only "true" is true
    assert resolve_inputs(declared, {"b": True}) == {"b": True}


def test_email_and_int_range() -> None:
    declared = Flow("f", "n", inputs=[{"id": "m", "type": "EMAIL"}, {"id": "i", "type": "INT"}]).inputs
    assert resolve_inputs(declared, {"m": "a.b@example.com", "i": -3}) == {"m": "a.b@example.com", "i": -3}
    with pytest.raises(InvalidInputsError) as err:
        resolve_inputs(declared, {"m": "not an email", "i": str(2**31)})
    assert "inputs.m (EMAIL): The input must be a valid email, but received `not an email`" in str(err.value)
    assert "inputs.i (INT): Expected `INT` between -2147483648 and 2147483647" in str(err.value)


def test_depends_on_disables_an_input_whose_condition_is_false() -> None:
    # the shape of blueprints/git-flows-files-kv-sync-to-gitlab.yaml
    declared = Flow(
        "f",
        "n",
        inputs=[
            {"id": "release", "type": "BOOL", "defaults": False},
            {
                "id": "tag",
                "type": "STRING",
                "dependsOn": {"inputs": ["release"], "condition": "{{ inputs.release }}"},
            },
        ],
    ).inputs
    assert resolve_inputs(declared, {}) == {"release": False}  # tag is required but disabled
    with pytest.raises(InvalidInputsError, match=r"inputs\.tag: required input"):
        resolve_inputs(declared, {"release": "true"})
    assert resolve_inputs(declared, {"release": "true", "tag": "v1"}) == {"release": True, "tag": "v1"}


def test_file_inputs_are_stored_and_named_by_their_kestra_storage_uri(tmp_path: Path) -> None:
    """Kestra stores an uploaded FILE input in the execution's folder of its internal storage and gives
    ``{{ inputs.file }}`` as that kestra:/// URI (InputsTest#inputFlow)."""
    declared = Flow("f", "n", inputs=[{"id": "f", "type": "FILE", "required": False}]).inputs
    files = ExecutionFiles(InternalStorage(tmp_path / "storage"), "company.team", "f", "abc")
    assert resolve_inputs(declared, {}, store_file=files.store_input) == {"f": None}
    data = tmp_path / "data.csv"
    data.write_text("a,b\n")
    uri = "kestra:///company/team/f/executions/abc/inputs/f/data.csv"
    assert resolve_inputs(declared, {"f": str(data)}, store_file=files.store_input) == {"f": uri}
    assert files.storage.get(uri) == b"a,b\n"  # a copy: the local file may change afterwards
    # a kestra:/// URI of the execution's storage stays as it is (a Subflow passing a file on)
    assert resolve_inputs(declared, {"f": uri}, store_file=files.store_input) == {"f": uri}
    with pytest.raises(InvalidInputsError, match=r"inputs\.f .*expected the path of a local file"):
        resolve_inputs(declared, {"f": str(tmp_path / "missing.csv")}, store_file=files.store_input)
    with pytest.raises(InvalidInputsError, match=r"inputs\.f .*not a file of the internal storage"):
        resolve_inputs(declared, {"f": uri + ".gone"}, store_file=files.store_input)
    with pytest.raises(InvalidInputsError, match="FILE inputs need the execution's storage"):
        resolve_inputs(declared, {"f": str(data)})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"id": "x", "type": "TEXT"}, "unknown type 'TEXT'"),
        ({"id": "x", "type": "STRING", "min": 3}, "min applies to INT, FLOAT, DURATION inputs, not STRING"),
        ({"id": "x", "type": "INT", "min": "ten"}, "min 'ten' is not a INT value"),
        ({"id": "x", "type": "ARRAY"}, "an ARRAY input needs an itemType"),
        ({"id": "x", "type": "SELECT"}, "a SELECT input needs values"),
        ({"id": "x", "type": "STRING", "validator": "("}, "validator '(' is not a regular expression"),
        ({"id": "-x", "type": "STRING"}, "an input id must match"),
    ],
)
def test_declarations_that_kestra_refuses_are_refused_when_the_flow_is_built(
    spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(FlowValidationError, match=re.escape(message)):
        Flow("f", "n", inputs=[spec])


def test_a_run_renders_inputs_as_kestra_does() -> None:
    flow = Flow(
        "f",
        "n",
        inputs=[
            {"id": "d", "type": "DURATION"},
            {"id": "t", "type": "TIME"},
            {"id": "at", "type": "DATETIME"},
            {"id": "j", "type": "JSON"},
        ],
    ).task(Log(id="log", message="{{ inputs.d }} {{ inputs.t }} {{ inputs.at }} {{ inputs.j }}"))
    execution = flow.run(
        inputs={"d": "P1DT30M", "t": "01:00:00", "at": "2026-01-31T09:00:00+01:00", "j": '{"a": [1]}'},
        progress=False,
    )
    assert execution.state is ExecutionState.SUCCESS
    # Java's Duration.toString, LocalTime.toString and Instant.toString; JSON rendered as JSON
    assert execution.logs[0].message == 'PT24H30M 01:00 2026-01-31T08:00:00Z {"a":[1]}'


def test_refused_inputs_create_no_execution() -> None:
    flow = Flow("f", "n", inputs=[{"id": "n", "type": "INT", "max": 3}]).task(Log(id="l", message="x"))
    runner = flow.runner({"n": "4"}, progress=False)
    with pytest.raises(InvalidInputsError, match=r"Invalid inputs for flow n\.f: inputs\.n"):
        asyncio.run(runner.run())
    assert runner.execution is None


def test_flow_wide_input_checks_as_kestras_flow_validator() -> None:
    flow = Flow(
        "f",
        "n",
        inputs=[
            {"id": "a", "type": "STRING"},
            {"id": "a", "type": "INT"},
            {"id": "b", "type": "STRING", "dependsOn": {"inputs": ["c"]}},
            {"id": "c", "type": "STRING", "dependsOn": {"inputs": ["b"]}},
            {"id": "d", "type": "STRING", "dependsOn": {"inputs": ["nope"]}},
        ],
    ).task(Log(id="l", message="x"))
    with pytest.raises(FlowValidationError) as err:
        flow.validate_flow()
    assert err.value.problems[:4] == [
        "inputs: input id 'a' is declared more than once",
        "inputs: input 'd' depends on 'nope', which the flow does not declare",
        "inputs: input 'b' depends on itself through dependsOn (a cycle)",
        "inputs: input 'c' depends on itself through dependsOn (a cycle)",
    ]


def test_defaults_are_rendered_before_the_execution_exists() -> None:
    # Kestra >= 0.24 renders input defaults ("Input defaults are now dynamic" in its migration
    # guide): the flow is known, the execution is not (its example with execution.id fails)
    flow = Flow(
        "f",
        "company.team",
        inputs=[
            {"id": "where", "type": "STRING", "defaults": "{{ flow.namespace }}/{{ flow.id }}"},
            {"id": "token", "type": "SECRET", "defaults": "{{ secret('API_TOKEN') }}"},
        ],
    ).task(Log(id="l", message="{{ inputs.where }} {{ inputs.token }}"))
    execution = flow.run(secrets={"API_TOKEN": "t0k3n"}, progress=False)
    assert execution.inputs["where"] == "company.team/f"
    assert execution.logs[0].message == "company.team/f *****"
    # a STRING default made from a secret stays hidden in the inputs and in errors
    hidden = Flow(
        "f", "n", inputs=[{"id": "s", "type": "STRING", "defaults": "{{ secret('K') }}", "validator": "x"}]
    )
    with pytest.raises(InvalidInputsError) as err:
        hidden.task(Log(id="l", message="x")).run(secrets={"K": "v4lue-of-k"}, progress=False)
    assert "v4lue-of-k" not in str(err.value) and "a SECRET value (not shown)" in str(err.value)
    shown = Flow("f", "n", inputs=[{"id": "s", "type": "STRING", "defaults": "{{ secret('K') }}"}])
    execution = shown.task(Log(id="l", message="{{ inputs.s }}")).run(
        secrets={"K": "v4lue-of-k"}, progress=False
    )
    assert "v4lue-of-k" not in repr(execution.inputs) and execution.logs[0].message == "*" * 10
    given = resolve_inputs(shown.inputs, {"s": SecretStr("given-secret")})
    assert isinstance(given["s"], SecretStr) and given["s"].get_secret_value() == "given-secret"
    session = Flow("f", "n", inputs=[{"id": "s", "type": "STRING", "defaults": "{{ execution.id }}"}])
    with pytest.raises(InvalidInputsError, match=r"inputs\.s: its defaults cannot be rendered: .*execution"):
        session.task(Log(id="l", message="x")).run(progress=False)
