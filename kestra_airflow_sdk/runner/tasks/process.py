"""Run one command as a local process the way Kestra's ``Process`` task runner does: both output
streams read line by line as they come, each line handled by Kestra's log-line protocol.

A line that is exactly ``::{...}::`` is data, not a log line (Kestra's ``TaskLogLineMatcher``):
``outputs`` (merged into the task's ``vars``), ``metrics`` (kept on the task run) and ``logs``
(``[{"level": "WARN", "message": "..."}]``, written at their own level). Any other line is written
at INFO (standard output) or ERROR (standard error), as Kestra's ``PluginUtilsService.parseOut``
does; between the ``##kestra:log:debug##`` and ``##kestra:log:info##`` markers Kestra wraps around
``beforeCommands``, standard output is written at DEBUG.

Cancelling the coroutine (the task's ``timeout``, Ctrl-C, an ``Exit``) kills the process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...flows.execution import LOG_LEVELS

__all__ = ["DEBUG_MARKER", "INFO_MARKER", "LogLineProtocol", "ProcessResult", "run_process"]

DEBUG_MARKER = "##kestra:log:debug##"
INFO_MARKER = "##kestra:log:info##"
_DATA = re.compile(r"^::(\{.*})::$")
#: Kestra's log levels, and the spellings of them a script may send
_LEVELS = {**{level: level for level in LOG_LEVELS}, "WARNING": "WARN"}
#: how long a killed process gets to end on SIGTERM before SIGKILL
_GRACE_SECONDS = 5.0
#: the longest line read at once (longer ones are split)
_LINE_LIMIT = 1 << 20

Log = Callable[[str, str], object]


@dataclass
class LogLineProtocol:
    """What the lines of one process said: its ``vars`` and ``metrics``, and how many lines each
    stream had; ``log(level, message)`` writes a log line of the task run."""

    log: Log
    vars: dict[str, Any] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    std_out_count: int = 0
    std_err_count: int = 0
    _debug: bool = False

    def accept(self, line: str, is_std_err: bool) -> None:
        """Handle one line of output (without its line ending)."""
        if is_std_err:
            self.std_err_count += 1
        else:
            self.std_out_count += 1
            if line.strip() in (DEBUG_MARKER, INFO_MARKER):
                self._debug = line.strip() == DEBUG_MARKER
                return
        match = _DATA.match(line)
        if match is None:
            self.log("ERROR" if is_std_err else ("DEBUG" if self._debug else "INFO"), line)
            return
        try:
            data = json.loads(match.group(1))
        except json.JSONDecodeError as exc:
            self.log("WARN", f"Invalid outputs '{exc}'")
            return
        if not isinstance(data, dict):  # pragma: no cover - the pattern only matches objects
            return
        self._data(data, line)

    def _data(self, data: dict[str, Any], line: str) -> None:
        outputs = data.get("outputs")
        if isinstance(outputs, dict):
            self.vars.update(outputs)
        for metric in data.get("metrics") or []:
            if isinstance(metric, dict) and "name" in metric and "value" in metric:
                self.metrics.append(metric)
            else:
                self.log("WARN", f"Invalid metric '{metric}' in '{line}'")
        for entry in data.get("logs") or []:
            level = _LEVELS.get(str(entry.get("level", "")).upper()) if isinstance(entry, dict) else None
            if level is None or not isinstance(entry, dict):
                self.log("WARN", f"Invalid log '{line}'")
                continue
            self.log(level, str(entry.get("message", "")))


@dataclass
class ProcessResult:
    """How the process ended."""

    exit_code: int
    pid: int


async def _pump(stream: asyncio.StreamReader | None, protocol: LogLineProtocol, is_std_err: bool) -> None:
    if stream is None:  # pragma: no cover - both streams are pipes
        return
    while True:
        try:
            raw = await stream.readline()
        except ValueError:  # a line longer than the limit: take what is buffered
            raw = await stream.read(_LINE_LIMIT)
        if not raw:
            return
        protocol.accept(raw.decode("utf-8", errors="replace").rstrip("\r\n"), is_std_err)


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def run_process(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    protocol: LogLineProtocol,
    started: Callable[[int], object] | None = None,
) -> ProcessResult:
    """Run ``command`` (no shell of its own: an argument list) in ``cwd`` with exactly ``env``,
    feeding every output line to ``protocol``; kill its process group when cancelled."""
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=str(cwd),
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        limit=_LINE_LIMIT,
    )
    if started is not None:
        started(process.pid)
    try:
        await asyncio.gather(
            _pump(process.stdout, protocol, False),
            _pump(process.stderr, protocol, True),
        )
        exit_code = await process.wait()
    except BaseException:  # cancelled (timeout, Ctrl-C, Exit): the whole process group goes
        _kill_group(process.pid, signal.SIGTERM)
        try:
            await asyncio.shield(asyncio.wait_for(process.wait(), _GRACE_SECONDS))
        except (asyncio.TimeoutError, asyncio.CancelledError):
            _kill_group(process.pid, signal.SIGKILL)
        raise
    return ProcessResult(exit_code=exit_code, pid=process.pid)
