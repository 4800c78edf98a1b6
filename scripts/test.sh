#!/usr/bin/env bash
# The whole test suite, from nothing: install the SDK and its dev tools, lint, type-check, then run
# every test. Integration tests start real Airflow 3.3.2 and 2.10.5 servers themselves
# (scripts/airflow.sh; venvs cached in ~/.cache/kestra-airflow-sdk) and FAIL if they cannot.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/bootstrap.sh
# install both Airflow versions up front (in parallel; a no-op when cached)
scripts/airflow.sh 3 install & p3=$!
scripts/airflow.sh 2 install & p2=$!
wait $p3; wait $p2
# the browser test: Debian's chromium, and the widget renderer + require.js from npm (no CDN offline)
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict  # the docs, zero warnings
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy kestra_airflow_sdk
.venv/bin/lint-imports --contract rest-history  # layers point down (pyproject.toml [tool.importlinter])
exec .venv/bin/pytest -q -p no:cacheprovider "$@"
