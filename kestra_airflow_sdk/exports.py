"""Public names loaded on first use (PEP 562), so that ``import kestra_airflow_sdk`` stays light.

A package lists its public names in ``__all__``, imports them under ``if TYPE_CHECKING:`` (what type
checkers and IDEs read) and ends with ``__getattr__, __dir__ = lazy_exports(__name__)``. Those
imports are the one list of where each name lives: at run time, the first access to a name imports
its module (as the ``TYPE_CHECKING`` block says) and the name is then an ordinary attribute of the
package; ``dir()`` (and so a notebook's tab completion) lists the names not loaded yet too.

The imports are read from the package's compiled code (what its loader runs), not from its source:
an install that ships only bytecode works the same. ``tests/unit/test_lazy_exports.py`` checks that
``__all__`` and the imports agree, also without sources. This module is at the bottom of the layers:
it imports nothing of the SDK.
"""

from __future__ import annotations

import dis
import importlib
import sys
from collections.abc import Callable, Iterator
from types import CodeType
from typing import Any

__all__ = ["lazy_exports"]


def _relative_imports(code: CodeType) -> Iterator[tuple[str, str]]:
    """``(bound name, relative module)`` of each ``from .module import name [as bound]`` the module
    code runs (or would run: the ``TYPE_CHECKING`` branch is compiled like any other)."""
    recent: list[Any] = [None, None]  # the arguments of the two instructions before IMPORT_NAME
    module: str | None = None
    imported: str | None = None
    for instruction in dis.get_instructions(code):
        name, value = instruction.opname, instruction.argval
        if name == "IMPORT_NAME":
            level = recent[-2]
            module = "." * level + str(value) if isinstance(level, int) and level > 0 else None
        elif name == "IMPORT_FROM" and module is not None:
            imported = str(value)
        elif name == "STORE_NAME" and imported is not None and module is not None:
            yield str(value), module
            imported = None
        elif name != "POP_TOP":  # an ``import`` statement's names end at its POP_TOP
            module = imported = None
        recent = [recent[-1], value]


def _homes(package: str) -> dict[str, str]:
    """``{public name: relative module}`` from the package's imports of the names in its ``__all__``."""
    get_code = getattr(getattr(sys.modules[package].__spec__, "loader", None), "get_code", None)
    code = get_code(package) if get_code is not None else None
    if not isinstance(code, CodeType):
        raise ImportError(f"lazy_exports: cannot read the compiled code of package {package!r}")
    public = set(getattr(sys.modules[package], "__all__", ()))
    return {bound: module for bound, module in _relative_imports(code) if bound in public}


def lazy_exports(package: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` for ``package``: each name of its ``__all__`` that its
    ``TYPE_CHECKING`` block imports is imported from that module on first access, and kept in the
    package."""
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
