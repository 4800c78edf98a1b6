"""``flow.run()`` in a real Jupyter kernel with more cells queued behind it (what JupyterLab's *Run All*
sends): the flow cell finishes first, then the queued cells run, in order, and the kernel stays usable.

Re-entering the kernel's event loop (nest-asyncio, as the runner once did) let the kernel start the
queued cell inside the flow cell and destroyed the kernel's own task: the queued cells never ran."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import KernelManager

REPO = Path(__file__).resolve().parents[2]

FLOW_CELL = textwrap.dedent(
    """
    from kestra_airflow_sdk.flows import Flow, TriggerDagRun
    from kestra_airflow_sdk.installed import install
    from tests.runner.fake_airflow import FakeAirflow

    fake = FakeAirflow(scripts={"ok": ["queued", "running", "running", "success"]})
    install(fake.runtime())  # flow.run() opens its Airflow clients through the fake's transport
    flow = Flow("f", "n").task(TriggerDagRun(
        id="t", base_url="http://fake", dag_id="ok", wait=True, poll_frequency="PT0.2S",
        options={"auth": {"type": "BASIC", "username": "admin", "password": "admin"}}))
    execution = flow.run(progress=False)
    print("flow", execution.state.value)
    """
)


@pytest.fixture
def kernel() -> Iterator[Any]:
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(REPO), env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_cells_queued_behind_a_flow_run_run_after_it(kernel: Any) -> None:
    ids = [kernel.execute(FLOW_CELL), kernel.execute("print('second')"), kernel.execute("print('third')")]
    printed: list[str] = []
    replies: dict[str, str] = {}
    while len(replies) < len(ids):
        message = kernel.get_iopub_msg(timeout=120)
        if message["msg_type"] == "stream" and message["parent_header"].get("msg_id") in ids:
            printed.extend(message["content"]["text"].split())
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            parent = message["parent_header"].get("msg_id")
            if parent in ids:
                replies[parent] = kernel.get_shell_msg(timeout=120)["content"]["status"]
    assert printed == ["flow", "SUCCESS", "second", "third"]
    assert set(replies.values()) == {"ok"}
