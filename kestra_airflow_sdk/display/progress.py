"""Live progress of DAG runs: an observer fed with one ``(DagRun, task instances)`` snapshot per poll.

:class:`RunProgress` is what anything that polls DAG runs reports to (``watch_dag_runs`` here, the
flow runner later): call :meth:`RunProgress.update` after each poll of each run and
:meth:`RunProgress.close` at the end. In a Jupyter kernel it shows an ipywidgets table that is updated
in place; elsewhere it prints one concise line whenever a run changes; with ``progress=False`` it
shows nothing but still keeps the latest snapshots.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol, TextIO, runtime_checkable

from ..airflow.errors import InvalidArgumentError
from ..airflow.models import DagRun, TaskInstance
from .html import log_lines_html, progress_html
from .snapshot import RunSnapshot, airflow_ui_url
from .text import progress_line, summary_line

if TYPE_CHECKING:
    from ..airflow.core import ClientCore
    from ..airflow.hitl_models import HitlRequest
    from .hitl import HitlForm

__all__ = ["ProgressOption", "RunObserver", "RunProgress", "in_notebook", "progress_observer"]

Mode = Literal["auto", "widget", "text", "off"]
_MODES = ("auto", "widget", "text", "off")


@runtime_checkable
class RunObserver(Protocol):
    """What a poller reports DAG-run progress to.

    ``update`` is called after every poll of every DAG run (with the task instances of that poll),
    ``close`` once when waiting ends, successfully or not.
    """

    def update(self, run: DagRun, task_instances: Sequence[TaskInstance]) -> object:
        """Record one poll of one DAG run."""

    def close(self) -> None:
        """Waiting is over: show the final state."""


#: what a ``progress=`` argument accepts: True/"auto", "widget", "text", False/None/"off", or an observer
ProgressOption = bool | str | RunObserver | None


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where ipywidgets can render), False in a terminal or script."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # an IPython too broken to answer: not a notebook we can draw in
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


@functools.cache
def _ipywidgets() -> Any:
    import ipywidgets

    return ipywidgets


class RunProgress:
    """Live progress of one or many DAG runs (one compact table row per run).

    Args:
        mode: ``"auto"`` (a widget in a Jupyter kernel, text lines elsewhere), ``"widget"``,
            ``"text"`` or ``"off"`` (display nothing, keep the snapshots).
        client: the Airflow client, used for the links to the Airflow UI (its ``base_url`` and, once
            known, its ``api_version``).
        base_url: the Airflow URL for the UI links, instead of the client's.
        api_version: ``"v1"`` (Airflow 2) or ``"v2"`` (Airflow 3, the default) for the UI links,
            instead of the client's.
        stream: where text mode writes (default: ``sys.stderr`` at the time of writing).
        clock: returns the current timezone-aware time (elapsed time of unfinished runs).

    Example:
        >>> with RunProgress(client=client) as progress:
        ...     progress.update(run, client.list_task_instances(run.dag_id, run.dag_run_id))
    """

    def __init__(
        self,
        mode: Mode = "auto",
        *,
        client: ClientCore | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if mode not in _MODES:
            raise InvalidArgumentError(f"mode: expected one of {', '.join(map(repr, _MODES))}, got {mode!r}")
        self._client = client
        self._base_url = base_url
        self._api_version = api_version
        self._stream = stream
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._snapshots: dict[tuple[str, str], RunSnapshot] = {}
        self._printed: dict[tuple[str, str], tuple[object, ...]] = {}
        self._log_lines: list[str] = []
        self._handle: Any = None
        #: the forms shown for the human-in-the-loop requests runs waited on (widget mode)
        self.forms: dict[tuple[str, str, str, int], HitlForm] = {}
        self._waiting: dict[tuple[str, str], HitlRequest | None] = {}
        self.closed = False
        #: the ipywidgets.HTML that shows the table (widget mode only)
        self.widget: Any = None
        self.mode: Mode = ("widget" if in_notebook() else "text") if mode == "auto" else mode
        if self.mode == "widget":
            self._open_widget()

    # ------------------------------------------------------------------ observer API

    def update(self, run: DagRun, task_instances: Sequence[TaskInstance]) -> RunSnapshot:
        """Record one poll of ``run`` and refresh the display; returns the run's new snapshot.

        A running run that :meth:`waiting` said waits on a human-in-the-loop request shows as
        "waiting for a person: <subject>", and in widget mode the request's form shows below the
        table (once; see :mod:`.hitl`).
        """
        key = (run.dag_id, run.dag_run_id)
        waiting = self._waiting.get(key)
        subject = waiting.subject if waiting is not None else None
        snapshot = RunSnapshot.of(
            run, task_instances, url=self._url(run), now=self._clock(), waiting_for=subject
        )
        self._snapshots[key] = snapshot
        if self.mode == "widget":
            self.widget.value = self.html()
            if waiting is not None and snapshot.waiting_for is not None:
                self._show_form(waiting)
        elif self.mode == "text":
            seen = (snapshot.shown_state, snapshot.finished, snapshot.total, tuple(snapshot.counts.items()))
            if self._printed.get(key) != seen:
                self._printed[key] = seen
                self._write(progress_line(snapshot))
        return snapshot

    def waiting(self, run: DagRun, request: HitlRequest | None) -> None:
        """Say which human-in-the-loop request ``run`` waits on (None: none), for the run's next
        :meth:`update`; ``watch_dag_runs`` says it before each update."""
        self._waiting[(run.dag_id, run.dag_run_id)] = request

    def log(self, line: str) -> None:
        """Show one log line of a flow execution: printed in text mode, under the table in
        widget mode, kept only in ``"off"`` mode."""
        self._log_lines.append(line)
        if self.mode == "widget":
            self.widget.value = self.html()
        elif self.mode == "text":
            self._write(line)

    def close(self) -> None:
        """Show the final state (idempotent)."""
        if self.closed:
            return
        self.closed = True
        if self.mode == "widget":
            self.widget.value = self.html()
            self._show(update=True)
        elif self.mode == "text" and self._snapshots:
            self._write(summary_line(self.snapshots))

    def __enter__(self) -> RunProgress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def bind(self, client: ClientCore) -> RunProgress:
        """Take the Airflow UI links from ``client`` unless a client or ``base_url`` was given."""
        if self._client is None and self._base_url is None:
            self._client = client
        return self

    # ------------------------------------------------------------------ state and rendering

    @property
    def snapshots(self) -> list[RunSnapshot]:
        """The latest snapshot of every run, in the order the runs were first seen."""
        return list(self._snapshots.values())

    def snapshot(self, dag_id: str, dag_run_id: str) -> RunSnapshot:
        """The latest snapshot of one run (``KeyError`` if it was never updated)."""
        return self._snapshots[(dag_id, dag_run_id)]

    @property
    def log_lines(self) -> list[str]:
        """The log lines given to :meth:`log`, in order."""
        return list(self._log_lines)

    def html(self) -> str:
        """The table (and the log lines, if any) as HTML (what the widget shows)."""
        return progress_html(self.snapshots) + log_lines_html(self._log_lines)

    def text(self) -> str:
        """The summary, one line per run and the log lines, as plain text."""
        return "\n".join(
            [summary_line(self.snapshots), *map(progress_line, self.snapshots), *self._log_lines]
        )

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return f"RunProgress(mode={self.mode!r}, {summary_line(self.snapshots)})"

    # ------------------------------------------------------------------ output

    def _url(self, run: DagRun) -> str | None:
        base = self._base_url or (self._client.base_url if self._client is not None else None)
        if base is None:
            return None
        version = self._api_version or (self._client.api_version if self._client is not None else None)
        return airflow_ui_url(base, version, run.dag_id, run.dag_run_id)

    def _write(self, line: str) -> None:
        print(line, file=self._stream or sys.stderr, flush=True)

    def _show_form(self, request: HitlRequest) -> None:
        """Show the form of a request the first time a run is seen waiting on it."""
        key = (request.dag_id, request.dag_run_id, request.task_id, request.map_index)
        if key in self.forms or self._client is None:
            return
        from .hitl import HitlForm
        from .waits import show_widget

        self.forms[key] = form = HitlForm.for_client(self._client, request)
        show_widget(form.box)

    def _open_widget(self) -> None:
        """Create and show the widget; fall back to text lines if that is impossible here."""
        try:
            self.widget = _ipywidgets().HTML(value=self.html())
            self._show(update=False)
        except Exception:  # no ipywidgets or no frontend to draw it: progress as text lines
            self.widget, self.mode = None, "text"

    def _show(self, *, update: bool) -> None:
        """Display (or re-display at the end) the widget, with the table as HTML and text fallbacks
        for frontends that cannot render widgets (a static notebook viewer, a plain console)."""
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is None:
            return  # a widget made outside IPython (e.g. to test it) has nowhere to be shown
        bundle = dict(self.widget._repr_mimebundle_())
        bundle["text/plain"] = self.text()
        bundle["text/html"] = self.html()
        if update:
            if self._handle is not None:
                self._handle.update(bundle, raw=True)
        else:
            self._handle = display(bundle, raw=True, display_id=True)  # type: ignore[no-untyped-call]


def progress_observer(progress: ProgressOption, *, client: ClientCore | None = None) -> RunObserver:
    """Turn a ``progress=`` argument into an observer.

    ``True``/``"auto"``: a :class:`RunProgress` (widget in Jupyter, text lines elsewhere);
    ``"widget"`` / ``"text"``: that display; ``False``/``None``/``"off"``: nothing shown;
    a :class:`RunProgress`: used as it is (bound to ``client`` for its links if it has none);
    any other object with ``update(run, task_instances)`` and ``close()``: used as it is.
    """
    if progress is True:
        return RunProgress("auto", client=client)
    if progress is False or progress is None:
        return RunProgress("off", client=client)
    if isinstance(progress, str):
        if progress not in _MODES:
            raise InvalidArgumentError(
                f"progress: expected True, False, 'auto', 'widget', 'text', 'off' or an observer, got {progress!r}"
            )
        return RunProgress(progress, client=client)  # type: ignore[arg-type]
    if isinstance(progress, RunProgress):
        return progress if client is None else progress.bind(client)
    if isinstance(progress, RunObserver):
        return progress
    raise InvalidArgumentError(
        "progress: expected True, False, 'auto', 'widget', 'text', 'off' or an object with "
        f"update(run, task_instances) and close(), got {type(progress).__name__}"
    )
