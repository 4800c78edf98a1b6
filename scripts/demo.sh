#!/usr/bin/env bash
# The main job, from nothing: install the SDK, start a real Airflow 3 on 127.0.0.1 with the
# project's example DAGs, trigger hello_world_dag with a conf, wait, print the run and its task
# instances, and stop Airflow again (also on failure or Ctrl-C).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
t0=$SECONDS
scripts/bootstrap.sh
export AIRFLOW_PORT="${AIRFLOW_PORT:-28180}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/kestra-airflow-sdk/demo-home3}"
trap 'scripts/airflow.sh 3 stop >/dev/null 2>&1 || true' EXIT
AIRFLOW_RESET=1 scripts/airflow.sh 3 start
.venv/bin/python examples/hello_world.py "http://127.0.0.1:${AIRFLOW_PORT}" admin admin
echo "demo finished in $((SECONDS - t0))s"
