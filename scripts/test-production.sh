#!/usr/bin/env bash
# The production-profile tests (tests/integration/test_production.py): Airflow 3.3.2 on PostgreSQL with
# Redis, 4 API workers and 2 Celery workers, started by the tests through
# `AIRFLOW_PROFILE=production scripts/airflow.sh 3 start` (about 15 minutes on a 2-core machine).
# Not yet part of scripts/test.sh (see issue 14); this runs them on their own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/bootstrap.sh
AIRFLOW_PROFILE=production scripts/airflow.sh 3 install
KAS_PRODUCTION=1 exec .venv/bin/pytest -q -p no:cacheprovider tests/integration/test_production.py -rxs "$@"
