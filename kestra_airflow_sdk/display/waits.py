"""What a paused task shows: in a notebook a row of ipywidgets (a Resume button for ``Pause``, Approve
and Deny for ``Approval``, a text field per declared input and a comment field); in a terminal one
line saying how to resume it.

The buttons call :meth:`Execution.resume` / :meth:`~Execution.approve` / :meth:`~Execution.deny`,
which are thread-safe. A notebook handles a click only while the kernel is free: start the run
without blocking the cell (``task = asyncio.ensure_future(flow.arun())``, then ``await task`` in a
later cell) to click while the execution waits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..flows.errors import FlowError

if TYPE_CHECKING:
    from ..flows.execution import Execution, WaitRequest

__all__ = ["WaitControls", "resume_hint", "show_widget"]


def show_widget(widget: Any) -> None:
    """Show ``widget`` in the current cell (nothing outside IPython, e.g. in a test)."""
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is not None:
        display(widget)  # type: ignore[no-untyped-call]


def resume_hint(request: WaitRequest) -> str:
    """The line a text display shows for a paused task: how to resume it."""
    if request.kind == "approval":
        how = f"execution.approve(task_id={request.task_id!r}) or execution.deny(task_id=...), or run(approve=...)"
    else:
        how = f"execution.resume(task_id={request.task_id!r})"
    return f"[{request.task_id}] PAUSED: from another thread or cell, call {how} on the running execution"


class WaitControls:
    """The controls of one paused task run: ``box`` (an ipywidgets ``VBox``) holds the input fields,
    the buttons and a message line. ``buttons`` maps each button's action (``"resume"``,
    ``"approve"``, ``"deny"``) to its ipywidgets ``Button``."""

    def __init__(self, execution: Execution, request: WaitRequest) -> None:
        import ipywidgets

        self.execution = execution
        self.request = request
        self.fields: dict[str, Any] = {name: ipywidgets.Text(description=name) for name in request.inputs}
        self.comment: Any = None
        self.message = ipywidgets.HTML(value=f"<b>{request.task_id}</b> is paused")
        if request.kind == "approval":
            self.comment = ipywidgets.Text(description="comment")
            self.buttons = {
                "approve": ipywidgets.Button(description=request.approve_label, button_style="success"),
                "deny": ipywidgets.Button(description=request.deny_label, button_style="danger"),
            }
        else:
            self.buttons = {"resume": ipywidgets.Button(description="Resume", button_style="primary")}
        for action, button in self.buttons.items():
            button.on_click(lambda _button, action=action: self.act(action))
        extra = [self.comment] if self.comment is not None else []
        self.box = ipywidgets.VBox(
            [self.message, *self.fields.values(), *extra, ipywidgets.HBox(list(self.buttons.values()))]
        )

    def act(self, action: str) -> bool:
        """Resume, approve or deny with the fields' values (what a click does); False, with the
        error in the message line, when the execution refused them (e.g. a bad input)."""
        inputs = {name: field.value for name, field in self.fields.items() if field.value != ""}
        comment = (self.comment.value or None) if self.comment is not None else None
        task_id = self.request.task_id
        try:
            if action == "resume":
                self.execution.resume(inputs, task_id=task_id)
            elif action == "approve":
                self.execution.approve(inputs, comment=comment, task_id=task_id)
            else:
                self.execution.deny(inputs, comment=comment, task_id=task_id)
        except FlowError as exc:
            self.message.value = f"<b>{task_id}</b>: {_escape(str(exc))}"
            return False
        self.done(f"{action} sent")
        return True

    def done(self, text: str) -> None:
        """The task goes on: the buttons are disabled and the message says why."""
        for button in self.buttons.values():
            button.disabled = True
        self.message.value = f"<b>{self.request.task_id}</b>: {_escape(text)}"


def _escape(text: str) -> str:
    import html

    return html.escape(text)
