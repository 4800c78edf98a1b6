"""How Airflow models show themselves: what the REST layer needs from the SDK's runtime.

The display layer is above this one: :class:`DagRun` shows itself through the installed runtime
(:mod:`kestra_airflow_sdk.installed`, a :class:`~kestra_airflow_sdk.wiring.Runtime`), never by
importing the displays. This module is kept tiny: ``import kestra_airflow_sdk`` imports it without
loading the models, pydantic or httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

from ..installed import installed

if TYPE_CHECKING:
    from .models import DagRun

__all__ = ["DagRunViews", "dag_run_views"]


class DagRunViews(Protocol):
    """The part of the SDK's runtime that shows a :class:`DagRun`."""

    def dag_run_text(self, run: DagRun) -> str:
        """``repr(run)``."""
        ...

    def dag_run_html(self, run: DagRun) -> str:
        """The run shown in a notebook (``_repr_html_``)."""
        ...


def dag_run_views(needed_by: str) -> DagRunViews:
    """The installed runtime, as what shows a :class:`DagRun` (``needed_by``: what asks, for the error)."""
    return cast("DagRunViews", installed(needed_by))
