#!/usr/bin/env bash
# The main job, from nothing: install the SDK, start a real Airflow 3 on 127.0.0.1 with the
# project's example DAGs, trigger hello_world_dag with a conf, wait, print the run and its task
# instances, and stop Airflow again (also on failure or Ctrl-C). Each step says what it does and how
# long it takes (times measured on a 2-core machine; see README.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
t0=$SECONDS
step() { echo "[demo $(printf '%3d' $((SECONDS - t0)))s] $*"; }

export AIRFLOW_PORT="${AIRFLOW_PORT:-28180}"
WORK="${AIRFLOW_WORK_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kestra-airflow-sdk}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$WORK/demo-home3}"
VENV="${AIRFLOW_VENV:-$WORK/venv3-3.3.2}"

if [ -x .venv/bin/python ]; then
  step "checking the SDK in .venv is up to date (about 25 s)"
else
  step "installing the SDK and its dev tools into .venv (first run only, about 2.5 minutes)"
fi
scripts/bootstrap.sh

if [ ! -f "$VENV/.installed-3.3.2" ]; then
  step "installing Airflow 3.3.2 into $VENV (first run only, about 3.5 minutes)"
  scripts/airflow.sh 3 install
fi

trap 'step "stopping Airflow"; scripts/airflow.sh 3 stop >/dev/null 2>&1 || true' EXIT
step "starting Airflow 3.3.2 on http://127.0.0.1:${AIRFLOW_PORT} with a fresh database (about 50 s)"
AIRFLOW_RESET=1 scripts/airflow.sh 3 start | sed 's/^/    /'

step "triggering hello_world_dag with a conf and waiting for it to finish (about 30 s)"
.venv/bin/python examples/hello_world.py "http://127.0.0.1:${AIRFLOW_PORT}" admin admin
step "demo finished"
