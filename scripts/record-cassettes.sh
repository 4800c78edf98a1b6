#!/usr/bin/env bash
# Re-record the vcrpy cassettes in tests/cassettes/ from fresh real Airflow 3.3.2 and 2.10.5 servers.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/bootstrap.sh
KAS_RECORD_CASSETTES=1 .venv/bin/pytest -q -p no:cacheprovider tests/unit/test_recorded.py -k replay "$@"
.venv/bin/pytest -q -p no:cacheprovider tests/unit/test_recorded.py
