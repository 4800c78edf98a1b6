"""The two drivers of the sans-I/O core: :class:`AirflowClient` and :class:`AsyncAirflowClient`.

They only execute effects (send a request, sleep, run a gather of operations concurrently); every
method, its arguments and its logic come from :class:`~kestra_airflow_sdk.airflow.core.ClientCore`.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

import httpx

from ..history.operations import HistoryOperations
from .core import Driving, Gather, Op, Sleep

__all__ = ["AirflowClient", "AsyncAirflowClient"]

T = TypeVar("T")


class AirflowClient(HistoryOperations):
    """Synchronous client for the Airflow REST API (Airflow 2 ``/api/v1`` and Airflow 3 ``/api/v2``).

    Example:
        >>> with AirflowClient("http://localhost:8080", username="admin", password="admin") as client:
        ...     run = client.trigger_dag_run("hello_world_dag", conf={"source": "notebook"})
        ...     run = client.wait_for_dag_run(run.dag_id, run.dag_run_id)

    Constructor arguments are described on :class:`~kestra_airflow_sdk.airflow.core.ClientCore`.
    """

    _http: httpx.Client

    def _open(self, options: dict[str, Any]) -> httpx.Client:
        return httpx.Client(**options)

    def _sleep(self, seconds: float) -> None:
        """Execute a :class:`Sleep` effect (a test driver fast-forwards it together with :meth:`_now`)."""
        time.sleep(seconds)

    def _execute(self, op: Op[T]) -> T:
        run = Driving(op)
        while (effect := run.next_effect()) is not None:
            if isinstance(effect, Sleep):
                self._sleep(effect.seconds)
            elif isinstance(effect, Gather):  # threads on the one (thread-safe) httpx.Client
                with ThreadPoolExecutor(max_workers=effect.limit) as pool:
                    run.reply(list(pool.map(self._execute, effect.ops)))
            else:
                with run.sending(effect):
                    run.reply(self._http.send(effect))
        return run.result

    def close(self) -> None:
        """Close the underlying connections."""
        self._http.close()

    def __enter__(self) -> AirflowClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncAirflowClient(HistoryOperations):
    """Asynchronous twin of :class:`AirflowClient`: the same methods and arguments, awaited.

    Example:
        >>> async with AsyncAirflowClient("http://localhost:8080", username="admin", password="admin") as client:
        ...     run = await client.trigger_dag_run("hello_world_dag", conf={"n": 1})
        ...     run = await client.wait_for_dag_run(run.dag_id, run.dag_run_id)
    """

    _http: httpx.AsyncClient

    def _open(self, options: dict[str, Any]) -> httpx.AsyncClient:
        return httpx.AsyncClient(**options)

    def _now(self) -> float:
        """The event loop's clock, which ``asyncio.sleep`` runs on (so a virtual-time loop moves both)."""
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:  # outside a running loop: the same clock asyncio's default loop uses
            return time.monotonic()

    async def _execute(self, op: Op[T]) -> T:
        run = Driving(op)
        while (effect := run.next_effect()) is not None:
            if isinstance(effect, Sleep):
                await asyncio.sleep(effect.seconds)
            elif isinstance(effect, Gather):
                gate = asyncio.Semaphore(effect.limit)
                run.reply(await asyncio.gather(*(self._bounded(gate, op) for op in effect.ops)))
            else:
                with run.sending(effect):
                    run.reply(await self._http.send(effect))
        return run.result

    async def _bounded(self, gate: asyncio.Semaphore, op: Op[T]) -> T:
        async with gate:
            return await self._execute(op)

    async def close(self) -> None:
        """Close the underlying connections."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncAirflowClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
