"""A DAG that asks a person (Airflow 3.1+ human-in-the-loop operators), then uses the answer.

``hitl_dag``: ``review`` (an HITLOperator: "Approve" or "Reject", and a ``reason`` param) waits
for an answer; ``use_answer`` prints what was chosen and why, and fails on "Reject". On Airflow 2 the
operators do not exist: this file then defines no DAG (and imports cleanly).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

try:  # Airflow 3.1+
    from airflow.providers.standard.operators.hitl import HITLOperator
    from airflow.sdk import DAG, Param, task
except ImportError:  # Airflow 2.x (or 3.0): no human-in-the-loop operators, no DAG in this file
    HITLOperator = None

if HITLOperator is not None:
    with DAG(
        dag_id="hitl_dag",
        schedule=None,
        start_date=datetime(2024, 1, 1),
        catchup=False,
        is_paused_upon_creation=False,
        tags=["sdk-test", "hitl"],
    ):
        review = HITLOperator(
            task_id="review",
            subject="Publish the weekly report?",
            body="The report has **12** rows.",
            options=["Approve", "Reject"],
            params={"reason": Param("looks good", type="string", description="why")},
        )

        @task
        def use_answer(answer: dict[str, Any]) -> str:
            chosen = answer["chosen_options"][0]
            reason = answer["params_input"].get("reason")
            line = f"answer: {chosen} because {reason}"
            print(line)
            if chosen != "Approve":
                raise ValueError(line)
            return line

        use_answer(review.output)
