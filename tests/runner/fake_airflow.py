"""The runner tests' fake Airflow: the one fake of the fast tests (``tests/fake_airflow.py``) as an
Airflow 3 with three DAGs, reached by the clients the runner opens through their ``transport=`` seam.

Each DAG follows a script of states, one per poll (``{"ok": ["queued", "running", "success"]}``);
the last state repeats. A poll is a read of the run, or a list of the DAG's finished runs (the
batched poll of several waits on one DAG), which moves all the DAG's runs one step. Requests and DAG
runs are recorded for assertions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from kestra_airflow_sdk.runner.clients import AirflowClients
from tests import fake_airflow as one
from tests.fake_airflow import FakeRun

__all__ = ["FakeAirflow", "FakeRun", "fake_airflow", "route_runner_to"]


@dataclass
class FakeAirflow(one.FakeAirflow):
    """The one fake with the runner tests' defaults: Airflow 3, only the DAGs of ``scripts`` exist
    (others answer 404), and the password is ``admin``."""

    default_script: list[str] | None = None
    password: str | None = "admin"


def route_runner_to(fake: FakeAirflow) -> Callable[[], None]:
    """Make the Airflow clients the runner opens reach ``fake`` (through their public ``transport=``
    seam); returns the function that undoes it."""
    transport = fake.transport()
    opened = AirflowClients.get

    def through_fake(self: AirflowClients, base_url: str, **options: Any) -> Any:
        return opened(self, base_url, **options, transport=transport)

    AirflowClients.get = through_fake  # type: ignore[method-assign]

    def undo() -> None:
        AirflowClients.get = opened  # type: ignore[method-assign]

    return undo


@pytest.fixture
def fake_airflow() -> Iterator[FakeAirflow]:
    fake = FakeAirflow(
        scripts={
            "ok": ["queued", "running", "success"],
            "fails": ["queued", "running", "failed"],
            "forever": ["running"],
        }
    )
    undo = route_runner_to(fake)
    try:
        yield fake
    finally:
        undo()
