#!/usr/bin/env bash
# Start/stop a throw-away real Airflow on 127.0.0.1 for the SDK's demo and integration tests.
#
#   scripts/airflow.sh 3|2 start|stop|status|install|restart-api
#   scripts/airflow.sh 3|2 exec COMMAND [ARG...]
#
#   restart-api stops and starts only the REST component (api-server / webserver) of a running
#   server, same port and database, and waits until it answers again.
#   exec runs COMMAND in the server's environment (its venv first on PATH, AIRFLOW_HOME and the
#   AIRFLOW__* config of the profile, e.g. the PostgreSQL connection) - same knobs as start.
#
#   3 = Airflow 3.3.2 (REST /api/v2, JWT)       default port 28080
#   2 = Airflow 2.10.5 (REST /api/v1, basic auth) default port 28081
#
# Env knobs (all optional):
#   AIRFLOW_VERSION     another release of that major version, e.g. 2.11.2 or 3.1.8 (default above);
#                       its own venv (below), so releases never share one (scripts/compat.sh)
#   AIRFLOW_CONSTRAINTS a pip constraints file or URL for the install, e.g. Airflow's official
#                       https://raw.githubusercontent.com/apache/airflow/constraints-<version>/constraints-3.11.txt
#                       (default: scripts/airflow-constraints/<version>.txt when there is one - the pins a
#                       release needs against today's PyPI - else none: apache-airflow==<version> alone)
#   AIRFLOW_PORT        REST port (serve-logs uses PORT+1000)
#   AIRFLOW_WORK_DIR    where venvs + homes live      (default ${XDG_CACHE_HOME:-$HOME/.cache}/kestra-airflow-sdk)
#   AIRFLOW_VENV        venv path                     (default $AIRFLOW_WORK_DIR/venv<major>-<version>) - cached between runs
#   AIRFLOW_HOME        Airflow home (SQLite DB, logs, pids) (default $AIRFLOW_WORK_DIR/home<major>-<port>)
#   AIRFLOW_DAGS_DIR    DAG folder                    (default <repo>/tests/dags)
#   AIRFLOW_RESET=1     wipe AIRFLOW_HOME before start (fresh DB)
#   WAIT_FOR_DAG        dag_id to wait for after start (default hello_world_dag; empty = don't wait)
#   AIRFLOW_USERNAME / AIRFLOW_PASSWORD  (default admin / admin)
#   PYTHON              interpreter for the venv       (default python3)
#   AIRFLOW_PROFILE     sqlite (default) | production: Airflow 3 on PostgreSQL + Redis + Celery
#                       workers, 4 API workers (scripts/airflow-production.sh; own venv and home)
#
# Gotchas this script handles (verified against the real servers):
#  * Airflow 2's SequentialExecutor spawns `airflow tasks run` by name: the venv must be on PATH.
#  * Airflow 3 tasks talk to the API server through execution_api_server_url: it must match the port.
#  * Airflow 3's SimpleAuthManager only generates passwords that are missing from its password file.
#  * New DAGs are paused at creation by default; the DAG folder scan interval is 300 s by default.
#  * serve-logs binds 0.0.0.0:8793 in both versions: two instances would collide.
#  * Airflow 3 tasks time out their Execution API calls after 5 s: on a loaded machine the first
#    task of a fresh server failed that way, so the test servers allow 60 s.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MAJOR="${1:-}"
CMD="${2:-start}"
case "$MAJOR" in
  3) VERSION="3.3.2"; DEFAULT_PORT=28080; COMPONENTS=(api-server scheduler dag-processor); API=v2 ;;
  2) VERSION="2.10.5"; DEFAULT_PORT=28081; COMPONENTS=(webserver scheduler); API=v1 ;;
  *) echo "usage: $0 3|2 start|stop|status|install|restart-api|exec" >&2; exit 2 ;;
esac
if [ -n "${AIRFLOW_VERSION:-}" ]; then
  [[ "$AIRFLOW_VERSION" =~ ^${MAJOR}\.[0-9]+\.[0-9]+$ ]] \
    || { echo "AIRFLOW_VERSION: expected a $MAJOR.x.y release for '$0 $MAJOR', got '$AIRFLOW_VERSION'" >&2; exit 2; }
  VERSION="$AIRFLOW_VERSION"
fi
PROFILE="${AIRFLOW_PROFILE:-sqlite}"
case "$PROFILE" in
  sqlite) SUFFIX="" ;;
  production) SUFFIX="-production"; [ "$MAJOR" = 3 ] || { echo "the production profile is Airflow 3 only" >&2; exit 2; } ;;
  *) echo "AIRFLOW_PROFILE: expected sqlite or production, got '$PROFILE'" >&2; exit 2 ;;
esac
PORT="${AIRFLOW_PORT:-$DEFAULT_PORT}"
CONSTRAINTS="${AIRFLOW_CONSTRAINTS:-}"
[ -n "$CONSTRAINTS" ] || [ ! -f "$REPO_DIR/scripts/airflow-constraints/$VERSION.txt" ] \
  || CONSTRAINTS="$REPO_DIR/scripts/airflow-constraints/$VERSION.txt"
# the venv's marker names the constraints too, so other constraints mean another install
MARKER=".installed-$VERSION"
[ -z "$CONSTRAINTS" ] || MARKER="$MARKER-$({ cat "$CONSTRAINTS" 2>/dev/null || echo "$CONSTRAINTS"; } | md5sum | cut -c1-8)"
WORK="${AIRFLOW_WORK_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kestra-airflow-sdk}"
VENV="${AIRFLOW_VENV:-$WORK/venv${MAJOR}-${VERSION}${SUFFIX}}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$WORK/home${MAJOR}-${PORT}${SUFFIX}}"
DAGS_DIR="${AIRFLOW_DAGS_DIR:-$REPO_DIR/tests/dags}"
WAIT_FOR_DAG="${WAIT_FOR_DAG-hello_world_dag}"
BASE_URL="http://127.0.0.1:${PORT}"
USERNAME="${AIRFLOW_USERNAME:-admin}"
PASSWORD="${AIRFLOW_PASSWORD:-admin}"

# ---- configuration (env vars win over airflow.cfg) ----
export PATH="$VENV/bin:$PATH"
export AIRFLOW__CORE__DAGS_FOLDER="$DAGS_DIR"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
export AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=$((PORT + 1000))
if [ "$MAJOR" = 3 ]; then
  export AIRFLOW__CORE__EXECUTOR=LocalExecutor
  export AIRFLOW__CORE__PARALLELISM=4
  export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${USERNAME}:admin"   # user:ROLE
  export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="${BASE_URL}/execution/"
  export AIRFLOW__API__BASE_URL="${BASE_URL}"
  export AIRFLOW__API__HOST=127.0.0.1
  export AIRFLOW__API__PORT="${PORT}"
  export AIRFLOW__API__WORKERS=1
  export AIRFLOW__API_AUTH__JWT_SECRET="sdk-test-jwt-secret-not-for-production"
  export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=5
  # a task's calls to the Execution API time out after 5 s by default: on a loaded machine the API
  # server's first answers take longer, and the first task of the first DAG run failed ("Workload
  # execution failed ... httpx.ReadTimeout", the task instance still queued)
  export AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT=60
  HEALTH_URL="$BASE_URL/api/v2/monitor/health"
  HEALTH_CHECK='d["scheduler"]["status"]=="healthy" and d["dag_processor"]["status"]=="healthy"'
else
  export AIRFLOW__CORE__EXECUTOR=SequentialExecutor
  export AIRFLOW__API__AUTH_BACKENDS=airflow.api.auth.backend.basic_auth,airflow.api.auth.backend.session
  export AIRFLOW__WEBSERVER__WEB_SERVER_HOST=127.0.0.1
  export AIRFLOW__WEBSERVER__WEB_SERVER_PORT="${PORT}"
  export AIRFLOW__WEBSERVER__WORKERS=1
  # the webserver's gunicorn monitor shuts the webserver down when its worker count is not back to
  # the expected one within 120 s (seen when a worker restarts on a machine at load 8, e.g. while the
  # production profile starts beside it): give a slow box 10 minutes, and no periodic worker refresh
  export AIRFLOW__WEBSERVER__WEB_SERVER_MASTER_TIMEOUT=600
  export AIRFLOW__WEBSERVER__WEB_SERVER_WORKER_TIMEOUT=600
  export AIRFLOW__WEBSERVER__WORKER_REFRESH_INTERVAL=0
  export AIRFLOW__WEBSERVER__SECRET_KEY="sdk-test-secret-not-for-production"
  export AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL=5
  HEALTH_URL="$BASE_URL/api/v1/health"
  HEALTH_CHECK='d["scheduler"]["status"]=="healthy"'
fi

# what the production profile replaces (scripts/airflow-production.sh): the packages, the command
# line of a component, and the services started before / stopped after Airflow
PIP_PACKAGES=("apache-airflow==${VERSION}")
declare -A COMPONENT_ARGS=()
services_install() { :; }
services_start() { :; }
services_stop() { :; }
services_status() { :; }
services_reset() { :; }
services_ready() { true; }
HEALTH_TRIES=240  # x 0.5 s
if [ "$PROFILE" = production ]; then source "$REPO_DIR/scripts/airflow-production.sh"; fi

pidfile() { echo "$AIRFLOW_HOME/$1.pid"; }
alive() { [ -f "$(pidfile "$1")" ] && kill -0 "$(cat "$(pidfile "$1")")" 2>/dev/null; }

stop() {
  local c
  for c in "${COMPONENTS[@]}"; do
    alive "$c" && { kill -TERM -- "-$(cat "$(pidfile "$c")")" 2>/dev/null || true; }
  done
  for _ in $(seq 1 30); do
    local any=0
    for c in "${COMPONENTS[@]}"; do alive "$c" && any=1; done
    [ "$any" = 0 ] && break; sleep 0.5
  done
  for c in "${COMPONENTS[@]}"; do
    [ -f "$(pidfile "$c")" ] || continue
    kill -KILL -- "-$(cat "$(pidfile "$c")")" 2>/dev/null || true
    rm -f "$(pidfile "$c")"
  done
  services_stop
  echo "airflow${MAJOR} stopped"
}

status() {
  local c
  for c in "${COMPONENTS[@]}"; do
    if alive "$c"; then echo "$c: running (pid $(cat "$(pidfile "$c")"))"; else echo "$c: stopped"; fi
  done
  services_status
  curl -s -m 3 "$HEALTH_URL" || true; echo
}

install() {
  # the marker is written last, so an interrupted install is redone, never half-used
  services_install
  if [ ! -f "$VENV/$MARKER" ]; then
    local t0=$SECONDS
    mkdir -p "$WORK"
    rm -rf "$VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
    # pinned version; the constraints file only when given (Airflow's is not reachable offline, and
    # the pinned release alone resolves cleanly)
    local constraints=() log="$WORK/pip-install-${MAJOR}-${VERSION}${SUFFIX}.log"
    [ -z "$CONSTRAINTS" ] || constraints=(-c "$CONSTRAINTS")
    "$VENV/bin/pip" install -q "${PIP_PACKAGES[@]}" "${constraints[@]}" > "$log" 2>&1 \
      || { tail -20 "$log" >&2; exit 1; }
    touch "$VENV/$MARKER"
    echo "installed ${PIP_PACKAGES[*]} into $VENV in $((SECONDS - t0))s"
  fi
}

login_header() {
  if [ "$MAJOR" = 3 ]; then
    local token
    token="$(curl -sf -m 5 -X POST "$BASE_URL/auth/token" -H 'Content-Type: application/json' \
      -d "{\"username\":\"${USERNAME}\",\"password\":\"${PASSWORD}\"}" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
    echo "Authorization: Bearer $token"
  else
    echo "Authorization: Basic $(printf '%s:%s' "$USERNAME" "$PASSWORD" | base64 -w0)"
  fi
}

start() {
  install
  if alive "${COMPONENTS[0]}"; then echo "already running; use '$0 $MAJOR stop' first" >&2; exit 1; fi
  [ "${AIRFLOW_RESET:-0}" = 1 ] && { services_reset; rm -rf "$AIRFLOW_HOME"; }
  mkdir -p "$AIRFLOW_HOME"
  local t0; t0=$(date +%s.%N)
  services_start || { stop; exit 1; }
  airflow db migrate > "$AIRFLOW_HOME/db-migrate.log" 2>&1 || { tail -20 "$AIRFLOW_HOME/db-migrate.log" >&2; stop; exit 1; }
  if [ "$MAJOR" = 3 ]; then
    echo "{\"${USERNAME}\": \"${PASSWORD}\"}" > "$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
  else
    airflow users create --username "$USERNAME" --password "$PASSWORD" --role Admin \
      --firstname Admin --lastname User --email admin@example.com > "$AIRFLOW_HOME/users-create.log" 2>&1
  fi
  local c
  for c in "${COMPONENTS[@]}"; do
    # shellcheck disable=SC2086  # COMPONENT_ARGS holds a whole command line
    setsid nohup airflow ${COMPONENT_ARGS[$c]:-$c} > "$AIRFLOW_HOME/$c.log" 2>&1 < /dev/null &
    echo $! > "$(pidfile "$c")"
  done
  local ok=0
  for _ in $(seq 1 "$HEALTH_TRIES"); do
    if curl -sf -m 2 "$HEALTH_URL" 2>/dev/null | python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if $HEALTH_CHECK else 1)" 2>/dev/null \
      && services_ready; then ok=1; break; fi
    for c in "${COMPONENTS[@]}"; do
      alive "$c" || { echo "$c died, see $AIRFLOW_HOME/$c.log:" >&2; tail -30 "$AIRFLOW_HOME/$c.log" >&2; stop; exit 1; }
    done
    sleep 0.5
  done
  [ "$ok" = 1 ] || { echo "timed out waiting for health at $HEALTH_URL" >&2; stop; exit 1; }
  echo "healthy after $(python3 -c "print(round($(date +%s.%N) - $t0, 1))")s"
  if [ -n "$WAIT_FOR_DAG" ]; then
    local header; header="$(login_header)"; ok=0
    for _ in $(seq 1 120); do
      curl -sf -m 2 -o /dev/null -H "$header" "$BASE_URL/api/$API/dags/$WAIT_FOR_DAG" && { ok=1; break; }
      sleep 0.5
    done
    [ "$ok" = 1 ] || { echo "dag '$WAIT_FOR_DAG' never appeared" >&2; stop; exit 1; }
    echo "dag '$WAIT_FOR_DAG' visible after $(python3 -c "print(round($(date +%s.%N) - $t0, 1))")s"
  fi
  echo "AIRFLOW_BASE_URL=$BASE_URL"
  echo "AIRFLOW_API_VERSION=$API"
  echo "AIRFLOW_VERSION=$VERSION"
  echo "AIRFLOW_HOME=$AIRFLOW_HOME"
}

restart_api() {
  local c="${COMPONENTS[0]}"
  alive "$c" || { echo "$c is not running" >&2; exit 1; }
  kill -TERM -- "-$(cat "$(pidfile "$c")")" 2>/dev/null || true
  for _ in $(seq 1 30); do alive "$c" || break; sleep 0.5; done
  alive "$c" && kill -KILL -- "-$(cat "$(pidfile "$c")")" 2>/dev/null || true
  # shellcheck disable=SC2086
  setsid nohup airflow ${COMPONENT_ARGS[$c]:-$c} >> "$AIRFLOW_HOME/$c.log" 2>&1 < /dev/null &
  echo $! > "$(pidfile "$c")"
  for _ in $(seq 1 240); do
    curl -sf -m 2 -o /dev/null "$HEALTH_URL" && { echo "$c restarted"; return; }
    alive "$c" || { echo "$c died, see $AIRFLOW_HOME/$c.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "timed out waiting for $c at $HEALTH_URL" >&2; exit 1
}

case "$CMD" in
  start) start ;;
  restart-api) restart_api ;;
  stop) stop ;;
  status) status ;;
  install) install ;;
  exec) shift 2; exec "$@" ;;
  *) echo "usage: $0 3|2 start|stop|status|install|restart-api|exec" >&2; exit 2 ;;
esac
