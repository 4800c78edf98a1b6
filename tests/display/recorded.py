"""Recorded polls of real DAG runs (``tests/samples/*_progress_polls*.json``, made by
``record_polls.py``) as models, and a mock transport that replays them poll by poll."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from kestra_airflow_sdk.airflow import DagRun, TaskInstance

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
RECORDINGS = sorted(p.name for p in SAMPLES.glob("*_progress_polls*.json"))


def load_polls(name: str) -> list[dict[str, Any]]:
    """The raw bodies of each recorded poll."""
    return json.loads((SAMPLES / name).read_text())  # type: ignore[no-any-return]


def parse_poll(poll: dict[str, Any]) -> tuple[DagRun, list[TaskInstance]]:
    run = DagRun.model_validate(poll["dag_run"])
    tis = [TaskInstance.model_validate(t) for t in poll["task_instances"]["task_instances"]]
    return run, tis


@dataclass
class ReplayAirflow:
    """Serves the recorded polls: each GET of the run moves to the next poll; its task instances
    are those of the same poll. Several recordings may be replayed side by side."""

    api: str
    recordings: list[list[dict[str, Any]]]
    served: dict[str, int] = field(default_factory=dict)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def _polls(self, run_id: str) -> list[dict[str, Any]]:
        return next(r for r in self.recordings if r[0]["dag_run"]["dag_run_id"] == run_id)

    def handle(self, request: httpx.Request) -> httpx.Response:
        prefix = f"/api/{self.api}"
        if not request.url.path.startswith(prefix):
            return httpx.Response(404, json={"detail": "Not Found"})
        path = request.url.path.removeprefix(prefix)
        if path == "/version":
            return httpx.Response(200, json={"version": "3.3.2" if self.api == "v2" else "2.10.5"})
        parts = path.split("/")  # "", "dags", dag_id, "dagRuns", run_id[, "taskInstances"]
        run_id = parts[4]
        polls = self._polls(run_id)
        if len(parts) == 5:
            self.served[run_id] = min(self.served.get(run_id, -1) + 1, len(polls) - 1)
            return httpx.Response(200, json=polls[self.served[run_id]]["dag_run"])
        return httpx.Response(200, json=polls[self.served[run_id]]["task_instances"])
