"""Public names loaded on first use (PEP 562), so that ``import kestra_airflow_sdk`` stays light.

A package lists its public names in ``__all__``, imports them under ``if TYPE_CHECKING:`` (what type
checkers and IDEs read) and ends with ``__getattr__, __dir__ = lazy_exports(__name__)``. Those
imports are the one list of where each name lives: at run time, the first access to a name imports
its module (as the ``TYPE_CHECKING`` block says) and the name is then an ordinary attribute of the
package; ``dir()`` (and so a notebook's tab completion) lists the names not loaded yet too.
``tests/unit/test_lazy_exports.py`` checks that ``__all__`` and the imports agree. This module is at
the bottom of the layers: it imports nothing of the SDK.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["lazy_exports"]


def _homes(package: str) -> dict[str, str]:
    """``{name: relative module}`` of the imports under the package's top-level ``if TYPE_CHECKING:``."""
    source = Path(sys.modules[package].__file__ or "").read_text(encoding="utf-8")
    homes: dict[str, str] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for item in node.body:
                if isinstance(item, ast.ImportFrom) and item.level:
                    module = "." * item.level + (item.module or "")
                    homes.update({alias.asname or alias.name: module for alias in item.names})
    return homes


def lazy_exports(package: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` for ``package``: each name its ``TYPE_CHECKING``
    block imports is imported from that module on first access, and kept in the package."""
    homes = _homes(package)

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(homes))

    return __getattr__, __dir__
