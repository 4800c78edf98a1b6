"""Native flows from DAGs: REST answers recorded from Airflow 3.3.2 and 2.10.5 (tests/dags/native_dags.py),
small DAG sources written here, and the translated flows run locally (no Airflow needed for that)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from kestra_airflow_sdk import AirflowClient
from kestra_airflow_sdk.airflow.errors import InvalidArgumentError
from kestra_airflow_sdk.airflow.models import AirflowDag
from kestra_airflow_sdk.flows import Flow, Schedule, TriggerDagRun
from kestra_airflow_sdk.flows.tasks.flowable import Dag, Subflow, Switch
from kestra_airflow_sdk.flows.tasks.http import HttpRequest
from kestra_airflow_sdk.flows.tasks.runnable import Log
from kestra_airflow_sdk.flows.tasks.scripts import PythonScript, ShellCommands
from kestra_airflow_sdk.migration.dag_reads import DagDefinition, DefinedTask
from kestra_airflow_sdk.migration.dag_source import read_dag_source
from kestra_airflow_sdk.migration.native import native_flow_for_dag, translate_dag

RECORDED = Path(__file__).parent / "recorded"
HEADER = """
from datetime import datetime
from airflow.sdk import DAG, dag, task
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
"""


def _recorded_client(version: str, name: str = "native") -> AirflowClient:
    """A client answered from ``recorded/<name>_<version>.json`` (REST answers of real Airflow)."""
    answers = json.loads((RECORDED / f"{name}_{version}.json").read_text())
    prefix = f"/api/{version}"

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/auth/token":
            return httpx.Response(201, json={"access_token": "token"})
        if path == f"{prefix}/version":
            return httpx.Response(200, json={"version": "3.3.2" if version == "v2" else "2.10.5"})
        body = answers.get(path.removeprefix(prefix))
        return (
            httpx.Response(200, json=body)
            if body is not None
            else httpx.Response(404, json={"title": "nope"})
        )

    return AirflowClient(
        "http://airflow.test", username="admin", password="admin", transport=httpx.MockTransport(handle)
    )


def _definition(
    source: str, tasks: list[DefinedTask], *, params: dict[str, Any] | None = None, **dag: Any
) -> DagDefinition:
    text = HEADER + textwrap.dedent(source)
    return DagDefinition(
        dag=AirflowDag.model_validate({"dag_id": "demo", **dag}),
        tasks=tuple(tasks),
        source=text,
        params=params or {},
    )


def _translate(definition: DagDefinition, **options: Any) -> Any:
    return translate_dag(definition, namespace="company.team", base_url="http://airflow:8080", **options)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_recorded_bash_dag_becomes_a_chain_with_retries_and_finally(version: str) -> None:
    with _recorded_client(version) as client:
        result = native_flow_for_dag(client, "native_bash_dag", namespace="company.team")
    assert result.native and not result.untranslated
    flow = result.flow
    assert [t.id for t in flow.tasks] == ["extract", "transform"]  # a chain: the flow's own sequence
    extract = flow.tasks[0]
    assert isinstance(extract, ShellCommands)
    assert extract.commands == ["echo extracting; echo 3 > /dev/null"]
    assert extract.interpreter == ["/bin/bash", "-c"] and extract.fail_fast is False
    assert (
        extract.retry is not None and extract.retry.max_attempts == 3 and extract.retry.interval == "PT300S"
    )
    assert [t.id for t in flow.finally_ or []] == ["load"]  # trigger_rule all_done on the last task
    assert "finally" in next(r.lost for r in result.tasks if r.task_id == "load")
    assert Flow.from_yaml(flow.to_yaml()) == flow


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_recorded_taskflow_dag_passes_return_values_and_params(version: str) -> None:
    with _recorded_client(version) as client:
        result = native_flow_for_dag(client, "native_taskflow_dag", namespace="company.team")
    assert result.native
    flow = result.flow
    assert [(i.id, i.type, i.defaults) for i in flow.inputs or []] == [
        ("factor", "INT", 3),
        ("label", "STRING", "orders"),
        ("conf", "JSON", {}),
    ]
    (dag,) = flow.tasks
    assert isinstance(dag, Dag)
    assert {t.task.id: t.depends_on for t in dag.tasks} == {
        "extract": None,
        "total": ["extract"],
        "describe": ["extract", "total"],
    }
    total = next(t.task for t in dag.tasks if t.task.id == "total")
    assert isinstance(total, PythonScript)
    assert "{{ outputs.extract.vars.return_value | toJson | toJson }}" in total.script
    assert "def total(data: dict, params=None):" in total.script
    assert total.retry is not None and total.retry.max_attempts == 2

    execution = flow.run(inputs={"factor": 5, "conf": {"factor": 5}}, progress=False)
    outputs = {r.task_id: r.outputs.get("vars", {}).get("return_value") for r in execution.task_runs}
    assert str(execution.state) == "SUCCESS"
    assert outputs["extract"] == {"orders": [4, 5, 6], "currency": "EUR"}
    assert outputs["total"] == 75 and outputs["describe"] == "orders: 75 EUR"


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_recorded_branch_becomes_a_switch_on_the_return_value(version: str) -> None:
    with _recorded_client(version) as client:
        result = native_flow_for_dag(client, "native_python_dag", namespace="company.team")
    assert result.native
    ids = [t.id for t in result.flow.tasks]
    assert ids == ["start", "square", "pick", "pick_switch"]
    assert isinstance(result.flow.tasks[0], Log)
    switch = result.flow.tasks[3]
    assert isinstance(switch, Switch) and switch.value == "{{ outputs.pick.vars.return_value }}"
    assert sorted(switch.cases or {}) == ["big", "small"]
    execution = result.flow.run(progress=False)
    ran = {r.task_id: str(r.state) for r in execution.task_runs}
    assert ran.get("big") == "SUCCESS" and "small" not in ran
    assert execution.task_run("big").outputs["vars"]["return_value"] == "16!"


def test_untranslatable_task_falls_back_to_trigger_dag_run() -> None:
    source = """
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    with DAG(dag_id="demo", schedule="30 6 * * 1-5"):
        a = BashOperator(task_id="a", bash_command="echo a")
        b = KubernetesPodOperator(task_id="b", image="busybox")
        a >> b
    """
    tasks = [DefinedTask("a", "BashOperator", ("b",)), DefinedTask("b", "KubernetesPodOperator")]
    result = _translate(_definition(source, tasks, schedule="30 6 * * 1-5"))
    assert not result.native
    (report,) = result.untranslated
    assert report.task_id == "b" and "KubernetesPodOperator is not in the operator table" in report.reason
    (trigger,) = result.flow.tasks
    assert isinstance(trigger, TriggerDagRun) and trigger.dag_id == "demo"
    assert result.draft is not None and [t.id for t in result.draft.tasks] == ["a"]
    (schedule,) = result.flow.triggers or []
    assert isinstance(schedule, Schedule) and schedule.cron == "30 6 * * 1-5" and schedule.disabled
    assert "fallback: b" in repr(result)
    assert list(result.to_pandas()["status"]) == ["native", "untranslated"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('BashOperator(task_id="t", bash_command="echo {{ ds }}")', "{{ ds }} has no Kestra equivalent"),
        ('BashOperator(task_id="t", bash_command="run.sh")', "script file"),
        ('BashOperator(task_id="t", bash_command=COMMAND)', "computed in the DAG file"),
        ('PythonOperator(task_id="t", python_callable=lambda: 1)', "not a function defined in the DAG file"),
        ('PythonOperator(task_id="t", python_callable=uses_variable)', "'Variable', imported from Airflow"),
        ('PythonOperator(task_id="t", python_callable=uses_ds)', "context value 'ds'"),
        ('PythonOperator(task_id="t", python_callable=pulls_other_key)', "other than a return value"),
    ],
)
def test_each_untranslatable_task_says_why(body: str, reason: str) -> None:
    source = f"""
    from airflow.models import Variable
    COMMAND = "echo " + "x"

    def uses_variable():
        return Variable.get("x")

    def uses_ds(ds):
        return ds

    def pulls_other_key(ti):
        return ti.xcom_pull(task_ids="t", key="other")

    with DAG(dag_id="demo"):
        {body}
    """
    operator = body.split("(")[0]
    result = _translate(_definition(source, [DefinedTask("t", operator)]))
    assert not result.native
    assert reason in result.untranslated[0].reason


def test_bash_templates_of_params_conf_and_upstream_values_become_pebble() -> None:
    source = """
    def produce():
        return "v"

    with DAG(dag_id="demo", params={"who": "world"}):
        p = PythonOperator(task_id="produce", python_callable=produce)
        b = BashOperator(
            task_id="say",
            bash_command="echo {{ params.who }} {{ dag_run.conf['x'] }} {{ ti.xcom_pull(task_ids='produce') }}",
            env={"WHO": "{{ params.who }}"},
        )
        p >> b
    """
    tasks = [DefinedTask("produce", "PythonOperator", ("say",)), DefinedTask("say", "BashOperator")]
    result = _translate(_definition(source, tasks, params={"who": "world"}))
    assert result.native
    say = result.flow.tasks[1]
    assert isinstance(say, ShellCommands)
    assert say.commands == [
        "echo {{ inputs.who }} {{ inputs.conf['x'] }} {{ outputs.produce.vars.return_value }}"
    ]
    assert say.env == {"WHO": "{{ inputs.who }}"}
    assert [i.id for i in result.flow.inputs or []] == ["who", "conf"]


def test_python_callable_carries_its_helpers_imports_and_constants() -> None:
    source = """
    import math
    LIMIT = 10

    def helper(x):
        return math.floor(x) + LIMIT

    def compute(value):
        return helper(value)

    with DAG(dag_id="demo"):
        PythonOperator(task_id="compute", python_callable=compute, op_kwargs={"value": 2.5})
    """
    result = _translate(_definition(source, [DefinedTask("compute", "PythonOperator")]))
    assert result.native
    (task,) = result.flow.tasks
    assert isinstance(task, PythonScript)
    assert "import math" in task.script and "LIMIT = 10" in task.script and "def helper(x):" in task.script
    execution = result.flow.run(progress=False)
    assert execution.task_run("compute").outputs["vars"]["return_value"] == 12


@pytest.mark.parametrize(
    ("rule", "downstream", "reason"),
    [
        ("one_success", (), "trigger_rule 'one_success' has no Kestra equivalent"),
        ("all_done", ("c",), "on a task with downstream tasks"),
    ],
)
def test_trigger_rules_without_kestra_equivalent(rule: str, downstream: tuple[str, ...], reason: str) -> None:
    source = """
    with DAG(dag_id="demo"):
        BashOperator(task_id="a", bash_command="echo a") >> BashOperator(task_id="b", bash_command="echo b")
        BashOperator(task_id="c", bash_command="echo c")
    """
    tasks = [
        DefinedTask("a", "BashOperator", ("b",)),
        DefinedTask("b", "BashOperator", downstream, trigger_rule=rule),
        DefinedTask("c", "BashOperator"),
    ]
    result = _translate(_definition(source, tasks))
    assert [r.task_id for r in result.untranslated] == ["b"]
    assert reason in result.untranslated[0].reason


def test_all_success_join_after_a_branch_is_refused() -> None:
    source = """
    @task.branch
    def choose():
        return "x"

    with DAG(dag_id="demo"):
        c = choose()
        c >> [BashOperator(task_id="x", bash_command="true"), BashOperator(task_id="y", bash_command="true")]
        BashOperator(task_id="join", bash_command="true")
    """
    tasks = [
        DefinedTask("choose", "@task.branch", ("x", "y")),
        DefinedTask("x", "BashOperator", ("join",)),
        DefinedTask("y", "BashOperator", ("join",)),
        DefinedTask("join", "BashOperator"),
    ]
    result = _translate(_definition(source, tasks))
    assert [r.task_id for r in result.untranslated] == ["join"]
    tasks[-1] = DefinedTask("join", "BashOperator", trigger_rule="none_failed_min_one_success")
    result = _translate(_definition(source, tasks))
    assert result.native
    assert [t.id for t in result.flow.tasks] == [
        "choose",
        "choose_switch",
        "join",
    ]  # the join after the Switch
    switch = result.flow.tasks[1]
    assert isinstance(switch, Switch) and sorted(switch.cases or {}) == ["x", "y"]


def test_trigger_dag_run_operator_is_a_subflow_when_the_target_is_migrated() -> None:
    source = """
    from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
    with DAG(dag_id="demo"):
        TriggerDagRunOperator(task_id="next", trigger_dag_id="other", conf={"a": 1}, wait_for_completion=True)
    """
    tasks = [DefinedTask("next", "TriggerDagRunOperator")]
    (subflow,) = _translate(_definition(source, tasks), migrated=["other"]).flow.tasks
    assert isinstance(subflow, Subflow) and subflow.flow_id == "other" and subflow.inputs == {"a": 1}
    (trigger,) = _translate(_definition(source, tasks)).flow.tasks
    assert isinstance(trigger, TriggerDagRun) and trigger.dag_id == "other" and trigger.wait
    assert trigger.body == {"conf": {"a": 1}} and trigger.base_url == "http://airflow:8080"


def test_http_operator_becomes_a_request_on_a_flow_variable() -> None:
    source = """
    from airflow.providers.http.operators.http import HttpOperator
    with DAG(dag_id="demo"):
        HttpOperator(task_id="call", http_conn_id="api", endpoint="/items", method="post", data={"a": 1})
    """
    result = _translate(_definition(source, [DefinedTask("call", "HttpOperator")]))
    (request,) = result.flow.tasks
    assert isinstance(request, HttpRequest)
    assert (
        request.uri == "{{ vars.api_url }}/items" and request.method == "POST" and request.body == '{"a": 1}'
    )
    assert "api_url" in result.tasks[0].lost


def test_mapped_tasks_and_unparsable_sources_are_reported() -> None:
    mapped = _translate(
        _definition("with DAG(dag_id='demo'):\n    pass\n", [DefinedTask("m", "@task", is_mapped=True)])
    )
    assert mapped.untranslated[0].reason == (
        "it is a mapped task (expand) whose .partial(...).expand(...) call was not found in the DAG file"
    )
    broken = DagDefinition(AirflowDag(dag_id="demo"), (DefinedTask("a", "BashOperator"),), "def (:\n")
    result = _translate(broken)
    assert "does not parse" in result.untranslated[0].reason and not result.native


def test_taskflow_calls_get_airflow_task_ids() -> None:
    source = read_dag_source(
        textwrap.dedent(
            """
            @dag(dag_id="other")
            def other():
                EmptyOperator(task_id="elsewhere")

            @dag
            def demo():
                @task(task_id="fetch")
                def get(n):
                    return n

                @task
                def add(a, b):
                    return a + b

                first = get(1)
                add(first, get.override(task_id="custom")(2))
                add(1, 2)
            """
        ),
        "demo",
    )
    assert sorted(source.tasks) == ["add", "add__1", "custom", "fetch"]
    assert source.bindings == {"first": "fetch"}


def test_native_flow_for_dag_checks_its_arguments() -> None:
    with pytest.raises(InvalidArgumentError, match="client: expected an AirflowClient"):
        native_flow_for_dag(object(), "demo", namespace="company.team")  # type: ignore[call-overload]
    with _recorded_client("v2") as client:
        with pytest.raises(InvalidArgumentError, match="colour: unknown option"):
            native_flow_for_dag(client, "demo", namespace="company.team", colour="red")  # type: ignore[call-overload]
        with pytest.raises(InvalidArgumentError, match="dag_id: expected a non-empty string"):
            native_flow_for_dag(client, "", namespace="company.team")
    with pytest.raises(InvalidArgumentError, match="base_url"):
        translate_dag(_definition("", []), namespace="company.team")


def test_module_level_values_built_from_plain_imports_are_carried() -> None:
    source = """
    import logging
    log = logging.getLogger(__name__)

    def work():
        log.info("working")
        return 1

    with DAG(dag_id="demo"):
        PythonOperator(task_id="work", python_callable=work)
    """
    result = _translate(_definition(source, [DefinedTask("work", "PythonOperator")]))
    assert result.native
    (task,) = result.flow.tasks
    assert isinstance(task, PythonScript)
    assert "import logging" in task.script and "log = logging.getLogger(__name__)" in task.script


def test_nested_branches_and_unknown_generated_tasks_say_why() -> None:
    source = """
    @task.branch
    def outer():
        return "inner"

    @task.branch
    def inner():
        return "leaf"

    with DAG(dag_id="demo"):
        outer() >> inner() >> BashOperator(task_id="leaf", bash_command="true")
    """
    tasks = [
        DefinedTask("outer", "@task.branch", ("inner",)),
        DefinedTask("inner", "@task.branch", ("leaf",)),
        DefinedTask("leaf", "BashOperator"),
        DefinedTask("made_by_a_decorator", "_AssetMainOperator"),
    ]
    result = _translate(_definition(source, tasks))
    reasons = {r.task_id: r.reason for r in result.untranslated}
    assert "nested branches are not translated" in reasons["inner"]
    assert reasons["made_by_a_decorator"] == "_AssetMainOperator is not in the operator table"


def test_reads_of_the_context_beyond_the_stubs_are_refused() -> None:
    source = """
    def key(dag_run):
        return dag_run.partition_key

    with DAG(dag_id="demo"):
        PythonOperator(task_id="t", python_callable=key)
    """
    result = _translate(_definition(source, [DefinedTask("t", "PythonOperator")]))
    assert (
        result.untranslated[0].reason == "key() reads dag_run.partition_key, which has no Kestra equivalent"
    )


def test_the_report_displays_as_html_and_the_cli_refuses_a_missing_flow_file(tmp_path: Path) -> None:
    from kestra_airflow_sdk.cli import main

    source = "with DAG(dag_id='demo'):\n    BashOperator(task_id='a', bash_command='echo <b>')\n"
    result = _translate(_definition(source, [DefinedTask("a", "BashOperator")]))
    html = result._repr_html_()
    assert "<b>demo</b>" in html and "io.kestra.plugin.scripts.shell.Commands" in html
    missing = str(tmp_path / "missing.yaml")
    assert (
        main(
            ["parity", "demo", "--namespace", "t", "--airflow-url", "http://airflow.test", "--flow", missing]
        )
        == 2
    )
