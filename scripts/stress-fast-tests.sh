#!/usr/bin/env bash
# The fast suite (everything but the integration tests: no Airflow server needed) N times in a row
# (default 20) while 2 busy processes saturate the CPU: proof that no test depends on the machine's
# speed. Prints each run's result and "fast suite under CPU load: P of N runs passed"; exits non-zero
# if any run failed (the log of a failed run is kept and its path printed).
# The integration tests that compare the times of a real run (e.g. the Gantt bars of
# tests/integration/test_plots.py) need a server and do not run here; the rules they check are also
# tested here on recorded rows with the durations that differ between machines (tests/history/
# test_plots.py: tries from 0 ms to an hour around plots.SHORTEST_BAR).
#
#   scripts/stress-fast-tests.sh [N] [pytest args...]
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-20}"
shift || true
[ -x .venv/bin/pytest ] || scripts/bootstrap.sh
# the Kestra contract tests need the Prism mock from npm, as scripts/test.sh installs it
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
logs="$(mktemp -d "${TMPDIR:-/tmp}/kas-stress.XXXXXX")"
busy=()
for _ in 1 2; do
  (while :; do :; done) &
  busy+=($!)
done
trap 'kill "${busy[@]}" 2>/dev/null; wait 2>/dev/null' EXIT
echo "running the fast suite $runs times with 2 busy processes (pids ${busy[*]}); logs in $logs"
passed=0
for i in $(seq 1 "$runs"); do
  start=$SECONDS
  if .venv/bin/pytest -q -p no:cacheprovider -m "not integration" "$@" > "$logs/run-$i.log" 2>&1; then
    passed=$((passed + 1))
    echo "run $i/$runs: passed in $((SECONDS - start))s ($(tail -1 "$logs/run-$i.log"))"
    rm -f "$logs/run-$i.log"
  else
    echo "run $i/$runs: FAILED in $((SECONDS - start))s, log: $logs/run-$i.log"
    grep -E "^(FAILED|ERROR) " "$logs/run-$i.log" | head -20
  fi
done
echo "fast suite under CPU load: $passed of $runs runs passed"
[ "$passed" -eq "$runs" ]
