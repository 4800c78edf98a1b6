"""A DAG with task groups and a setup/teardown pair, for the native-flow tests; Airflow 2.10 and 3.x.

``native_groups_dag``: a ``@setup`` task, two calls of the ``@task_group`` ``math`` (ids
``math.double`` ... and ``math__1.double`` ...), a ``TaskGroup`` ``report`` holding a ``@task``
summing their results and a ``BashOperator`` echoing the sum through a template, then a
``@teardown`` task. Not scheduled: it runs only when a test triggers it.
"""

from __future__ import annotations

from datetime import datetime

try:  # Airflow 3.x
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG, TaskGroup, setup, task, task_group, teardown
except ImportError:  # Airflow 2.x
    from airflow import DAG
    from airflow.decorators import setup, task, task_group, teardown
    from airflow.operators.bash import BashOperator
    from airflow.utils.task_group import TaskGroup


@setup
def create():
    return "bucket-1"


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


@teardown
def delete(bucket):
    print("deleting", bucket)


with DAG(
    dag_id="native_groups_dag",
    description="Task groups and a setup/teardown pair",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    schedule=None,
    tags=["sdk-test", "native"],
):
    bucket = create()
    first = math(3)  # Airflow 2.10 numbers a repeated group at the top level only
    second = math(10)
    with TaskGroup("report"):
        summed = total(first, second)
        say = BashOperator(task_id="say", bash_command="echo {{ ti.xcom_pull(task_ids='report.total') }}")
        summed >> say
    bucket >> summed
    say >> delete(bucket)
