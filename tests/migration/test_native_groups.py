"""Task groups and setup/teardown tasks in native flows: DAG sources read statically, translated,
and run locally (no Airflow needed)."""

from __future__ import annotations

import textwrap

from kestra_airflow_sdk.flows.tasks.flowable import Dag
from kestra_airflow_sdk.flows.tasks.scripts import PythonScript, ShellCommands
from kestra_airflow_sdk.migration.dag_reads import DefinedTask
from kestra_airflow_sdk.migration.dag_source import read_dag_source
from kestra_airflow_sdk.migration.templates import kestra_task_id
from tests.migration.test_native import HEADER, _definition, _translate

GROUPS = """
from airflow.sdk import TaskGroup, task_group

with DAG(dag_id="demo", start_date=datetime(2024, 1, 1), schedule=None):
    start = BashOperator(task_id="start", bash_command="echo start")
    with TaskGroup("section_1") as section_1:
        extract = BashOperator(task_id="extract", bash_command="echo 1")
        with TaskGroup(group_id="inner"):
            deep = BashOperator(task_id="deep", bash_command="echo 2")
    with TaskGroup("flat", prefix_group_id=False):
        unprefixed = BashOperator(task_id="unprefixed", bash_command="echo 3")
    start >> section_1
"""

TASK_GROUP_FUNCTIONS = """
from airflow.sdk import task_group

@task
def double(x):
    return x * 2

@task
def add_one(x):
    return x + 1

@task_group(group_id="math")
def math(value):
    return add_one(double(value))

@task
def total(a, b):
    return a + b

with DAG(dag_id="demo", start_date=datetime(2024, 1, 1), schedule=None):
    first = math(3)
    second = math(10)
    total(first, second)
"""


def test_task_groups_prefix_the_ids_of_the_tasks_inside() -> None:
    source = read_dag_source(HEADER + textwrap.dedent(GROUPS), "demo")
    assert sorted(source.tasks) == ["section_1.extract", "section_1.inner.deep", "start", "unprefixed"]
    assert source.bindings["extract"] == "section_1.extract"


def test_a_task_group_function_gets_its_id_and_a_number_when_called_again() -> None:
    source = read_dag_source(HEADER + textwrap.dedent(TASK_GROUP_FUNCTIONS), "demo")
    assert sorted(source.tasks) == [
        "math.add_one",
        "math.double",
        "math__1.add_one",
        "math__1.double",
        "total",
    ]
    assert source.bindings["first"] == "math.add_one" and source.bindings["second"] == "math__1.add_one"
    call = source.tasks["total"].call
    assert call is not None and [source.task_of(a) for a in call.args] == ["math.add_one", "math__1.add_one"]
    inline = read_dag_source(
        HEADER + textwrap.dedent(TASK_GROUP_FUNCTIONS).replace("first, second", "math(1), second"), "demo"
    )
    call = inline.tasks["total"].call
    assert call is not None and [inline.task_of(a) for a in call.args] == [
        "math__2.add_one",
        "math__1.add_one",
    ]


def test_a_dag_with_task_groups_translates_with_kestra_ids_and_runs() -> None:
    tasks = [
        DefinedTask("math.double", "@task", ("math.add_one",)),
        DefinedTask("math.add_one", "@task", ("total",)),
        DefinedTask("math__1.double", "@task", ("math__1.add_one",)),
        DefinedTask("math__1.add_one", "@task", ("total",)),
        DefinedTask("total", "@task"),
    ]
    result = _translate(_definition(TASK_GROUP_FUNCTIONS, tasks))
    assert result.native, result.untranslated
    (dag,) = result.flow.tasks
    assert isinstance(dag, Dag)
    assert {t.task.id: t.depends_on for t in dag.tasks} == {
        "math_double": None,
        "math_add_one": ["math_double"],
        "math__1_double": None,
        "math__1_add_one": ["math__1_double"],
        "total": ["math_add_one", "math__1_add_one"],
    }
    total = next(t.task for t in dag.tasks if t.task.id == "total")
    assert isinstance(total, PythonScript)
    assert "outputs.math_add_one.vars.return_value" in total.script
    execution = result.flow.run(progress=False)
    assert str(execution.state) == "SUCCESS"
    assert execution.task_run("total").outputs["vars"]["return_value"] == (3 * 2 + 1) + (10 * 2 + 1)


def test_a_group_task_template_reads_the_kestra_id() -> None:
    source = """
    from airflow.sdk import TaskGroup

    @task
    def produce():
        return "hello"

    with DAG(dag_id="demo", start_date=datetime(2024, 1, 1), schedule=None):
        with TaskGroup("g"):
            value = produce()
            say = BashOperator(task_id="say", bash_command="echo {{ ti.xcom_pull(task_ids='g.produce') }}")
        value >> say
    """
    tasks = [DefinedTask("g.produce", "@task", ("g.say",)), DefinedTask("g.say", "BashOperator")]
    result = _translate(_definition(source, tasks))
    assert result.native, result.untranslated
    say = result.flow.tasks[1]
    assert isinstance(say, ShellCommands) and say.id == "g_say"
    assert say.commands == ["echo {{ outputs.g_produce.vars.return_value }}"]


def test_ids_that_would_clash_in_kestra_are_untranslated_with_the_reason() -> None:
    source = """
    from airflow.sdk import TaskGroup

    with DAG(dag_id="demo", start_date=datetime(2024, 1, 1), schedule=None):
        with TaskGroup("a"):
            BashOperator(task_id="b", bash_command="echo 1")
        BashOperator(task_id="a_b", bash_command="echo 2")
    """
    result = _translate(
        _definition(source, [DefinedTask("a.b", "BashOperator"), DefinedTask("a_b", "BashOperator")])
    )
    assert not result.native
    reasons = {t.task_id: t.reason for t in result.untranslated}
    assert reasons == {
        "a.b": "its Kestra id 'a_b' is also the id of 'a_b' (a task group's dot becomes '_')",
        "a_b": "its Kestra id 'a_b' is also the id of 'a.b' (a task group's dot becomes '_')",
    }
    assert kestra_task_id("section.inner.load") == "section_inner_load"


SETUP_TEARDOWN = """
from airflow.sdk import setup, teardown

@setup
def create():
    return "bucket-1"

@task
def work(bucket):
    return f"used {bucket}"

@teardown
def delete(bucket):
    print("deleting", bucket)

with DAG(dag_id="demo", start_date=datetime(2024, 1, 1), schedule=None):
    bucket = create()
    work(bucket) >> delete(bucket)
"""


def test_a_teardown_goes_to_finally_and_says_what_differs() -> None:
    tasks = [
        DefinedTask("create", "@setup", ("delete", "work")),
        DefinedTask("work", "@task", ("delete",)),
        DefinedTask("delete", "@teardown", trigger_rule="all_done_setup_success"),
    ]
    result = _translate(_definition(SETUP_TEARDOWN, tasks))
    assert result.native, result.untranslated
    assert [t.id for t in result.flow.tasks] == ["create", "work"]
    assert [t.id for t in result.flow.finally_ or []] == ["delete"]
    delete = next(r for r in result.tasks if r.task_id == "delete")
    assert "a teardown in Kestra's finally: it runs even when its setup failed" in delete.lost
    execution = result.flow.run(progress=False)
    assert str(execution.state) == "SUCCESS"
    assert execution.task_run("work").outputs["vars"]["return_value"] == "used bucket-1"
    assert str(execution.task_run("delete").state) == "SUCCESS"


def test_a_teardown_with_downstream_tasks_is_untranslated() -> None:
    tasks = [
        DefinedTask("create", "@setup", ("delete",)),
        DefinedTask("delete", "@teardown", ("work",), trigger_rule="all_done_setup_success"),
        DefinedTask("work", "@task"),
    ]
    result = _translate(_definition(SETUP_TEARDOWN, tasks))
    assert not result.native
    [report] = result.untranslated
    assert report.task_id == "delete"
    assert report.reason == (
        "trigger_rule 'all_done_setup_success' on a task with downstream tasks has no Kestra equivalent"
    )
