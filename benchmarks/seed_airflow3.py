"""Seed DAG runs into an Airflow 3 database the way ``POST /api/v2/dags/{dag_id}/dagRuns`` does.

Run in the *server's* environment (``history_bench.py`` does this with ``scripts/airflow.sh 3 exec python
seed_airflow3.py ...`` and the server's ``AIRFLOW_PROFILE`` / ``AIRFLOW_PORT`` / ``AIRFLOW_HOME``: its venv and its
database, SQLite or the production profile's PostgreSQL). It goes through Airflow's own code path for a REST
trigger (``TriggerDAGRunPostBody.validate_context`` then ``dag.create_dagrun(..., run_type=MANUAL,
triggered_by=REST_API, state=QUEUED)``, task instances included), in one process with a commit every 500 runs
instead of one HTTP request and one database transaction per run (7-50 runs/s through the API on the 2-core box,
SQLite). The rows are ordinary DAG runs that the API server then serves.

    python seed_airflow3.py FIRST LAST DAG_ID [DAG_ID ...]   # runs seed_{FIRST:06d} .. seed_{LAST-1:06d}
"""

from __future__ import annotations

import sys
import time


def main() -> None:
    from airflow.api_fastapi.core_api.datamodels.dag_run import TriggerDAGRunPostBody
    from airflow.models.dagbag import DBDagBag
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    first, last, dag_ids = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    started = time.monotonic()
    bag = DBDagBag()
    with create_session() as session:
        dags = {dag_id: bag.get_latest_version_of_dag(dag_id, session=session) for dag_id in dag_ids}
        for i in range(first, last):
            dag = dags[dag_ids[i % len(dag_ids)]]
            body = TriggerDAGRunPostBody(dag_run_id=f"seed_{i:06d}", logical_date=None, conf={"i": i})
            params = body.validate_context(dag)
            dag.create_dagrun(
                run_id=params["run_id"],
                logical_date=params["logical_date"],
                data_interval=params["data_interval"],
                run_after=params["run_after"],
                conf=params["conf"],
                run_type=DagRunType.MANUAL,
                triggered_by=DagRunTriggeredByType.REST_API,
                triggering_user_name="admin",
                state=DagRunState.QUEUED,
                partition_key=params["partition_key"],
                partition_date=params["partition_date"],
                session=session,
            )
            if (i - first + 1) % 500 == 0:
                session.commit()
    print(f"seeded {last - first} runs in {time.monotonic() - started:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
