"""How much of Airflow's own example DAGs step 2 translates, and how many of those parity proves equal.

Not a timed benchmark: a report. Serve the example DAGs of the installed apache-airflow package,
read in place (never copied into the project), from a throw-away Airflow 3.3.2::

    AIRFLOW_PORT=28482 AIRFLOW_HOME=/tmp/examples3 AIRFLOW_RESET=1 WAIT_FOR_DAG=tutorial \\
      AIRFLOW_DAGS_DIR=$(echo ~/.cache/kestra-airflow-sdk/venv3-3.3.2/lib/python*/site-packages/airflow/example_dags) \\
      scripts/airflow.sh 3 start
    python -m benchmarks.native_examples http://127.0.0.1:28482 [--parity]

It prints a Markdown report: per DAG, fully / partly / not translated, the untranslated tasks with
their reasons, and (``--parity``) the parity of each fully translated DAG (DAGs that stay queued or
take longer than ``--timeout`` seconds are reported as such).
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from kestra_airflow_sdk import AirflowClient
from kestra_airflow_sdk.airflow.errors import AirflowError
from kestra_airflow_sdk.migration import native_flow_for_dag, parity


def _kind(result: Any) -> str:
    native = sum(1 for t in result.tasks if t.status == "native")
    if result.native:
        return "full"
    return "partly" if native else "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--parity", action="store_true", help="run parity on the fully translated DAGs")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    with AirflowClient(args.url, username="admin", password="admin") as client:
        dags = sorted(client.list_dags(), key=lambda d: d.dag_id)
        results = {d.dag_id: native_flow_for_dag(client, d.dag_id, namespace="examples") for d in dags}
        outcome: dict[str, str] = {}
        if args.parity:
            for dag_id, result in results.items():
                if not result.native:
                    continue
                if next(d for d in dags if d.dag_id == dag_id).is_paused:
                    client.unpause_dag(dag_id)
                try:
                    frame = parity(client, dag_id, result.flow, timeout=args.timeout)
                except AirflowError as exc:
                    outcome[dag_id] = f"not compared: {type(exc).__name__}: {str(exc)[:120]}"
                    continue
                differing = frame[~frame["equal"]]
                outcome[dag_id] = (
                    "equal"
                    if frame.attrs["equal"]
                    else "differs: " + "; ".join(f"{r.task} ({r.note})" for r in differing.itertuples())
                )
    kinds = Counter(_kind(r) for r in results.values())
    tasks = Counter(t.status for r in results.values() for t in r.tasks)
    print(f"{len(results)} example DAGs, {sum(tasks.values())} tasks ({tasks['native']} translated)\n")
    print(f"- fully translated: {kinds['full']}\n- partly: {kinds['partly']}\n- not at all: {kinds['none']}")
    if args.parity:
        equal = sum(1 for o in outcome.values() if o == "equal")
        print(f"- parity equal: {equal} of {len(outcome)} fully translated")
    print("\n| DAG | translated | parity / untranslated tasks |\n|---|---|---|")
    for dag_id, result in results.items():
        native = sum(1 for t in result.tasks if t.status == "native")
        detail = (
            outcome.get(dag_id, "")
            if result.native
            else "; ".join(f"`{t.task_id}` ({t.operator}): {t.reason}" for t in result.untranslated)
        )
        print(f"| {dag_id} | {native}/{len(result.tasks)} | {detail.replace('|', '/')} |")
    reasons = Counter(t.reason.split(" (")[0] for r in results.values() for t in r.untranslated)
    print("\n| reason a task was not translated | tasks |\n|---|---|")
    for reason, count in reasons.most_common():
        print(f"| {reason.replace('|', '/')} | {count} |")


if __name__ == "__main__":
    main()
