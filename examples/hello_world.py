"""Trigger `hello_world_dag` with a conf, wait for it, print the run and its task instances.

python examples/hello_world.py http://127.0.0.1:28080 admin admin
"""

from __future__ import annotations

import sys
import time

from kestra_airflow_sdk import AirflowClient


def main(base_url: str, username: str, password: str) -> int:
    with AirflowClient(base_url, username=username, password=password) as client:
        info = client.get_version()
        print(f"Airflow {info.version} at {base_url} (REST API {info.api_version})")
        started = time.monotonic()
        run = client.trigger_dag_run(
            "hello_world_dag", conf={"source": "kestra-airflow-sdk demo", "answer": 42}
        )
        print(f"triggered {run.dag_id} / {run.dag_run_id}: {run.state}")
        run = client.wait_for_dag_run(run.dag_id, run.dag_run_id, poll_frequency=1.0, timeout=300)
        print(f"finished in {time.monotonic() - started:.1f}s: {run.state}")
        print(f"  conf={run.conf} start={run.start_date} end={run.end_date} duration={run.duration}")
        print("task instances:")
        for ti in client.list_task_instances(run.dag_id, run.dag_run_id):
            print(f"  {ti.task_id:<12} {ti.state!s:<8} try {ti.try_number}  {ti.duration}")
        log = client.get_task_log(run.dag_id, run.dag_run_id, "print_conf")
        print(
            "print_conf log line:", next((ln.strip() for ln in log.splitlines() if "dag_run.conf" in ln), "?")
        )
        return 0 if str(run.state) == "success" else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
