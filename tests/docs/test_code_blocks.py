"""Every code block of README.md and docs/*.md runs as written, or says in the source why not.

Python blocks run page by page, top to bottom in one namespace (as a reader runs them in one
script or notebook), in a fresh working folder, against the real Airflow 3 of the session (the
Airflow the snippets default to; the client's Airflow 2 side is what tests/integration covers on
both): ``AIRFLOW_BASE_URL`` is set to it, which is how every snippet says where Airflow is. Blocks that
talk to a Kestra server get ``KESTRA_URL``: the Prism mock generated from Kestra's OpenAPI spec.
A block with top-level ``await`` runs as a notebook cell does. YAML blocks are flows the SDK loads
and validates. Bash blocks either run or carry a visible ``<!-- not run: reason -->``.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import traceback
from pathlib import Path

import httpx
import pytest

from kestra_airflow_sdk import Flow
from tests.airflow_servers import PASSWORD, USERNAME, AirflowServer
from tests.docs.blocks import EXECUTED, PAGES, REPO, Block, all_blocks, blocks

PYTHON_PAGES = [p for p in PAGES if any(b.language == "python" and not b.not_run for b in blocks(p))]
#: output shown to the reader, not code
OUTPUT_LANGUAGES = ("text", "")


def test_every_code_block_runs_or_says_why_not() -> None:
    found = all_blocks()
    unknown = [b.where for b in found if b.language not in (*OUTPUT_LANGUAGES, "python", "yaml", "bash")]
    assert not unknown, f"blocks in a language this test does not know: {unknown}"
    unmarked = [b.where for b in found if b.language == "bash" and not b.not_run]
    assert not unmarked, f"bash blocks without <!-- not run: reason -->: {unmarked}"
    empty_reasons = [b.where for b in found if b.not_run is not None and len(b.not_run) < 10]
    assert not empty_reasons, f"say why a block is not run: {empty_reasons}"
    saved = [b.where for b in found if b.save_as and b.language != "yaml"]
    assert not saved, f"only YAML blocks can be saved as files: {saved}"


@pytest.mark.parametrize(
    "block",
    [b for b in all_blocks() if b.language == "yaml" and not b.not_run],
    ids=lambda b: b.where,
)
def test_yaml_blocks_are_flows_the_sdk_loads(block: Block) -> None:
    try:
        Flow.from_yaml(block.code).validate_flow()
    except Exception as exc:
        pytest.fail(f"{block.where}: {exc}", pytrace=False)
    EXECUTED["YAML flows loaded"] += 1


def _run(block: Block, namespace: dict[str, object]) -> None:
    code = compile(block.code, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)  # a block with top-level await gives a coroutine, as in a notebook
    if inspect.iscoroutine(result):
        asyncio.run(result)


def _token(airflow: AirflowServer) -> str:
    """A bearer token for the server: a JWT on Airflow 3 (Airflow 2 takes none; the page's blocks
    only build clients with it)."""
    if airflow.major != "3":
        return "no-token-on-airflow-2"
    answer = httpx.post(f"{airflow.base_url}/auth/token", json={"username": USERNAME, "password": PASSWORD})
    answer.raise_for_status()
    return str(answer.json()["access_token"])


#: pages whose snippets need another server than the snippets' default (Airflow 3.3.2 on SQLite)
PAGE_KINDS = {
    # backfills on SQLite may crash Airflow 3.3.2's scheduler (docs/backfills.md, "On SQLite")
    REPO / "docs" / "backfills.md": "3-production",
}


@pytest.mark.parametrize(
    ("page", "airflow"),
    [(page, PAGE_KINDS.get(page, "3")) for page in PYTHON_PAGES],
    indirect=["airflow"],
    ids=[f"{page.relative_to(REPO)}-airflow{PAGE_KINDS.get(page, '3')}" for page in PYTHON_PAGES],
    # session, as every test on a real server: a function-scoped server would be stopped after each page
    scope="session",
)
def test_python_blocks_run_as_written(
    page: Path,
    airflow: AirflowServer,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page_blocks = blocks(page)
    monkeypatch.setenv("AIRFLOW_BASE_URL", airflow.base_url)
    if any("AIRFLOW_TOKEN" in b.code for b in page_blocks):
        monkeypatch.setenv("AIRFLOW_TOKEN", _token(airflow))
    if any("KESTRA_URL" in b.code for b in page_blocks):
        monkeypatch.setenv("KESTRA_URL", request.getfixturevalue("prism_url"))
    monkeypatch.chdir(tmp_path)  # files the snippets write stay out of the work tree
    for block in page_blocks:
        if block.save_as and not block.not_run:
            (tmp_path / block.save_as).write_text(block.code)
    namespace: dict[str, object] = {"__name__": "__main__"}
    ran = 0
    for block in page_blocks:
        if block.language != "python" or block.not_run:
            continue
        try:
            _run(block, namespace)
        except Exception:
            pytest.fail(f"{block.where} failed:\n{block.code}\n{traceback.format_exc()}", pytrace=False)
        ran += 1
    EXECUTED[f"Python blocks executed on {airflow.version_id}"] += ran
    print(f"{page.relative_to(REPO)}: {ran} Python blocks executed on {airflow.version_id}")
