"""Auth-flow building blocks of the request core (httpx ``auth_flow`` generators serve both drivers).

API-specific schemes (Airflow's password login) build on these in their own layer.
"""

from __future__ import annotations

from collections.abc import Generator

import httpx
from pydantic import SecretStr

__all__ = ["ANONYMOUS", "LOGIN", "BearerAuth", "is_anonymous"]

#: request extension that marks requests to endpoints that need no credentials (a version probe)
ANONYMOUS = "kestra_airflow_sdk.anonymous"
#: request extension that marks the login request an auth flow sends on its own
LOGIN = "kestra_airflow_sdk.login"


def is_anonymous(request: httpx.Request) -> bool:
    """True for a request marked :data:`ANONYMOUS` (no credentials are added to it)."""
    return bool(request.extensions.get(ANONYMOUS))


class BearerAuth(httpx.Auth):
    """Send a fixed ``Authorization: Bearer <token>`` header (the token kept as a ``SecretStr``).

    It reads no response body, so a streamed response (an event stream) stays streamed; a subclass
    that inspects answers sets ``requires_response_body``.
    """

    def __init__(self, token: str | SecretStr) -> None:
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(token='**********')"

    def authorize(self, request: httpx.Request) -> None:
        """Add the header to ``request`` (not to an anonymous one)."""
        if not is_anonymous(request):
            request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.authorize(request)
        yield request
