"""Kestra's KV tasks (``io.kestra.plugin.core.kv.Set`` / ``Put`` / ``Get`` / ``GetKeys`` /
``Delete``) and the ``kv()`` function, run locally on the file-backed store under ``storage_dir``.

Expected results from kestra-io/kestra: ``SetTest.typeSpecified`` (``123.45`` NUMBER → 123.45,
``true`` BOOLEAN, ``2023-05-02T01:02:03Z`` DATETIME, ``P1DT5S`` DURATION → 1 day 5 s, a JSON list,
``{{ 200 }}`` STRING → ``"200"``), ``Set`` / ``Get`` / ``Delete`` messages, ``Put``'s merge
(``Put.java``), ``KvFunction`` (key looked up in parent namespaces, ``The key 'k' does not exist in
the namespace 'n'.``) and docs/migration-guide/0.22.0/kv-error-on-missing (``errorOnMissing``
defaults to true since 0.22, so in 1.3 as in 2.0).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import SecretStr

from kestra_airflow_sdk.flows import Execution, ExecutionState, Flow
from kestra_airflow_sdk.runner import FlowRunner
from kestra_airflow_sdk.storage import KVStore
from tests.runner.core_flows import run

NS = "company.team"


def flow(tasks: str, kestra: str = "1.3", header: str = "") -> Flow:
    return Flow.from_yaml(f"id: f\nnamespace: {NS}\n{header}tasks:\n{tasks.strip(chr(10))}\n", kestra=kestra)


def errors(execution: Execution) -> dict[str, str | None]:
    """Task id → error, for the task runs that ended with one."""
    return {r.task_id: r.error for r in execution.task_runs if r.error is not None}


SET_GET = """
  - id: count
    type: io.kestra.plugin.core.kv.Set
    key: count
    value: "{{ 40 + 2 }}"
  - id: word
    type: io.kestra.plugin.core.kv.Set
    key: word
    value: "n={{ 40 + 2 }}"
  - id: get
    type: io.kestra.plugin.core.kv.Get
    key: count
  - id: keys
    type: io.kestra.plugin.core.kv.GetKeys
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.get.value + 1 }} {{ kv('word') }}"
  - id: delete
    type: io.kestra.plugin.core.kv.Delete
    key: count
  - id: again
    type: io.kestra.plugin.core.kv.Delete
    key: count
"""


@pytest.mark.parametrize("kestra", ["1.3", "2.0"])
def test_set_get_keys_delete_and_kv_in_both_dialects(tmp_path: Path, kestra: str) -> None:
    execution = run(flow(SET_GET, kestra), storage_dir=tmp_path)
    assert execution.state is ExecutionState.SUCCESS, errors(execution)
    assert execution.outputs["get"] == {"value": 42}  # a whole expression keeps its type
    assert execution.outputs["keys"] == {"keys": ["count", "word"]}
    assert execution.outputs["delete"] == {"deleted": True}
    assert execution.outputs["again"] == {"deleted": False}
    assert [e.message for e in execution.logs] == ["43 n=42"]
    assert "count" not in execution.outputs and "word" not in execution.outputs  # Set has no outputs
    store = KVStore(NS, tmp_path)
    assert store.keys() == ["word"] and store.get("word") == "n=42"


TYPED = """
  - id: number
    type: io.kestra.plugin.core.kv.Set
    key: number
    value: "123.45"
    kvType: NUMBER
  - id: boolean
    type: io.kestra.plugin.core.kv.Set
    key: boolean
    value: "TRUE"
    kvType: BOOLEAN
  - id: datetime
    type: io.kestra.plugin.core.kv.Set
    key: datetime
    value: "2023-05-02T01:02:03Z"
    kvType: DATETIME
  - id: date
    type: io.kestra.plugin.core.kv.Set
    key: date
    value: "2023-05-02"
    kvType: DATE
  - id: duration
    type: io.kestra.plugin.core.kv.Set
    key: duration
    value: P1DT5S
    kvType: DURATION
  - id: json
    type: io.kestra.plugin.core.kv.Set
    key: json
    value: '[{"some":"value"},{"another":"value"}]'
    kvType: JSON
  - id: string
    type: io.kestra.plugin.core.kv.Set
    key: string
    value: "{{ 200 }}"
    kvType: STRING
  - id: map
    type: io.kestra.plugin.core.kv.Set
    key: map
    value: "{{ {'a': [1, 2]} }}"
  - id: get_duration
    type: io.kestra.plugin.core.kv.Get
    key: duration
  - id: get_datetime
    type: io.kestra.plugin.core.kv.Get
    key: datetime
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ kv('number') * 2 }} {{ kv('boolean') }} {{ kv('date') }} {{ kv('json')[1].another }} {{ kv('map').a[1] }}"
"""


def test_set_converts_text_to_its_kv_type_as_kestra_does(tmp_path: Path) -> None:
    execution = run(flow(TYPED), storage_dir=tmp_path)
    assert execution.state is ExecutionState.SUCCESS, errors(execution)
    store = KVStore(NS, tmp_path)
    assert {e.key: (e.type, e.value) for e in store.list()} == {
        "number": ("NUMBER", 123.45),
        "boolean": ("BOOLEAN", True),
        "datetime": ("DATETIME", datetime(2023, 5, 2, 1, 2, 3, tzinfo=timezone.utc)),
        "date": ("DATE", date(2023, 5, 2)),
        "duration": ("DURATION", timedelta(days=1, seconds=5)),
        "json": ("JSON", [{"some": "value"}, {"another": "value"}]),
        "string": ("STRING", "200"),
        "map": ("JSON", {"a": [1, 2]}),
    }
    # read back as Kestra's outputs hold them: Java's Duration and Instant texts
    assert execution.outputs["get_duration"] == {"value": "PT24H5S"}
    assert execution.outputs["get_datetime"] == {"value": "2023-05-02T01:02:03Z"}
    assert [e.message for e in execution.logs] == ["246.9 true 2023-05-02 value 2"]


@pytest.mark.parametrize(
    ("value", "kind", "problem"),
    [
        ("abc", "NUMBER", "key 'k': the value 'abc' is not a number, e.g. 42 or 1.5 (kvType NUMBER)"),
        ("soon", "DATETIME", "the value 'soon' is not an ISO-8601 instant"),
        ("1 hour", "DURATION", "the value '1 hour' is not an ISO-8601 duration"),
        ("{broken", "JSON", "the value '{broken' is not JSON text"),
    ],
)
def test_text_that_is_not_its_kv_type_fails_the_task(
    tmp_path: Path, value: str, kind: str, problem: str
) -> None:
    tasks = f"""
  - id: set
    type: io.kestra.plugin.core.kv.Set
    key: k
    value: "{value}"
    kvType: {kind}
"""
    execution = run(flow(tasks), storage_dir=tmp_path)
    assert execution.state is ExecutionState.FAILED
    assert problem in (errors(execution)["set"] or "")
    assert KVStore(NS, tmp_path).keys() == []


@pytest.mark.parametrize("kestra", ["1.3", "2.0"])
def test_kv_of_a_missing_key_fails_unless_error_on_missing_is_false(tmp_path: Path, kestra: str) -> None:
    tasks = """
  - id: lenient
    type: io.kestra.plugin.core.log.Log
    message: "[{{ kv('nope', errorOnMissing=false) }}]"
  - id: strict
    type: io.kestra.plugin.core.log.Log
    message: "{{ kv('nope') }}"
"""
    execution = run(flow(tasks, kestra), storage_dir=tmp_path)
    assert execution.state is ExecutionState.FAILED
    assert execution.logs[0].message == "[]"
    error = errors(execution)["strict"] or ""
    assert "The key 'nope' does not exist in the namespace 'company.team'." in error


def test_kv_reads_parent_namespaces_and_a_named_one(tmp_path: Path) -> None:
    KVStore("company", tmp_path).set("shared", "from company")
    KVStore("company", tmp_path).set("both", "parent")
    KVStore(NS, tmp_path).set("both", "own")
    KVStore("other", tmp_path).set("elsewhere", 7)
    tasks = """
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ kv('shared') }}|{{ kv('both') }}|{{ kv('elsewhere', 'other') }}|{{ kv('both', namespace='company') }}"
  - id: get_parent
    type: io.kestra.plugin.core.kv.Get
    key: shared
"""
    execution = run(flow(tasks), storage_dir=tmp_path)
    assert execution.state is ExecutionState.SUCCESS, errors(execution)
    assert [e.message for e in execution.logs] == ["from company|own|7|parent"]
    assert execution.outputs["get_parent"] == {"value": None}, "Get reads its namespace only"


def test_kv_with_a_bad_key_or_argument_fails_naming_it(tmp_path: Path) -> None:
    for expression, problem in [
        ("kv('bad key')", "invalid KV key 'bad key': a key must start with a letter or digit"),
        ("kv()", "The 'kv' function expects an argument 'key'."),
        ("kv('k', errorOnMissing='no')", "errorOnMissing must be true or false, got 'no'"),
    ]:
        tasks = f"""
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ {expression} }}}}"
"""
        execution = run(flow(tasks), storage_dir=tmp_path)
        assert problem in (errors(execution)["log"] or ""), expression


def test_get_and_delete_fail_on_a_missing_key_with_error_on_missing(tmp_path: Path) -> None:
    tasks = """
  - id: get
    type: io.kestra.plugin.core.kv.Get
    key: nope
  - id: strict_get
    type: io.kestra.plugin.core.kv.Get
    key: nope
    errorOnMissing: true
    allowFailure: true
  - id: strict_delete
    type: io.kestra.plugin.core.kv.Delete
    key: nope
    errorOnMissing: "{{ 1 == 1 }}"
"""
    execution = run(flow(tasks), storage_dir=tmp_path)
    assert execution.outputs["get"] == {"value": None}
    message = "No value found for key 'nope' in namespace 'company.team' and `errorOnMissing` is set to true"
    assert errors(execution) == {"strict_get": message, "strict_delete": message}
    assert execution.state is ExecutionState.FAILED


def test_set_with_overwrite_false_fails_on_an_existing_key(tmp_path: Path) -> None:
    KVStore(NS, tmp_path).set("k", "kept")
    tasks = """
  - id: set
    type: io.kestra.plugin.core.kv.Set
    key: k
    value: replaced
    overwrite: false
"""
    execution = run(flow(tasks), storage_dir=tmp_path)
    assert errors(execution) == {
        "set": "Cannot set value for key 'k'. Key already exists and `overwrite` is set to `false`."
    }
    assert KVStore(NS, tmp_path).get("k") == "kept"


def test_a_bad_key_or_namespace_in_a_task_fails_it_naming_it(tmp_path: Path) -> None:
    tasks = """
  - id: key
    type: io.kestra.plugin.core.kv.Set
    key: "{{ 'no/slash' }}"
    value: v
    allowFailure: true
  - id: namespace
    type: io.kestra.plugin.core.kv.GetKeys
    namespace: "../up"
"""
    execution = run(flow(tasks), storage_dir=tmp_path)
    found = errors(execution)
    assert (found["key"] or "").startswith(
        "invalid KV key 'no/slash': a key must start with a letter or digit"
    )
    assert (found["namespace"] or "").startswith("namespace: invalid KV namespace '../up'")


def test_ttl_and_description_are_stored(tmp_path: Path) -> None:
    tasks = """
  - id: set
    type: io.kestra.plugin.core.kv.Set
    key: token
    value: abc
    ttl: PT1H
    kvDescription: "for {{ flow.id }}"
"""
    before = datetime.now(timezone.utc)
    execution = run(flow(tasks), storage_dir=tmp_path)
    after = datetime.now(timezone.utc)
    assert execution.state is ExecutionState.SUCCESS, errors(execution)
    entry = KVStore(NS, tmp_path).entry("token")
    assert entry is not None and entry.description == "for f" and entry.expires is not None
    assert before + timedelta(hours=1) <= entry.expires <= after + timedelta(hours=1)
    later = KVStore(NS, tmp_path, clock=lambda: after + timedelta(hours=1, seconds=1))
    assert later.get("token") is None and later.keys() == []


def test_values_survive_between_runs_with_the_same_storage_dir(tmp_path: Path) -> None:
    counter = """
  - id: next
    type: io.kestra.plugin.core.kv.Set
    key: runs
    value: "{{ (kv('runs', errorOnMissing=false) ?? 0) + 1 }}"
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "run {{ kv('runs') }}"
"""
    messages = [e.message for n in range(3) for e in run(flow(counter), storage_dir=tmp_path / "a").logs]
    assert messages == ["run 1", "run 2", "run 3"]
    assert [e.message for e in run(flow(counter), storage_dir=tmp_path / "b").logs] == ["run 1"]
    store = KVStore(NS, tmp_path / "a")
    assert store.get("runs") == 3
    assert store.clear() == 1
    assert [e.message for e in run(flow(counter), storage_dir=tmp_path / "a").logs] == ["run 1"]


def test_put_merges_into_the_stored_value_and_keeps_its_expiry(tmp_path: Path) -> None:
    clock_time = datetime(2030, 1, 1, tzinfo=timezone.utc)
    KVStore(NS, tmp_path).set(
        "config", {"db": {"host": "a", "port": 1}, "tags": ["x"]}, expires=clock_time, description="d"
    )
    tasks = """
  - id: merge
    type: io.kestra.plugin.core.kv.Put
    key: config
    value:
      db:
        port: 2
      tags: ["y"]
  - id: patch
    type: io.kestra.plugin.core.kv.Put
    key: config
    value:
      - key: db.user
        value: "{{ flow.id }}"
      - key: new.deep.field
        value: 3
  - id: create
    type: io.kestra.plugin.core.kv.Put
    key: fresh
    value: "{{ 1 + 1 }}"
  - id: replace
    type: io.kestra.plugin.core.kv.Put
    key: fresh
    value:
      - value: replaced
  - id: strict
    type: io.kestra.plugin.core.kv.Put
    key: absent
    value: x
    errorOnMissing: true
"""
    execution = run(flow(tasks, "2.0"), storage_dir=tmp_path)
    assert errors(execution) == {
        "strict": "No value found for key 'absent' in namespace 'company.team' and `errorOnMissing` is set to true"
    }
    store = KVStore(NS, tmp_path)
    entry = store.entry("config")
    assert entry is not None and (entry.expires, entry.description) == (clock_time, "d")
    assert entry.value == {
        "db": {"host": "a", "port": 2, "user": "f"},
        "tags": ["y"],
        "new": {"deep": {"field": 3}},
    }
    assert store.get("fresh") == "replaced"


def test_loop_iterations_and_subflows_share_the_runs_store(tmp_path: Path) -> None:
    child = Flow.from_yaml(
        """
id: child
namespace: company.team.sub
tasks:
  - id: set
    type: io.kestra.plugin.core.kv.Set
    namespace: company.team
    key: from_child
    value: "{{ kv('seen') }}"
""",
        kestra="2.0",
    )
    tasks = """
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    values: ["a", "b", "c"]
    concurrencyLimit: 0
    tasks:
      - id: set
        type: io.kestra.plugin.core.kv.Set
        key: "item_{{ item.value }}"
        value: "{{ item.index }}"
  - id: mark
    type: io.kestra.plugin.core.kv.Set
    key: seen
    value: "{{ kv('item_c') }}"
  - id: subflow
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team.sub
    flowId: child
  - id: keys
    type: io.kestra.plugin.core.kv.GetKeys
    prefix: item_
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ kv('from_child') }}"
"""
    execution = run(flow(tasks, "2.0"), storage_dir=tmp_path, flows=[child])
    assert execution.state is ExecutionState.SUCCESS, errors(execution)
    assert execution.outputs["keys"] == {"keys": ["item_a", "item_b", "item_c"]}
    # the child (namespace company.team.sub) read 'seen' from its parent namespace company.team
    assert [e.message for e in execution.logs if e.task_id == "log"] == ["2"]


# ------------------------------------------------------------------ secrets


def test_a_secret_value_never_reaches_a_log_line_in_this_run_or_the_next(tmp_path: Path) -> None:
    tasks = """
  - id: from_secret
    type: io.kestra.plugin.core.kv.Set
    key: token
    value: "{{ secret('API_TOKEN') }}"
  - id: from_input
    type: io.kestra.plugin.core.kv.Set
    key: password
    value: "{{ inputs.password }}"
  - id: as_map
    type: io.kestra.plugin.core.kv.Set
    key: creds
    value: "{{ {'user': 'me', 'token': secret('API_TOKEN')} }}"
  - id: get
    type: io.kestra.plugin.core.kv.Get
    key: token
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.get.value }} / {{ kv('token') }} / {{ kv('password') }} / {{ kv('creds').token }}"
"""
    header = "inputs:\n  - id: password\n    type: SECRET\n"
    execution = run(
        flow(tasks, header=header),
        storage_dir=tmp_path,
        secrets={"API_TOKEN": "tok-123456"},
        inputs={"password": "pa55word!"},
    )
    assert execution.state is ExecutionState.SUCCESS, errors(execution)
    assert [e.message for e in execution.logs] == ["********** / ********** / ********* / **********"]
    assert isinstance(execution.outputs["get"]["value"], SecretStr)
    stored = KVStore(NS, tmp_path)
    assert isinstance(stored.get("token"), SecretStr) and isinstance(stored.get("password"), SecretStr)
    # the next run knows nothing of those secrets, and still masks what the store marked secret
    reader = """
  - id: get
    type: io.kestra.plugin.core.kv.Get
    key: password
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ kv('token') }} {{ outputs.get.value }} {{ kv('creds') | toJson }}"
"""
    later = run(flow(reader), storage_dir=tmp_path)
    assert [e.message for e in later.logs] == ['********** ********* {"user":"**","token":"**********"}']
    assert "tok-123456" not in repr(later) and "pa55word!" not in repr(later)


def test_the_kv_tasks_are_in_the_runners_table_and_validate_clean(tmp_path: Path) -> None:
    runner = FlowRunner(flow(SET_GET), progress=False, storage_dir=tmp_path)
    runner.check()  # nothing refused: the types run, kv() is bound
    assert runner.storage_dir == tmp_path
    types = FlowRunner(flow(SET_GET), progress=False).runtime.tasks.supported_types()
    for name in ("Set", "Put", "Get", "GetKeys", "Delete"):
        assert f"io.kestra.plugin.core.kv.{name}" in types


def test_a_flow_built_in_python_exports_kestras_properties() -> None:
    from kestra_airflow_sdk.flows.core_tasks import KvGet, KvSet

    built = (
        Flow("f", NS)
        .task(KvSet(id="set", key="k", value="{{ 1 }}", kv_type="NUMBER", ttl="P7D", overwrite=False))
        .task(KvGet(id="get", key="k", error_on_missing=True))
    )
    document = built.to_dict()
    assert document["tasks"] == [
        {
            "id": "set",
            "type": "io.kestra.plugin.core.kv.Set",
            "key": "k",
            "value": "{{ 1 }}",
            "kvType": "NUMBER",
            "ttl": "P7D",
            "overwrite": False,
        },
        {"id": "get", "type": "io.kestra.plugin.core.kv.Get", "key": "k", "errorOnMissing": True},
    ]
