"""Recorded polls of real DAG runs (``tests/samples/*_progress_polls*.json``, made by
``record_polls.py``) as models; ``tests/fake_airflow.FakeAirflow.replay`` serves them poll by poll."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kestra_airflow_sdk.airflow import DagRun, TaskInstance

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
RECORDINGS = sorted(p.name for p in SAMPLES.glob("*_progress_polls*.json"))


def load_polls(name: str) -> list[dict[str, Any]]:
    """The raw bodies of each recorded poll."""
    return json.loads((SAMPLES / name).read_text())  # type: ignore[no-any-return]


def parse_poll(poll: dict[str, Any]) -> tuple[DagRun, list[TaskInstance]]:
    run = DagRun.model_validate(poll["dag_run"])
    tis = [TaskInstance.model_validate(t) for t in poll["task_instances"]["task_instances"]]
    return run, tis
