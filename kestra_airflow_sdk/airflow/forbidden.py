"""A 403 under HTTP basic auth (Airflow 2): a wrong password, or a missing permission?

Airflow 2.10 answers ``401`` to a wrong username or password, but Airflow 2.11 (FAB provider 1.5)
treats the request as anonymous and answers ``403 Forbidden`` with the very body of a missing
permission. To tell them apart, the session asks what every user with valid credentials may do:
log in on Airflow's login page (``GET /login/`` for the form's CSRF token, ``POST /login/``). FAB
sends a user it accepts on (``/home``), and one it refuses back to the login page. When the page
cannot tell (another auth type, a proxy in front, an unexpected answer), the error says both
possibilities.
"""

from __future__ import annotations

import re
from enum import Enum

import httpx

from .errors import ApiError, AuthenticationError, PermissionDeniedError

__all__ = ["LOGIN_PAGE", "Verdict", "csrf_token", "explain_forbidden", "verdict_of_login"]

#: Flask-AppBuilder's login page, under the webserver root
LOGIN_PAGE = "/login/"

_CSRF = re.compile(r"""<input[^>]*\bname=["']csrf_token["'][^>]*>""")
_VALUE = re.compile(r"""\bvalue=["']([^"']+)["']""")


class Verdict(Enum):
    """What the login page said about the credentials."""

    ACCEPTED = "accepted"
    REFUSED = "refused"
    UNKNOWN = "unknown"


def csrf_token(page: httpx.Response) -> str | None:
    """The CSRF token of the login form on Airflow's login page, or None (no such form)."""
    if page.status_code != 200:
        return None
    field = _CSRF.search(page.text)
    value = _VALUE.search(field.group(0)) if field else None
    return value.group(1) if value else None


def verdict_of_login(answer: httpx.Response) -> Verdict:
    """Read the answer to ``POST /login/`` (redirects followed): back on the login page means refused."""
    if answer.status_code != 200 or not answer.history:
        return Verdict.UNKNOWN  # FAB always redirects after a login form
    return Verdict.REFUSED if answer.url.path.endswith(LOGIN_PAGE) else Verdict.ACCEPTED


def explain_forbidden(error: ApiError, verdict: Verdict, username: str) -> ApiError:
    """The error for a 403 once the login page has (or has not) judged ``username``'s credentials."""
    fields = {
        "status": error.status,
        "detail": error.detail,
        "method": error.method,
        "path": error.path,
        "retry_after": error.retry_after,
    }
    if verdict is Verdict.REFUSED:
        return AuthenticationError(
            f"{error}. Airflow refused the username or password of {username!r} (its login page "
            "rejected them; Airflow 2.11 answers 403, not 401, to wrong credentials)",
            **fields,
        )
    if verdict is Verdict.ACCEPTED:
        return PermissionDeniedError(
            f"{error}. The credentials of {username!r} are valid (Airflow's login page accepted them): "
            "that user lacks the permission for this",
            **fields,
        )
    return PermissionDeniedError(
        f"{error}. Either the username or password of {username!r} is wrong (Airflow 2.11 answers 403 "
        "to wrong credentials) or that user lacks the permission for this; Airflow's login page "
        f"({LOGIN_PAGE}) could not tell which",
        **fields,
    )
