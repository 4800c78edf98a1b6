"""``io.kestra.plugin.core.http.Download`` on httpx, as Kestra's ``Download`` task runs it.

The request is the one ``http.Request`` would send (:func:`.http.prepare_request`: method, headers,
body, ``options.auth``, timeouts, redirects); the response body is streamed to a file, stored among
the task run's files under the name of its ``Content-Disposition`` header (URL-encoded, last path
part only), else a random name with the extension of the URI's last part (``orders.csv`` →
``<random>.csv``). A response code >= 400 fails the task unless ``options.allowFailed`` (or
``allowedResponseCodes``); an empty body fails it (``No response from server``) when
``failOnEmptyResponse`` (default) and not ``allowFailed``, else it is a WARN line. Outputs: ``uri``,
``code``, ``length``, ``headers``; metric ``response.length`` (a counter).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote_plus, urlparse

import httpx

from ...flows.tasks.download import HttpDownload
from ..executors import TaskContext, TaskFailedError
from ..ids import new_id
from .http import allowed_code, prepare_request, response_headers

__all__ = ["filename_from_header", "run_download"]


def filename_from_header(content_disposition: str) -> str | None:
    """The file name a ``Content-Disposition`` header gives (``filename*=UTF-8''x`` wins over
    ``filename="x"``), without any folder part; None when it names none."""
    name = None
    for part in content_disposition.split(";"):
        stripped = part.strip()
        if stripped.startswith("filename*"):
            name = stripped[stripped.rfind("'") + 1 :]
        elif stripped.startswith("filename"):
            name = stripped[stripped.rfind("=") + 1 :]
    if name and len(name) > 1 and name[0] == '"' and name[-1] == '"':
        name = name[1:-1]
    if name:
        name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return name or None


def _extension(uri: str) -> str:
    last = urlparse(uri).path.rsplit("/", 1)[-1]
    return last[last.index(".") :] if "." in last else ""


async def run_download(task: HttpDownload, ctx: TaskContext) -> None:
    """Download the file into the internal storage; outputs ``uri``, ``code``, ``length``, ``headers``."""
    runner = ctx.runner
    files = runner.files if runner is not None else None
    if files is None:  # pragma: no cover - the runner binds the files before any task runs
        raise TaskFailedError("the execution's files are not available")
    request = prepare_request(task, ctx)
    folder = Path(tempfile.mkdtemp(prefix="kestra-download-"))
    try:
        partial = folder / "body"
        size = 0
        try:
            async with (
                httpx.AsyncClient(**request.client) as client,
                client.stream(request.method, request.uri, **request.arguments) as response,
            ):
                if not allowed_code(task, response.status_code):
                    raise TaskFailedError(
                        ctx.renderer.secrets.redact(
                            f"Failed http request with response code '{response.status_code}' "
                            f"({request.method} {request.uri})"
                        )
                    )
                with partial.open("wb") as out:
                    async for chunk in response.aiter_bytes():
                        out.write(chunk)
                        size += len(chunk)
        except httpx.HTTPError as exc:
            raise request.failure(exc, ctx) from None
        allow_failed = bool(task.option("allowFailed", task.allow_failed))
        shown = ctx.renderer.secrets.redact(request.uri)
        if size == 0:
            if task.fail_on_empty_response and not allow_failed:
                raise TaskFailedError(f"No response from server ({request.method} {shown})")
            ctx.log("WARN", f"File '{shown}' is empty")
        disposition = response.headers.get("content-disposition")
        given = filename_from_header(disposition) if disposition else None
        name = quote_plus(given) if given else f"{new_id()}{_extension(request.uri)}"
        uri = files.store_task_file(ctx.task_run.task_id, ctx.task_run.id, name, partial)
        ctx.task_run.outputs.update(
            {"uri": uri, "code": response.status_code, "length": size, "headers": response_headers(response)}
        )
        ctx.task_run.metrics.append({"name": "response.length", "type": "counter", "value": size})
        ctx.log("DEBUG", f"File '{shown}' downloaded with size '{size}'")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
