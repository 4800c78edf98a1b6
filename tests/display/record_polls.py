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

from kestra_airflow_sdk import AirflowClient


def _states(poll: dict[str, Any]) -> tuple[object, ...]:
    tis = poll["task_instances"]["task_instances"]
    return (poll["dag_run"]["state"], *sorted((t["task_id"], t["state"]) for t in tis))


def record(base_url: str, dag_id: str) -> list[dict[str, Any]]:
    with AirflowClient(base_url, username="admin", password="admin") as client:
        run = client.trigger_dag_run(
            dag_id, conf={"recorded": True}, dag_run_id=f"rec_{uuid.uuid4().hex[:8]}"
        )
        prefix = f"{client.base_url}/api/{client.api_version}/dags/{dag_id}/dagRuns/{run.dag_run_id}"
        polls: list[dict[str, Any]] = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            poll = {
                "dag_run": client._http.get(prefix).raise_for_status().json(),
                "task_instances": client._http.get(prefix + "/taskInstances").raise_for_status().json(),
            }
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
