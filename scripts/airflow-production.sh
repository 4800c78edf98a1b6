# shellcheck shell=bash
# The production profile of scripts/airflow.sh (sourced by it when AIRFLOW_PROFILE=production):
# Airflow 3 the way teams run it - PostgreSQL, Redis, the API server with 4 workers, a scheduler, a
# dag-processor and the CeleryExecutor with 2 Celery workers. Everything listens on 127.0.0.1 only:
#
#   PORT        api-server            PORT+2000  PostgreSQL
#   PORT+1000   serve-logs (worker 1) PORT+3000  Redis
#
# PostgreSQL is Debian's `postgresql` binaries (/usr/lib/postgresql/<newest>/bin), a throw-away
# cluster in $AIRFLOW_HOME/postgres, never the system service. It refuses to run as root: as root,
# initdb/pg_ctl run as the `postgres` user, and when that user cannot reach $AIRFLOW_HOME (e.g. under
# /root) the cluster lives in ${TMPDIR:-/tmp}/kas-postgres-* and $AIRFLOW_HOME/postgres links to it.
# Redis is Debian's `redis-server` (apt-get installed when missing), daemonized with its own dir and
# pid file. Both are stopped by `stop`; AIRFLOW_RESET=1 wipes them with the rest of AIRFLOW_HOME.

PG_PORT=$((PORT + 2000))
REDIS_PORT=$((PORT + 3000))
PG_DATA="$AIRFLOW_HOME/postgres"
PG_USER=airflow
PG_PASSWORD=airflow-not-a-secret  # loopback-only throw-away cluster
REDIS_PIDFILE="$AIRFLOW_HOME/redis.pid"

# No constraints file is reachable offline (see install()), so the one pin the providers need is here:
# Celery 5.7 removed celery.backends.database.retry, which apache-airflow-providers-celery 3.26 imports
PIP_PACKAGES=("apache-airflow[celery,postgres]==${VERSION}" "celery>=5.5,<5.7" psycopg2-binary asyncpg)
COMPONENTS=(api-server scheduler dag-processor celery-worker-1 celery-worker-2)
COMPONENT_ARGS[api-server]="api-server --workers 4"
COMPONENT_ARGS[celery-worker-1]="celery worker --celery-hostname worker1@%h"
# one serve-logs per host is enough (the API server reads the shared local log folder anyway)
COMPONENT_ARGS[celery-worker-2]="celery worker --celery-hostname worker2@%h --skip-serve-logs"

export AIRFLOW__CORE__EXECUTOR=CeleryExecutor
export AIRFLOW__CORE__PARALLELISM=16
export AIRFLOW__API__WORKERS=4
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${PG_PORT}/airflow"
export AIRFLOW__CELERY__BROKER_URL="redis://127.0.0.1:${REDIS_PORT}/0"
export AIRFLOW__CELERY__RESULT_BACKEND="db+postgresql://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${PG_PORT}/airflow"
export AIRFLOW__CELERY__WORKER_CONCURRENCY=4
HEALTH_TRIES=720  # 4 API workers start slowly on a busy machine (110-115 s seen at load 10-13)

pg_bin() { find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# the cluster's real directory (its owner may not be able to follow a path through AIRFLOW_HOME)
pg_dir() { readlink -f "$PG_DATA"; }
pg_running() { [ -e "$PG_DATA" ] && as_pg "$(pg_bin)/pg_ctl" -D "$(pg_dir)" status > /dev/null 2>&1; }
redis_running() { [ -f "$REDIS_PIDFILE" ] && kill -0 "$(cat "$REDIS_PIDFILE")" 2> /dev/null; }

apt_install() {
  echo "installing Debian packages: $*"
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo -n)
  "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" > /dev/null
}

services_install() {
  local missing=()
  command -v redis-server > /dev/null || missing+=(redis-server)
  [ -x "$(pg_bin)/initdb" ] || missing+=(postgresql)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

# a fresh cluster in $PG_DATA (a directory the cluster's owner can reach), with the airflow role
pg_init() {
  [ -L "$PG_DATA" ] && rm -rf "$(readlink "$PG_DATA")"
  rm -rf "$PG_DATA"  # what an interrupted initdb left
  if [ "$(id -u)" = 0 ]; then
    if runuser -u postgres -- test -x "$AIRFLOW_HOME"; then
      mkdir "$PG_DATA"
    else
      ln -s "$(mktemp -d "${TMPDIR:-/tmp}/kas-postgres-XXXXXX")" "$PG_DATA"
    fi
    chown postgres: "$(pg_dir)"
  else
    mkdir "$PG_DATA"
  fi
  chmod 700 "$(pg_dir)"
  local pwfile; pwfile="$(mktemp)"
  echo "$PG_PASSWORD" > "$pwfile"
  [ "$(id -u)" = 0 ] && chown postgres: "$pwfile"
  as_pg "$(pg_bin)/initdb" -D "$(pg_dir)" -U "$PG_USER" --pwfile="$pwfile" --auth=scram-sha-256 \
    -E UTF8 --locale=C > "$AIRFLOW_HOME/initdb.log" 2>&1
  local rc=$?
  rm -f "$pwfile"
  [ $rc = 0 ] || { tail -20 "$AIRFLOW_HOME/initdb.log" >&2; return 1; }
}

pg_start() {
  local fresh=0
  [ -e "$PG_DATA/PG_VERSION" ] || { pg_init || return 1; fresh=1; }
  pg_running && return 0
  # fsync off: a throw-away cluster; it changes durability, not how concurrent writes behave
  as_pg "$(pg_bin)/pg_ctl" -D "$(pg_dir)" -l "$(pg_dir)/postgres.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories='' -c max_connections=300 -c fsync=off" \
    > /dev/null || { echo "PostgreSQL did not start, see $PG_DATA/postgres.log:" >&2; tail -20 "$PG_DATA/postgres.log" >&2; return 1; }
  if [ $fresh = 1 ]; then
    PGPASSWORD="$PG_PASSWORD" "$(pg_bin)/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" airflow || return 1
  fi
}

redis_start() {
  redis_running && return 0
  mkdir -p "$AIRFLOW_HOME/redis"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$AIRFLOW_HOME/redis" --daemonize yes \
    --pidfile "$REDIS_PIDFILE" --logfile "$AIRFLOW_HOME/redis.log" --save "" --appendonly no || return 1
  local _
  for _ in $(seq 1 40); do
    [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2> /dev/null)" = PONG ] && return 0
    sleep 0.25
  done
  echo "Redis did not answer on port $REDIS_PORT, see $AIRFLOW_HOME/redis.log" >&2
  return 1
}

services_start() {
  pg_start || return 1
  redis_start || return 1
  echo "PostgreSQL on 127.0.0.1:$PG_PORT, Redis on 127.0.0.1:$REDIS_PORT"
}

services_stop() {
  if redis_running; then
    local pid _; pid="$(cat "$REDIS_PIDFILE")"
    kill -TERM "$pid" 2> /dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2> /dev/null || break; sleep 0.25; done
    kill -KILL "$pid" 2> /dev/null || true
  fi
  rm -f "$REDIS_PIDFILE"
  if pg_running; then
    as_pg "$(pg_bin)/pg_ctl" -D "$(pg_dir)" -m fast -w -t 30 stop > /dev/null \
      || as_pg "$(pg_bin)/pg_ctl" -D "$(pg_dir)" -m immediate stop > /dev/null || true
  fi
}

services_reset() {
  services_stop
  # the cluster may live outside AIRFLOW_HOME (see above): remove what the link points to
  [ -L "$PG_DATA" ] && rm -rf "$(readlink "$PG_DATA")"
  return 0
}

services_status() {
  if pg_running; then echo "postgresql: running (127.0.0.1:$PG_PORT)"; else echo "postgresql: stopped"; fi
  if redis_running; then echo "redis: running (pid $(cat "$REDIS_PIDFILE"), 127.0.0.1:$REDIS_PORT)"; else echo "redis: stopped"; fi
}

# healthy also means: both Celery workers are connected to the broker and consuming
services_ready() {
  grep -q " ready\." "$AIRFLOW_HOME/celery-worker-1.log" 2> /dev/null \
    && grep -q " ready\." "$AIRFLOW_HOME/celery-worker-2.log" 2> /dev/null
}
