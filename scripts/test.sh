#!/usr/bin/env bash
# The whole test suite, from nothing: install the SDK and its dev tools, lint, type-check, then run
# every test. Integration tests start real Airflow servers themselves - 3.3.2 and 2.10.5 on SQLite and
# 3.3.2's production profile (PostgreSQL, Redis, Celery; scripts/airflow.sh; venvs cached in
# ~/.cache/kestra-airflow-sdk) - in the background while the fast tests run, and FAIL if they cannot;
# the servers' tests run concurrently (pytest-xdist). KAS_SERVER_KINDS picks some server kinds
# (e.g. KAS_SERVER_KINDS=airflow3,airflow2: the two SQLite servers only).
# Prints the time of each phase and pytest's 15 slowest tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
suite_start=$SECONDS
timings=()
phase() {  # phase NAME COMMAND...: run it and record how long it took
  local name=$1 start=$SECONDS rc=0
  shift
  echo "[test.sh] $name ..."
  "$@" || rc=$?
  timings+=("$(printf '%-10s %4ds%s' "$name" $((SECONDS - start)) "$([ $rc = 0 ] || echo "  (failed: exit $rc)")")")
  return $rc
}
report() {
  echo "[test.sh] phase times:"
  printf '  %s\n' "${timings[@]}"
  echo "  total      $(printf '%4d' $((SECONDS - suite_start)))s"
}
trap report EXIT

install_airflow() {  # both SQLite servers' venvs at once; a no-op when cached
  scripts/airflow.sh 3 install & local p3=$!
  scripts/airflow.sh 2 install & local p2=$!
  wait $p3
  wait $p2
}
install_browser() {  # Debian's chromium, and the widget renderer + require.js + Prism from npm
  local missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v npm >/dev/null || missing+=(npm)
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
}
lint() {
  .venv/bin/ruff check .
  .venv/bin/ruff format --check .
}

phase bootstrap scripts/bootstrap.sh
# the browser's and then the production profile's Debian packages (PostgreSQL, Redis): one apt-get at a time
phase installs bash -c "$(declare -f install_airflow install_browser); install_airflow & a=\$!; install_browser; AIRFLOW_PROFILE=production scripts/airflow.sh 3 install; wait \$a"
phase mkdocs env NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet  # the docs, zero warnings
phase ruff lint
phase mypy .venv/bin/mypy kestra_airflow_sdk
phase layers .venv/bin/lint-imports  # layers point down: every contract of pyproject.toml [tool.importlinter]
# one worker per selected real server kind (tests/airflow_servers.py selected_kinds(): KAS_SERVER_KINDS
# or the default ones), each running that kind's tests once its server is up, concurrently with the other kinds' (tests/server_pool.py), plus one
# that keeps running the fast tests meanwhile; all of them run fast tests while the servers boot
workers=$(.venv/bin/python -c 'from tests.airflow_servers import selected_kinds; print(len(selected_kinds()) + 1)')
phase pytest .venv/bin/pytest -q -p no:cacheprovider --durations=15 -n "$workers" "$@"
