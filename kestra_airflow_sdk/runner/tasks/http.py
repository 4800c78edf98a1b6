"""``io.kestra.plugin.core.http.Request`` on httpx, as Kestra's ``Request`` task sends it.

As in Kestra (``AbstractHttp.request``, ``HttpClient``): ``formData`` is sent URL-encoded, or as
``multipart/form-data`` when that is the ``contentType`` (a ``file://`` URI, or ``{name,
content}``, is sent as a file); else ``body`` is sent with the ``contentType``; without either the
``Content-Type`` header is still set. ``options.auth`` BASIC or BEARER; ``options.timeout``
(``connectTimeout``, ``readIdleTimeout`` default PT5M); redirects are followed unless
``options.followRedirects: false``; a response code >= 400 fails the task (``Failed http request
with response code '404' and body: ...``) unless ``options.allowFailed`` or the code is in
``options.allowedResponseCodes``. Outputs: ``uri``, ``code``, ``headers``, ``body``.

Secrets go over the wire only: a URI that holds one stays masked in the ``uri`` output, and every
resolved secret is masked in errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx
from pydantic import SecretStr

from ...flows.base import dump_context
from ...flows.durations import parse_duration
from ...flows.secrets import reveal
from ...flows.tasks.http import AbstractHttp, HttpRequest
from ...flows.tasks.runnable import scalar_text
from ...storage import StorageError
from ..executors import TaskContext, TaskFailedError

__all__ = [
    "PreparedRequest",
    "allowed_code",
    "http_problems",
    "prepare_request",
    "response_headers",
    "run_http_request",
]

#: Kestra's default read idle timeout
READ_IDLE_TIMEOUT = 300.0


def http_problems(task: AbstractHttp) -> list[str]:
    """What of ``task`` the local runner cannot honour as Kestra does (it refuses the flow)."""
    problems = []
    if isinstance(task, HttpRequest) and task.encrypt_body:
        problems.append("encryptBody is not supported locally (there is no Kestra encryption key here)")
    for name in ("proxy", "ssl"):
        if task.option(name) is not None:
            problems.append(f"options.{name} is not supported locally")
    if task.ssl_options is not None:
        problems.append("sslOptions is not supported locally")
    if task.options is not None and task.options.retry is not None:
        problems.append("options.retry is not supported on Request locally (use the task's retry)")
    return problems


def _text(value: Any) -> str:
    return "" if value is None else str(scalar_text(reveal(value)))


def _seconds(value: Any, default: float | None) -> float | None:
    return parse_duration(str(value)).total_seconds() if value else default


def _timeout(task: AbstractHttp) -> httpx.Timeout:
    timeout = task.options.timeout if task.options is not None else None
    connect = _seconds(timeout.connect_timeout if timeout else None, None)
    read = _seconds(timeout.read_idle_timeout if timeout else None, READ_IDLE_TIMEOUT)
    return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)


def _auth(task: AbstractHttp, ctx: TaskContext) -> tuple[httpx.Auth | None, dict[str, str]]:
    auth = task.options.auth if task.options is not None else None
    if auth is None:
        return None, {}
    rendered = ctx.renderer.render(auth.model_dump(exclude={"type"}, context=dump_context()), "options.auth")
    if auth.type == "BEARER":
        return None, {"Authorization": f"Bearer {_text(rendered.get('token'))}"}
    return httpx.BasicAuth(_text(rendered.get("username")), _text(rendered.get("password"))), {}


def _file(uri: str, where: str, ctx: TaskContext) -> Path:
    """The local file of a ``kestra:///`` URI (the execution's storage) or a ``file://`` URI."""
    files = ctx.runner.files if ctx.runner is not None else None
    if uri.startswith("kestra://") and files is not None:
        try:
            files.readable(uri, where)
            path = files.local(uri)
        except StorageError as exc:
            raise TaskFailedError(str(exc)) from None
    elif uri.startswith("file://"):
        path = Path(unquote(urlparse(uri).path))
    else:
        raise TaskFailedError(f"{where}: {uri} is not a kestra:/// or file:// URI")
    if not path.is_file():
        raise TaskFailedError(f"{where}: {uri} is not a file")
    return path


def _multipart(form: dict[str, Any], ctx: TaskContext) -> dict[str, tuple[str | None, bytes]]:
    """The parts of a ``multipart/form-data`` body: a file (no file name) for every field, so the
    body is multipart even without files, as Kestra sends it."""
    parts: dict[str, tuple[str | None, bytes]] = {}
    for key, value in form.items():
        where = f"formData.{key}"
        if isinstance(value, (str, SecretStr)):
            text = _text(value)
            if text.startswith(("kestra://", "file://")):
                path = _file(text, where, ctx)
                parts[str(key)] = (path.name, path.read_bytes())
            else:
                parts[str(key)] = (None, text.encode("utf-8"))
        elif isinstance(value, dict) and "name" in value and "content" in value:
            path = _file(_text(value["content"]), f"{where}.content", ctx)
            parts[str(key)] = (_text(value["name"]), path.read_bytes())
        else:
            parts[str(key)] = (None, json.dumps(reveal(value)).encode("utf-8"))
    return parts


def _request_arguments(task: AbstractHttp, ctx: TaskContext) -> dict[str, Any]:
    content_type = _text(ctx.renderer.render(task.content_type, "contentType"))
    headers: dict[str, str] = {}
    arguments: dict[str, Any] = {}
    form = ctx.renderer.render(task.form_data, "formData") if task.form_data else None
    if form:
        if content_type == "multipart/form-data":
            arguments["files"] = _multipart(form, ctx)
        else:
            arguments["data"] = {str(k): _text(v) for k, v in form.items()}
    elif task.body is not None:
        arguments["content"] = _text(ctx.renderer.render(task.body, "body")).encode("utf-8")
        headers["Content-Type"] = content_type
    else:
        headers["Content-Type"] = content_type
    for name, value in (ctx.renderer.render(task.headers, "headers") or {}).items():
        headers[str(name)] = _text(value)
    arguments["headers"] = headers
    return arguments


def response_headers(response: httpx.Response) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for raw_name, raw_value in response.headers.raw:
        found.setdefault(raw_name.decode("latin-1"), []).append(raw_value.decode("latin-1"))
    return found


def allowed_code(task: AbstractHttp, code: int) -> bool:
    codes = task.option("allowedResponseCodes")
    if codes:
        return code in {int(c) for c in codes}
    allow_failed = task.option("allowFailed", task.allow_failed)
    return code < 400 or bool(allow_failed)


@dataclass
class PreparedRequest:
    """One request of an HTTP task, rendered: what to send and how (``client``: the keyword
    arguments of :class:`httpx.AsyncClient`, ``arguments``: those of its ``request``)."""

    method: str
    uri: str
    #: the ``uri`` output: masked when the URI holds a secret
    shown_uri: str | SecretStr
    client: dict[str, Any] = field(default_factory=dict)
    arguments: dict[str, Any] = field(default_factory=dict)

    def failure(self, exc: httpx.HTTPError, ctx: TaskContext) -> TaskFailedError:
        """The task's error for a request that could not be sent or answered (secrets masked)."""
        return TaskFailedError(
            ctx.renderer.secrets.redact(f"{type(exc).__name__}: {exc} ({self.method} {self.uri})")
        )


def prepare_request(task: AbstractHttp, ctx: TaskContext) -> PreparedRequest:
    """Render ``task``'s request: URI, method, body or form, headers, ``options`` (auth, timeouts,
    redirects)."""
    rendered_uri = ctx.renderer.render(task.uri, "uri")
    uri = _text(rendered_uri).replace(" ", "%20")
    if urlparse(uri).scheme not in ("http", "https"):
        raise TaskFailedError(
            f"uri: expected an http:// or https:// URL, got {ctx.renderer.secrets.redact(uri)!r}"
        )
    method = _text(ctx.renderer.render(task.method, "method")).upper()
    auth, auth_headers = _auth(task, ctx)
    arguments = _request_arguments(task, ctx)
    arguments["headers"] = {**auth_headers, **arguments["headers"]}
    follow = task.option("followRedirects", True) is not False
    return PreparedRequest(
        method=method,
        uri=uri,
        shown_uri=SecretStr(uri) if isinstance(rendered_uri, SecretStr) else uri,
        client={
            "timeout": _timeout(task),
            "follow_redirects": follow,
            "auth": auth,
            # the run's transport (None: the network), e.g. a test's in-memory server
            "transport": ctx.runner.runtime.transport if ctx.runner is not None else None,
        },
        arguments=arguments,
    )


async def run_http_request(task: HttpRequest, ctx: TaskContext) -> None:
    """Send the request; outputs ``uri``, ``code``, ``headers`` and ``body``."""
    request = prepare_request(task, ctx)
    try:
        async with httpx.AsyncClient(**request.client) as client:
            response = await client.request(request.method, request.uri, **request.arguments)
    except httpx.HTTPError as exc:
        raise request.failure(exc, ctx) from None
    body = response.text if response.content else None
    if not allowed_code(task, response.status_code):  # as in Kestra: no outputs then
        message = f"Failed http request with response code '{response.status_code}'"
        if body is not None:
            message += f" and body:\n{body}"
        raise TaskFailedError(ctx.renderer.secrets.redact(message))
    ctx.task_run.outputs.update(
        {
            "uri": request.shown_uri,
            "code": response.status_code,
            "headers": response_headers(response),
            "body": body,
        }
    )
    ctx.log("DEBUG", f"Request {request.method} {request.uri}: response code {response.status_code}")
