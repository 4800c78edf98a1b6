#!/usr/bin/env bash
# The integration tests against any Airflow 2.x or 3.x release:
#
#   scripts/compat.sh VERSION [PYTEST ARGS...]      e.g. scripts/compat.sh 2.11.2
#                                                         scripts/compat.sh 3.1.8 tests/integration/test_client.py
#
# Installs that release into its own cached venv (scripts/airflow.sh with AIRFLOW_VERSION, venv
# <cache>/venv<major>-<VERSION>), then runs the integration tests (default: tests/integration) on the
# SQLite server kind of its major version (KAS_SERVER_KINDS=airflow2 or airflow3), which the test
# session starts with that release (KAS_AIRFLOW<major>_VERSION, tests/airflow_servers.py) on free
# loopback ports with a fresh home of its own, and stops at the end. A test needing a feature the
# release lacks is skipped with the release that adds it ("needs Airflow 3.2 (...)"), never failed:
# the skipped tests and why are listed at the end (pytest -rs), with the time of each phase.
#
# Env: KAS_PYTHON the interpreter with the SDK and its dev tools (default .venv/bin/python, made by
# scripts/bootstrap.sh); the knobs of scripts/airflow.sh (AIRFLOW_WORK_DIR, AIRFLOW_CONSTRAINTS, ...).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
version="${1:-}"
if ! [[ "$version" =~ ^([23])\.[0-9]+\.[0-9]+$ ]]; then
  echo "usage: $0 VERSION [PYTEST ARGS...]   (VERSION: an Airflow 2.x.y or 3.x.y release, got '$version')" >&2
  exit 2
fi
major="${BASH_REMATCH[1]}"
shift
python="${KAS_PYTHON:-.venv/bin/python}"
[ -x "$python" ] || { echo "no $python: run scripts/bootstrap.sh first (or set KAS_PYTHON)" >&2; exit 2; }
[ $# -gt 0 ] || set -- tests/integration

start=$SECONDS
AIRFLOW_VERSION="$version" scripts/airflow.sh "$major" install
installed=$SECONDS
rc=0
env "KAS_AIRFLOW${major}_VERSION=$version" KAS_SERVER_KINDS="airflow$major" \
  "$python" -m pytest -q -p no:cacheprovider -m integration -rs "$@" || rc=$?
echo "[compat.sh] Airflow $version: install $((installed - start))s, tests $((SECONDS - installed))s (exit $rc)"
exit $rc
