"""The local runner: :class:`FlowRunner` runs one execution of a flow; :class:`TextReporter` reports
its progress as lines of text. (What a run produces, :class:`~kestra_airflow_sdk.flows.Execution`,
and the :class:`~kestra_airflow_sdk.flows.Observer` interface are in :mod:`kestra_airflow_sdk.flows`.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..exports import lazy_exports

if TYPE_CHECKING:
    from .engine import FlowRunner
    from .observer import TextReporter

__all__ = ["FlowRunner", "TextReporter"]

if not TYPE_CHECKING:  # type checkers read the imports above; at run time each name loads on first use
    __getattr__, __dir__ = lazy_exports(__name__)
