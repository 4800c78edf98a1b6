"""Files of a local run: FILE inputs, script ``outputFiles``, the file functions, ``http.Download``
(against a real HTTP server the test starts on 127.0.0.1), ``WorkingDirectory`` and namespace files.

Semantics from kestra-io/kestra: ``StorageContext`` (URI layout), ``ReadFileFunction``,
``FileURIFunction``, ``FileSizeFunction``, ``FileExistsFunction``, ``IsFileEmptyFunction`` and their
``AbstractFileFunction`` (which files an execution may read), ``plugin/core/http/Download.java``,
``plugin/core/flow/WorkingDirectory.java`` (its example ``working_directory``: a file one script
writes is read by the next) and ``NamespaceFilesUtils``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kestra_airflow_sdk.flows import (
    Execution,
    ExecutionState,
    Flow,
    FlowValidationError,
    UnsupportedTaskError,
)
from kestra_airflow_sdk.storage import InternalStorage
from tests.runner.core_flows import tasks_flow


@pytest.fixture(autouse=True)
def _temp_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Working directories go under tmp_path."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def run(text: str, **options: Any) -> Execution:
    options.setdefault("progress", False)
    return asyncio.run(Flow.from_yaml(text).arun(**options))


def errors(execution: Execution) -> list[str | None]:
    return [r.error for r in execution.task_runs if r.error]


def log_lines(execution: Execution, task_id: str) -> list[str]:
    lines = [e.message for e in execution.logs if e.task_id == task_id and e.level == "INFO"]
    return [line for line in lines if not line.startswith("Kestra runs this task in a container")]


# ------------------------------------------------------------------ FILE inputs and outputFiles


def test_a_file_input_is_a_stored_copy_that_tasks_read(tmp_path: Path) -> None:
    data = tmp_path / "orders.csv"
    data.write_text("id\n1\n2\n")
    execution = run(
        tasks_flow(
            """
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: "{{ read(inputs.orders) }}|{{ fileSize(inputs.orders) }}|{{ fileExists(inputs.orders) }}"
  - id: count
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles:
      data.csv: "{{ inputs.orders }}"
    commands:
      - wc -l < data.csv
      - wc -l < {{ inputs.orders }}
""",
            header="inputs:\n  - id: orders\n    type: FILE\n",
        ),
        inputs={"orders": str(data)},
    )
    assert execution.state is ExecutionState.SUCCESS, errors(execution)
    uri = execution.inputs["orders"]
    assert uri == f"kestra:///n/f/executions/{execution.id}/inputs/orders/orders.csv"
    assert InternalStorage.under().get(uri) == b"id\n1\n2\n"
    assert log_lines(execution, "show") == ["id\n1\n2\n|7|true"]
    assert [line.strip() for line in log_lines(execution, "count")] == ["3", "3"]


def test_output_files_are_kestra_uris_that_later_tasks_and_functions_read() -> None:
    execution = run(
        tasks_flow(
            """
  - id: make
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles: ["*.txt"]
    commands:
      - printf hello > a.txt
      - touch empty.txt
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: >-
      {{ read(outputs.make.outputFiles['a.txt']) }} {{ fileSize(outputs.make.outputFiles['a.txt']) }}
      {{ isFileEmpty(outputs.make.outputFiles['empty.txt']) }} {{ isFileEmpty(outputs.make.outputFiles['a.txt']) }}
      {{ fileExists(outputs.make.outputFiles['a.txt'] ~ '.gone') }}
"""
        )
    )
    assert execution.state is ExecutionState.SUCCESS, errors(execution)
    make = execution.task_run("make")
    assert execution.outputs["make"]["outputFiles"] == {
        "a.txt": f"kestra:///n/f/executions/{execution.id}/tasks/make/{make.id}/a.txt",
        "empty.txt": f"kestra:///n/f/executions/{execution.id}/tasks/make/{make.id}/empty.txt",
    }
    assert log_lines(execution, "show") == ["hello 5 true false false"]


# ------------------------------------------------------------------ the file functions


def _fails_with(text: str, **options: Any) -> str:
    execution = run(text, **options)
    assert execution.state is ExecutionState.FAILED
    return " ".join(e for e in errors(execution) if e)


def test_function_errors_name_the_function_the_argument_and_what_was_expected() -> None:
    def flow(expression: str) -> str:
        return tasks_flow(
            f'  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: "{{{{ {expression} }}}}"\n'
        )

    message = _fails_with(flow("fileSize(42)"))
    assert (
        "fileSize(path): expected 'path' to be a kestra:/// URI or a namespace file path (text), got 42"
        in message
    )
    message = _fails_with(flow("read()"))
    assert "read(path): the 'read' function expects an argument 'path'" in message
    message = _fails_with(flow("read('file:///etc/passwd')"))
    assert "read(path): 'file:///etc/passwd': the file:// protocol is disabled" in message
    message = _fails_with(flow("fileExists('s3://bucket/key')"))
    assert "fileExists(path): cannot process the URI s3://bucket/key: scheme not supported" in message
    message = _fails_with(flow("read('kestra:///n/f/executions/x/../../../../etc/passwd')"))
    assert "without '.' or '..' parts" in message
    message = _fails_with(flow("read('kestra:///other/flow/executions/e1/inputs/file/x.csv')"))
    assert "read('kestra:///other/flow/executions/e1/inputs/file/x.csv'): unable to read the file" in message
    assert "as it is not an execution file" in message
    message = _fails_with(flow("read('scripts/q.sql')"))
    assert (
        "namespace n has no namespace files here; give their folder with run(namespace_files_dir=...)"
        in message
    )
    message = _fails_with(flow("fileURI('../x')"))
    assert "fileURI(path): '../x': path must not contain '../'" in message


def test_an_execution_reads_another_executions_task_files_but_not_its_inputs() -> None:
    """AbstractFileFunction (open-source edition): task files of any execution are readable,
    other files of another execution are not."""
    storage = InternalStorage.under()
    task_file = storage.put("kestra:///other/flow/executions/e1/tasks/t/r1/out.txt", b"shared")
    storage.put("kestra:///other/flow/executions/e1/inputs/file/in.txt", b"private")
    execution = run(
        tasks_flow(
            f"  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: \"{{{{ read('{task_file}') }}}}\"\n"
        )
    )
    assert log_lines(execution, "t") == ["shared"]


def test_a_subflow_reads_its_parent_executions_files(tmp_path: Path) -> None:
    data = tmp_path / "in.txt"
    data.write_text("from the parent")
    child = """id: child
namespace: other
inputs:
  - id: file
    type: FILE
tasks:
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: "{{ read(inputs.file) }}"
"""
    parent = tasks_flow(
        """
  - id: sub
    type: io.kestra.plugin.core.flow.Subflow
    namespace: other
    flowId: child
    inputs:
      file: "{{ inputs.data }}"
""",
        header="inputs:\n  - id: data\n    type: FILE\n",
    )
    execution = run(parent, inputs={"data": str(data)}, flows=[Flow.from_yaml(child)])
    assert execution.state is ExecutionState.SUCCESS, errors(execution)
    (sub,) = execution.subflows.values()
    assert sub.inputs["file"] == execution.inputs["data"]  # the parent's stored file, passed on
    assert [e.message for e in sub.logs if e.task_id == "show"] == ["from the parent"]
    # an execution that did not start it may not read that input file
    other = run(
        tasks_flow(
            f"  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: \"{{{{ read('{sub.inputs['file']}') }}}}\"\n"
        )
    )
    assert other.state is ExecutionState.FAILED
    assert "as it is not an execution file" in (other.task_run("t").error or "")


# ------------------------------------------------------------------ namespace files


@pytest.fixture
def namespace_files(tmp_path: Path) -> Path:
    folder = tmp_path / "ns"
    (folder / "scripts").mkdir(parents=True)
    (folder / "scripts" / "main.py").write_text("print('main says hi')\n")
    (folder / "scripts" / "skip_me.py").write_text("raise SystemExit(3)\n")
    (folder / "query.sql").write_text("SELECT 1")
    (folder / "README.md").write_text("docs")
    return folder


def test_namespace_files_for_read_fileuri_and_scripts(namespace_files: Path) -> None:
    execution = run(
        tasks_flow(
            """
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: >-
      {{ read('query.sql') }} {{ fileURI('query.sql') }} {{ read(fileURI('/query.sql')) }}
      {{ fileExists('nope.sql') }} {{ fileSize('nsfile:///scripts/main.py') }} {{ read('query.sql', namespace='n') }}
  - id: py
    type: io.kestra.plugin.scripts.python.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    namespaceFiles:
      enabled: true
      include: ["scripts/**", "*.sql"]
      exclude: ["**/skip_*"]
    commands:
      - python scripts/main.py
      - ls -R . | grep -v '^tmp' | grep -E '\\.(py|sql|md)$' | sort
"""
        ),
        namespace_files_dir=namespace_files,
    )
    assert execution.state is ExecutionState.SUCCESS, errors(execution)
    assert log_lines(execution, "show") == [
        "SELECT 1 kestra:///n/_files/query.sql SELECT 1 false 22 SELECT 1"
    ]
    assert log_lines(execution, "py") == ["main says hi", "main.py", "query.sql"]


def test_namespace_files_are_refused_outside_their_folder(namespace_files: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("no")
    text = tasks_flow(
        "  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: \"{{ read('../secret.txt') }}\"\n"
    )
    message = _fails_with(text, namespace_files_dir=namespace_files)
    assert "'../secret.txt' is refused: a namespace file path may not use '.' or '..' parts" in message


def test_a_missing_namespace_files_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"namespace_files_dir for namespace n: .* is not a folder"):
        run(
            tasks_flow("  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"),
            namespace_files_dir=tmp_path / "none",
        )


# ------------------------------------------------------------------ WorkingDirectory


def test_working_directory_children_share_files(namespace_files: Path) -> None:
    # WorkingDirectory.java example "working_directory": a file the first script writes, the second reads
    execution = run(
        tasks_flow(
            """
  - id: wdir
    type: io.kestra.plugin.core.flow.WorkingDirectory
    namespaceFiles:
      enabled: true
      include: [query.sql]
    inputFiles:
      greeting.txt: hello
    outputFiles: [stay.txt, "*.sql"]
    tasks:
      - id: first
        type: io.kestra.plugin.scripts.shell.Commands
        taskRunner:
          type: io.kestra.plugin.core.runner.Process
        commands:
          - 'echo "{{ taskrun.id }}" > {{ workingDir }}/stay.txt'
          - cat greeting.txt query.sql
      - id: second
        type: io.kestra.plugin.scripts.shell.Commands
        taskRunner:
          type: io.kestra.plugin.core.runner.Process
        commands:
          - |
            echo '::{"outputs": {"stay":"'$(cat {{ workingDir }}/stay.txt)'"}}::'
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: "{{ read(outputs.wdir.outputFiles['stay.txt']) | trim }}"
"""
        ),
        namespace_files_dir=namespace_files,
    )
    assert execution.state is ExecutionState.SUCCESS, errors(execution)
    first = execution.task_run("first")
    assert execution.outputs["second"]["vars"] == {"stay": first.id}
    assert log_lines(execution, "first") == ["helloSELECT 1"]
    wdir = execution.task_run("wdir")
    assert sorted(execution.outputs["wdir"]["outputFiles"]) == ["query.sql", "stay.txt"]
    assert execution.outputs["wdir"]["outputFiles"]["stay.txt"].endswith(f"/tasks/wdir/{wdir.id}/stay.txt")
    assert log_lines(execution, "after") == [first.id]
    assert first.parent_id == wdir.id


def test_working_directory_stops_at_a_failure_runs_errors_and_cleans_up(tmp_path: Path) -> None:
    execution = run(
        tasks_flow(
            """
  - id: wdir
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - id: boom
        type: io.kestra.plugin.scripts.shell.Commands
        commands: [exit 4]
      - id: never
        type: io.kestra.plugin.core.log.Log
        message: not reached
    errors:
      - id: handler
        type: io.kestra.plugin.core.log.Log
        message: handled
"""
        )
    )
    assert execution.state is ExecutionState.FAILED
    assert execution.task_run("wdir").state is ExecutionState.FAILED
    assert [r.task_id for r in execution.task_runs] == ["wdir", "boom", "handler"]
    assert not list(tmp_path.glob("kestra-wd-*"))  # the shared folder is gone


def test_working_directory_takes_runnable_children_only() -> None:
    with pytest.raises(
        FlowValidationError, match="Only runnable tasks are allowed as children of a WorkingDirectory"
    ):
        Flow.from_yaml(
            tasks_flow(
                """
  - id: wdir
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - id: seq
        type: io.kestra.plugin.core.flow.Sequential
        tasks:
          - id: x
            type: io.kestra.plugin.core.log.Log
            message: x
"""
            )
        )


def test_what_cannot_run_locally_is_refused_before_running() -> None:
    flow = Flow.from_yaml(
        tasks_flow(
            """
  - id: wdir
    type: io.kestra.plugin.core.flow.WorkingDirectory
    cache:
      patterns: [node_modules/**]
      ttl: PT1H
    namespaceFiles:
      enabled: true
      folderPerNamespace: true
    tasks:
      - id: x
        type: io.kestra.plugin.core.log.Log
        message: x
"""
        )
    )
    with pytest.raises(UnsupportedTaskError) as error:
        flow.runner(progress=False).check()
    assert "cache is not supported locally" in str(error.value)
    assert "namespaceFiles.folderPerNamespace is not supported locally" in str(error.value)


# ------------------------------------------------------------------ http.Download


class _Handler(BaseHTTPRequestHandler):
    """``/orders.csv``: a CSV; ``/named``: with a Content-Disposition file name; ``/empty``: no body;
    ``/status/<n>``: code n; ``/auth``: the Authorization header echoed."""

    def do_GET(self) -> None:
        headers = {"Content-Type": "text/csv"}
        body = b"id,total\n1,10\n"
        code = 200
        if self.path == "/named":
            headers["Content-Disposition"] = 'attachment; filename="../report 2026.csv"'
        elif self.path == "/empty":
            body = b""
        elif self.path.startswith("/status/"):
            code, body = int(self.path.rsplit("/", 1)[1]), b"nope"
        elif self.path == "/auth":
            body = (self.headers.get("Authorization") or "").encode()
        self.send_response(code)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

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


def download(uri: str, extra: str = "") -> str:
    return tasks_flow(f"  - id: dl\n    type: io.kestra.plugin.core.http.Download\n    uri: {uri}\n{extra}")


def test_download_stores_the_file_with_kestras_outputs(server: str) -> None:
    execution = run(
        download(f"{server}/orders.csv")
        + '  - id: show\n    type: io.kestra.plugin.core.log.Log\n    message: "{{ read(outputs.dl.uri) }}"\n'
    )
    assert execution.state is ExecutionState.SUCCESS, errors(execution)
    outputs = execution.outputs["dl"]
    dl = execution.task_run("dl")
    prefix = f"kestra:///n/f/executions/{execution.id}/tasks/dl/{dl.id}/"
    assert outputs["uri"].startswith(prefix) and outputs["uri"].endswith(
        ".csv"
    )  # a random name, the URI's extension
    assert outputs["code"] == 200 and outputs["length"] == 14
    assert outputs["headers"]["Content-Type"] == ["text/csv"]
    assert InternalStorage.under().get(outputs["uri"]) == b"id,total\n1,10\n"
    assert log_lines(execution, "show") == ["id,total\n1,10\n"]
    assert dl.metrics == [{"name": "response.length", "type": "counter", "value": 14}]


def test_download_names_the_file_from_content_disposition_without_its_folder(server: str) -> None:
    execution = run(download(f"{server}/named"))
    assert execution.state is ExecutionState.SUCCESS, errors(execution)
    assert execution.outputs["dl"]["uri"].endswith("/report+2026.csv")  # URL-encoded, as Kestra does


def test_download_of_an_empty_file_fails_unless_asked_not_to(server: str) -> None:
    failed = run(download(f"{server}/empty"))
    assert failed.state is ExecutionState.FAILED
    assert "No response from server" in (failed.task_run("dl").error or "")
    execution = run(download(f"{server}/empty", "    failOnEmptyResponse: false\n"))
    assert execution.state is ExecutionState.SUCCESS, errors(execution)
    assert execution.outputs["dl"]["length"] == 0
    assert any(e.level == "WARN" and "is empty" in e.message for e in execution.logs)


def test_download_error_codes_fail_unless_allowed(server: str) -> None:
    failed = run(download(f"{server}/status/404"))
    assert failed.state is ExecutionState.FAILED
    assert "Failed http request with response code '404'" in (failed.task_run("dl").error or "")
    allowed = run(download(f"{server}/status/404", "    options:\n      allowFailed: true\n"))
    assert allowed.state is ExecutionState.SUCCESS, errors(allowed)
    assert allowed.outputs["dl"]["code"] == 404 and allowed.outputs["dl"]["length"] == 4


def test_download_sends_the_options_auth(server: str) -> None:
    execution = run(
        download(
            f"{server}/auth",
            "    options:\n      auth:\n        type: BASIC\n        username: u\n        password: \"{{ secret('PW') }}\"\n",
        ),
        secrets={"PW": "p4ss"},
    )
    assert execution.state is ExecutionState.SUCCESS, errors(execution)
    stored = InternalStorage.under().get(execution.outputs["dl"]["uri"])
    assert stored == b"Basic " + base64.b64encode(b"u:p4ss")


def test_download_of_an_unreachable_server_fails_naming_it() -> None:
    execution = run(
        download("http://127.0.0.1:9/x.csv", "    options:\n      timeout:\n        connectTimeout: PT2S\n")
    )
    assert execution.state is ExecutionState.FAILED
    assert "GET http://127.0.0.1:9/x.csv" in (execution.task_run("dl").error or "")
