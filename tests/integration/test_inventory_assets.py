"""The inventory's ``assets`` column against the REAL Airflow 3.3.2 (sync and async clients): the
asset-scheduled DAGs of tests/dags/assets_dags.py and tests/dags/migration_dags.py are named with the
assets that schedule them, as the assets listing says; the others have none."""

from __future__ import annotations

from typing import Any

import pytest

from kestra_airflow_sdk.migration import INVENTORY

CONSUMER, PRODUCER, LEDGER = "asset_consumer_dag", "asset_producer_dag", "migration_asset_dag"


@pytest.mark.parametrize("airflow", ["3"], indirect=True, ids=["airflow3"])
def test_asset_scheduled_dags_name_their_assets(client: Any) -> None:
    inventory = client.inventory([CONSUMER, PRODUCER, LEDGER, "xcom_dag"])
    assert list(inventory.columns) == INVENTORY.names and inventory.dtypes.to_dict() == INVENTORY.dtypes
    rows = inventory.set_index("dag_id")
    assert rows.loc[CONSUMER, "assets"] == ["kas_orders"]
    assert rows.loc[LEDGER, "assets"] == ["s3://sdk-test/ledger.parquet"]  # an Asset named by its URI
    assert rows.loc[PRODUCER, "assets"] == [] and rows.loc["xcom_dag", "assets"] == []
    assert rows.loc[CONSUMER, "schedule"] == "Asset"
    # the same as Airflow's assets listing says of the DAGs each asset schedules
    scheduled = {(dag, asset.name) for asset in client.list_assets() for dag in asset.scheduled_dags}
    for dag_id, names in rows["assets"].items():
        assert {(dag_id, name) for name in names} == {(d, a) for d, a in scheduled if d == dag_id}
