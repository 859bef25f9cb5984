#!/usr/bin/env bash
# start-redis.sh: a throw-away redis-server on 127.0.0.1 for ward's tests and
# benchmarks, from Debian's redis-server binary.
#
#   scripts/start-redis.sh [start] [PORT [PASSWORD]]  start (or find running), print settings
#   scripts/start-redis.sh stop [PORT]                stop it and delete its directory
#   scripts/start-redis.sh status [PORT]              exit 0 if it runs, 1 if not
#   scripts/start-redis.sh env [PORT [PASSWORD]]      start if needed, print `export ...` lines:
#                                                       eval "$(scripts/start-redis.sh env 6390)"
#
# PORT defaults to $REDIS_PORT or 6390; PASSWORD to $REDIS_PASSWORD (none if
# empty). Prefer the variable: an argument is visible to other local users in
# ps for as long as this script runs. Either way the password goes into the
# server's redis.conf (mode 0600), never onto redis-server's command line.
#
# State lives in $REDIS_BASE (default /tmp/ward-redis-PORT): redis.conf, the
# PID file and the log. Nothing is persisted (save "", appendonly no): the
# dataset is gone when the server stops. `start` is idempotent: on a running
# server it only prints the settings. The integration tests do not need this
# script (each test starts its own servers on free ports); it is for manual
# runs and for pointing tools at a server by hand.
#
# Needs redis-server and redis-cli (scripts/install-deps.sh --test).
set -euo pipefail

die() { echo "start-redis.sh: $*" >&2; exit 1; }

cmd=start
case "${1:-}" in
  start | stop | status | env) cmd="$1"; shift ;;
  -h | --help) sed -n '2,23p' "$0"; exit 0 ;;
esac
PORT="${1:-${REDIS_PORT:-6390}}"
PASSWORD="${2:-${REDIS_PASSWORD:-}}"
if ! [[ "$PORT" =~ ^[0-9]+$ ]] || ((PORT < 1 || PORT > 65535)); then
  die "port '$PORT' is not a number from 1 to 65535"
fi
D="${REDIS_BASE:-/tmp/ward-redis-$PORT}"
PIDFILE="$D/redis.pid"

# The PID file names a live redis-server (not a recycled PID, not a zombie).
alive() {
  [[ -s "$PIDFILE" ]] || return 1
  local pid
  pid=$(<"$PIDFILE")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/comm && "$(</proc/"$pid"/comm)" == redis-server* ]] || return 1
  ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

# PING through redis-cli; the password travels in REDISCLI_AUTH, not argv.
ping() {
  REDISCLI_AUTH="$PASSWORD" redis-cli -h 127.0.0.1 -p "$PORT" --no-auth-warning ping 2>/dev/null | grep -q PONG
}

print_info() {
  cat <<EOF
redis-server running on 127.0.0.1:$PORT (pid $(<"$PIDFILE"), dir $D)
  address:  127.0.0.1:$PORT      (plan: address = "127.0.0.1:$PORT")
  password: $([[ -n "$PASSWORD" ]] && echo "set (put it in the variable your plan's password_env names)" || echo none)
  log:      $D/redis.log
  stop:     scripts/start-redis.sh stop $PORT
EOF
}

start() {
  command -v redis-server >/dev/null || die "redis-server not found: install it with scripts/install-deps.sh --test"
  command -v redis-cli >/dev/null || die "redis-cli not found: install it with scripts/install-deps.sh --test"
  if alive; then
    ping || die "redis-server (pid $(<"$PIDFILE")) runs on port $PORT but does not answer PING (wrong password?)"
    return 0
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    die "port $PORT is taken by another process; choose another port"
  fi
  mkdir -p "$D"
  chmod 700 "$D"
  (
    umask 077
    cat >"$D/redis.conf" <<EOF
port $PORT
bind 127.0.0.1
protected-mode yes
dir $D
daemonize yes
pidfile $PIDFILE
logfile $D/redis.log
save ""
appendonly no
repl-diskless-sync-delay 0
enable-debug-command local
EOF
    [[ -z "$PASSWORD" ]] || printf 'requirepass %s\n' "$PASSWORD" >>"$D/redis.conf"
  )
  redis-server "$D/redis.conf" || die "redis-server did not start; see $D/redis.log"
  for _ in $(seq 1 100); do
    ping && return 0
    sleep 0.1
  done
  die "redis-server did not answer within 10s; see $D/redis.log"
}

stop() {
  if alive; then
    local pid
    pid=$(<"$PIDFILE")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    echo "stopped redis-server on port $PORT (pid $pid)"
  else
    echo "no redis-server of this script runs on port $PORT"
  fi
  rm -rf "$D"
}

case "$cmd" in
  start) start && print_info ;;
  stop) stop ;;
  status) if alive; then echo "running: pid $(<"$PIDFILE") on 127.0.0.1:$PORT"; else echo "not running"; exit 1; fi ;;
  env) start >&2 && echo "export WARD_TEST_REDIS_ADDRESS=127.0.0.1:$PORT" ;;
esac
