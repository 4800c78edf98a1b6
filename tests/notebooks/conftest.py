"""Execute the notebooks in ``notebooks/`` against the real Airflow 3 of the test session."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat import NotebookNode

from tests.airflow_servers import PASSWORD, USERNAME, AirflowServer

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def execute_notebook(name: str, airflow: AirflowServer, out_dir: Path) -> NotebookNode:
    """Run ``notebooks/<name>`` top to bottom in a fresh kernel (raising on any error) and save the
    executed copy, widget state included, in ``out_dir``."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    env = {
        **os.environ,
        "AIRFLOW_BASE_URL": airflow.base_url,
        "AIRFLOW_USERNAME": USERNAME,
        "AIRFLOW_PASSWORD": PASSWORD,
    }
    client = NotebookClient(
        nb,
        timeout=900,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(out_dir)}},
    )
    client.execute(env=env)
    nbformat.write(nb, out_dir / name)
    return nb


@pytest.fixture(scope="session")
def executed_quickstart(airflow: AirflowServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quickstart notebook executed once against real Airflow: the path of the executed copy."""
    out = tmp_path_factory.mktemp("executed")
    execute_notebook("quickstart.ipynb", airflow, out)
    return out / "quickstart.ipynb"
