#!/usr/bin/env bash
# Refresh docs/img/quickstart.png, the only way it changes: run the browser test of the quickstart
# notebook against a real Airflow 3 (it writes build/screenshots/quickstart.png, git-ignored), then
# copy that screenshot into the docs. Uses the server in KAS_AIRFLOW3_URL if set, else starts one.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/bootstrap.sh
.venv/bin/pytest -q -p no:cacheprovider "tests/notebooks/test_browser.py" -k airflow3
cp build/screenshots/quickstart.png docs/img/quickstart.png
echo "docs/img/quickstart.png refreshed from build/screenshots/quickstart.png"
