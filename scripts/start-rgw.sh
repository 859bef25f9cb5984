#!/usr/bin/env bash
# start-rgw.sh: a real S3 server on loopback for ward's integration tests.
#
# Brings up a throw-away single-node Ceph cluster (Debian 12, Ceph 16 "Pacific"):
# one monitor, one BlueStore OSD on a sparse file, and radosgw (beast) on
# 127.0.0.1:$RGW_PORT, plus one S3 user with fixed test keys. No systemd, no
# real disks, no network beyond loopback. Every command is idempotent: `start`
# on a running cluster only prints its settings, `start` after a crash or a
# reboot restarts what is missing and keeps the data.
#
#   scripts/start-rgw.sh [start]  set up (first time) / start the daemons, print settings
#   scripts/start-rgw.sh stop     stop the daemons this script started (PID files)
#   scripts/start-rgw.sh status   show daemon PIDs and RSS; exit 1 if one is down
#   scripts/start-rgw.sh purge    stop and delete the whole cluster directory
#   scripts/start-rgw.sh env      start if needed, then print one `export ...` line:
#                                   eval "$(scripts/start-rgw.sh env)"
#
# Environment:
#   RGW_BASE     (default /tmp/ward-rgw)  all state: config, data, logs, PID files
#   RGW_PORT     (default 7480)           S3 endpoint port on 127.0.0.1
#   MON_PORT     (default 3300)           msgr2 port of the monitor on 127.0.0.1
#   OSD_SIZE_GB  (default 10)             size of the sparse BlueStore file
#   S3_ACCESS_KEY / S3_SECRET_KEY         keys of the test user (fixed defaults)
#
# Needs (scripts/install-deps.sh --test): ceph-mon ceph-osd radosgw curl jq.
# The one non-obvious setting: `ms mon client mode = crc secure` (with auth
# "none", radosgw otherwise hangs forever on start).
set -euo pipefail

D="${RGW_BASE:-/tmp/ward-rgw}"
RGW_PORT="${RGW_PORT:-7480}"
MON_PORT="${MON_PORT:-3300}"
OSD_SIZE_GB="${OSD_SIZE_GB:-10}"
AK="${S3_ACCESS_KEY:-CIACCESSKEY0000000001}"
SK="${S3_SECRET_KEY:-cisecretkey00000000000000000000000000001}"
CONF="$D/ceph.conf"
ENDPOINT="http://127.0.0.1:$RGW_PORT"
CEPH=(ceph -c "$CONF" --connect-timeout 15)
SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"

# Daemon name -> the executable's name (to tell a live daemon from a recycled PID).
declare -A EXE=([mon.a]=ceph-mon [osd.0]=ceph-osd [client.rgw.a]=radosgw)
DAEMONS=(mon.a osd.0 client.rgw.a)

T0=$EPOCHREALTIME
log() { printf '# [%5ss] %s\n' "$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')" "$*" >&2; }
die() { echo "start-rgw.sh: $*" >&2; exit 1; }
pidfile() { echo "$D/run/$1.pid"; }

# alive NAME: the PID file names a running process of the right executable
# (not a recycled PID, not a zombie).
alive() {
  local f pid
  f=$(pidfile "$1")
  [[ -s "$f" ]] || return 1
  pid=$(<"$f")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/comm ]] || return 1
  [[ "$(</proc/"$pid"/comm)" == "${EXE[$1]}"* ]] || return 1
  ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

endpoint_up() { curl -s -o /dev/null --max-time 5 "$ENDPOINT/"; }

stop_all() {
  local n pid
  for n in client.rgw.a osd.0 mon.a; do
    if alive "$n"; then
      pid=$(<"$(pidfile "$n")")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
      echo "stopped $n (pid $pid)"
    fi
    rm -f "$(pidfile "$n")"
  done
}

print_info() {
  cat <<EOF
S3_ENDPOINT=$ENDPOINT
AWS_ACCESS_KEY_ID=$AK
AWS_SECRET_ACCESS_KEY=$SK
AWS_DEFAULT_REGION=us-east-1
# path-style addressing, SigV4; ceph conf: $CONF ; logs: $D/log
# for the tests: eval "\$($SELF env)"
# stop: $SELF stop    wipe: $SELF purge
EOF
}

case "${1:-start}" in
  stop) [[ -d "$D" ]] && stop_all; exit 0 ;;
  purge)
    [[ -d "$D" ]] && stop_all
    rm -rf "$D"
    echo "removed $D"
    exit 0 ;;
  status)
    rc=0
    for n in "${DAEMONS[@]}"; do
      if alive "$n"; then
        p=$(<"$(pidfile "$n")")
        echo "$n pid $p RSS $(awk '/VmRSS/{printf "%.0f MiB", $2/1024}' "/proc/$p/status")"
      else
        echo "$n not running"; rc=1
      fi
    done
    if endpoint_up; then echo "endpoint $ENDPOINT answers"; else echo "endpoint $ENDPOINT does not answer"; rc=1; fi
    exit $rc ;;
  env)
    "$SELF" start >/dev/null
    echo "export S3_ENDPOINT=$ENDPOINT AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_DEFAULT_REGION=us-east-1"
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|stop|status|purge|env]" >&2; exit 2 ;;
esac

for b in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-conf monmaptool ceph-authtool curl jq; do
  command -v "$b" >/dev/null || die "missing $b: run scripts/install-deps.sh --test"
done


ensure_user() {
  local i
  for i in $(seq 1 20); do
    if radosgw-admin -c "$CONF" user info --uid=ci >/dev/null 2>&1; then return 0; fi
    if radosgw-admin -c "$CONF" user create --uid=ci --display-name="CI user" \
         --access-key="$AK" --secret-key="$SK" >/dev/null 2>>"$D/log/user-create.log"; then
      log "user ci created"
      return 0
    fi
    sleep 1
  done
  die "could not create the S3 user; see $D/log/user-create.log"
}

all_running() {
  local n
  for n in "${DAEMONS[@]}"; do alive "$n" || return 1; done
  endpoint_up
}

# Only one instance of this script may set up the cluster at a time. The
# daemons must not inherit the lock's descriptor (9>&- below), or they would
# hold the lock for as long as they run.
mkdir -p "$D"/{run,log,mon,osd,rgw,crash}
exec 9>"$D/run/start.lock"
flock -w 300 9 || die "another start-rgw.sh has held $D/run/start.lock for 5 minutes"

if all_running; then
  echo "# ceph/rgw already running"
  ensure_user
  print_info
  exit 0
fi

# Something else on our ports would make the daemons fail in confusing ways.
port_taken_by_other() {
  local port=$1 name=$2
  alive "$name" && return 1
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}
port_taken_by_other "$MON_PORT" mon.a && die "port $MON_PORT is in use by another program (set MON_PORT)"
port_taken_by_other "$RGW_PORT" client.rgw.a && die "port $RGW_PORT is in use by another program (set RGW_PORT)"

# A half-written first setup (killed during mkfs) cannot be repaired: start over.
if [[ -f "$CONF" && ! -f "$D/osd/ceph-0/done" ]] && ! alive mon.a && ! alive osd.0; then
  log "incomplete earlier setup in $D: starting over"
  rm -rf "${D:?}"/{mon,osd,rgw,crash,monmap,mon.keyring,ceph.conf}
  mkdir -p "$D"/{mon,osd,rgw,crash}
fi

if [[ ! -f "$CONF" ]]; then
  FSID=$(cat /proc/sys/kernel/random/uuid)
  cat >"$CONF.tmp" <<EOF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MON_PORT
mon initial members = a
public addr = 127.0.0.1
public network = 127.0.0.0/8
ms bind ipv4 = true
ms bind ipv6 = false
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
mon warn on insecure global id reclaim allowed = false
# With auth "none", client daemons (radosgw) default to ms_mon_client_mode =
# secure, which "none" cannot provide: radosgw hangs on start. Allow crc.
ms mon client mode = crc secure
client mount timeout = 60
run dir = $D/run
admin socket = $D/run/\$name.asok
pid file = $D/run/\$name.pid
log file = $D/log/\$name.log
crash dir = $D/crash
log to stderr = false
err to stderr = true
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
osd max object name len = 460
osd max object namespace len = 64

[mon]
mon data = $D/mon/\$cluster-\$id

[osd]
osd data = $D/osd/\$cluster-\$id
osd objectstore = bluestore
bluestore block path = $D/osd/ceph-0.block
bluestore block create = true
bluestore block size = $((OSD_SIZE_GB * 1024 * 1024 * 1024))
bluestore block db create = false
bluestore block wal create = false
bluestore fsck on mount = false
bluestore cache autotune = true
osd memory target = 1073741824
osd op num shards = 1
osd op num threads per shard = 2

[client.rgw.a]
rgw data = $D/rgw
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw dns name = localhost
rgw enable usage log = false
rgw thread pool size = 64
EOF
  mv "$CONF.tmp" "$CONF"
  log "wrote $CONF"
fi

# ---- monitor
if [[ ! -f "$D/mon/ceph-a/done" ]]; then
  rm -rf "$D/mon/ceph-a"
  FSID=$(ceph-conf -c "$CONF" --lookup fsid)
  monmaptool --create --clobber --addv a "[v2:127.0.0.1:$MON_PORT]" --fsid "$FSID" "$D/monmap" >/dev/null
  ceph-authtool --create-keyring "$D/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$D/monmap" --keyring "$D/mon.keyring" \
    >"$D/log/mon-mkfs.log" 2>&1 9>&- || { cat "$D/log/mon-mkfs.log" >&2; die "mon mkfs failed"; }
  touch "$D/mon/ceph-a/done"
  log "mon mkfs done"
fi
if ! alive mon.a; then
  rm -f "$(pidfile mon.a)"
  ceph-mon -c "$CONF" -i a 2>>"$D/log/mon.a.stderr" 9>&-
  log "mon started"
fi
for _ in $(seq 1 60); do "${CEPH[@]}" mon stat >/dev/null 2>&1 && break; sleep 0.5; done
"${CEPH[@]}" mon stat >/dev/null 2>&1 || die "monitor did not answer; see $D/log/mon.a.log"
log "mon answers"

# ---- OSD
if [[ ! -f "$D/osd/ceph-0/done" ]]; then
  OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
  id=$("${CEPH[@]}" osd new "$OSD_UUID")
  [[ "$id" == 0 ]] || die "unexpected osd id $id (stale monitor state? run: $SELF purge)"
  rm -rf "$D/osd/ceph-0" "$D/osd/ceph-0.block"
  mkdir -p "$D/osd/ceph-0"
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" >"$D/log/osd-mkfs.log" 2>&1 9>&- ||
    { cat "$D/log/osd-mkfs.log" >&2; die "osd mkfs failed"; }
  touch "$D/osd/ceph-0/done"
  log "osd mkfs (bluestore, ${OSD_SIZE_GB} GiB sparse) done"
fi
if ! alive osd.0; then
  rm -f "$(pidfile osd.0)"
  ceph-osd -c "$CONF" -i 0 2>>"$D/log/osd.0.stderr" 9>&-
  log "osd started"
fi
osd_up() { [[ "$("${CEPH[@]}" osd dump -f json 2>/dev/null | jq -r '.osds[0].up // 0')" == 1 ]]; }
for _ in $(seq 1 120); do osd_up && break; sleep 0.5; done
if ! osd_up; then
  { echo "--- tail of $D/log/osd.0.log"; tail -n 30 "$D/log/osd.0.log"; echo "--- df -h $D"; df -h "$D"; } >&2 2>&1 || true
  die "osd.0 not up; see $D/log/osd.0.log"
fi
log "osd up"

# ---- radosgw
# radosgw writes its PID file a little after it forks and creates its pools on
# the first start; it can exit during that first start (seen once on a fresh CI
# machine), so a radosgw that exits is started again, up to three times. Give
# up only when it keeps exiting, or after 300 s (a slow disk makes the first
# start slow); then show why.
start_rgw() {
  rm -f "$(pidfile client.rgw.a)"
  radosgw -c "$CONF" -n client.rgw.a 2>>"$D/log/client.rgw.a.stderr" 9>&- ||
    log "radosgw exited with status $? at start"
  log "radosgw started"
}
# any radosgw process of this cluster, whether or not it has written its PID file
rgw_process() {
  local p
  for p in /proc/[0-9]*; do
    [[ "$(cat "$p/comm" 2>/dev/null)" == radosgw ]] || continue
    grep -qa -- "$CONF" "$p/cmdline" 2>/dev/null && return 0
  done
  return 1
}
# the PID in radosgw's PID file is a running process (any name: a daemon may
# rename its thread)
rgw_pid_running() {
  local f pid
  f=$(pidfile client.rgw.a)
  [[ -s "$f" ]] || return 1
  pid=$(<"$f")
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
    ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}
rgw_attempts=0
if ! alive client.rgw.a; then start_rgw; rgw_attempts=1; fi
for _ in $(seq 1 600); do
  endpoint_up && break
  if ! rgw_pid_running && ! rgw_process; then
    (( rgw_attempts < 3 )) || break
    log "radosgw exited before answering; last lines of its log:"
    tail -n 5 "$D/log/client.rgw.a.log" >&2 || true
    sleep 2
    start_rgw
    rgw_attempts=$((rgw_attempts + 1))
  fi
  sleep 0.5
done
if ! endpoint_up; then
  log "radosgw is not answering; its logs follow"
  { echo "--- tail of $D/log/client.rgw.a.log"; tail -n 40 "$D/log/client.rgw.a.log"
    echo "--- $D/log/client.rgw.a.stderr"; tail -n 20 "$D/log/client.rgw.a.stderr"
    echo "--- ceph -s"; "${CEPH[@]}" -s
    echo "--- df -h $D"; df -h "$D"; } >&2 2>&1 || true
  die "radosgw not answering on $ENDPOINT after $rgw_attempts start(s); see $D/log/client.rgw.a.log"
fi
log "radosgw answers on $ENDPOINT"

ensure_user
print_info
