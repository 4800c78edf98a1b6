"""The root of every exception the SDK raises: ``except KestraAirflowError`` catches them all.

The Airflow family (:class:`~kestra_airflow_sdk.airflow.errors.AirflowError`) and the flow family
(:class:`~kestra_airflow_sdk.flows.errors.FlowError`, with the Kestra server errors under it) both
derive from it. This module is the bottom of the package's layers: it imports nothing of the SDK.
"""

from __future__ import annotations

__all__ = ["KestraAirflowError"]


class KestraAirflowError(Exception):
    """Base class of every SDK error (Airflow REST, flows, expressions, secrets, Kestra server)."""
