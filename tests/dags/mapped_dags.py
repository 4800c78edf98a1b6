"""DAGs with dynamic task mapping (``.partial(...).expand(...)``) for the native-flow tests; Airflow 2.10
and 3.x (both have ``.expand``). Each mapped task becomes a Kestra 2.0 ``Loop``.

* ``mapped_taskflow_dag``: ``@task`` functions mapped over a literal list with a ``partial``
  constant, over an upstream task's list (with a repeated item), and a task reducing a mapped
  task's return values;
* ``mapped_operators_dag``: a ``BashOperator`` mapped over literal commands, a ``PythonOperator``
  mapped over ``op_kwargs``.

None is scheduled, so nothing runs unless a test triggers a run.
"""

from __future__ import annotations

from datetime import datetime

try:  # Airflow 3.x
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.x
    from airflow import DAG
    from airflow.decorators import task
    from airflow.operators.bash import BashOperator
    from airflow.operators.python import PythonOperator

_COMMON = {
    "start_date": datetime(2024, 1, 1),
    "catchup": False,
    "schedule": None,
    "tags": ["sdk-test", "native", "mapped"],
}


def power(base, exponent):
    return base**exponent


with DAG(dag_id="mapped_taskflow_dag", description="Dynamic task mapping with @task", **_COMMON):

    @task
    def numbers():
        return [3, 1, 3]

    @task
    def double(n):
        return n * 2

    @task
    def scale(x, factor):
        return x * factor

    @task
    def total(doubled, scaled):
        return {"doubled": list(doubled), "sum": sum(doubled) + sum(scaled)}

    total(double.expand(n=numbers()), scale.partial(factor=10).expand(x=[1, 2, 3]))


with DAG(dag_id="mapped_operators_dag", description="Dynamic task mapping with operators", **_COMMON):
    say = BashOperator.partial(task_id="say", env={"WHO": "kestra"}).expand(
        bash_command=["echo one $WHO", "echo two $WHO"]
    )
    powers = PythonOperator.partial(task_id="powers", python_callable=power).expand(
        op_kwargs=[{"base": 2, "exponent": 3}, {"base": 3, "exponent": 2}]
    )
    say >> powers
