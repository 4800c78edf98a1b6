"""Human-in-the-loop requests in notebooks: the form (its buttons clicked here without a browser:
ipywidgets' ``Button.click`` runs the handlers as a click does) answering through a fake ``respond``,
and the progress display saying "waiting for a person: <subject>" instead of "running"."""

from __future__ import annotations

import asyncio
import copy
import io
from typing import Any

import httpx
import pytest

from kestra_airflow_sdk import AlreadyAnsweredError, InvalidArgumentError, RunProgress, watch_dag_runs
from kestra_airflow_sdk.airflow.hitl_models import HitlRequest, HitlResponse
from kestra_airflow_sdk.airflow.models import DagRun, TaskInstance
from kestra_airflow_sdk.display.hitl import HitlForm
from kestra_airflow_sdk.display.html import progress_html
from kestra_airflow_sdk.display.snapshot import RunSnapshot
from kestra_airflow_sdk.display.text import progress_line
from tests.unit.test_hitl import PENDING, RESPONSE, RUN
from tests.virtual_time import VirtualTimeClient

SUBJECT = "Publish the weekly report?"


def request(**changes: Any) -> HitlRequest:
    return HitlRequest.model_validate({**copy.deepcopy(PENDING), **changes})


class FakeRespond:
    """Records each answer; returns RESPONSE, or raises ``error``."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[tuple[list[str], dict[str, Any]]] = []
        self.error = error

    def __call__(self, chosen: list[str], params: dict[str, Any]) -> HitlResponse:
        self.calls.append((chosen, params))
        if self.error is not None:
            raise self.error
        return HitlResponse.model_validate({**RESPONSE, "chosen_options": chosen, "params_input": params})


def test_each_option_is_a_button_and_each_param_an_input() -> None:
    respond = FakeRespond()
    form = HitlForm(request(), respond)
    assert list(form.buttons) == ["Approve", "Reject"]
    assert form.fields["reason"].value == "looks good"
    form.fields["reason"].value = "fine"
    form.buttons["Approve"].click()
    assert respond.calls == [(["Approve"], {"reason": "fine"})]
    assert form.response is not None and form.response.chosen_options == ["Approve"]
    assert "answered by admin: Approve (reason=&#x27;fine&#x27;)" in form.message.value
    assert all(button.disabled for button in form.buttons.values())
    assert form.fields["reason"].disabled
    assert SUBJECT in form.box.children[0].value and "12" in form.box.children[0].value


def test_a_refused_answer_shows_the_error_and_the_buttons_stay() -> None:
    respond = FakeRespond(InvalidArgumentError("chosen_options: 'Maybe' is not offered"))
    form = HitlForm(request(), respond)
    form.buttons["Reject"].click()
    assert "not answered:</b> chosen_options: &#x27;Maybe&#x27; is not offered" in form.message.value
    assert not any(button.disabled for button in form.buttons.values())


def test_an_answer_somebody_else_gave_first_closes_the_form() -> None:
    error = AlreadyAnsweredError("answered already by bob", responded_by="bob", chosen_options=["Reject"])
    form = HitlForm(request(), FakeRespond(error))
    form.buttons["Approve"].click()
    assert "answered already by bob" in form.message.value
    assert all(button.disabled for button in form.buttons.values())


def test_an_answered_request_shows_its_answer() -> None:
    answered = request(
        response_received=True, chosen_options=["Reject"], responded_by_user={"id": "b", "name": "bob"}
    )
    form = HitlForm(answered, FakeRespond())
    assert "answered already by bob: Reject" in form.message.value
    assert all(button.disabled for button in form.buttons.values())


def test_a_multiple_choice_request_has_a_checkbox_per_option_and_a_send_button() -> None:
    respond = FakeRespond()
    form = HitlForm(request(options=["a", "b", "c"], multiple=True, defaults=["b"], params={}), respond)
    assert list(form.buttons) == ["Send"] and [box.value for box in form.choices.values()] == [
        False,
        True,
        False,
    ]
    form.choices["b"].value = False
    form.buttons["Send"].click()
    assert respond.calls == [] and "choose at least one" in form.message.value
    form.choices["a"].value = form.choices["c"].value = True
    form.buttons["Send"].click()
    assert respond.calls == [(["a", "c"], {})]


def test_params_get_inputs_of_their_type() -> None:
    params = {
        "dry": {"value": True, "description": None, "schema": {"type": "boolean"}},
        "rows": {"value": 12, "description": None, "schema": {"type": "integer"}},
        "ratio": {"value": 0.5, "description": None, "schema": {"type": ["number", "null"]}},
        "env": {"value": "prod", "description": None, "schema": {"type": "string", "enum": ["dev", "prod"]}},
        "note": {"value": None, "description": None, "schema": {}},
    }
    respond = FakeRespond()
    form = HitlForm(request(params=params), respond)
    kinds = {name: type(field).__name__ for name, field in form.fields.items()}
    assert kinds == {
        "dry": "Checkbox",
        "rows": "IntText",
        "ratio": "FloatText",
        "env": "Dropdown",
        "note": "Text",
    }
    form.fields["rows"].value = 30
    form.buttons["Approve"].click()
    # an empty text field keeps the param's default (the SDK's respond fills it in)
    assert respond.calls == [(["Approve"], {"dry": True, "rows": 30, "ratio": 0.5, "env": "prod"})]


def test_with_the_async_client_the_answer_is_sent_on_the_event_loop() -> None:
    release = asyncio.Event()

    async def respond(chosen: list[str], params: dict[str, Any]) -> HitlResponse:
        await release.wait()
        return HitlResponse.model_validate(RESPONSE)

    async def main() -> HitlForm:
        form = HitlForm(request(), respond)
        form.buttons["Approve"].click()
        assert "sending Approve" in form.message.value and form.buttons["Reject"].disabled
        assert form.sending is not None
        release.set()
        await form.sending
        return form

    form = asyncio.run(main())
    assert "answered by admin: Approve" in form.message.value


def _snapshot(state: str, waiting_for: str | None) -> RunSnapshot:
    run = DagRun.model_validate({"dag_id": "hitl_dag", "dag_run_id": RUN, "state": state})
    tis = [
        TaskInstance.model_validate(
            {"dag_id": "hitl_dag", "dag_run_id": RUN, "task_id": "review", "state": "awaiting_input"}
        )
    ]
    return RunSnapshot.of(run, tis, waiting_for=waiting_for)


def test_a_waiting_run_says_so_instead_of_running() -> None:
    waiting = _snapshot("running", SUBJECT)
    assert waiting.shown_state == f"waiting for a person: {SUBJECT}"
    assert progress_line(waiting).startswith(
        f"hitl_dag {RUN} waiting for a person: {SUBJECT}: 0/1 tasks done"
    )
    assert f"waiting for a person: {SUBJECT}" in progress_html([waiting])
    running = _snapshot("running", None)
    assert progress_line(running).startswith(f"hitl_dag {RUN} running: ")
    assert "waiting for a person" not in progress_html([running])
    assert _snapshot("success", SUBJECT).shown_state == "success"  # only a running run waits


# ------------------------------------------------------------------ watch_dag_runs on a mock Airflow


class WaitingAirflow:
    """A run that waits for a person for two polls (``awaiting_input``), then succeeds."""

    def __init__(self) -> None:
        self.polls = 0
        self.hitl_reads = 0

    def __call__(self, http: httpx.Request) -> httpx.Response:
        path = http.url.path
        if path == "/api/v2/version":
            return httpx.Response(200, json={"version": "3.3.2", "git_version": None})
        if path == "/auth/token":
            return httpx.Response(201, json={"access_token": "a-token"})
        if path.endswith("/wait"):  # no /wait stream here: the waits poll (as before Airflow 3.1)
            return httpx.Response(404, json={"detail": "Not Found"})
        if path.endswith("/hitlDetails"):
            self.hitl_reads += 1
            return httpx.Response(200, json={"hitl_details": [PENDING], "total_entries": 1})
        if path.endswith("/taskInstances"):
            state = "awaiting_input" if self.polls <= 2 else "success"
            ti = {"dag_id": "hitl_dag", "dag_run_id": RUN, "task_id": "review", "state": state}
            return httpx.Response(200, json={"task_instances": [ti], "total_entries": 1})
        if path.startswith("/api/v2/dags/hitl_dag/dagRuns/"):
            self.polls += 1
            state = "running" if self.polls <= 2 else "success"
            return httpx.Response(200, json={"dag_id": "hitl_dag", "dag_run_id": RUN, "state": state})
        return httpx.Response(404, json={"detail": "Not Found"})


def test_watch_dag_runs_shows_the_run_waiting_for_a_person() -> None:
    airflow = WaitingAirflow()
    out = io.StringIO()
    progress = RunProgress("text", stream=out)
    run = DagRun.model_validate({"dag_id": "hitl_dag", "dag_run_id": RUN, "state": "running"})
    with VirtualTimeClient(
        "http://airflow.test", username="u", password="p", transport=httpx.MockTransport(airflow)
    ) as client:
        [final] = watch_dag_runs(client, run, progress=progress, poll_frequency=5.0, timeout=60.0)
    assert str(final.state) == "success"
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"hitl_dag {RUN} waiting for a person: {SUBJECT}: 0/1 tasks done")
    assert lines[-2].startswith(f"hitl_dag {RUN} success: 1/1 tasks done")
    assert airflow.hitl_reads == 2  # once per poll while a task waited, never after


def test_the_widget_display_shows_the_form_of_a_waiting_run_once() -> None:
    airflow = WaitingAirflow()
    with VirtualTimeClient(
        "http://airflow.test", username="u", password="p", transport=httpx.MockTransport(airflow)
    ) as client:
        progress = RunProgress("widget", client=client)
        run = DagRun.model_validate({"dag_id": "hitl_dag", "dag_run_id": RUN, "state": "running"})
        watch_dag_runs(client, run, progress=progress, poll_frequency=5.0, timeout=60.0)
    assert progress.mode == "widget"
    (form,) = progress.forms.values()
    assert form.request.subject == SUBJECT and list(form.buttons) == ["Approve", "Reject"]
    assert "waiting for a person" not in progress.html()  # the run ended


@pytest.mark.parametrize("mode", ["text", "off"])
def test_a_custom_or_text_display_needs_no_form(mode: str) -> None:
    progress = RunProgress(mode, stream=io.StringIO())  # type: ignore[arg-type]
    run = DagRun.model_validate({"dag_id": "hitl_dag", "dag_run_id": RUN, "state": "running"})
    progress.waiting(run, request())
    snapshot = progress.update(run, [])
    assert snapshot.waiting_for == SUBJECT and progress.forms == {}
