"""The sans-I/O core of the Airflow client: every operation is written once, as a generator.

An operation yields *effects* (:mod:`kestra_airflow_sdk.transport.effects`: a request to send, a
delay, the time, a gather of operations to run concurrently, ...) and never performs I/O itself, so
the same request building, response parsing, version handling, pagination and polling serve both
drivers of the request core (:mod:`kestra_airflow_sdk.transport.drivers`): ``httpx.Client`` +
``time.sleep`` and ``httpx.AsyncClient`` + ``asyncio.sleep``.

:class:`ClientCore` gathers the REST operations (one mixin per resource, :mod:`.operations`) on
a :class:`~.session.Session` (configuration, auth, API dialect, retries). Higher layers declare
their own operations with :class:`~kestra_airflow_sdk.transport.operation.operation` on top of it
and build them from the
documented functions of :mod:`.session`, :mod:`.pagination`, :mod:`.lookups`, :mod:`.fetch`,
:mod:`.waits` and :mod:`.arguments`.
"""

from __future__ import annotations

from .operations import (
    AssetOperations,
    BackfillOperations,
    DagDetailOperations,
    DagOperations,
    DagRunOperations,
    HitlOperations,
    TaskHistoryOperations,
    TaskInstanceOperations,
    TriggerOperations,
    WaitOperations,
    XComOperations,
)

__all__ = ["ClientCore"]


class ClientCore(
    HitlOperations,
    WaitOperations,
    TriggerOperations,
    DagRunOperations,
    TaskInstanceOperations,
    DagOperations,
    AssetOperations,
    XComOperations,
    TaskHistoryOperations,
    BackfillOperations,
    DagDetailOperations,
):
    """Every REST operation of the client, driver-free (constructor arguments: :class:`~.session.Session`)."""
