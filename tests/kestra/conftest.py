"""A Kestra mock generated from Kestra's published OpenAPI spec (2.0) by Prism.

No Kestra server can be installed on the build machines (it is not in the reachable registries), so
the Kestra client is tested at the contract level: Prism (``@stoplight/prism-cli``, installed by
``npm ci`` from package.json) serves ``kestra-openapi.yml`` with ``--errors``: a request that does
not match the spec is answered 4xx with the violations, and answers are generated from the spec's
response schemas. The fixture FAILS when Prism cannot start.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SPEC = HERE / "kestra-openapi.yml"
PRISM = REPO / "node_modules" / ".bin" / "prism"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def prism_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not PRISM.exists():
        pytest.fail(f"Prism is not installed ({PRISM}): run `npm ci` (scripts/test.sh does)")
    port = _free_port()
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(PRISM), "mock", str(SPEC), "-h", "127.0.0.1", "-p", str(port), "--errors"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"Prism exited with {process.returncode}:\n{log.read_text()[-2000:]}")
            try:
                httpx.get(f"{url}/api/v1/main/logs/x", auth=("u", "p"), timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    pytest.fail(f"Prism did not answer within 180 s:\n{log.read_text()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
