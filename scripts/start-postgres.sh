#!/usr/bin/env bash
# start-postgres.sh: a throw-away PostgreSQL server on loopback for ward's
# integration tests and benchmarks.
#
# Creates (first time) a cluster under $PG_BASE with initdb and runs it with
# pg_ctl, listening on 127.0.0.1:$PG_PORT only (plus a Unix socket inside
# $PG_BASE/run). TCP logins need a password (md5 rules, which also accept
# SCRAM) unless PG_AUTH=trust; the superuser's password is $PG_PASSWORD, so
# tests exercise PGPASSWORD exactly as operators use it. Every command is
# idempotent: `start` on a running server only prints its settings, `start`
# after a crash or a reboot starts it again and keeps the data.
#
#   scripts/start-postgres.sh [start]  set up (first time) / start, print settings
#   scripts/start-postgres.sh stop     stop the server (fast shutdown)
#   scripts/start-postgres.sh status   exit 0 if it runs and answers, 1 otherwise
#   scripts/start-postgres.sh purge    stop and delete $PG_BASE
#   scripts/start-postgres.sh env      start if needed, then print one `export ...` line:
#                                        eval "$(scripts/start-postgres.sh env)"
#
# Environment:
#   PG_BASE      (default /tmp/ward-pg)     all state: data, socket, log, password
#   PG_PORT      (default 55432)            TCP port on 127.0.0.1
#   PG_BIN       (default /usr/lib/postgresql/15/bin, else the newest installed)
#   PG_AUTH      (default md5)              md5 | trust, for TCP connections
#   PG_PASSWORD  (default ward-test-password) the superuser's password
#   PG_DURABLE   (default 0)                1: keep fsync on (benchmarks of real
#                                           disk behaviour); 0: fsync off, a
#                                           throw-away cluster does not need it
#
# initdb refuses to run as root: run as root, the cluster belongs to the
# `postgres` OS user (the Debian package creates it) and every server command
# runs as that user. The binaries are called by their full path under PG_BIN,
# never through wrappers in /usr/local/bin or Debian's pg_ctlcluster.
# Needs (scripts/install-deps.sh --test): postgresql.
set -euo pipefail

D="${PG_BASE:-/tmp/ward-pg}"
PORT="${PG_PORT:-55432}"
AUTH="${PG_AUTH:-md5}"
PASSWORD="${PG_PASSWORD:-ward-test-password}"
DURABLE="${PG_DURABLE:-0}"
SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"

die() { echo "start-postgres.sh: $*" >&2; exit 1; }

case "$AUTH" in md5 | trust) ;; *) die "PG_AUTH must be md5 or trust, not '$AUTH'" ;; esac
[[ "$PORT" =~ ^[0-9]+$ ]] || die "PG_PORT must be a port number, not '$PORT'"
[[ "$D" == /* ]] || die "PG_BASE must be an absolute path, not '$D'"

if [[ -z "${PG_BIN:-}" ]]; then
  PG_BIN=/usr/lib/postgresql/15/bin
  if [[ ! -x "$PG_BIN/initdb" ]]; then
    newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [[ -n "$newest" ]] && PG_BIN="$newest"
  fi
fi
for b in initdb pg_ctl postgres pg_isready; do
  [[ -x "$PG_BIN/$b" ]] || die "missing $PG_BIN/$b: run scripts/install-deps.sh --test (or set PG_BIN)"
done

DATA="$D/data"
RUN="$D/run"
LOG="$D/log/postgres.log"

# as_owner CMD...: runs CMD as the cluster's owner (postgres when we are root).
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

running() { [[ -f "$DATA/PG_VERSION" ]] && as_owner "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }
current_port() { if [[ -s "$D/port" ]]; then cat "$D/port"; else echo "$PORT"; fi; }
answers() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$(current_port)" -t 5; }

print_info() {
  local p
  p=$(current_port)
  cat <<EOF
PGHOST=127.0.0.1
PGPORT=$p
PGUSER=postgres
PGPASSWORD=$PASSWORD
PG_BIN=$PG_BIN
# DSN: postgresql://postgres@127.0.0.1:$p/postgres (password from PGPASSWORD)
# auth $AUTH on 127.0.0.1; data $DATA; log $LOG
# for the tests: eval "\$($SELF env)"
# stop: $SELF stop    wipe: $SELF purge
EOF
}

stop_server() {
  if running; then
    as_owner "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null
    echo "stopped PostgreSQL in $DATA"
  fi
}

case "${1:-start}" in
  stop) [[ -d "$D" ]] && stop_server; exit 0 ;;
  purge)
    [[ -d "$D" ]] && stop_server
    rm -rf "$D"
    echo "removed $D"
    exit 0 ;;
  status)
    if running && answers; then
      echo "PostgreSQL running in $DATA, answering on 127.0.0.1:$(current_port)"
      exit 0
    fi
    echo "PostgreSQL in $DATA is not running"
    exit 1 ;;
  env)
    "$SELF" start >/dev/null
    echo "export PGHOST=127.0.0.1 PGPORT=$(current_port) PGUSER=postgres PGPASSWORD=$PASSWORD PG_BIN=$PG_BIN"
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|stop|status|purge|env]" >&2; exit 2 ;;
esac

mkdir -p "$D"/{run,log}
if [[ $(id -u) -eq 0 ]]; then
  getent passwd postgres >/dev/null || die "no 'postgres' OS user to own the cluster (initdb refuses root)"
  chown postgres: "$D" "$D/run" "$D/log"
  chmod 0700 "$D"
fi

# Only one instance of this script may set up or start the cluster at a time.
# The server must not inherit the lock's descriptor (9>&- below).
exec 9>"$D/run/start.lock"
flock -w 120 9 || die "another start-postgres.sh has held $D/run/start.lock for 2 minutes"

if running; then
  answers || die "PostgreSQL in $DATA runs but does not answer on 127.0.0.1:$(current_port); see $LOG"
  echo "# PostgreSQL already running"
  print_info
  exit 0
fi

# A data directory left half-written by an interrupted initdb cannot be used.
if [[ -d "$DATA" && ! -f "$DATA/ward-initdb-done" ]]; then
  echo "# incomplete earlier initdb in $DATA: starting over" >&2
  rm -rf "$DATA"
fi

if [[ ! -d "$DATA" ]]; then
  PWFILE="$D/run/pwfile"
  (umask 077; printf '%s\n' "$PASSWORD" >"$PWFILE")
  [[ $(id -u) -eq 0 ]] && chown postgres: "$PWFILE"
  as_owner "$PG_BIN/initdb" -D "$DATA" -U postgres --pwfile="$PWFILE" -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host="$AUTH" --no-sync >"$D/log/initdb.log" 2>&1 9>&- ||
    { rm -f "$PWFILE"; cat "$D/log/initdb.log" >&2; die "initdb failed"; }
  rm -f "$PWFILE"
  {
    echo "# start-postgres.sh"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$RUN'"
    echo "wal_level = replica"
    echo "max_wal_size = 2GB"
    echo "log_line_prefix = '%m [%p] %q%u@%d '"
    if [[ "$DURABLE" != 1 ]]; then
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
  } | as_owner tee -a "$DATA/postgresql.conf" >/dev/null
  as_owner touch "$DATA/ward-initdb-done"
  echo "# initdb done in $DATA (auth $AUTH)" >&2
fi

# Something else on our port would make the server fail in a confusing way.
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  die "port $PORT on 127.0.0.1 is in use by another program (set PG_PORT)"
fi
echo "$PORT" >"$D/port"
as_owner "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 -o "-p $PORT" start >/dev/null 9>&- ||
  { tail -n 20 "$LOG" >&2 || true; die "PostgreSQL did not start; see $LOG"; }
answers || die "PostgreSQL started but does not answer on 127.0.0.1:$PORT; see $LOG"
echo "# PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') running on 127.0.0.1:$PORT" >&2
print_info
