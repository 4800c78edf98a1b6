"""The wheel is typed (PEP 561): a user's mypy type-checks a program against the installed wheel.

The wheel is built from this work tree and installed (without dependencies) into a fresh virtual
environment whose only other path is this test environment's site-packages (httpx, pydantic, ...);
mypy runs with that interpreter, from a directory outside the work tree, so it can only find the SDK
as an installed package: without ``py.typed`` it would ignore the SDK's annotations.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

GOOD = textwrap.dedent(
    """
    import asyncio

    from kestra_airflow_sdk import AirflowClient, AsyncAirflowClient, DagRunState, KestraAirflowError
    from kestra_airflow_sdk.airflow import DagRun


    def sync_use(url: str) -> DagRunState | None:
        with AirflowClient(url, username="admin", password="admin") as client:
            run: DagRun = client.trigger_dag_run("hello_world_dag", conf={"n": 1})
            final: DagRun = client.wait_for_dag_run(run.dag_id, run.dag_run_id, timeout=60.0)
            return final.state


    async def async_use(url: str) -> list[str]:
        async with AsyncAirflowClient(url, token="t") as client:
            runs: list[DagRun] = await client.list_dag_runs("hello_world_dag", limit=5)
            return [run.dag_run_id for run in runs]


    def guarded(url: str) -> str:
        try:
            return str(asyncio.run(async_use(url)))
        except KestraAirflowError as exc:
            return str(exc)
    """
)

BAD = textwrap.dedent(
    """
    from kestra_airflow_sdk import AirflowClient, AsyncAirflowClient

    client = AirflowClient("http://airflow")
    count: int = client.get_dag_run("d", "r")
    client.trigger_dag_run("d", conf="not a mapping")


    async def forgot_await(aclient: AsyncAirflowClient) -> str:
        return aclient.get_dag("d").dag_id
    """
)


def _run(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False)


def test_a_user_program_type_checks_against_the_installed_wheel(tmp_path: Path) -> None:
    built = _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        ROOT,
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        tmp_path / "dist",
        cwd=tmp_path,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("kestra_airflow_sdk-*.whl")
    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path).returncode == 0
    (site,) = (venv / "lib").glob("python*/site-packages")
    installed = _run(
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-compile",
        "-q",
        "--target",
        site,
        wheel,
        cwd=tmp_path,
    )
    assert installed.returncode == 0, installed.stderr
    assert (site / "kestra_airflow_sdk" / "py.typed").is_file()
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    python = venv / "bin" / "python"
    where = _run(python, "-c", "import kestra_airflow_sdk; print(kestra_airflow_sdk.__file__)", cwd=tmp_path)
    assert where.stdout.strip() == str(site / "kestra_airflow_sdk" / "__init__.py"), where.stderr
    (tmp_path / "good.py").write_text(GOOD)
    (tmp_path / "bad.py").write_text(BAD)
    mypy = [
        sys.executable,
        "-m",
        "mypy",
        "--strict",
        "--python-executable",
        python,
        "--cache-dir",
        tmp_path / ".mypy",
    ]
    good = _run(*mypy, "good.py", cwd=tmp_path)
    assert good.returncode == 0, good.stdout
    bad = _run(*mypy, "bad.py", cwd=tmp_path)
    assert bad.returncode == 1, bad.stdout
    errors = [line for line in bad.stdout.splitlines() if ": error:" in line]
    assert sorted({int(line.split(":")[1]) for line in errors}) == [5, 6, 10], bad.stdout
    assert '"DagRun"' in errors[0] and "int" in errors[0]
    assert any('"Coroutine[Any, Any, AirflowDag]" has no attribute "dag_id"' in line for line in errors)
