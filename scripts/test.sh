#!/usr/bin/env bash
# The whole test suite, from nothing: install the SDK and its dev tools, lint, type-check, then run
# every test. Integration tests start real Airflow servers themselves - 3.3.2 and 2.10.5 on SQLite and
# 3.3.2's production profile (PostgreSQL, Redis, Celery; scripts/airflow.sh; venvs cached in
# ~/.cache/kestra-airflow-sdk) - in the background while the fast tests run, and FAIL if they cannot;
# the servers' tests run concurrently (pytest-xdist). KAS_SERVER_KINDS picks some server kinds
# (e.g. KAS_SERVER_KINDS=airflow3,airflow2: the two SQLite servers only; the production profile is
# installed only when selected).
# Debian packages it installs when missing (apt-get, as root or through passwordless sudo): chromium
# and npm (browser tests; the Prism mock and the widget renderer come from npm), postgresql and
# redis-server (the production profile). KAS_NO_ROOT=1 never runs apt-get: the server kinds default to
# airflow3,airflow2, and the tests that need a program still missing are deselected (and listed):
# without chromium the two browser tests (tests/notebooks/test_browser.py, test_jupyterlab.py); without
# npm those and the tests on the Prism mock (tests/kestra/test_contract.py, the code blocks of
# README.md and docs/kestra.md).
# Then the compat runs (scripts/compat.sh), when asked for: the integration modules of COMPAT_MODULES
# against each release of KAS_COMPAT_VERSIONS (e.g. KAS_COMPAT_VERSIONS="2.11.2 3.1.8 3.2.2" beside
# the 2.10.5 and 3.3.2 of the main run; default: none, until their cost on CI is measured), one
# release at a time after the main run; their venvs are installed with the others
# (docs/reliability.md: the tested matrix and what each run costs).
# Prints the time of each phase and pytest's 15 slowest tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
no_root="${KAS_NO_ROOT:-0}"
case "$no_root" in
  0 | 1) ;;
  *) echo "KAS_NO_ROOT: expected 0 or 1, got '$no_root'" >&2; exit 2 ;;
esac
[ "$no_root" = 0 ] || export KAS_SERVER_KINDS="${KAS_SERVER_KINDS:-airflow3,airflow2}"
# the releases the compat runs test, and the integration modules they run (see docs/reliability.md)
compat_versions="${KAS_COMPAT_VERSIONS-}"
COMPAT_MODULES=(tests/integration/test_client.py tests/integration/test_flows.py
  tests/integration/test_history.py)
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

install_airflow() {  # both SQLite servers' venvs at once, then the compat releases'; a no-op when cached
  scripts/airflow.sh 3 install & local p3=$!
  scripts/airflow.sh 2 install & local p2=$!
  wait $p3
  wait $p2
  local version
  for version in $compat_versions; do
    AIRFLOW_VERSION="$version" scripts/airflow.sh "${version%%.*}" install
  done
}
install_browser() {  # Debian's chromium, and the widget renderer + require.js + Prism from npm
  local missing=() sudo=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v npm >/dev/null || missing+=(npm)
  if [ ${#missing[@]} -gt 0 ] && [ "$no_root" = 0 ]; then
    [ "$(id -u)" = 0 ] || sudo=(sudo -n)
    "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  command -v npm >/dev/null || return 0  # KAS_NO_ROOT=1 without npm: its tests are deselected
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
}
install_production() {  # the production profile's venv, PostgreSQL and Redis, when its tests run
  case ",$kinds," in *,airflow3-production,*) ;; *) return 0 ;; esac
  if [ "$no_root" = 1 ] && ! { command -v redis-server && ls /usr/lib/postgresql/*/bin/initdb; } >/dev/null 2>&1; then
    echo "KAS_NO_ROOT=1: the production profile needs Debian's postgresql and redis-server installed" >&2
    return 1
  fi
  AIRFLOW_PROFILE=production scripts/airflow.sh 3 install
}
not_run=()  # pytest --deselect arguments (KAS_NO_ROOT=1 only)
deselect_missing() {  # what KAS_NO_ROOT=1 leaves out for want of chromium or npm
  local browser=() prism=() id
  if ! command -v chromium >/dev/null; then
    browser=(tests/notebooks/test_browser.py tests/notebooks/test_jupyterlab.py tests/notebooks/test_jupyterlab_hitl.py)
  elif [ ! -x node_modules/.bin/prism ]; then
    browser=(tests/notebooks/test_browser.py)  # its widget renderer comes from npm
  fi
  if [ ! -x node_modules/.bin/prism ]; then
    prism=(tests/kestra/test_contract.py tests/kestra/test_contract_admin.py tests/kestra/test_migration_deploy.py
      "tests/docs/test_code_blocks.py::test_python_blocks_run_as_written[README.md-"
      "tests/docs/test_code_blocks.py::test_python_blocks_run_as_written[docs/kestra.md-")
  fi
  for id in "${browser[@]}" "${prism[@]}"; do not_run+=(--deselect "$id"); done
  [ ${#browser[@]} = 0 ] || echo "[test.sh] KAS_NO_ROOT=1 without chromium or npm: not running ${browser[*]}"
  [ ${#prism[@]} = 0 ] || echo "[test.sh] KAS_NO_ROOT=1 without npm (no Prism mock): not running" \
    "the Kestra contract tests and the code blocks of README.md and docs/kestra.md"
}
lint() {
  .venv/bin/ruff check .
  .venv/bin/ruff format --check .
}

phase bootstrap scripts/bootstrap.sh
# the server kinds this run tests (tests/airflow_servers.py selected_kinds(): KAS_SERVER_KINDS or all)
kinds=$(.venv/bin/python -c 'from tests.airflow_servers import selected_kinds; print(",".join(k.id for k in selected_kinds()))')
# the browser's and then the production profile's Debian packages (PostgreSQL, Redis): one apt-get at a time
phase installs env no_root="$no_root" kinds="$kinds" compat_versions="$compat_versions" bash -c "$(declare -f install_airflow install_browser install_production); install_airflow & a=\$!; install_browser; install_production; wait \$a"
[ "$no_root" = 0 ] || deselect_missing
phase mkdocs env NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet  # the docs, zero warnings
phase ruff lint
phase mypy .venv/bin/mypy kestra_airflow_sdk
phase layers .venv/bin/lint-imports  # layers point down: every contract of pyproject.toml [tool.importlinter]
# one worker per selected real server kind (tests/airflow_servers.py selected_kinds(): KAS_SERVER_KINDS
# or the default ones), each running that kind's tests once its server is up, concurrently with the other kinds' (tests/server_pool.py), plus one
# that keeps running the fast tests meanwhile; all of them run fast tests while the servers boot
workers=$(.venv/bin/python -c 'from tests.airflow_servers import selected_kinds; print(len(selected_kinds()) + 1)')
phase pytest .venv/bin/pytest -q -p no:cacheprovider --durations=15 -n "$workers" "${not_run[@]}" "$@"
# the other releases, one at a time: each starts its own server (scripts/compat.sh)
for version in $compat_versions; do
  phase "compat $version" scripts/compat.sh "$version" "${COMPAT_MODULES[@]}"
done
