"""A 403 under basic auth: a wrong password or a missing permission (kestra_airflow_sdk/airflow/forbidden.py).

The fake answers as the real servers were seen to (checked with curl on 2.11.2 and 2.10.5): Airflow
2.11.2 answers a wrong username or password with the same ``403`` problem body as a missing
permission; its FAB login page (``GET /login/`` with a CSRF token, ``POST /login/``) redirects an
accepted user to ``/home`` and a refused one back to ``/login/?next=/home``. Airflow 2.10.5 answers
``401`` to wrong credentials; Airflow 3 (``/api/v2``) is never asked.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest

from kestra_airflow_sdk import AirflowClient, AsyncAirflowClient
from kestra_airflow_sdk.airflow import AuthenticationError, PermissionDeniedError

USERS = {"admin": "admin", "viewer": "viewer-pw"}
CSRF = "IjQ2YjE.tok-en_42"
FORBIDDEN = {
    "detail": None,
    "status": 403,
    "title": "Forbidden",
    "type": "https://airflow.apache.org/docs/apache-airflow/2.11.2/stable-rest-api-ref.html#section/Errors/PermissionDenied",
}
LOGIN_PAGE = f"""<form class="form" action="" method="post" name="login">
<input id="csrf_token" name="csrf_token" type="hidden" value="{CSRF}">
<input class="form-control" id="username" name="username" required type="text" value="">
</form>"""


class Fab:
    """Airflow 2 with FAB: ``admin`` may do anything, ``viewer`` may only read DAGs."""

    def __init__(self, *, wrong_password_status: int = 403, login_page: bool = True) -> None:
        self.wrong_password_status = wrong_password_status
        self.login_page = login_page
        self.paths: list[str] = []

    def user(self, request: httpx.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        name, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return name if USERS.get(name) == password else None

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.paths.append(f"{request.method} {path}")
        if path == "/api/v2/version":
            return httpx.Response(404, json={"detail": "Not Found"})
        if path == "/api/v1/version":
            return httpx.Response(200, json={"version": "2.11.2", "git_version": None})
        if path == "/login/":
            return self.login(request)
        if path == "/home":
            return httpx.Response(200, text="<html>home</html>")
        user = self.user(request)
        if user is None and request.headers.get("Authorization"):
            if self.wrong_password_status == 401:
                return httpx.Response(401, json={**FORBIDDEN, "status": 401, "title": "Unauthorized"})
            return httpx.Response(403, json=FORBIDDEN)
        if path == "/api/v1/dags" and request.method == "GET" and user is not None:
            return httpx.Response(200, json={"dags": [], "total_entries": 0})
        if user == "admin":
            return httpx.Response(200, json={"dag_id": "d", "is_paused": True})
        return httpx.Response(403, json=FORBIDDEN)

    def login(self, request: httpx.Request) -> httpx.Response:
        if not self.login_page:
            return httpx.Response(404, text="Not Found")
        if request.method == "GET":
            return httpx.Response(200, text=LOGIN_PAGE, headers={"Set-Cookie": "session=anonymous; Path=/"})
        assert "Authorization" not in request.headers  # the form is the only place credentials go
        assert request.headers.get("Cookie") == "session=anonymous"  # the page's session, for its CSRF token
        form = {key: values[0] for key, values in parse_qs(request.content.decode()).items()}
        assert form["csrf_token"] == CSRF
        if USERS.get(form["username"]) == form["password"]:
            return httpx.Response(302, headers={"Location": "/home", "Set-Cookie": "session=user; Path=/"})
        return httpx.Response(302, headers={"Location": "/login/?next=/home"})


Call = Callable[[AirflowClient], object]
LIST: Call = lambda c: c.list_dags()  # noqa: E731
PAUSE: Call = lambda c: c.pause_dag("d")  # noqa: E731


def _error(fab: Fab, username: str, password: str, call: Call = LIST) -> Exception:
    with AirflowClient(
        "http://airflow.test", username=username, password=password, transport=httpx.MockTransport(fab.handle)
    ) as client:
        with pytest.raises((AuthenticationError, PermissionDeniedError)) as err:
            call(client)
        assert not list(client._http.cookies.jar)  # the login page's cookies are dropped
    return err.value


def test_a_wrong_password_answered_403_is_an_authentication_error() -> None:
    fab = Fab()
    error = _error(fab, "admin", "wrong-password-123")
    assert type(error) is AuthenticationError
    assert error.status == 403 and error.path == "/api/v1/dags"
    assert str(error).startswith("Listing DAGs failed: Airflow answered 403 Forbidden: Forbidden.")
    assert "refused the username or password of 'admin'" in str(error)
    assert "wrong-password-123" not in str(error) and "wrong-password-123" not in repr(error)
    assert fab.paths[-3:] == ["GET /login/", "POST /login/", "GET /login/"]  # refused: back to the login page


def test_an_unknown_user_is_an_authentication_error() -> None:
    error = _error(Fab(), "nobody", "x")
    assert type(error) is AuthenticationError
    assert "'nobody'" in str(error)


def test_valid_credentials_without_the_permission_stay_permission_denied() -> None:
    fab = Fab()
    error = _error(fab, "viewer", "viewer-pw", PAUSE)
    assert type(error) is PermissionDeniedError
    assert error.status == 403
    assert "credentials of 'viewer' are valid" in str(error)
    assert "lacks the permission" in str(error)
    assert fab.paths[-3:] == ["GET /login/", "POST /login/", "GET /home"]


def test_the_verdict_is_asked_once_per_client() -> None:
    fab = Fab()
    transport = httpx.MockTransport(fab.handle)
    with AirflowClient(
        "http://airflow.test", username="viewer", password="viewer-pw", transport=transport
    ) as c:
        for _ in range(3):
            with pytest.raises(PermissionDeniedError, match="are valid"):
                c.pause_dag("d")
    assert fab.paths.count("POST /login/") == 1


def test_when_the_login_page_cannot_tell_the_message_says_both() -> None:
    error = _error(Fab(login_page=False), "admin", "wrong")
    assert type(error) is PermissionDeniedError
    assert "Either the username or password of 'admin' is wrong" in str(error)
    assert "or that user lacks the permission" in str(error)


def test_airflow_2_10_answers_401_without_asking_the_login_page() -> None:
    fab = Fab(wrong_password_status=401)
    error = _error(fab, "admin", "wrong")
    assert type(error) is AuthenticationError and error.status == 401
    assert not any("/login/" in path for path in fab.paths)


def test_airflow_3_403_is_not_probed() -> None:
    paths: list[str] = []

    def airflow3(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == "/api/v2/version":
            return httpx.Response(200, json={"version": "3.3.2", "git_version": None})
        if request.url.path == "/auth/token":
            return httpx.Response(201, json={"access_token": "t"})
        return httpx.Response(403, json={"detail": "Forbidden"})

    with (
        AirflowClient(
            "http://airflow.test", username="admin", password="pw", transport=httpx.MockTransport(airflow3)
        ) as client,
        pytest.raises(PermissionDeniedError) as err,
    ):
        client.list_dags()
    assert type(err.value) is PermissionDeniedError
    assert "/login/" not in paths


def test_the_async_client_tells_them_apart_too() -> None:
    fab = Fab()

    async def main() -> Exception:
        async with AsyncAirflowClient(
            "http://airflow.test",
            username="admin",
            password="wrong",
            transport=httpx.MockTransport(fab.handle),
        ) as client:
            with pytest.raises(AuthenticationError) as err:
                await client.list_dags()
            return err.value

    assert "refused the username or password" in str(asyncio.run(main()))
