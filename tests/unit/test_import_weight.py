"""``import kestra_airflow_sdk`` stays light: pandas, pyarrow and ipywidgets load on first use only,
and the bare import loads not even httpx, pydantic or jinja2 (each public name loads on first use)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ["pandas", "pyarrow", "ipywidgets"]
CORE = ["httpx", "pydantic", "jinja2", "yaml"]


def _loaded_after(code: str, modules: list[str] = HEAVY) -> list[str]:
    probe = f"import json, sys\n{code}\nprint(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, check=True, capture_output=True, text=True)
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_sdk_loads_no_pandas_pyarrow_or_ipywidgets() -> None:
    code = "import kestra_airflow_sdk\nfrom kestra_airflow_sdk import *\nimport kestra_airflow_sdk.history"
    assert _loaded_after(code) == []


def test_the_bare_import_loads_neither_httpx_pydantic_jinja2_nor_yaml() -> None:
    assert _loaded_after("import kestra_airflow_sdk", HEAVY + CORE) == []


def test_the_probe_does_see_the_modules_once_a_name_is_used() -> None:
    """The checks above can fail: the first use of a name loads what it needs."""
    assert _loaded_after("from kestra_airflow_sdk import AirflowClient", CORE) == ["httpx", "pydantic"]
    assert "pydantic" in _loaded_after("from kestra_airflow_sdk import Flow", CORE)


def test_the_probe_does_see_pandas_once_a_frame_is_built() -> None:
    """Building a DataFrame view loads pandas (and registers df.airflow)."""
    code = (
        "from kestra_airflow_sdk.history.frames import runs_frame\nassert hasattr(runs_frame([]), 'airflow')"
    )
    assert "pandas" in _loaded_after(code)
