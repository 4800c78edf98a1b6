"""The REST clients of the Airflow layer: every REST operation on each of the two drivers.

The public :class:`kestra_airflow_sdk.AirflowClient` / :class:`kestra_airflow_sdk.AsyncAirflowClient`
extend these with the DataFrame operations; the layers above (the flow runner) that only need REST
use these.
"""

from __future__ import annotations

import httpx

from ..transport.drivers import AsyncDriver, SyncDriver
from .core import ClientCore

__all__ = ["AirflowRestClient", "AsyncAirflowRestClient"]


class AirflowRestClient(ClientCore, SyncDriver):
    """Synchronous client for the Airflow REST API (Airflow 2 ``/api/v1`` and Airflow 3 ``/api/v2``).

    Example:
        >>> with AirflowRestClient("http://localhost:8080", username="admin", password="admin") as client:
        ...     run = client.trigger_dag_run("hello_world_dag", conf={"source": "notebook"})
        ...     run = client.wait_for_dag_run(run.dag_id, run.dag_run_id)

    Constructor arguments are described on :class:`~kestra_airflow_sdk.airflow.session.Session`.
    """

    _http: httpx.Client


class AsyncAirflowRestClient(ClientCore, AsyncDriver):
    """Asynchronous twin of :class:`AirflowRestClient`: the same methods and arguments, awaited."""

    _http: httpx.AsyncClient
