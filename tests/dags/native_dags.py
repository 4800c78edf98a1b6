"""DAGs for the native-flow tests (``native_flow_for_dag`` and ``parity``); Airflow 2.10 and 3.x.

* ``native_bash_dag``: a chain of BashOperators, one with retries, one with a trigger rule;
* ``native_taskflow_dag``: ``@task`` functions passing return values, DAG params, a context read;
* ``native_python_dag``: PythonOperators (op_kwargs, an ``xcom_pull``), a BranchPythonOperator
  choosing one of two EmptyOperator/Bash branches.

None is scheduled, so nothing runs unless a test triggers a run.
"""

from __future__ import annotations

from datetime import datetime

try:  # Airflow 3.x
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.providers.standard.operators.python import BranchPythonOperator, PythonOperator
    from airflow.sdk import DAG, dag, task
except ImportError:  # Airflow 2.x
    from airflow import DAG
    from airflow.decorators import dag, task
    from airflow.operators.bash import BashOperator
    from airflow.operators.empty import EmptyOperator
    from airflow.operators.python import BranchPythonOperator, PythonOperator

_COMMON = {
    "start_date": datetime(2024, 1, 1),
    "catchup": False,
    "schedule": None,
    "tags": ["sdk-test", "native"],
}

with DAG(dag_id="native_bash_dag", description="Extract, transform, load in shell", **_COMMON):
    extract = BashOperator(task_id="extract", bash_command="echo extracting; echo 3 > /dev/null", retries=2)
    transform = BashOperator(task_id="transform", bash_command="echo transforming && test 1 -eq 1")
    load = BashOperator(task_id="load", bash_command="echo loaded", trigger_rule="all_done")
    extract >> transform >> load


@dag(dag_id="native_taskflow_dag", params={"factor": 3, "label": "orders"}, **_COMMON)
def native_taskflow_dag():
    @task
    def extract():
        return {"orders": [4, 5, 6], "currency": "EUR"}

    @task(retries=1)
    def total(data: dict, params=None):
        return sum(data["orders"]) * params["factor"]

    @task
    def describe(data: dict, value: int, **context):
        return f"{context['params']['label']}: {value} {data['currency']}"

    data = extract()
    describe(data, total(data))


native_taskflow_dag()


def _square(number):
    return number * number


def _pick(ti):
    return "big" if ti.xcom_pull(task_ids="square") > 10 else "small"


def _shout(ti):
    return str(ti.xcom_pull(task_ids="square")).upper() + "!"


with DAG(dag_id="native_python_dag", **_COMMON):
    start = EmptyOperator(task_id="start")
    square = PythonOperator(task_id="square", python_callable=_square, op_kwargs={"number": 4})
    pick = BranchPythonOperator(task_id="pick", python_callable=_pick)
    big = PythonOperator(task_id="big", python_callable=_shout)
    small = BashOperator(task_id="small", bash_command="echo small")
    start >> square >> pick >> [big, small]
