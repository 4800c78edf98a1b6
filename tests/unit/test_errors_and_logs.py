"""Error bodies of both versions map onto one hierarchy; task logs of both versions become text."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from kestra_airflow_sdk.airflow import ApiError, AuthenticationError, ConflictError, NotFoundError
from kestra_airflow_sdk.airflow.errors import error_from_response
from kestra_airflow_sdk.airflow.logs import log_text

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def sample_response(name: str) -> httpx.Response:
    text = (SAMPLES / name).read_text().rstrip()
    body, _, status_line = text.rpartition("\n")
    status = int(status_line.split()[1])
    request = httpx.Request("GET", "http://airflow.test/api/v2/dags/nope_dag")
    return httpx.Response(status, content=body.strip().encode(), request=request)


@pytest.mark.parametrize(
    ("name", "cls", "needle"),
    [
        ("v1_404_dag.txt", NotFoundError, "nope_dag was not found"),
        ("v2_404_dag.txt", NotFoundError, "nope_dag"),
        ("v1_409_duplicate_run_id.txt", ConflictError, "already exists"),
        ("v2_409_duplicate_run_id.txt", ConflictError, "Unique constraint violation"),
        ("v2_422_trigger_missing_logical_date.txt", ApiError, "logical_date: Field required"),
        ("v2_401_bad_token.txt", AuthenticationError, "Invalid JWT token"),  # Airflow 3: 403 for a bad token
        ("v2_401_no_token.txt", AuthenticationError, "Not authenticated"),
        ("v1_401_bad_password.txt", AuthenticationError, "Unauthorized"),
    ],
)
def test_error_mapping(name: str, cls: type[ApiError], needle: str) -> None:
    error = error_from_response(sample_response(name), action="Doing a thing")
    assert type(error) is cls
    assert needle in str(error)
    assert str(error).startswith("Doing a thing failed: Airflow answered")
    assert error.detail is not None


def test_v2_structured_log_becomes_text() -> None:
    content = json.loads((SAMPLES / "v2_task_log.json").read_text())["content"]
    text = log_text(content)
    assert "dag_run.conf = {'greeting': 'hi', 'n': 42}" in text
    assert text.count("\n") == len(content)


def test_v1_json_log_equals_plain_text_log() -> None:
    content = json.loads((SAMPLES / "v1_task_log.json").read_text())["content"]
    text = log_text(content)
    plain = (SAMPLES / "v1_task_log.txt").read_text()
    assert "dag_run.conf = {'greeting': 'hi', 'n': 42}" in text
    assert text.strip().splitlines()[-1] == plain.strip().splitlines()[-1]


def test_v2_exception_detail_is_rendered() -> None:
    event = {
        "event": "Task failed with exception",
        "level": "error",
        "error_detail": [
            {
                "exc_type": "ValueError",
                "exc_value": "boom",
                "frames": [{"filename": "x.py", "lineno": 3, "name": "f"}],
            }
        ],
    }
    text = log_text([event])
    assert "ValueError: boom" in text
    assert 'File "x.py", line 3, in f' in text
