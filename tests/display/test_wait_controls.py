"""A paused task in the execution display: Resume (or Approve / Deny) buttons in a notebook widget,
clicked here without a browser (ipywidgets' ``Button.click`` runs the handlers as a click does); a
line saying how to resume in text mode."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from kestra_airflow_sdk import RunProgress
from kestra_airflow_sdk.display.execution import ExecutionProgress
from kestra_airflow_sdk.display.waits import WaitControls
from kestra_airflow_sdk.flows import ExecutionState, Flow, Observer
from kestra_airflow_sdk.flows.execution import Execution, TaskRun
from kestra_airflow_sdk.runner import FlowRunner
from tests.runner.core_flows import states, tasks_flow
from tests.virtual_time import run_virtual_timed

PAUSE = tasks_flow(
    """
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: asked
        type: INT
  - id: last
    type: io.kestra.plugin.core.output.OutputValues
    values:
      asked: "{{ outputs.pause.onResume.asked }}"
"""
)

APPROVAL = tasks_flow(
    """
  - id: review
    type: io.kestra.plugin.core.flow.Approval
    decisions: {approve: Ship it, deny: Stop}
    onDeny:
      - id: denied
        type: io.kestra.plugin.core.log.Log
        message: stopped
  - id: last
    type: io.kestra.plugin.core.debug.Return
    format: shipped
"""
)


class Clicker(Observer):
    """Once a task paused and the display drew its controls, runs ``click(controls)``."""

    def __init__(self, click: Any) -> None:
        self.click = click
        self.progress: ExecutionProgress | None = None
        self.clicked: list[WaitControls] = []

    def task_paused(self, execution: Execution, task_run: TaskRun) -> None:
        def later() -> None:  # the display's own task_paused runs after this observer's
            assert self.progress is not None
            controls = self.progress.controls[task_run.id]
            self.clicked.append(controls)
            self.click(controls)

        asyncio.get_running_loop().call_soon(later)


def run_with_widget(text: str, click: Any) -> tuple[Execution, Clicker]:
    clicker = Clicker(click)
    runner = FlowRunner(Flow.from_yaml(text), progress=RunProgress("widget"), observers=[clicker])
    clicker.progress = next(o for o in runner.events.observers if isinstance(o, ExecutionProgress))
    execution, _ = run_virtual_timed(runner.run())
    return execution, clicker


def test_the_resume_button_resumes_the_run_with_the_typed_inputs() -> None:
    problems: list[str] = []

    def click(controls: WaitControls) -> None:
        assert list(controls.buttons) == ["resume"] and list(controls.fields) == ["asked"]
        controls.fields["asked"].value = "not a number"
        controls.buttons["resume"].click()  # refused: the message line says why, the run waits on
        problems.append(controls.message.value)
        assert not controls.buttons["resume"].disabled
        controls.fields["asked"].value = "42"
        controls.buttons["resume"].click()

    execution, clicker = run_with_widget(PAUSE, click)
    assert execution.state is ExecutionState.SUCCESS
    assert execution.outputs["pause"] == {"onResume": {"asked": 42}}
    assert execution.outputs["last"] == {"values": {"asked": "42"}}
    assert "asked" in problems[0] and "not a number" in problems[0]
    (controls,) = clicker.clicked
    assert controls.buttons["resume"].disabled and "resumed" in controls.message.value


def test_approve_and_deny_buttons() -> None:
    def deny(controls: WaitControls) -> None:
        assert [b.description for b in controls.buttons.values()] == ["Ship it", "Stop"]
        controls.comment.value = "not today"
        controls.buttons["deny"].click()

    denied, _ = run_with_widget(APPROVAL, deny)
    assert denied.state is ExecutionState.CANCELLED
    assert states(denied) == {"review": "CANCELLED", "denied": "SUCCESS"}
    assert denied.outputs["review"]["comment"] == "not today"

    approved, _ = run_with_widget(APPROVAL, lambda controls: controls.buttons["approve"].click())
    assert approved.state is ExecutionState.SUCCESS and approved.outputs["last"] == {"value": "shipped"}


def test_text_progress_says_how_to_resume() -> None:
    stream = io.StringIO()

    class Resume(Observer):
        def task_paused(self, execution: Execution, task_run: TaskRun) -> None:
            execution.resume({"asked": 1})

    runner = FlowRunner(
        Flow.from_yaml(PAUSE), progress=RunProgress("text", stream=stream), observers=[Resume()]
    )
    execution, _ = run_virtual_timed(runner.run())
    assert execution.state is ExecutionState.SUCCESS
    lines = stream.getvalue().splitlines()
    assert "[pause] PAUSED: from another thread or cell, call execution.resume(task_id='pause')" in "\n".join(
        lines
    )
