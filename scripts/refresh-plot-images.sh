#!/usr/bin/env bash
# Copy the pictures of docs/history.md from the tests' build folder into docs/img/.
# The tests draw them into build/img/ (git-ignored): run them first, e.g.
#   KAS_AIRFLOW3_URL=... .venv/bin/pytest tests/history/test_plots.py tests/integration/test_plots.py -k "not airflow2"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
images=(history-gantt.png history-durations.png history-outcomes.png)
missing=()
for image in "${images[@]}"; do
  [ -f "build/img/$image" ] || missing+=("build/img/$image")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing: ${missing[*]} (run tests/history/test_plots.py and tests/integration/test_plots.py first)" >&2
  exit 1
fi
mkdir -p docs/img
for image in "${images[@]}"; do
  cp "build/img/$image" "docs/img/$image"
  echo "docs/img/$image"
done
