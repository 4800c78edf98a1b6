"""Dynamic task mapping (``.partial(...).expand(...)``) as Kestra 2.0 ``Loop`` tasks: each shape the
translation handles, run locally, and each shape it refuses with its reason."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from kestra_airflow_sdk.airflow.models import AirflowDag
from kestra_airflow_sdk.flows import Flow
from kestra_airflow_sdk.flows.tasks.flowable import Loop
from kestra_airflow_sdk.flows.tasks.scripts import PythonScript, ShellCommands
from kestra_airflow_sdk.migration.dag_reads import DagDefinition, DefinedTask
from kestra_airflow_sdk.migration.dag_source import read_dag_source
from kestra_airflow_sdk.migration.native import NativeFlow, native_flow_for_dag, translate_dag

HEADER = """
from airflow.sdk import DAG, task, task_group
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
"""


def _translate(source: str, tasks: list[DefinedTask]) -> NativeFlow:
    definition = DagDefinition(
        dag=AirflowDag(dag_id="demo"), tasks=tuple(tasks), source=HEADER + textwrap.dedent(source)
    )
    return translate_dag(definition, namespace="company.team", base_url="http://airflow:8080")


def _run(flow: Flow) -> dict[str, Any]:
    """Each top-level task's outputs after a local run (which must succeed)."""
    execution = flow.run(progress=False)
    assert str(execution.state) == "SUCCESS", [(r.task_id, r.state, r.error) for r in execution.task_runs]
    return {r.task_id: r.outputs for r in execution.task_runs}


def _by_index(outputs: dict[str, Any], name: str = "return_value") -> list[Any]:
    entries = sorted(outputs["outputs"], key=lambda e: e["item"]["iteration"])
    assert [e["item"]["iteration"] for e in entries] == list(range(len(entries)))
    return [e["outputs"][name] for e in entries]


def _loops(flow: Flow) -> dict[str, Loop]:
    return {t.id: t for t in flow.tasks if isinstance(t, Loop)}


def test_a_task_expanded_over_a_literal_list_with_partial_constants_is_a_loop() -> None:
    source = """
    with DAG(dag_id="demo"):
        @task(retries=2)
        def scale(x, factor):
            return x * factor

        @task
        def total(values):
            return sum(values)

        total(scale.partial(factor=10).expand(x=[1, 2, 3]))
    """
    tasks = [
        DefinedTask("scale", "@task", ("total",), retries=2, retry_delay=5, is_mapped=True),
        DefinedTask("total", "@task"),
    ]
    result = _translate(source, tasks)
    assert result.native, result.untranslated
    loop = _loops(result.flow)["scale"]
    (inner,) = loop.tasks
    assert loop.values == [1, 2, 3] and loop.concurrency_limit == 0
    assert isinstance(inner, PythonScript) and inner.id == "scale_item"
    assert "_kas_index = {{ item.index }}" in inner.script
    assert "scale(factor=10, x=[1, 2, 3][_kas_index])" in inner.script
    assert inner.retry is not None and inner.retry.max_attempts == 3 and loop.retry is None
    report = result.tasks[0]
    assert report.kestra_type == "io.kestra.plugin.core.flow.Loop" and "map_index" in report.kept
    assert Flow.from_yaml(result.flow.to_yaml()) == result.flow
    outputs = _run(result.flow)
    assert _by_index(outputs["scale"]) == [10, 20, 30]
    assert outputs["total"]["vars"]["return_value"] == 60


def test_expanding_an_upstream_list_keeps_its_duplicates_and_order_and_maps_again() -> None:
    source = """
    with DAG(dag_id="demo"):
        @task
        def numbers():
            return [3, 3, 1, 2]

        @task
        def double(n):
            return n * 2

        @task
        def label(n, prefix="n"):
            return f"{prefix}={n}"

        @task
        def joined(labels, ti=None):
            return ",".join(labels) + "|" + str(len(ti.xcom_pull(task_ids="double")))

        doubled = double.expand(n=numbers())
        joined(label.partial(prefix="v").expand(n=doubled))
    """
    tasks = [
        DefinedTask("numbers", "@task", ("double",)),
        DefinedTask("double", "@task", ("label", "joined"), is_mapped=True),
        DefinedTask("label", "@task", ("joined",), is_mapped=True),
        DefinedTask("joined", "@task"),
    ]
    result = _translate(source, tasks)
    assert result.native, result.untranslated
    loops = _loops(result.draft or result.flow) or {
        t.task.id: t.task for t in result.flow.tasks[0].tasks if isinstance(t.task, Loop)
    }
    assert loops["double"].values == (
        "{{ range(0, (outputs.numbers.vars.return_value | length) - 1) | toJson }}"
    )
    assert "outputs.double.outputs | default([])" in str(loops["label"].values)
    execution = result.flow.run(progress=False)
    assert str(execution.state) == "SUCCESS"
    runs = {r.task_id: r.outputs for r in execution.task_runs}
    assert _by_index(runs["double"]) == [6, 6, 2, 4]  # four iterations: the duplicate 3 is kept
    assert _by_index(runs["label"]) == ["v=6", "v=6", "v=2", "v=4"]
    assert runs["joined"]["vars"]["return_value"] == "v=6,v=6,v=2,v=4|4"


def test_values_kestra_would_change_are_iterated_by_index() -> None:
    source = """
    with DAG(dag_id="demo"):
        @task
        def echo(x):
            return x

        echo.expand(x=[1, 1, "1", True, {"a": [1]}])
    """
    result = _translate(source, [DefinedTask("echo", "@task", is_mapped=True)])
    assert result.native, result.untranslated
    assert _loops(result.flow)["echo"].values == [0, 1, 2, 3, 4]
    assert _by_index(_run(result.flow)["echo"]) == [1, 1, "1", True, {"a": [1]}]


def test_a_mapped_bash_command_runs_once_per_item_with_partial_arguments() -> None:
    source = """
    with DAG(dag_id="demo"):
        @task
        def commands():
            return ["echo first $WHO", "echo first $WHO", "exit 0"]

        listed = commands()
        literal = BashOperator.partial(task_id="say", env={"WHO": "kestra"}, max_active_tis_per_dag=1).expand(
            bash_command=["echo one $WHO", "echo two $WHO"]
        )
        upstream = BashOperator.partial(task_id="run").expand(bash_command=listed)
    """
    tasks = [
        DefinedTask("commands", "@task", ("run",)),
        DefinedTask("say", "BashOperator", is_mapped=True),
        DefinedTask("run", "BashOperator", is_mapped=True),
    ]
    result = _translate(source, tasks)
    assert result.native, result.untranslated
    flow = result.flow
    dag = flow.tasks[0]
    loops = {t.task.id: t.task for t in getattr(dag, "tasks", []) if isinstance(t.task, Loop)}
    say, run = loops["say"], loops["run"]
    assert say.values == ["echo one $WHO", "echo two $WHO"] and say.concurrency_limit == 1
    (command,) = say.tasks
    assert isinstance(command, ShellCommands) and command.commands == ["{{ item.value }}"]
    assert command.env == {"WHO": "kestra"}
    (upstream_command,) = run.tasks
    assert isinstance(upstream_command, ShellCommands)
    assert upstream_command.commands == ["{{ outputs.commands.vars.return_value[item.index] }}"]
    execution = flow.run(progress=False)
    assert str(execution.state) == "SUCCESS"
    runs = {r.task_id: r.outputs for r in execution.task_runs}
    assert _by_index(runs["say"], "exitCode") == [0, 0]
    assert runs["run"]["iterationCount"] == 3  # the repeated command runs twice, as in Airflow


def test_a_mapped_python_operator_reads_its_op_args_or_op_kwargs_item() -> None:
    source = """
    def power(base, exponent=1):
        return base ** exponent

    with DAG(dag_id="demo"):
        positional = PythonOperator.partial(task_id="positional", python_callable=power).expand(
            op_args=[[2, 3], [3, 2]]
        )
        named = PythonOperator.partial(task_id="named", python_callable=power).expand(
            op_kwargs=[{"base": 5}, {"base": 6}]
        )
    """
    tasks = [
        DefinedTask("positional", "PythonOperator", is_mapped=True),
        DefinedTask("named", "PythonOperator", is_mapped=True),
    ]
    result = _translate(source, tasks)
    assert result.native, result.untranslated
    loops = {t.task.id: t.task for t in getattr(result.flow.tasks[0], "tasks", [])}
    assert loops["positional"].values == [0, 1]  # lists: iterated by index
    outputs = _run(result.flow)
    assert _by_index(outputs["positional"]) == [8, 9]
    assert _by_index(outputs["named"]) == [5, 6]


def test_the_reader_finds_mapped_tasks_and_mapped_groups() -> None:
    source = read_dag_source(
        textwrap.dedent(
            """
            with DAG(dag_id="demo"):
                @task
                def add(x, y):
                    return x + y

                @task_group(group_id="section")
                def section(n):
                    add(n, 1)

                first = add(1, 2)
                second = add.override(task_id="renamed").partial(y=1).expand(x=[1])
                section.expand(n=[1, 2])
            """
        ),
        "demo",
    )
    assert source.tasks["add"].expand is None
    renamed = source.tasks["renamed"]
    assert renamed.expand is not None and renamed.call is not None
    assert [k.arg for k in renamed.call.keywords] == ["y"] and renamed.kwargs.keys() == {"task_id"}
    assert source.bindings == {"first": "add", "second": "renamed"}
    assert source.mapped_groups == {"section."}


@pytest.mark.parametrize(
    ("body", "operator", "reason"),
    [
        ("add.expand_kwargs([{'x': 1, 'y': 2}])", "@task", "expand_kwargs"),
        (
            "add.expand(x=[1, 2], y=[3, 4])",
            "@task",
            "expands 2 arguments (x, y): Airflow maps over their cross",
        ),
        ("add.partial(y=1).expand(x=numbers.zip(numbers))", "@task", ".zip() of an XComArg"),
        ("add.partial(y=1).expand(x=numbers.map(str))", "@task", ".map() of an XComArg"),
        ("add.partial(y=1).expand(x={'a': 1})", "@task", "over a dict"),
        (
            "add.partial(y=1).expand(x=list(range(3)))",
            "@task",
            "x=list(range(3)), a value computed in the DAG",
        ),
        ("add.partial(y=1).expand(x='abc')", "@task", "over a str, not a list"),
        ("add.partial(y=1).expand(x=[])", "@task", "over an empty list"),
        ("choose.expand(x=[1])", "@task.branch", "it is a mapped @task.branch"),
        (
            "BashOperator.partial(task_id='t').expand(env=[{'A': '1'}])",
            "BashOperator",
            "only a mapped bash_command",
        ),
        (
            "BashOperator.partial(task_id='t').expand(bash_command=['echo a', 'echo a'])",
            "BashOperator",
            "repeat",
        ),
        (
            "BashOperator.partial(task_id='t').expand(bash_command=['echo {{ ds }}'])",
            "BashOperator",
            "templates",
        ),
        ("BashOperator.partial(task_id='t').expand(bash_command=['run.sh'])", "BashOperator", "script file"),
        (
            "PythonOperator.partial(task_id='t', python_callable=power).expand(op_kwargs=numbers)",
            "PythonOperator",
            "over an upstream result",
        ),
        (
            "PythonOperator.partial(task_id='t', python_callable=power).expand(op_args=[[1], [1, 2]])",
            "PythonOperator",
            "not lists of one length",
        ),
        (
            "PythonOperator.partial(task_id='t', python_callable=power).expand(show_return_value_in_logs=[True, False])",
            "PythonOperator",
            "only op_args or op_kwargs",
        ),
        (
            "add.override(max_active_tis_per_dag=0).partial(y=1).expand(x=[1])",
            "@task",
            "max_active_tis_per_dag (0)",
        ),
    ],
)
def test_each_refused_mapping_says_why(body: str, operator: str, reason: str) -> None:
    source = f"""
    def power(base, exponent=1):
        return base ** exponent

    with DAG(dag_id="demo"):
        @task
        def listed():
            return [1, 2]

        @task
        def add(x, y):
            return x + y

        @task.branch
        def choose(x):
            return "a"

        numbers = listed()
        {body}
    """
    task_id = "t" if operator.endswith("Operator") else body.split(".")[0]
    tasks = [DefinedTask("listed", "@task", (task_id,)), DefinedTask(task_id, operator, is_mapped=True)]
    result = _translate(source, tasks)
    assert not result.native
    (report,) = result.untranslated
    assert report.task_id == task_id and reason in report.reason, report.reason


def test_refusals_that_depend_on_the_graph() -> None:
    source = """
    from airflow.providers.smtp.operators.smtp import EmailOperator

    with DAG(dag_id="demo"):
        @task
        def listed():
            return [1, 2]

        @task
        def add(x):
            return x

        @task_group
        def section(n):
            add(n)

        mails = EmailOperator.partial(task_id="mail", subject="s").expand(to=["a@b.c"])
        early = add.expand(x=listed())
        say = BashOperator.partial(task_id="say").expand(bash_command=early)
        read = BashOperator(task_id="read", bash_command="echo {{ ti.xcom_pull(task_ids='add') }}")
        section.expand(n=[1])
    """
    tasks = [
        DefinedTask("mail", "EmailOperator", is_mapped=True),
        DefinedTask("add", "@task", ("say", "read")),  # listed is not upstream of add here
        DefinedTask("listed", "@task"),
        DefinedTask("say", "BashOperator", is_mapped=True),
        DefinedTask("read", "BashOperator"),
        DefinedTask("section.add", "@task"),  # Airflow 3.3.2 does not report it mapped
        DefinedTask("generated", "@task", is_mapped=True),
    ]
    tasks[1] = DefinedTask("add", "@task", ("say", "read"), is_mapped=True)
    reasons = {r.task_id: r.reason for r in _translate(source, tasks).untranslated}
    assert reasons == {
        "mail": "EmailOperator is not in the operator table",
        "add": "it expands the return value of 'listed', which is not upstream",
        "say": "it expands bash_command over mapped task 'add': not translated",
        "read": "a template reads the return values of mapped task 'add', which is not translated",
        "section.add": "it is in task group 'section', mapped with .expand: mapped task groups are not translated",
        "generated": "it is a mapped task (expand) whose .partial(...).expand(...) call was not found in the DAG file",
    }


def test_the_id_of_an_iteration_task_must_be_free() -> None:
    source = """
    with DAG(dag_id="demo"):
        @task
        def add(x):
            return x

        @task
        def add_item():
            return 1

        add.expand(x=[1]) >> add_item()
    """
    tasks = [DefinedTask("add", "@task", ("add_item",), is_mapped=True), DefinedTask("add_item", "@task")]
    (report,) = _translate(source, tasks).untranslated
    assert report.task_id == "add" and "'add_item', is the id of 'add_item'" in report.reason


def test_a_mapped_function_reading_a_context_value_without_twin_is_refused() -> None:
    source = """
    with DAG(dag_id="demo"):
        @task
        def store(table, task_state_store=None):
            task_state_store.set("status", table)

        store.expand(table=["a", "b"])
    """
    (report,) = _translate(source, [DefinedTask("store", "@task", is_mapped=True)]).untranslated
    assert report.reason == "store() reads the Airflow context value 'task_state_store'"


def test_a_mapped_function_reads_its_map_index_from_the_loop() -> None:
    source = """
    with DAG(dag_id="demo"):
        @task
        def tag(name, ti=None):
            return f"{ti.map_index}:{name}"

        @task
        def plain(ti=None):
            return ti.map_index

        tag.expand(name=["a", "b", "c"]) >> plain()
    """
    tasks = [DefinedTask("tag", "@task", ("plain",), is_mapped=True), DefinedTask("plain", "@task")]
    result = _translate(source, tasks)
    assert result.native, result.untranslated
    outputs = _run(result.flow)
    assert _by_index(outputs["tag"]) == ["0:a", "1:b", "2:c"]
    assert outputs["plain"]["vars"]["return_value"] == -1  # Airflow's map index of a task not mapped


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_recorded_mapped_dags_convert_to_loops(version: str) -> None:
    """The answers of real Airflow 2.10.5 (v1) and 3.3.2 (v2) for tests/dags/mapped_dags.py: the tasks
    endpoint says ``is_mapped``, and each mapped task becomes a Loop that runs locally."""
    from tests.migration.test_native import _recorded_client

    with _recorded_client(version, "mapped") as client:
        rows = client.get_dag_tasks("mapped_taskflow_dag")
        operators = native_flow_for_dag(client, "mapped_operators_dag", namespace="company.team")
        taskflow = native_flow_for_dag(client, "mapped_taskflow_dag", namespace="company.team")
    assert {r["task_id"]: r["is_mapped"] for r in rows} == {
        "numbers": False,
        "double": True,
        "scale": True,
        "total": False,
    }
    assert operators.native and taskflow.native, (operators.untranslated, taskflow.untranslated)
    loops = {
        r.task_id
        for r in (*operators.tasks, *taskflow.tasks)
        if r.kestra_type == "io.kestra.plugin.core.flow.Loop"
    }
    assert loops == {"say", "powers", "double", "scale"}
    execution = taskflow.flow.run(progress=False)
    assert str(execution.state) == "SUCCESS"
    total = next(r for r in execution.task_runs if r.task_id == "total")
    assert total.outputs["vars"]["return_value"] == {"doubled": [6, 2, 6], "sum": 74}
    outputs = _run(operators.flow)
    assert _by_index(outputs["powers"]) == [8, 9] and _by_index(outputs["say"], "exitCode") == [0, 0]
