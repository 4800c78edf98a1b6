"""``io.kestra.plugin.airflow.dags.TriggerDagRun``: trigger an Airflow DAG run, optionally wait."""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from .durations import Duration
from .options import HttpOptions
from .registry import register
from .task import Task

__all__ = ["TriggerDagRun"]


@register("io.kestra.plugin.airflow.dags.TriggerDagRun")
class TriggerDagRun(Task):
    """Trigger a DAG run in Airflow 2 or 3 and, with ``wait``, follow it to its end.

    Properties mirror Kestra's plugin (YAML names in brackets): ``base_url`` (``baseUrl``),
    ``dag_id`` (``dagId``), ``wait`` (default false), ``poll_frequency`` (``pollFrequency``, default
    PT1S), ``max_duration`` (``maxDuration``, default PT1H), ``body`` (the trigger body: the DAG's
    configuration goes under ``body["conf"]``), ``headers`` (sent with every request) and
    ``options`` (auth and timeouts, see :class:`HttpOptions`). String values may hold Kestra
    expressions such as ``{{ secret('AIRFLOW_PASSWORD') }}``, rendered when the task runs.

    Outputs (``{{ outputs.<id>.<name> }}``): ``dagId``, ``dagRunId``, ``state``; with ``wait`` also
    ``started``, ``ended`` and ``taskInstances`` (one dict per Airflow task instance).

    Example:
        >>> TriggerDagRun(id="run_dag", base_url="http://localhost:8080", dag_id="hello_world_dag",
        ...               wait=True, body={"conf": {"source": "notebook"}})  # doctest: +SKIP
    """

    base_url: str
    dag_id: str
    wait: bool = False
    poll_frequency: Duration = "PT1S"
    max_duration: Duration = "PT1H"
    body: dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    options: HttpOptions | None = None

    @field_validator("base_url", "dag_id")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(f"must not be empty, got {value!r}")
        return value
