"""The runtime the public package installed: how the models of the lower layers reach the layers
above them.

Layers point down (``lint-imports``): ``DagRun`` (Airflow REST layer), ``Flow`` and ``Execution``
(flow model) and the runner never import the displays, the Kestra client or the runner above them.
``kestra_airflow_sdk/__init__.py`` (which Python imports before any subpackage) makes one
:class:`~kestra_airflow_sdk.wiring.Runtime` and installs it here; each lower layer reads it through
the protocol of what it needs from it (:class:`~kestra_airflow_sdk.airflow.views.DagRunViews`,
:class:`~kestra_airflow_sdk.flows.hooks.FlowRuntime`,
:class:`~kestra_airflow_sdk.runner.runtime.RunnerRuntime`). When nothing is installed, every one of
them fails the same way: :class:`RuntimeNotInstalledError`.

This module is at the bottom of the layers, with the exception root: it imports nothing else of the SDK.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .errors import KestraAirflowError

__all__ = ["RuntimeNotInstalledError", "install", "installed", "using"]

_runtime: list[object] = []  # the installed runtime, or nothing


class RuntimeNotInstalledError(KestraAirflowError, RuntimeError):
    """Something needs the SDK's runtime (to run a flow, show a model, open Airflow clients) and none
    is installed: ``import kestra_airflow_sdk`` installs it."""


def install(runtime: object | None) -> None:
    """Make ``runtime`` the SDK's runtime (the public package installs its own on import); None
    leaves none installed."""
    _runtime[:] = [] if runtime is None else [runtime]


def installed(needed_by: str) -> object:
    """The installed runtime; ``needed_by`` (e.g. ``"Flow.run"``) names what asked, for the error."""
    if not _runtime:
        raise RuntimeNotInstalledError(
            f"{needed_by} needs the SDK's runtime and none is installed: import kestra_airflow_sdk installs it"
        )
    return _runtime[0]


@contextmanager
def using(runtime: object | None) -> Iterator[None]:
    """Within the block, ``runtime`` is the installed one (e.g. a
    :class:`~kestra_airflow_sdk.wiring.Runtime` whose Airflow clients reach a test's transport; None:
    none is installed)."""
    before = list(_runtime)
    install(runtime)
    try:
        yield
    finally:
        _runtime[:] = before
