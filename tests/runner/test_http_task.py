"""``io.kestra.plugin.core.http.Request`` against a real HTTP server the test starts on 127.0.0.1.

Semantics from kestra-io/kestra ``core/.../plugin/core/http/Request.java`` and ``AbstractHttp.java``
(body / formData / contentType, outputs ``uri``, ``code``, ``headers``, ``body``) and its HTTP
client (``Failed http request with response code '…' and body: …`` unless ``allowFailed``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kestra_airflow_sdk.flows import Execution, ExecutionState, Flow, UnsupportedTaskError
from tests.runner.core_flows import tasks_flow

#: ``/hold`` answers only once this is set
RELEASE = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    """Echoes what it received as JSON; ``/status/<n>`` answers ``n``, ``/redirect`` → ``/echo``,
    ``/hold`` waits for :data:`RELEASE` first."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        if self.path.startswith("/hold"):
            RELEASE.wait(60)
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/echo")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        code = int(self.path.rsplit("/", 1)[1]) if self.path.startswith("/status/") else 200
        payload = json.dumps(
            {"method": self.command, "path": self.path, "headers": dict(self.headers.items()), "body": body}
        ).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Multi", "a")
        self.send_header("X-Multi", "b")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a client that timed out
                self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def run(text: str, **options: Any) -> Execution:
    options.setdefault("progress", False)
    return asyncio.run(Flow.from_yaml(text).arun(**options))


def echoed(execution: Execution, task_id: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(execution.outputs[task_id]["body"])
    return result


def test_get_outputs_code_headers_body_and_default_content_type(server: str) -> None:
    execution = run(
        tasks_flow(f"""
  - id: get
    type: io.kestra.plugin.core.http.Request
    uri: {server}/echo?q=a b
  - id: use
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ outputs.get.code }}}} {{{{ json(outputs.get.body).method }}}}"
""")
    )
    assert execution.state is ExecutionState.SUCCESS
    outputs = execution.outputs["get"]
    assert outputs["code"] == 200
    assert outputs["uri"] == f"{server}/echo?q=a%20b"  # Kestra encodes the spaces of the URI
    assert outputs["headers"]["X-Multi"] == ["a", "b"]
    sent = echoed(execution, "get")
    assert sent["path"] == "/echo?q=a%20b"
    assert sent["headers"]["Content-Type"] == "application/json"  # contentType is set without a body
    assert [e.message for e in execution.logs if e.task_id == "use"] == ["200 GET"]


def test_post_body_headers_and_bearer_auth(server: str) -> None:
    execution = run(
        tasks_flow(f"""
  - id: post
    type: io.kestra.plugin.core.http.Request
    uri: {server}/echo
    method: POST
    contentType: text/plain
    body: "hello {{{{ flow.id }}}}"
    headers:
      X-Api-Key: "{{{{ secret('KEY') }}}}"
    options:
      auth:
        type: BEARER
        token: "{{{{ secret('TOKEN') }}}}"
"""),
        secrets={"KEY": "k-123", "TOKEN": "t-456"},
    )
    assert execution.state is ExecutionState.SUCCESS
    sent = echoed(execution, "post")
    assert sent["method"] == "POST"
    assert sent["body"] == "hello f"
    assert sent["headers"]["Content-Type"] == "text/plain"
    assert sent["headers"]["X-Api-Key"] == "k-123"
    assert sent["headers"]["Authorization"] == "Bearer t-456"


def test_form_data_url_encoded_and_basic_auth(server: str) -> None:
    execution = run(
        tasks_flow(f"""
  - id: form
    type: io.kestra.plugin.core.http.Request
    uri: {server}/echo
    method: POST
    formData:
      user: John Doe
      n: 2
    options:
      auth: {{type: BASIC, username: admin, password: "{{{{ secret('PASS') }}}}"}}
"""),
        secrets={"PASS": "pw"},
    )
    assert execution.state is ExecutionState.SUCCESS
    sent = echoed(execution, "form")
    assert sent["body"] == "user=John+Doe&n=2"
    assert sent["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent["headers"]["Authorization"] == "Basic " + base64.b64encode(b"admin:pw").decode()


def test_multipart_form_data(server: str) -> None:
    execution = run(
        tasks_flow(f"""
  - id: multi
    type: io.kestra.plugin.core.http.Request
    uri: {server}/echo
    method: POST
    contentType: multipart/form-data
    formData:
      user: John
      meta: {{a: 1}}
""")
    )
    assert execution.state is ExecutionState.SUCCESS
    sent = echoed(execution, "multi")
    assert sent["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert 'name="user"\r\n\r\nJohn\r\n' in sent["body"]
    assert 'name="meta"\r\n\r\n{"a": 1}\r\n' in sent["body"]


def test_failed_code_fails_the_task_unless_allowed(server: str) -> None:
    execution = run(
        tasks_flow(f"""
  - id: missing
    type: io.kestra.plugin.core.http.Request
    uri: {server}/status/404
    allowFailure: true
  - id: allowed
    type: io.kestra.plugin.core.http.Request
    uri: {server}/status/500
    options:
      allowFailed: true
  - id: legacy
    type: io.kestra.plugin.core.http.Request
    uri: {server}/status/418
    allowFailed: true
  - id: listed
    type: io.kestra.plugin.core.http.Request
    uri: {server}/status/201
    options:
      allowedResponseCodes: [200]
    allowFailure: true
""")
    )
    missing = execution.task_run("missing")
    assert missing.state is ExecutionState.WARNING  # FAILED, allowFailure
    assert (missing.error or "").startswith("Failed http request with response code '404' and body:\n{")
    assert missing.outputs == {}
    assert execution.outputs["allowed"]["code"] == 500
    assert execution.outputs["legacy"]["code"] == 418
    listed = execution.task_run("listed")
    assert listed.state is ExecutionState.WARNING
    assert "response code '201'" in (listed.error or "")


def test_redirects_followed_unless_disabled(server: str) -> None:
    execution = run(
        tasks_flow(f"""
  - id: follow
    type: io.kestra.plugin.core.http.Request
    uri: {server}/redirect
  - id: stay
    type: io.kestra.plugin.core.http.Request
    uri: {server}/redirect
    options:
      followRedirects: false
""")
    )
    assert execution.state is ExecutionState.SUCCESS
    assert execution.outputs["follow"]["code"] == 200
    assert echoed(execution, "follow")["path"] == "/echo"
    assert execution.outputs["stay"]["code"] == 302
    assert execution.outputs["stay"]["headers"]["Location"] == ["/echo"]
    assert execution.outputs["stay"]["body"] is None


def test_connection_error_names_the_request_and_masks_secrets(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    execution = run(
        tasks_flow("""
  - id: down
    type: io.kestra.plugin.core.http.Request
    uri: "http://127.0.0.1:1/x?key={{ secret('KEY') }}"
    options:
      timeout: {connectTimeout: PT5S}
"""),
        secrets={"KEY": f"secret-{port}"},
    )
    run_ = execution.task_run("down")
    assert run_.state is ExecutionState.FAILED
    assert (run_.error or "").startswith("ConnectError")
    assert "GET http://127.0.0.1:1/x?key=******" in (run_.error or "")
    assert f"secret-{port}" not in str([e.message for e in execution.logs])


def test_read_idle_timeout_fails_the_task(server: str) -> None:
    try:
        execution = run(
            tasks_flow(f"""
  - id: held
    type: io.kestra.plugin.core.http.Request
    uri: {server}/hold
    options:
      timeout: {{readIdleTimeout: PT0.5S}}
""")
        )
    finally:
        RELEASE.set()
    run_ = execution.task_run("held")
    assert run_.state is ExecutionState.FAILED
    assert (run_.error or "").startswith("ReadTimeout")
    assert f"GET {server}/hold" in (run_.error or "")


def test_unsupported_options_are_refused_before_running() -> None:
    flow = Flow.from_yaml(
        tasks_flow("""
  - id: r
    type: io.kestra.plugin.core.http.Request
    uri: http://127.0.0.1:1/
    encryptBody: true
    options:
      proxy: {address: 127.0.0.1}
""")
    )
    assert flow.unsupported_tasks() == []
    with pytest.raises(UnsupportedTaskError) as error:
        flow.runner(progress=False).check()
    assert "encryptBody is not supported locally" in str(error.value)
    assert "options.proxy is not supported locally" in str(error.value)


def test_multipart_sends_a_file_a_script_task_wrote(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # AbstractHttp: a formData value that is a file URI is sent as a file ({name, content}: renamed)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    execution = run(
        tasks_flow(f"""
  - id: make
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles: [report.csv]
    commands:
      - printf 'a,b\\n1,2\\n' > report.csv
  - id: upload
    type: io.kestra.plugin.core.http.Request
    uri: {server}/echo
    method: POST
    contentType: multipart/form-data
    formData:
      file: "{{{{ outputs.make.outputFiles['report.csv'] }}}}"
      renamed:
        name: data.csv
        content: "{{{{ outputs.make.outputFiles['report.csv'] }}}}"
""")
    )
    assert execution.state is ExecutionState.SUCCESS, [r.error for r in execution.task_runs]
    body = echoed(execution, "upload")["body"]
    assert 'name="file"; filename="report.csv"' in body
    assert 'name="renamed"; filename="data.csv"' in body
    assert body.count("a,b\n1,2\n") == 2
