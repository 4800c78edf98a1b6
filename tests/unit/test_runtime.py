"""The one runtime (``kestra_airflow_sdk.wiring.Runtime``) that joins the layers: what the public
package installs, how a missing runtime fails, and that its task table runs every modelled type."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import kestra_airflow_sdk
from kestra_airflow_sdk.airflow.models import DagRun
from kestra_airflow_sdk.flows import Execution, Flow, Log
from kestra_airflow_sdk.flows.registry import supported_types, task_class
from kestra_airflow_sdk.installed import RuntimeNotInstalledError, installed, using
from kestra_airflow_sdk.runner import FlowRunner
from kestra_airflow_sdk.runner.dispatch import core_tasks
from kestra_airflow_sdk.wiring import Runtime

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "v2_dag_run_success.json"


def test_the_public_package_installs_one_runtime() -> None:
    runtime = installed("a test")
    assert isinstance(runtime, Runtime) and runtime.transport is None
    assert kestra_airflow_sdk.RuntimeNotInstalledError is RuntimeNotInstalledError


def test_without_a_runtime_everything_fails_one_way_naming_what_asked() -> None:
    flow = Flow("f", "n").task(Log(id="say", message="hi"))
    run = DagRun.model_validate(json.loads(SAMPLE.read_text()))
    calls: dict[str, Callable[[], Any]] = {
        "Flow.run": lambda: flow.run(progress=False),
        "Flow.runner": lambda: flow.runner(),
        "Flow._repr_html_": flow._repr_html_,
        "Execution._repr_html_": Execution("x", "n", "f")._repr_html_,
        "DagRun.__repr__": lambda: repr(run),
        "DagRun._repr_html_": run._repr_html_,
        "FlowRunner": lambda: FlowRunner(flow),
    }
    with using(None):
        for needed_by, call in calls.items():
            with pytest.raises(RuntimeNotInstalledError) as info:
                call()
            assert str(info.value) == (
                f"{needed_by} needs the SDK's runtime and none is installed: import kestra_airflow_sdk installs it"
            )
    # installed again after the block: the display layer's repr
    assert (
        repr(run)
        == "DagRun(dag_id='hello_world_dag', dag_run_id='sdk_run_1', state='success', duration='8s')"
    )


def test_the_core_table_runs_every_task_type_the_flow_model_knows() -> None:
    """A task type with a model but nothing that runs it would fail only when a flow uses it."""
    table = core_tasks()
    assert sorted(table.supported_types()) == sorted(supported_types())
    for name in supported_types():
        cls = task_class(name)
        assert cls is not None and cls.TYPES[0] == name  # type: ignore[attr-defined]


def test_a_runner_uses_the_runtime_it_is_given() -> None:
    runtime = Runtime()
    flow = Flow("f", "n").task(Log(id="say", message="hi"))
    assert flow.runner(progress=False).runtime is installed("a test")  # type: ignore[attr-defined]
    with using(runtime):
        assert flow.runner(progress=False).runtime is runtime  # type: ignore[attr-defined]
    assert FlowRunner(flow, runtime=runtime, progress=False).runtime is runtime
