"""Step 2 against the REAL Airflow 3.3.2 and 2.10.5: every DAG of tests/dags converts to a native
flow, the DAGs that run (not paused, not the 2-minute ``slow_dag``) and their flows end equal in
:func:`parity`, mapped tasks (tests/dags/mapped_dags.py) become Loops equal map index by map index,
and a deliberately changed task is reported as a difference (also by the CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kestra_airflow_sdk import AirflowClient
from kestra_airflow_sdk.cli import main
from kestra_airflow_sdk.flows.tasks.flowable import Dag, Loop
from kestra_airflow_sdk.flows.tasks.scripts import PythonScript
from kestra_airflow_sdk.migration.native import native_flow_for_dag
from kestra_airflow_sdk.migration.parity_check import last_parity, parity
from tests.airflow_servers import AirflowServer

#: the DAGs of tests/dags that are not paused and end within seconds (parity runs them on Airflow)
RUNNABLE = [
    "native_bash_dag",
    "native_taskflow_dag",
    "native_python_dag",
    "native_groups_dag",
    "hello_world_dag",
    "failing_dag",
    "retried_dag",
]
CONF = {"factor": 5, "source": "parity-test"}
#: DAGs of tests/dags that do not convert natively, and why (each where its server loads it)
NOT_IN_THE_TABLE = {"hitl_dag": "HITLOperator has no Kestra counterpart in the table (Airflow 3.1+ only)"}


def test_every_test_dag_converts_natively(airflow: AirflowServer, credentials: dict[str, str]) -> None:
    with AirflowClient(airflow.base_url, **credentials) as client:
        dag_ids = sorted(dag.dag_id for dag in client.list_dags())
        results = {
            dag_id: native_flow_for_dag(client, dag_id, namespace="company.team") for dag_id in dag_ids
        }
    assert set(RUNNABLE) <= set(dag_ids)
    refused = {d: [(t.task_id, t.reason) for t in r.untranslated] for d, r in results.items() if not r.native}
    assert refused.keys() == NOT_IN_THE_TABLE.keys() & set(dag_ids)
    for dag_id, result in results.items():
        if dag_id in NOT_IN_THE_TABLE:
            continue
        assert result.flow.label_map["migration"] == "native"
        assert all(report.kestra_type for report in result.tasks)


@pytest.mark.parametrize("dag_id", RUNNABLE)
def test_parity_of_each_runnable_dag_is_equal(
    airflow: AirflowServer, credentials: dict[str, str], dag_id: str
) -> None:
    with AirflowClient(airflow.base_url, **credentials) as client:
        flow = native_flow_for_dag(client, dag_id, namespace="company.team").flow
        frame = parity(client, dag_id, flow, conf=CONF, timeout=300)
    assert frame.attrs["equal"], frame.to_string()
    assert len(frame) >= 1 and last_parity(dag_id) is True
    if dag_id == "failing_dag":
        assert list(frame["airflow_state"]) == list(frame["kestra_state"]) == ["failed"]
    if dag_id == "hello_world_dag":
        rows = frame.set_index("task")
        assert rows.loc["print_conf", "airflow_value"] == rows.loc["print_conf", "kestra_value"] == CONF
        assert rows.loc["say_hello", "kestra_value"] == "hello world"
    if dag_id == "native_groups_dag":  # task groups (group.task ids) and a teardown in finally
        rows = frame.set_index("task")
        assert rows.loc["report.total", "airflow_value"] == rows.loc["report.total", "kestra_value"] == 28
        assert rows.loc["report.say", "kestra_value"] == "28"
        assert rows.loc["delete", "airflow_state"] == rows.loc["delete", "kestra_state"] == "success"


#: the mapped DAGs: each mapped task's Loop and the Airflow map indexes parity compares
MAPPED = {
    "mapped_taskflow_dag": {"double": 3, "scale": 3},
    "mapped_operators_dag": {"say": 2, "powers": 2},
}


@pytest.mark.parametrize("dag_id", sorted(MAPPED))
def test_mapped_dags_become_loops_equal_map_index_by_map_index(
    airflow: AirflowServer, credentials: dict[str, str], dag_id: str
) -> None:
    with AirflowClient(airflow.base_url, **credentials) as client:
        result = native_flow_for_dag(client, dag_id, namespace="company.team")
        assert result.native, result.untranslated
        frame = parity(client, dag_id, result.flow, timeout=300)
    loops = {r.task_id for r in result.tasks if r.kestra_type == "io.kestra.plugin.core.flow.Loop"}
    assert loops == set(MAPPED[dag_id])
    assert all(isinstance(t, Loop) for t in result.flow.tasks if t.id in loops)
    assert frame.attrs["equal"], frame.to_string()
    rows = frame.set_index("task")
    for task_id, count in MAPPED[dag_id].items():  # one row per map index, none for the whole task
        assert [f"{task_id}[{i}]" for i in range(count)] == sorted(
            t for t in rows.index if t.startswith(f"{task_id}[")
        )
        assert task_id not in rows.index
    if dag_id == "mapped_taskflow_dag":
        assert [rows.loc[f"double[{i}]", "kestra_value"] for i in range(3)] == [6, 2, 6]
        assert [rows.loc[f"scale[{i}]", "airflow_value"] for i in range(3)] == [10, 20, 30]
        expected = {"doubled": [6, 2, 6], "sum": 74}
        assert rows.loc["total", "airflow_value"] == rows.loc["total", "kestra_value"] == expected
    else:
        assert [rows.loc[f"powers[{i}]", "kestra_value"] for i in range(2)] == [8, 9]
        assert rows.loc["say[1]", "airflow_value"] == "two kestra"
        assert rows.loc["say[1]", "note"] == "the last line of a mapped command is not compared"


def test_a_changed_task_is_reported_by_parity_and_the_cli(
    airflow: AirflowServer, credentials: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with AirflowClient(airflow.base_url, **credentials) as client:
        flow = native_flow_for_dag(client, "native_taskflow_dag", namespace="company.team").flow
        (dag,) = flow.tasks
        assert isinstance(dag, Dag)
        total = next(t.task for t in dag.tasks if t.task.id == "total")
        assert isinstance(total, PythonScript) and "* params" in total.script
        total.script = total.script.replace("* params", "+ params")  # the rewrite adds instead of multiplying
        frame = parity(client, "native_taskflow_dag", flow, conf=CONF, timeout=300)
    rows = frame.set_index("task")
    assert rows.loc["total", "airflow_value"] == 75 and rows.loc["total", "kestra_value"] == 20
    assert not rows.loc["total", "equal"] and rows.loc["total", "note"] == "return values differ"
    assert not rows.loc["describe", "equal"]  # the difference flows downstream
    assert rows.loc["extract", "equal"] and frame.attrs["equal"] is False
    assert last_parity("native_taskflow_dag") is False
    with AirflowClient(airflow.base_url, **credentials) as client:
        inventory = client.inventory(["native_taskflow_dag", "native_bash_dag"], native=True).set_index(
            "dag_id"
        )
    assert not inventory.loc["native_taskflow_dag", "parity"]  # pd.NA (never checked) would raise here
    assert inventory["native"].tolist() == [True, True]  # both convert in full (pd.NA would fail)

    path = tmp_path / "flow.yaml"
    path.write_text(flow.to_yaml())
    monkeypatch.setenv("AIRFLOW_USERNAME", credentials["username"])
    monkeypatch.setenv("AIRFLOW_PASSWORD", credentials["password"])
    common = ["--namespace", "company.team", "--airflow-url", airflow.base_url, "--conf", '{"factor": 5}']
    assert main(["parity", "native_taskflow_dag", *common, "--flow", str(path)]) == 1
    assert main(["parity", "native_bash_dag", *common]) == 0
    assert main(["native", "native_python_dag", *common[:4], "-o", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "company.team" / "native_python_dag.yaml").exists()
