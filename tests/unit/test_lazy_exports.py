"""The lazily loaded public names (PEP 562): what type checkers read is what runs.

Each package lists its names in ``__all__`` and imports them under ``TYPE_CHECKING`` (read by mypy
and IDEs, and by ``lazy_exports`` at run time). These tests keep the two in step and check that every
name loads the very object the type checkers see.
"""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import kestra_airflow_sdk

PACKAGES = [
    "kestra_airflow_sdk",
    "kestra_airflow_sdk.airflow",
    "kestra_airflow_sdk.flows",
    "kestra_airflow_sdk.runner",
    "kestra_airflow_sdk.display",
    "kestra_airflow_sdk.kestra",
]


def _type_checking_imports(package: str) -> dict[str, str]:
    """``{name: absolute module}`` of the imports under ``if TYPE_CHECKING:`` in the package's __init__."""
    path = Path(importlib.import_module(package).__file__ or "")
    found: dict[str, str] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for item in node.body:
                assert isinstance(item, ast.ImportFrom) and item.level >= 1, ast.dump(item)
                base = package.rsplit(".", item.level - 1)[0] if item.level > 1 else package
                module = f"{base}.{item.module}" if item.module else base
                found.update({alias.asname or alias.name: module for alias in item.names})
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_all_and_the_type_checking_imports_agree_and_load(package: str) -> None:
    module = importlib.import_module(package)
    imports = _type_checking_imports(package)
    assert sorted(imports) == sorted(module.__all__)
    for name, home in imports.items():
        assert getattr(module, name) is getattr(importlib.import_module(home), name), name


@pytest.mark.parametrize("package", PACKAGES)
def test_an_unknown_name_is_an_attribute_error_naming_it(package: str) -> None:
    module = importlib.import_module(package)
    with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'NoSuchThing'"):
        module.NoSuchThing  # noqa: B018
    with pytest.raises(ImportError):
        exec(f"from {package} import NoSuchThing")


def test_the_top_level_has_no_look_alike_names() -> None:
    """One name per concept: the flow-side names are apart from the HTTP client's."""
    names = set(kestra_airflow_sdk.__all__)
    assert not names & {"State", "Retry", "BasicAuth", "BearerAuth", "LogEntry"}
    assert {"ExecutionState", "DagRunState", "RetryPolicy", "AirflowPasswordAuth", "BearerTokenAuth"} <= names


def test_dir_lists_the_names_not_loaded_yet() -> None:
    """A notebook's tab completion (``dir``) offers every public name before its first use."""
    probe = "import kestra_airflow_sdk as k, sys; print('Flow' in dir(k), 'kestra_airflow_sdk.flows.flow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["True", "False"]


def test_a_bytecode_only_install_imports_and_loads_its_names(tmp_path: Path) -> None:
    """An install without sources (``compileall -b``, then the ``.py`` files removed) imports the
    package and loads its lazily exported names: nothing reads the source."""
    source = Path(kestra_airflow_sdk.__file__ or "").parent
    copy = tmp_path / "kestra_airflow_sdk"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "compileall", "-b", "-q", str(copy)], check=True)
    for path in copy.rglob("*.py"):
        path.unlink()
    assert not list(copy.rglob("*.py")) and (copy / "__init__.pyc").is_file()
    probe = (
        "import kestra_airflow_sdk as k\n"
        "from kestra_airflow_sdk import Flow, Log, ExecutionState, NotFoundError, AirflowError\n"
        "from kestra_airflow_sdk.airflow import DagRun\n"
        "assert k.__file__.endswith('.pyc'), k.__file__\n"
        "assert issubclass(NotFoundError, AirflowError) and DagRun.__name__ == 'DagRun'\n"
        "flow = Flow('hello', 'company.team').task(Log(id='say', message='hi {{ flow.id }}'))\n"
        "execution = flow.run(progress=False)\n"
        "print(execution.state is ExecutionState.SUCCESS, execution.logs[-1].message)\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "hi", "hello"]


def _public_exceptions() -> dict[str, type[BaseException]]:
    """Every exception (and warning) class of the SDK a user may catch: those a package exports
    (its ``__all__``) and every class of an ``errors`` module."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(kestra_airflow_sdk.__path__, "kestra_airflow_sdk."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        if info.ispkg:
            candidates = [getattr(module, name) for name in getattr(module, "__all__", [])]
        elif info.name.rsplit(".", 1)[-1] == "errors":
            candidates = [
                value for value in vars(module).values() if getattr(value, "__module__", "") == info.name
            ]
        else:
            continue
        for value in candidates:
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and not value.__name__.startswith("_")
            ):
                found[value.__name__] = value
    return found


def test_every_public_exception_is_importable_from_the_top_level() -> None:
    """``from kestra_airflow_sdk import NotFoundError``, as with httpx's and requests' errors."""
    exceptions = _public_exceptions()
    assert {"NotFoundError", "AuthenticationError", "ConflictError", "WaitTimeoutError"} <= set(exceptions)
    assert {"FlowValidationError", "ExecutionKilled", "KestraApiError", "KestraAirflowError"} <= set(
        exceptions
    )
    missing = sorted(set(exceptions) - set(kestra_airflow_sdk.__all__))
    assert missing == []
    for name, cls in exceptions.items():
        assert getattr(kestra_airflow_sdk, name) is cls, name
