"""How the tests record vcrpy cassettes without any credential or secret in them.

Structural, not a regex on output: auth headers and cookies are dropped, the login body and the JWT
of the login answer are replaced, and — when a flow runs — every value its ``SecretResolver``
resolved is masked in request and response bodies (``redact=runner.secrets.redact``), so a secret
that went into a DAG run's ``conf`` never reaches a file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import vcr

FILTERED = "<filtered>"
Redact = Callable[[str], str]


def _text(body: Any) -> str | None:
    if isinstance(body, bytes):
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return body if isinstance(body, str) else None


def _scrub_request(redact: Redact | None) -> Callable[[Any], Any]:
    def scrub(request: Any) -> Any:
        if request.path.endswith("/auth/token"):
            request.body = json.dumps({"username": FILTERED, "password": FILTERED}).encode()
        text = _text(request.body)
        if redact is not None and text is not None:
            request.body = redact(text).encode()
        if redact is not None:
            request.uri = redact(request.uri)
        return request

    return scrub


def _scrub_response(redact: Redact | None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def scrub(response: dict[str, Any]) -> dict[str, Any]:
        body = response.get("body", {}).get("string", b"")
        text = _text(body)
        if text is not None and "access_token" in text:
            response["body"]["string"] = json.dumps({"access_token": FILTERED}).encode()
        elif text is not None and redact is not None:
            response["body"]["string"] = redact(text).encode()
        return response

    return scrub


def recorder(directory: Path, *, record: bool, redact: Redact | None = None) -> vcr.VCR:
    """A VCR writing to (``record``) or replaying from ``directory`` with the filters above."""
    return vcr.VCR(
        cassette_library_dir=str(directory),
        record_mode="all" if record else "none",
        match_on=["method", "path", "query"],
        filter_headers=["authorization", "cookie", "set-cookie"],
        before_record_request=_scrub_request(redact),
        before_record_response=_scrub_response(redact),
        decode_compressed_response=True,
    )
