"""The Airflow clients of one execution, shared by its tasks.

Tasks that reach the same Airflow the same way (URL, credentials, headers, timeouts) use one
REST client (:class:`~kestra_airflow_sdk.airflow.AsyncAirflowRestClient`), so that the DAG runs of a ``Parallel`` are polled
together: one request per DAG and tick serves every task waiting on that DAG (see
:mod:`kestra_airflow_sdk.airflow.waits`), and connections and the login are reused.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import httpx

from ..airflow.client import AsyncAirflowRestClient

__all__ = ["AirflowClients"]


def _key(value: Any) -> Hashable:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _key(v)) for k, v in value.items()))
    if isinstance(value, httpx.Timeout):
        return ("timeout", value.connect, value.read, value.write, value.pool)
    hashable: Hashable = value  # str, numbers, None, SecretStr (compared and hashed by value, never shown)
    return hashable


class AirflowClients:
    """One client per distinct connection, opened on first use and closed with :meth:`aclose`;
    ``transport`` (an :class:`httpx.AsyncBaseTransport`, e.g. a test's fake Airflow) carries every
    client's requests when given."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._clients: dict[Hashable, AsyncAirflowRestClient] = {}
        self._transport = transport

    def __repr__(self) -> str:
        return f"AirflowClients(open={len(self._clients)})"

    def get(self, base_url: str, **options: Any) -> AsyncAirflowRestClient:
        """The client for ``base_url`` with these :class:`AsyncAirflowRestClient` keyword options."""
        key = (base_url, _key(options))
        client = self._clients.get(key)
        if client is None:
            if self._transport is not None:
                options = {**options, "transport": self._transport}
            client = self._clients[key] = AsyncAirflowRestClient(base_url, **options)
        return client

    async def aclose(self) -> None:
        """Close every client (the execution has ended)."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
