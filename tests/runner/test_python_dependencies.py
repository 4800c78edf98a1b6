"""``dependencies`` of Python script tasks (Kestra 2.0; kestra-io/plugin-scripts ``PythonBasedPlugin``:
a list of pip requirement specifiers installed before the script runs, cached by Python version and
requirements): installed locally into a virtual environment of the flow, once, under the run's
storage folder.

The offline tests install a tiny wheel this test writes; the test marked ``needs_index`` installs a
real package from the package index pip is configured with.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
import zipfile
from pathlib import Path

import pytest

from kestra_airflow_sdk.flows import Execution, ExecutionState, Flow
from kestra_airflow_sdk.runner.tasks.python_env import ENVS_FOLDER, environment_key
from tests.runner.core_flows import tasks_flow


@pytest.fixture(autouse=True)
def _temp_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def tiny_wheel(folder: Path, name: str = "kas_tiny", version: str = "0.1") -> Path:
    """A pure-Python wheel of module ``name`` (``VALUE = "<version>"``), written by hand."""
    files = {
        f"{name}/__init__.py": f'VALUE = "{version}"\n'.encode(),
        f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{name}-{version}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
        archive.writestr(f"{name}-{version}.dist-info/RECORD", "\n".join(record) + "\n")
    return wheel


def dependency_flow(dependency: str) -> Flow:
    return Flow.from_yaml(
        tasks_flow(
            f"""
  - id: py
    type: io.kestra.plugin.scripts.python.Script
    dependencies:
      - "{dependency}"
    script: |
      import json, sys
      import kas_tiny
      try:
          import kestra_airflow_sdk
          isolated = False
      except ImportError:
          isolated = True
      print("::" + json.dumps({{"outputs": {{"value": kas_tiny.VALUE, "isolated": isolated, "prefix": sys.prefix}}}}) + "::")
  - id: cmd
    type: io.kestra.plugin.scripts.python.Commands
    dependencies: ["{dependency}"]
    commands:
      - python -c "import kas_tiny; print(kas_tiny.VALUE)"
"""
        )
    )


def _messages(execution: Execution, task_id: str) -> list[str]:
    return [e.message for e in execution.logs if e.task_id == task_id]


def test_dependencies_are_installed_once_into_the_flows_environment(tmp_path: Path) -> None:
    wheel = tiny_wheel(tmp_path)
    storage = tmp_path / "storage"
    flow = dependency_flow(str(wheel))
    first = flow.run(progress=False, storage_dir=storage)
    assert first.state is ExecutionState.SUCCESS, first.logs
    vars_ = first.outputs["py"]["vars"]
    assert vars_["value"] == "0.1"
    assert vars_["isolated"] is True  # as Kestra's container: the SDK's own packages are not there
    environment = storage / ENVS_FOLDER / "n.f" / environment_key([str(wheel)])
    assert Path(vars_["prefix"]) == environment
    assert any(m.startswith("Installing dependencies with") for m in _messages(first, "py"))
    assert ("INFO", "0.1") in [(e.level, e.message) for e in first.logs if e.task_id == "cmd"]
    # the second task of the run, and every later run, reuse the environment
    assert not any(m.startswith("Installing dependencies") for m in _messages(first, "cmd"))
    second = flow.run(progress=False, storage_dir=storage)
    assert second.state is ExecutionState.SUCCESS
    assert second.outputs["py"]["vars"]["prefix"] == str(environment)
    assert not any(
        m.startswith("Installing dependencies") for e in ("py", "cmd") for m in _messages(second, e)
    )
    assert f"Using the cached Python environment {environment}" in _messages(second, "py")


def test_the_cache_key_is_the_python_and_the_sorted_dependencies() -> None:
    assert environment_key(["b==1", "a"]) == environment_key(["a", "b==1"])
    assert environment_key(["a"]) != environment_key(["a", "b"])


def test_without_the_cache_a_fresh_environment_is_made_in_the_working_directory(tmp_path: Path) -> None:
    wheel = tiny_wheel(tmp_path)
    text = tasks_flow(
        f"""
  - id: py
    type: io.kestra.plugin.scripts.python.Script
    dependencyCacheEnabled: false
    dependencies: ["{wheel}"]
    script: |
      import sys, kas_tiny
      print("::" + '{{"outputs": {{"prefix": "' + sys.prefix + '"}}}}' + "::")
"""
    )
    storage = tmp_path / "storage"
    execution = Flow.from_yaml(text).run(progress=False, storage_dir=storage)
    assert execution.state is ExecutionState.SUCCESS, execution.logs
    prefix = Path(execution.outputs["py"]["vars"]["prefix"])
    assert prefix.name == ".venv" and prefix.parent.name.startswith("kestra-wd-")
    assert not (storage / ENVS_FOLDER).exists()


def test_a_dependency_that_cannot_be_installed_fails_the_task(tmp_path: Path) -> None:
    missing = tmp_path / "absent-0.1-py3-none-any.whl"
    execution = Flow.from_yaml(
        tasks_flow(
            f"""
  - id: py
    type: io.kestra.plugin.scripts.python.Script
    dependencies: ["{missing}"]
    script: print(1)
"""
        )
    ).run(progress=False, storage_dir=tmp_path / "storage")
    assert execution.state is ExecutionState.FAILED
    error = execution.task_run("py").error or ""
    assert error.startswith("dependencies: ") and "failed with exit code" in error
    assert str(missing) in error  # pip's own words name the requirement
    # nothing half-made is kept: the next run installs again
    assert not any(
        (p / ".kestra-ready").exists() for p in (tmp_path / "storage" / ENVS_FOLDER / "n.f").glob("*")
    )


@pytest.mark.needs_index
def test_a_real_package_from_the_index(tmp_path: Path) -> None:
    execution = Flow.from_yaml(
        tasks_flow(
            """
  - id: py
    type: io.kestra.plugin.scripts.python.Script
    dependencies: ["six==1.17.0"]
    script: |
      import six
      print('::{"outputs": {"six": "%s"}}::' % six.__version__)
"""
        )
    ).run(progress=False, storage_dir=tmp_path / "storage")
    assert execution.state is ExecutionState.SUCCESS, execution.logs
    assert execution.outputs["py"]["vars"] == {"six": "1.17.0"}


def test_parallel_tasks_needing_the_same_environment_make_it_once(tmp_path: Path) -> None:
    wheel = tiny_wheel(tmp_path)
    branches = "".join(
        f"""
      - id: py{i}
        type: io.kestra.plugin.scripts.python.Commands
        dependencies: ["{wheel}"]
        commands:
          - python -c "import kas_tiny"
"""
        for i in range(3)
    )
    text = tasks_flow(
        f"""
  - id: together
    type: io.kestra.plugin.core.flow.Parallel
    tasks:{branches}"""
    )
    execution = Flow.from_yaml(text).run(progress=False, storage_dir=tmp_path / "storage")
    assert execution.state is ExecutionState.SUCCESS, execution.logs
    installs = [e.task_id for e in execution.logs if e.message.startswith("Installing dependencies")]
    assert len(installs) == 1
    cached = [
        e.task_id for e in execution.logs if e.message.startswith("Using the cached Python environment")
    ]
    assert sorted([*installs, *cached]) == ["py0", "py1", "py2"]


def test_a_secret_in_a_dependency_is_masked_in_the_error_and_the_logs(tmp_path: Path) -> None:
    execution = Flow.from_yaml(
        tasks_flow(
            f"""
  - id: py
    type: io.kestra.plugin.scripts.python.Script
    dependencies: ["{tmp_path}/{{{{ secret('TOKEN') }}}}-0.1-py3-none-any.whl"]
    script: print(1)
"""
        )
    ).run(progress=False, storage_dir=tmp_path / "storage", secrets={"TOKEN": "tok-s3cr3t"})
    assert execution.state is ExecutionState.FAILED
    assert "failed with exit code" in (execution.task_run("py").error or "")
    assert "tok-s3cr3t" not in (execution.task_run("py").error or "")
    assert not any("tok-s3cr3t" in e.message for e in execution.logs)
