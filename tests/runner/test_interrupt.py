"""Ctrl-C during a blocking ``flow.run()`` in a plain script: the execution ends KILLED."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import signal
    # Ctrl-C raises KeyboardInterrupt, as in a terminal, even when the tests were started in the
    # background by a non-interactive shell (its children inherit SIGINT ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)

    from kestra_airflow_sdk.flows import Flow, TriggerDagRun
    from kestra_airflow_sdk.flows import ExecutionKilled, Observer
    from kestra_airflow_sdk.installed import install
    from tests.runner.fake_airflow import FakeAirflow

    fake = FakeAirflow(scripts={"forever": ["running"]})
    install(fake.runtime())  # flow.run() opens its Airflow clients through the fake's transport

    class Ready(Observer):
        def dag_run_polled(self, execution, task_run, dag_run, task_instances):
            print("polling", flush=True)

    flow = Flow("f", "n").task(TriggerDagRun(
        id="t", base_url="http://fake", dag_id="forever", wait=True, poll_frequency="PT0.05S",
        options={"auth": {"type": "BASIC", "username": "admin", "password": "admin"}}))
    try:
        flow.run(observers=[Ready()], cancel_airflow_runs=True)
    except ExecutionKilled as killed:
        run = next(iter(fake.runs.values()))
        print("killed", killed.execution.state.value, killed.execution.task_runs[0].state.value, run.forced)
    """
)


def test_ctrl_c_kills_the_execution(tmp_path: Path) -> None:
    script = tmp_path / "interrupt.py"
    script.write_text(SCRIPT)
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "polling"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "killed KILLED KILLED failed" in out, err
