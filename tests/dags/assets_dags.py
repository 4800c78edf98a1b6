"""DAGs for the asset and XCom tests (tests/integration/test_assets_xcoms.py).

* ``xcom_dag`` (Airflow 2.10 and 3.x): ``@task`` functions returning values into XCom (a dict, a
  number that depends on the run's ``factor`` param, a string), so XComs differ from run to run;
* ``asset_producer_dag`` (Airflow 3 only): a task whose outlet is the asset ``kas_orders``, so
  materializing the asset runs this DAG;
* ``asset_consumer_dag`` (Airflow 3 only): scheduled on ``kas_orders``: every event of the asset
  starts a run.

``airflow.sdk.Asset`` exists on Airflow 3 only: on Airflow 2.10 the file defines ``xcom_dag`` alone.
None is on a time schedule, so nothing runs unless a test triggers a run or an asset event.
"""

from __future__ import annotations

from datetime import datetime

try:  # Airflow 3.x
    from airflow.sdk import Asset, dag, task
except ImportError:  # Airflow 2.x: no assets (Airflow 2 called them datasets)
    from airflow.decorators import dag, task

    Asset = None

_COMMON = {"start_date": datetime(2024, 1, 1), "catchup": False}


@dag(dag_id="xcom_dag", schedule=None, params={"factor": 2}, tags=["sdk-test", "xcoms"], **_COMMON)
def xcom_dag():
    @task
    def extract():
        return {"orders": [1, 2, 3], "currency": "EUR"}

    @task
    def total(data: dict, params=None):
        return sum(data["orders"]) * params["factor"]

    @task
    def describe(value: int):
        return f"total {value}"

    describe(total(extract()))


xcom_dag()

if Asset is not None:
    ORDERS = Asset(name="kas_orders", uri="file:///tmp/kestra-airflow-sdk/orders.csv", group="sdk-test")

    @dag(dag_id="asset_producer_dag", schedule=None, tags=["sdk-test", "assets"], **_COMMON)
    def asset_producer_dag():
        @task(outlets=[ORDERS])
        def write_orders():
            return "orders written"

        write_orders()

    @dag(dag_id="asset_consumer_dag", schedule=[ORDERS], tags=["sdk-test", "assets"], **_COMMON)
    def asset_consumer_dag():
        @task
        def read_orders():
            return "orders read"

        read_orders()

    asset_producer_dag()
    asset_consumer_dag()
