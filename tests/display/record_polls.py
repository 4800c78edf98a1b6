"""Record what a progress display sees while a real DAG run progresses, as raw Airflow bodies.

    .venv/bin/python -m tests.display.record_polls http://127.0.0.1:PORT tests/samples/v2_progress_polls.json

Triggers ``hello_world_dag`` (and, with ``--dag failing_dag``, the failing one), polls the run and its
task instances every 0.3 s and keeps each poll whose states differ from the previous one. The file is
a JSON list of ``{"dag_run": <run body>, "task_instances": <list body>}`` exactly as Airflow sent them
(no credentials: only response bodies are written).
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from kestra_airflow_sdk import AirflowClient


class KeepBodies(httpx.BaseTransport):
    """A real transport (``transport=`` seam) that keeps the last JSON body answered for each path."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.bodies: dict[str, Any] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        if request.method == "GET" and response.is_success:
            self.bodies[request.url.path] = response.json()
        return response

    def close(self) -> None:
        self.inner.close()


def _states(poll: dict[str, Any]) -> tuple[object, ...]:
    tis = poll["task_instances"]["task_instances"]
    return (poll["dag_run"]["state"], *sorted((t["task_id"], t["state"]) for t in tis))


def record(base_url: str, dag_id: str) -> list[dict[str, Any]]:
    kept = KeepBodies()
    with AirflowClient(base_url, username="admin", password="admin", transport=kept) as client:
        run = client.trigger_dag_run(
            dag_id, conf={"recorded": True}, dag_run_id=f"rec_{uuid.uuid4().hex[:8]}"
        )
        path = httpx.URL(client.base_url).path.rstrip("/")
        prefix = f"{path}/api/{client.api_version}/dags/{dag_id}/dagRuns/{run.dag_run_id}"
        polls: list[dict[str, Any]] = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            client.get_dag_run(dag_id, run.dag_run_id)
            client.list_task_instances(dag_id, run.dag_run_id)
            poll = {"dag_run": kept.bodies[prefix], "task_instances": kept.bodies[prefix + "/taskInstances"]}
            if not polls or _states(polls[-1]) != _states(poll):
                polls.append(poll)
            if poll["dag_run"]["state"] in ("success", "failed"):
                return polls
            time.sleep(0.3)
    raise SystemExit(f"{dag_id} run {run.dag_run_id} did not finish in 180 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base_url")
    parser.add_argument("out", type=Path)
    parser.add_argument("--dag", default="hello_world_dag")
    args = parser.parse_args()
    polls = record(args.base_url, args.dag)
    args.out.write_text(json.dumps(polls, indent=1) + "\n")
    print(f"{len(polls)} distinct polls -> {args.out}")


if __name__ == "__main__":
    main()
