#!/usr/bin/env bash
# Copy the pictures the tests draw into docs/img/: the plots of docs/history.md and docs/kestra.md (build/img/,
# from tests/history/test_plots.py, tests/migration/test_compare.py and, against real Airflow 3,
# tests/integration/test_plots.py) and the live
# JupyterLab screenshots of docs/notebooks.md (build/jupyterlab/, from tests/notebooks/test_jupyterlab.py).
# Run those tests first; the build folders are git-ignored and the tests never write into docs/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# source in the build folders -> name in docs/img
pictures=(
  "build/img/history-gantt.png:history-gantt.png"
  "build/img/history-durations.png:history-durations.png"
  "build/img/history-outcomes.png:history-outcomes.png"
  "build/img/history-cut-over.png:history-cut-over.png"
  "build/jupyterlab/watch-dag-runs-running.png:jupyterlab-running.png"
  "build/jupyterlab/watch-dag-runs-finished.png:jupyterlab-finished.png"
  "build/jupyterlab/execution.png:jupyterlab-execution.png"
)
missing=()
for picture in "${pictures[@]}"; do
  [ -f "${picture%%:*}" ] || missing+=("${picture%%:*}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing: ${missing[*]}" >&2
  echo "run tests/history/test_plots.py, tests/migration/test_compare.py, tests/integration/test_plots.py and tests/notebooks/test_jupyterlab.py first" >&2
  exit 1
fi
mkdir -p docs/img
for picture in "${pictures[@]}"; do
  cp "${picture%%:*}" "docs/img/${picture##*:}"
  echo "docs/img/${picture##*:}"
done
