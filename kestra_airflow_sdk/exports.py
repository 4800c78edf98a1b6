"""Public names loaded on first use (PEP 562), so that ``import kestra_airflow_sdk`` stays light.

A package lists its public names in ``__all__``, imports them under ``TYPE_CHECKING`` (what type
checkers and IDEs read) and sets ``__getattr__, __dir__ = lazy_exports(__name__, {module: names})``: the first access
to a name imports the module it lives in, and the name is then an ordinary attribute of the package;
``dir()`` (and so a notebook's tab completion) lists the names not loaded yet too.
``tests/unit/test_lazy_exports.py`` checks that the two lists agree. This module is at the bottom of
the layers: it imports nothing of the SDK.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, modules: Mapping[str, Iterable[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` for ``package``: ``modules`` maps a module (relative to
    the package, e.g. ``".flows.flow"``) to the public names it holds; the first access to one of them
    imports that module, and the name is kept in the package."""
    homes = {name: module for module, names in modules.items() for name in names}

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
