#!/usr/bin/env bash
# Only the tests on the production profile (Airflow 3.3.2 on PostgreSQL with Redis, 4 API workers and
# 2 Celery workers, started by the tests through `AIRFLOW_PROFILE=production scripts/airflow.sh 3 start`):
# tests/integration/test_production.py, and the client, flows, history and reliability modules
# (tests/airflow_servers.py SERVER_KINDS; 83 tests, about 10 minutes on the 2-core box). scripts/test.sh runs
# them too, with everything else.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/bootstrap.sh
AIRFLOW_PROFILE=production scripts/airflow.sh 3 install
KAS_SERVER_KINDS=airflow3-production exec .venv/bin/pytest -q -p no:cacheprovider tests/integration -rxs "$@"
