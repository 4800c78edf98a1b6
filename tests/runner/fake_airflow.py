"""The runner tests' fake Airflow: the one fake of the fast tests (``tests/fake_airflow.py``) as an
Airflow 3 with three DAGs, reached by the clients the runner opens: a runner is given
``fake.runtime()``, the SDK's runtime whose Airflow clients use the fake's transport (the
``fake_airflow`` fixture also installs it, for ``flow.run()`` and the CLI).

Each DAG follows a script of states, one per poll (``{"ok": ["queued", "running", "success"]}``);
the last state repeats. A poll is a read of the run, or a list of the DAG's finished runs (the
batched poll of several waits on one DAG), which moves all the DAG's runs one step. Requests and DAG
runs are recorded for assertions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from kestra_airflow_sdk.installed import using
from kestra_airflow_sdk.wiring import Runtime
from tests import fake_airflow as one
from tests.fake_airflow import FakeRun

__all__ = ["FakeAirflow", "FakeRun", "fake_airflow"]


@dataclass
class FakeAirflow(one.FakeAirflow):
    """The one fake with the runner tests' defaults: Airflow 3, only the DAGs of ``scripts`` exist
    (others answer 404), and the password is ``admin``."""

    default_script: list[str] | None = None
    password: str | None = "admin"

    def runtime(self) -> Runtime:
        """The SDK's runtime with every Airflow client a run opens reaching this fake."""
        return Runtime(transport=self.transport())


@pytest.fixture
def fake_airflow() -> Iterator[FakeAirflow]:
    fake = FakeAirflow(
        scripts={
            "ok": ["queued", "running", "success"],
            "fails": ["queued", "running", "failed"],
            "forever": ["running"],
        }
    )
    with using(fake.runtime()):
        yield fake
