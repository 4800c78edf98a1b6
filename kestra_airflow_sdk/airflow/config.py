"""Client configuration checked before any request: the Airflow root URL and the credentials."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from .auth import AirflowPasswordAuth, BearerTokenAuth
from .errors import InvalidArgumentError
from .versions import ApiVersion

__all__ = ["build_auth", "root_url"]


def root_url(base_url: str) -> tuple[str, ApiVersion | None]:
    """Validate ``base_url`` and strip a trailing ``/api/v1`` or ``/api/v2`` (returned as a hint)."""
    expected = f"base_url: expected an http(s) URL such as http://localhost:8080, got {_shown_url(base_url)}"
    if not isinstance(base_url, str) or not base_url.strip():
        raise InvalidArgumentError(expected)
    try:
        url = httpx.URL(base_url.strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        raise InvalidArgumentError(expected) from None
    if url.username or url.password:
        raise InvalidArgumentError(
            "base_url: must not contain credentials; pass username= and password= (or token=) instead"
        )
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidArgumentError(expected)
    root = str(url.copy_with(query=None, fragment=None)).rstrip("/")
    for version in ApiVersion:
        suffix = f"/api/{version.value}"
        if root.endswith(suffix):
            return root[: -len(suffix)], version
    return root, None


def _shown_url(value: object) -> str:
    """``repr`` of a rejected URL with any ``user:password@`` part masked (never echo a secret)."""
    if not isinstance(value, str):
        return repr(value)
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "", value
    if "@" in rest:  # mask up to the last "@": a password may contain "/", ":" or "@"
        rest = "***@" + rest.rpartition("@")[2]
    return repr(f"{scheme}{sep}{rest}")


def build_auth(
    base_url: str,
    username: str | None,
    password: str | SecretStr | None,
    token: str | SecretStr | None,
    auth: httpx.Auth | None,
) -> httpx.Auth | None:
    """The :class:`httpx.Auth` for one way of signing in (at most one may be given)."""
    given = [
        name
        for name, value in (("username/password", username or password), ("token", token), ("auth", auth))
        if value
    ]
    if len(given) > 1:
        raise InvalidArgumentError(
            f"credentials: pass only one of username/password, token or auth; got {given}"
        )
    if auth is not None:
        if not isinstance(auth, httpx.Auth):
            raise InvalidArgumentError(f"auth: expected an httpx.Auth, got {type(auth).__name__}")
        return auth
    if token:
        return BearerTokenAuth(token)
    if username or password:
        if not username or not password:
            raise InvalidArgumentError("username/password: both are needed, got only one of them")
        return AirflowPasswordAuth(username, password, root_url=base_url)
    return None
