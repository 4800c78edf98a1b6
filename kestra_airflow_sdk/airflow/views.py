"""How Airflow models show themselves, supplied by the display layer above (a registry, no import of it).

This module is kept tiny: ``import kestra_airflow_sdk`` fills it (see :mod:`kestra_airflow_sdk.wiring`)
without loading the models, pydantic or httpx.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .models import DagRun

__all__ = ["DAG_RUN_VIEWS", "show_dag_runs_with"]

#: how a :class:`DagRun` shows itself: ``"text"`` for ``repr``, ``"html"`` in a notebook. The display
#: layer supplies them (:func:`show_dag_runs_with`); without them the pydantic repr is used.
DAG_RUN_VIEWS: dict[Literal["text", "html"], Callable[[DagRun], str]] = {}


def show_dag_runs_with(*, text: Callable[[DagRun], str], html: Callable[[DagRun], str]) -> None:
    """Install how :class:`DagRun` objects show themselves (called by the SDK's public package)."""
    DAG_RUN_VIEWS["text"], DAG_RUN_VIEWS["html"] = text, html
