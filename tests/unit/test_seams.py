"""Guards of issue 23: tests observe the SDK through its seams (a transport, a sink, a clock), never
by replacing what an SDK class does; no module is imported for its side effects.

Each guard is checked against the tree and against the pattern it forbids, so it cannot pass by
finding nothing.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "kestra_airflow_sdk"
SIDE_EFFECT_IMPORT = re.compile(r"^\s*(from\s+\S+\s+)?import\s.*#\s*noqa:.*\bF401\b", re.MULTILINE)


def _sdk_object(dotted: str) -> Any:
    """The SDK object a dotted name points at (``kestra_airflow_sdk.x.Y``), or None."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            found = getattr(found, part, None)
        return found
    return None


class _Names(ast.NodeVisitor):
    """The dotted SDK name each local name of a module is bound to by its imports."""

    def __init__(self) -> None:
        self.bound: dict[str, str] = {}

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] == PACKAGE:
                if alias.asname:
                    self.bound[alias.asname] = alias.name
                else:
                    self.bound[PACKAGE] = PACKAGE

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module and node.module.split(".")[0] == PACKAGE:
            for alias in node.names:
                self.bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"


def _dotted(node: ast.expr, bound: dict[str, str]) -> str | None:
    """The dotted SDK name of an expression such as ``Class`` or ``module.Class``, if it is one."""
    if isinstance(node, ast.Name):
        return bound.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _dotted(node.value, bound)
        return None if owner is None else f"{owner}.{node.attr}"
    return None


def _is_sdk_class(dotted: str | None) -> bool:
    return dotted is not None and isinstance(_sdk_object(dotted), type)


def class_patches(source: str) -> list[str]:
    """Where ``source`` replaces an attribute of an SDK class: ``monkeypatch.setattr(Class, ...)``,
    ``monkeypatch.setattr("kestra_airflow_sdk.x.Class.attr", ...)``, ``setattr(Class, ...)`` or
    ``Class.attr = ...`` (also ``module.Class.attr``); as ``line: code``."""
    tree = ast.parse(source)
    names = _Names()
    names.visit(tree)
    found: list[int] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            setting = (isinstance(func, ast.Attribute) and func.attr == "setattr") or (
                isinstance(func, ast.Name) and func.id == "setattr"
            )
            first = node.args[0]
            if setting and isinstance(first, ast.Constant) and isinstance(first.value, str):
                owner = first.value.rpartition(".")[0]
                if owner.split(".")[0] == PACKAGE and _is_sdk_class(owner):
                    found.append(node.lineno)
            elif setting and _is_sdk_class(_dotted(first, names.bound)):
                found.append(node.lineno)
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and _is_sdk_class(_dotted(target.value, names.bound)):
                found.append(node.lineno)
    lines = source.splitlines()
    return [f"{n}: {lines[n - 1].strip()}" for n in sorted(set(found))]


def _python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_no_test_replaces_an_attribute_of_an_sdk_class() -> None:
    files = _python_files("tests")
    assert len(files) > 50  # the tests were found
    offenders = {
        str(path.relative_to(ROOT)): where
        for path in files
        if (where := class_patches(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, "observe through a transport, a sink or a constructor argument instead"


@pytest.mark.parametrize(
    "code",
    [
        # the patterns issue 23 removed
        "from kestra_airflow_sdk.history.frames import TaskInstanceColumns\n"
        'monkeypatch.setattr(TaskInstanceColumns, "add", counted)\n',
        "from kestra_airflow_sdk.airflow.waits import RECONCILE_EVERY, RunPoller\n"
        'monkeypatch.setattr(RunPoller, "_refresh", counted)\n',
        "from kestra_airflow_sdk.airflow.waits import RunPoller as Poller\nPoller.refresh = counted\n",
        "import kestra_airflow_sdk.airflow.waits as waits\nwaits.RunPoller._refresh = counted\n",
        "from kestra_airflow_sdk import AirflowClient\nsetattr(AirflowClient, 'close', lambda self: None)\n",
        "from kestra_airflow_sdk.history.columns import Columns\nColumns.repeated |= {'x'}\n",
        'monkeypatch.setattr("kestra_airflow_sdk.airflow.waits.RunPoller._refresh", counted)\n',
    ],
)
def test_the_class_patching_guard_finds_each_form(code: str) -> None:
    # the patch, on the code's last line
    assert [line.split(":")[0] for line in class_patches(code)] == [str(len(code.splitlines()))]


@pytest.mark.parametrize(
    "code",
    [
        # a module's constants, an instance's attributes, a class of another library: not SDK classes
        "import kestra_airflow_sdk.airflow.pagination as pagination\n"
        'monkeypatch.setattr(pagination, "PAGE_SIZE", 2)\n',
        "from kestra_airflow_sdk import AirflowClient\nclient = AirflowClient('http://x')\nclient.retry = None\n",
        "import tempfile\nmonkeypatch.setattr(tempfile, 'tempdir', '/tmp')\n",
        "class Local:\n    pass\nLocal.x = 1\n",
    ],
)
def test_the_class_patching_guard_leaves_other_patches_alone(code: str) -> None:
    assert class_patches(code) == []


def test_no_module_is_imported_for_its_side_effects() -> None:
    """``import x  # noqa: F401`` is an import kept for what importing does: call a function instead."""
    files = _python_files(PACKAGE) + _python_files("tests")
    offenders = {
        f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}": match.group(0).strip()
        for path in files
        for text in [path.read_text(encoding="utf-8")]
        for match in SIDE_EFFECT_IMPORT.finditer(text)
    }
    assert offenders == {}


@pytest.mark.parametrize(
    "line",
    [
        "from . import accessor  # noqa: F401  (registers ``df.airflow``)",
        "import kestra_airflow_sdk  # noqa: F401  (registers df.airflow)",
        "    import pyarrow  # noqa: E501,F401",
    ],
)
def test_the_side_effect_import_guard_finds_each_form(line: str) -> None:
    assert SIDE_EFFECT_IMPORT.search(f"x = 1\n{line}\n") is not None
