"""A human-in-the-loop request as a notebook form: its options as buttons, its params as inputs.

:class:`HitlForm` shows one request (subject, body, who may answer) with an input per param
(a checkbox, a number field, a dropdown for an ``enum``, a text field otherwise) and a button per
option (a multiple-choice request has a checkbox per option and a Send button). Answering calls the
client's ``respond``; the form then shows what Airflow recorded, or the SDK's error. With the async
client the answer is sent as a task on the running event loop (the notebook's), so the cell is not
blocked. ``client.hitl_form(...)`` builds a form for a request; the DAG-run progress display shows
one by itself when a run it follows waits for a person.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from html import escape
from typing import Any

from ..airflow.core import ClientCore
from ..airflow.errors import AlreadyAnsweredError, InvalidArgumentError
from ..airflow.features import require
from ..airflow.hitl_models import HitlRequest, HitlResponse
from ..airflow.operations.hitl import HITL, pending_request_of_run, read_hitl_request
from ..errors import KestraAirflowError
from ..transport.effects import Op
from ..transport.operation import operation

__all__ = ["HitlForm", "HitlFormOperations", "Respond"]

#: what a form calls to answer: ``respond(chosen_options, params)``, returning the
#: :class:`HitlResponse` (sync client) or an awaitable of it (async client)
Respond = Callable[[list[str], dict[str, Any]], Any]


def _input(name: str, spec: Any) -> Any:
    """The ipywidgets input of one param, from its JSON schema and default value."""
    import ipywidgets

    spec = spec if isinstance(spec, Mapping) else {"value": spec}
    schema = spec.get("schema") if isinstance(spec.get("schema"), Mapping) else {}
    value = spec.get("value")
    kind = schema.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    label = {"description": name, "tooltip": spec.get("description") or ""}
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        choices = list(schema["enum"])
        return ipywidgets.Dropdown(options=choices, value=value if value in choices else choices[0], **label)
    if kind == "boolean" or isinstance(value, bool):
        return ipywidgets.Checkbox(value=bool(value), **label)
    if kind == "integer" or (isinstance(value, int) and not isinstance(value, bool)):
        return ipywidgets.IntText(value=int(value or 0), **label)
    if kind == "number" or isinstance(value, float):
        return ipywidgets.FloatText(value=float(value or 0.0), **label)
    return ipywidgets.Text(value="" if value is None else str(value), **label)


class HitlForm:
    """One human-in-the-loop request as ipywidgets; ``box`` is the widget to show.

    Attributes:
        request: the request shown.
        fields: the input of each param, by name.
        buttons: the button of each option (``{"Send": ...}`` for a multiple-choice request).
        choices: for a multiple-choice request, a checkbox per option (else empty).
        message: the line that says what happened.
        response: what Airflow recorded once the answer went through.
        sending: with the async client, the answer on its way (an ``asyncio`` future).
    """

    def __init__(self, request: HitlRequest, respond: Respond) -> None:
        import ipywidgets

        self.request = request
        self._respond = respond
        self.response: HitlResponse | None = None
        #: the answer on its way (async client), until it is settled
        self.sending: asyncio.Future[Any] | None = None
        self.fields: dict[str, Any] = {name: _input(name, spec) for name, spec in request.params.items()}
        defaults = set(request.defaults or [])
        self.choices: dict[str, Any] = (
            {o: ipywidgets.Checkbox(value=o in defaults, description=o) for o in request.options}
            if request.multiple
            else {}
        )
        if request.multiple:
            self.buttons = {"Send": ipywidgets.Button(description="Send", button_style="primary")}
            self.buttons["Send"].on_click(lambda _button: self.choose(self.chosen()))
        else:
            self.buttons = {
                option: ipywidgets.Button(
                    description=option, button_style="primary" if option in defaults else ""
                )
                for option in request.options
            }
            for option, button in self.buttons.items():
                button.on_click(lambda _button, option=option: self.choose([option]))
        self.message = ipywidgets.HTML(value="")
        header = ipywidgets.HTML(value=self._header_html())
        self.box = ipywidgets.VBox(
            [
                header,
                *self.fields.values(),
                *self.choices.values(),
                ipywidgets.HBox(list(self.buttons.values())),
                self.message,
            ]
        )
        if not request.pending:
            self._answered(
                f"answered already{self._by(request.responded_by.name if request.responded_by else None)}: "
                f"{', '.join(request.chosen_options or [])}"
            )

    @classmethod
    def for_client(cls, client: ClientCore, request: HitlRequest) -> HitlForm:
        """A form whose answer goes through ``client.respond`` (sync or async client)."""

        from ..transport.drivers import AsyncDriver, SyncDriver

        if not isinstance(client, (SyncDriver, AsyncDriver)):
            raise InvalidArgumentError(
                f"client: expected an AirflowClient or AsyncAirflowClient, got {type(client).__name__}"
            )
        driver: SyncDriver | AsyncDriver = client

        def respond(chosen: list[str], params: dict[str, Any]) -> Any:
            answer = ClientCore.respond.fn(
                client,
                request.dag_id,
                request.dag_run_id,
                request.task_id,
                chosen,
                params,
                map_index=request.map_index,
            )
            return driver.execute(answer)

        return cls(request, respond)

    # ------------------------------------------------------------------ answering

    def chosen(self) -> list[str]:
        """The options ticked (multiple-choice request)."""
        return [option for option, box in self.choices.items() if box.value]

    def params(self) -> dict[str, Any]:
        """The values of the param inputs (an empty text field keeps the param's default)."""
        return {name: field.value for name, field in self.fields.items() if field.value != ""}

    def choose(self, chosen: list[str]) -> None:
        """Answer with ``chosen`` and the inputs' values (what a click does); the message line
        says the outcome once Airflow has answered."""
        if not chosen:
            self.message.value = "<i>choose at least one option</i>"
            return
        self._enable(False)
        self.message.value = f"<i>sending {escape(', '.join(chosen))}…</i>"
        try:
            outcome = self._respond(chosen, self.params())
        except KestraAirflowError as exc:
            self._failed(exc)
            return
        if inspect.isawaitable(outcome):  # the async client: answer on the notebook's event loop
            self.sending = asyncio.ensure_future(outcome)
            self.sending.add_done_callback(self._settle)
            return
        self._done(outcome)

    def _settle(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled():
            self._enable(True)
            self.message.value = "<i>the answer was cancelled</i>"
            return
        error = future.exception()
        if isinstance(error, KestraAirflowError):
            self._failed(error)
        elif error is not None:
            self._enable(True)
            self.message.value = f"<b>error:</b> {escape(type(error).__name__)}: {escape(str(error))}"
        else:
            self._done(future.result())

    def _done(self, response: HitlResponse) -> None:
        self.response = response
        who = response.responded_by.name if response.responded_by is not None else None
        inputs = ", ".join(f"{k}={v!r}" for k, v in response.params_input.items())
        self._answered(
            f"answered{self._by(who)}: {', '.join(response.chosen_options)}"
            + (f" ({inputs})" if inputs else "")
        )

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, AlreadyAnsweredError):
            self._answered(str(error))
            return
        self._enable(True)
        self.message.value = f"<b>not answered:</b> {escape(str(error))}"

    def _answered(self, text: str) -> None:
        self._enable(False)
        for field in [*self.fields.values(), *self.choices.values()]:
            field.disabled = True
        self.message.value = f"<b>{escape(text)}</b>"

    def _enable(self, enabled: bool) -> None:
        for button in self.buttons.values():
            button.disabled = not enabled

    @staticmethod
    def _by(who: str | None) -> str:
        return f" by {who}" if who else ""

    # ------------------------------------------------------------------ rendering

    def _header_html(self) -> str:
        request = self.request
        assigned = ", ".join(user.name for user in request.assigned_users)
        lines = [
            f'<div style="font-family:sans-serif;font-size:13px"><b>{escape(request.subject)}</b>',
            f'<div style="color:#666;font-size:11px">{escape(request.describe())}'
            + (f"; for {escape(assigned)}" if assigned else "")
            + "</div>",
        ]
        if request.body:
            lines.append(f'<div style="white-space:pre-wrap;margin:4px 0">{escape(request.body)}</div>')
        return "".join(lines) + "</div>"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.box._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        state = "pending" if self.request.pending and self.response is None else "answered"
        return f"HitlForm({self.request.subject!r}, options={self.request.options!r}, {state})"


class HitlFormOperations(ClientCore):
    """``hitl_form``: a request as a notebook form (mixed into both public clients)."""

    @operation
    def hitl_form(
        self, dag_id: str, dag_run_id: str, task_id: str | None = None, *, map_index: int = -1
    ) -> Op[HitlForm]:
        """A human-in-the-loop request as an ipywidgets form (Airflow 3.1.0+): its options as
        buttons, its params as inputs; clicking an option answers it (see :meth:`respond`) and the
        form shows the outcome.

        Args:
            dag_id / dag_run_id: the run that asks.
            task_id / map_index: the task that asks; None: the run's oldest pending request.

        Example:
            >>> client.hitl_form("hitl_dag", run.dag_run_id)  # the cell shows the form
        """
        if task_id is not None:
            request = yield from read_hitl_request(self, dag_id, dag_run_id, task_id, map_index)
        else:
            yield from require(self, HITL)
            found = yield from pending_request_of_run(self, dag_id, dag_run_id)
            if found is None:
                raise InvalidArgumentError(
                    f"DAG run {dag_run_id!r} of DAG {dag_id!r} has no pending human-in-the-loop request"
                )
            request = found
        return HitlForm.for_client(self, request)
