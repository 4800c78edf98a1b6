"""A tiny in-memory Airflow REST API for fast unit tests of the core (an httpx.MockTransport).

It is not a substitute for the real servers (the integration tests are); it exists to drive edge
cases deterministically: page-size clamping, token expiry, version probing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class FakeAirflow:
    api: str = "v2"
    max_page: int = 3
    runs: list[dict[str, Any]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)
    logins: int = 0
    cursor: bool = False

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.paths.append(request.url.path)
        path = request.url.path
        if path == "/auth/token":
            self.logins += 1
            token = f"token-{self.logins}"
            self.valid_tokens = {token}
            return httpx.Response(201, json={"access_token": token})
        prefix = f"/api/{self.api}"
        if not path.startswith(prefix):
            return httpx.Response(404, json={"detail": "Not Found"})
        path = path[len(prefix) :]
        if path == "/version":
            return httpx.Response(
                200, json={"version": "3.3.2" if self.api == "v2" else "2.10.5", "git_version": None}
            )
        if self.api == "v2":
            auth = request.headers.get("authorization", "")
            if not auth:
                return httpx.Response(401, json={"detail": "Not authenticated"})
            if auth.removeprefix("Bearer ") not in self.valid_tokens:
                return httpx.Response(403, json={"detail": "Invalid JWT token"})
        if path.endswith("/dagRuns") and request.method == "GET":
            limit = min(int(request.url.params.get("limit", 50)), self.max_page)  # silent clamp
            if self.cursor and "cursor" in request.url.params:
                start = int(request.url.params["cursor"] or 0)
                page = self.runs[start : start + limit]
                nxt = str(start + limit) if start + limit < len(self.runs) else None
                return httpx.Response(200, json={"dag_runs": page, "total_entries": None, "next_cursor": nxt})
            offset = int(request.url.params.get("offset", 0))
            return httpx.Response(
                200, json={"dag_runs": self.runs[offset : offset + limit], "total_entries": len(self.runs)}
            )
        if path.endswith("/dagRuns") and request.method == "POST":
            body = json.loads(request.content)
            return httpx.Response(
                200,
                json={
                    "dag_id": "d",
                    "dag_run_id": body.get("dag_run_id") or "manual__x",
                    "state": "queued",
                    "conf": body.get("conf"),
                },
            )
        return httpx.Response(404, json={"detail": f"no route {path}"})


def make_runs(n: int) -> list[dict[str, Any]]:
    return [{"dag_id": "d", "dag_run_id": f"r{i}", "state": "success"} for i in range(n)]
