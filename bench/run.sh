#!/usr/bin/env bash
# ward vs restic vs borg benchmark. See bench/README.md.
#
#   bench/run.sh [--quick] [--dir DIR] [--tools "ward restic borg"] [--ward PATH]
#                [--no-install] [--no-drop-caches] [--keep] [--repeat N]
#
#   --quick           ~200 MiB corpus instead of ~2 GiB (same structure)
#   --dir DIR         work directory for corpus, repositories and restores
#                     (default /tmp/ward-bench, or $WARD_BENCH_DIR)
#   --tools LIST      tools to run, in this order (default "ward restic borg")
#   --ward PATH       ward binary (default build/release/ward of this tree)
#   --no-install      do not apt-get install restic, borgbackup and time
#   --no-drop-caches  do not drop the page cache; pre-read the corpus instead
#   --keep            keep the repositories and the data of the last round
#   --repeat N        run the whole sequence N times (the tools' order rotates
#                     from round to round); the report gives medians and ranges
#
# Writes the Markdown report to stdout and to bench/out/results-<date>.md;
# raw timings, tool output and logs go to bench/out/results-<date>/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PY=/usr/bin/python3
DIR=${WARD_BENCH_DIR:-/tmp/ward-bench}
QUICK=()
TOOLS="ward restic borg"
WARD=$ROOT/build/release/ward
INSTALL=1
DROP=1
KEEP=0
REPEAT=1
ROUND=1

while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) QUICK=(--quick) ;;
    --dir) DIR=$2; shift ;;
    --dir=*) DIR=${1#--dir=} ;;
    --tools) TOOLS=$2; shift ;;
    --tools=*) TOOLS=${1#--tools=} ;;
    --ward) WARD=$2; shift ;;
    --ward=*) WARD=${1#--ward=} ;;
    --no-install) INSTALL=0 ;;
    --no-drop-caches) DROP=0 ;;
    --keep) KEEP=1 ;;
    --repeat) REPEAT=$2; shift ;;
    --repeat=*) REPEAT=${1#--repeat=} ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

die() { echo "run.sh: error: $*" >&2; exit 1; }
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --repeat needs a positive number" >&2; exit 2; }
log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
OUT=
trap 'rc=$?; [[ $rc == 0 ]] || echo "run.sh: stopped (exit status $rc)${OUT:+ — logs in $OUT/}" >&2' EXIT

DIR=$(mkdir -p "$DIR" && cd "$DIR" && pwd)
[[ $WARD == /* ]] || WARD=$(pwd)/$WARD
STAMP=$(date +%Y-%m-%d-%H%M%S)${QUICK:+-quick}
OUT=$HERE/out/results-$STAMP
mkdir -p "$OUT/logs"
RESULTS=$OUT/steps.tsv
META=$OUT/meta.tsv
: > "$RESULTS"
: > "$META"
meta() { printf '%s\t%s\n' "$1" "$2" >> "$META"; }

# --- tools -------------------------------------------------------------------
if [[ $INSTALL == 1 ]]; then
  SUDO=(); [[ $(id -u) == 0 ]] || SUDO=(sudo)
  if ! command -v restic >/dev/null || ! command -v borg >/dev/null || [[ ! -x /usr/bin/time ]]; then
    log "installing restic, borgbackup and time from Debian"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y restic borgbackup time >&2 \
      || { "${SUDO[@]}" apt-get update >&2 && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y restic borgbackup time >&2; } \
      || die "apt-get install restic borgbackup time failed"
  fi
fi
# Run a private copy of ward: the build tree may be rebuilt while we measure.
if [[ " $TOOLS " == *" ward "* ]]; then
  [[ -x $WARD ]] || die "ward binary not found at $WARD (cmake --preset release && cmake --build --preset release --target ward)"
  mkdir -p "$DIR/bin"
  cp "$WARD" "$DIR/bin/ward.tmp" && mv "$DIR/bin/ward.tmp" "$DIR/bin/ward"
  WARD_SRC=$WARD
  WARD=$DIR/bin/ward
fi
[[ -x /usr/bin/time ]] || die "/usr/bin/time missing (apt-get install -y time)"
[[ -x $PY ]] || die "$PY missing"
for t in $TOOLS; do
  case $t in
    ward) [[ -x $WARD ]] || die "ward binary not found at $WARD (cmake --preset release && cmake --build --preset release --target ward)" ;;
    restic) command -v restic >/dev/null || die "restic not installed" ;;
    borg) command -v borg >/dev/null || die "borg not installed" ;;
    *) die "unknown tool '$t' (ward, restic, borg)" ;;
  esac
done

# --- page cache --------------------------------------------------------------
CACHE_MODE=warm
if [[ $DROP == 1 ]]; then
  if sync && (echo 3 > /proc/sys/vm/drop_caches) 2>/dev/null; then
    CACHE_MODE=dropped
  else
    log "cannot drop the page cache here (needs root and a writable /proc/sys); pre-reading the corpus instead"
  fi
fi
# Before every timed step: flush dirty pages, then either drop the page cache
# (cold cache for every tool) or read the data and repository once (warm cache
# for every tool).
prepare_cache() {
  sync
  if [[ $CACHE_MODE == dropped ]]; then
    echo 3 > /proc/sys/vm/drop_caches
  else
    local d
    for d in "$DATA" "$REPO"; do
      if [[ -e $d ]]; then find "$d" -type f -print0 | xargs -0 -r cat > /dev/null; fi
    done
  fi
}

# --- corpus ------------------------------------------------------------------
log "corpus: bench/make-corpus.sh ${QUICK[*]:-} --dir $DIR"
CORPUS=$("$HERE/make-corpus.sh" "${QUICK[@]}" --dir "$DIR" | tail -n1) || die "building the corpus failed"
[[ -d $CORPUS ]] || die "corpus directory $CORPUS missing"
# Everything the tools touch lives here; the data path is the same for every tool.
DATA=$DIR/data
RESTORE=$DIR/restore
STATE=$DIR/state
AVAIL=$(df -B1 --output=avail "$DIR" | tail -n1)
NEED=$(( $(du -sb "$CORPUS" | cut -f1) * 4 ))
(( AVAIL > NEED )) || die "not enough free space in $DIR: $AVAIL bytes free, ~$NEED needed"

file_bytes() { find "$1" -type f -printf '%s\n' | awk '{s+=$1} END {printf "%d\n", s}'; }
CORPUS_BYTES=$(file_bytes "$CORPUS")
CORPUS_FILES=$(find "$CORPUS" -type f | wc -l)

# --- machine -----------------------------------------------------------------
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta mode "$([[ ${#QUICK[@]} -gt 0 ]] && echo quick || echo full)"
meta cpu "$(lscpu | sed -n 's/^Model name: *//p' | head -n1)"
meta cores "$(nproc) online ($(lscpu | sed -n 's/^Thread(s) per core: *//p') thread(s) per core)"
meta ram "$(free -b | awk '/^Mem:/ {printf "%.1f GiB", $2/2^30}')"
meta kernel "$(uname -sr)"
meta os "$(. /etc/os-release && echo "$PRETTY_NAME")"
meta fs "$(findmnt -no SOURCE,FSTYPE -T "$DIR" | tr -s ' ') at $(findmnt -no TARGET -T "$DIR"), $(df -h --output=size "$DIR" | tail -n1 | tr -d ' ') ($(df -h --output=avail "$DIR" | tail -n1 | tr -d ' ') free)"
DEV=$(findmnt -no SOURCE -T "$DIR" | sed 's|^/dev/||')
meta disk "$(lsblk -dno NAME,SIZE,ROTA,MODEL "/dev/${DEV%%[0-9]*}" 2>/dev/null | awk '{m = ""; for (i = 4; i <= NF; i++) m = m " " $i; printf "%s, %s, rotational=%s%s", $1, $2, $3, (m == "" ? "" : ", model" m)}' || echo unknown)"
meta load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
meta busy_start "$(ps -eo pcpu=,comm= --sort=-pcpu | head -n5 | awk '{printf "%s%s %s%%", (NR>1?", ":""), $2, $1}')"
meta cache_mode "$CACHE_MODE"
meta corpus "$CORPUS"
meta corpus_bytes "$CORPUS_BYTES"
meta corpus_files "$CORPUS_FILES"
meta corpus_parts "$(for p in files incompressible.bin dump.sql; do printf '%s=%s ' "$p" "$(file_bytes "$CORPUS/$p")"; done)"
meta tools "$TOOLS"
meta rounds "$REPEAT"
for t in $TOOLS; do
  case $t in
    ward) meta version_ward "$("$WARD" --version 2>&1 | head -n1) ($WARD_SRC, sha256 $(sha256sum "$WARD" | cut -c1-12), git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ', uncommitted changes in src/'))" ;;
    restic) meta version_restic "$(restic version 2>&1 | head -n1)" ;;
    borg) meta version_borg "$(borg --version 2>&1 | head -n1)" ;;
  esac
done

# --- measurement -------------------------------------------------------------
# timed TOOL STEP [--cwd DIR] -- CMD...: drop caches, run CMD under /usr/bin/time,
# stop the run if it fails, append one line to steps.tsv:
#   tool step wall_s maxrss_kib user_s sys_s load1 sync_after_s machine_busy_s steal_s round
timed() {
  local tool=$1 step=$2 cwd=.
  shift 2
  if [[ $1 == --cwd ]]; then cwd=$2; shift 2; fi
  [[ $1 == -- ]] && shift
  local base=$OUT/logs/$tool-r$ROUND-$step
  prepare_cache
  local load t0 t1 rc=0
  load=$(cut -d' ' -f1 /proc/loadavg)
  log "$tool $step: $*"
  local c0 c1
  c0=$(head -n1 /proc/stat)
  t0=$EPOCHREALTIME
  (cd "$cwd" && exec /usr/bin/time -f '%e %M %U %S' -o "$base.time" "$@") > "$base.out" 2> "$base.err" || rc=$?
  t1=$EPOCHREALTIME
  c1=$(head -n1 /proc/stat)
  if [[ $rc != 0 ]]; then
    echo "run.sh: $tool $step failed with exit status $rc: $*" >&2
    echo "--- last lines of $base.err:" >&2
    tail -n 20 "$base.err" >&2
    exit 1
  fi
  local s0=$EPOCHREALTIME
  sync
  local s1=$EPOCHREALTIME
  local wall rss user sys
  read -r _ rss user sys < <(tail -n1 "$base.time")
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
  # CPU time the whole machine spent (busy, all cores) and lost to the
  # hypervisor (steal) during the step, from /proc/stat, in seconds.
  local busy steal
  read -r busy steal < <(awk -v hz="$(getconf CLK_TCK)" -v a="$c0" -v b="$c1" 'BEGIN {
    n = split(a, x, " "); split(b, y, " ")
    for (i = 2; i <= 8 && i <= n; i++) if (i != 5 && i != 6) busy += y[i] - x[i]
    printf "%.2f %.2f\n", busy / hz, (y[9] - x[9]) / hz }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$step" "$wall" "$rss" "$user" "$sys" "$load" \
    "$(awk -v a="$s0" -v b="$s1" 'BEGIN {printf "%.3f", b - a}')" "$busy" "$steal" "$ROUND" >> "$RESULTS"
  log "$tool $step: ${wall}s, peak RSS ${rss} KiB"
}
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$ROUND" >> "$OUT/values.tsv"; }
: > "$OUT/values.tsv"

reset_state() {
  local t
  for t in $TOOLS; do rm -rf "$DIR/repo-$t"; done
  rm -rf "$DATA" "$RESTORE" "$STATE"
}

# use_tool TOOL: point REPO and the tool's private cache/config dirs at TOOL's
# (every tool starts a round without local state), and set CMD_* for it.
use_tool() {
  local tool=$1
  REPO=$DIR/repo-$tool
  mkdir -p "$STATE/$tool/cache" "$STATE/$tool/config"
  export XDG_CACHE_HOME=$STATE/$tool/cache XDG_CONFIG_HOME=$STATE/$tool/config BORG_BASE_DIR=$STATE/$tool
  case $tool in
    ward)
      CMD_INIT=("$WARD" -r "$REPO" init)
      CMD_BACKUP=("$WARD" -r "$REPO" backup --json "$DATA")
      CMD_RESTORE=("$WARD" -r "$REPO" restore latest --target "$RESTORE")
      CMD_CHECK=("$WARD" -r "$REPO" check --read-data) ;;
    restic)
      CMD_INIT=(restic -r "$REPO" init --repository-version 2)
      CMD_BACKUP=(restic -r "$REPO" backup --compression auto --json "$DATA")
      CMD_RESTORE=(restic -r "$REPO" restore latest --target "$RESTORE")
      CMD_CHECK=(restic -r "$REPO" check --read-data) ;;
    borg)
      CMD_INIT=(borg init -e repokey "$REPO")
      CMD_BACKUP=(borg create --compression zstd,3 --json "$REPO::backup-{now:%Y%m%d%H%M%S%f}" "$DATA")
      CMD_RESTORE=()  # borg extracts into the current directory: see do_restore
      CMD_CHECK=(borg check --verify-data "$REPO") ;;
  esac
}
export WARD_PASSWORD=bench-password RESTIC_PASSWORD=bench-password BORG_PASSPHRASE=bench-password
export BORG_DISPLAY_PASSPHRASE=no BORG_RELOCATED_REPO_ACCESS_IS_OK=yes BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=no

do_backup() {  # TOOL STEP
  use_tool "$1"
  timed "$1" "$2" -- "${CMD_BACKUP[@]}"
  record "$1" "repo-$2" "$(du -sb "$REPO" | cut -f1)"
  record "$1" "cache-$2" "$(du -sb "$STATE/$1" | cut -f1)"
}

do_restore() {  # TOOL
  local tool=$1
  use_tool "$tool"
  rm -rf "$RESTORE"
  mkdir -p "$RESTORE"
  if [[ $tool == borg ]]; then
    local last
    last=$(borg list --short --last 1 "$REPO") || die "borg list failed"
    timed "$tool" restore --cwd "$RESTORE" -- borg extract "$REPO::$last"
  else
    timed "$tool" restore -- "${CMD_RESTORE[@]}"
  fi
  log "$tool: verifying the restored tree against $DATA"
  local got=$RESTORE$DATA
  [[ -d $got ]] || die "$tool restored nothing at $got (restore target layout changed?)"
  if ! "$PY" "$HERE/corpus.py" compare "$DATA" "$got" > "$OUT/logs/$tool-r$ROUND-verify.json"; then
    cat "$OUT/logs/$tool-r$ROUND-verify.json" >&2
    die "$tool: the restored files differ from the backed-up files"
  fi
  rm -rf "$RESTORE"
}

# One round: every tool backs up the SAME copy of the corpus, step by step —
# step 1 for every tool, then step 2 for every tool, ... — so that the tools
# measure the same files (same inodes and times) minutes apart at most, and
# the change is applied once. Each tool runs its steps in the same order.
# Round r starts with tool r of the list (rotation), so no tool is always first.
run_round() {
  local -a order=($TOOLS)
  local n=${#order[@]} k=$(( (ROUND - 1) % ${#order[@]} ))
  order=("${order[@]:k}" "${order[@]:0:k}")
  log "=== round $ROUND of $REPEAT (order: ${order[*]}): fresh copy of the corpus at $DATA"
  reset_state
  cp -a "$CORPUS" "$DATA"
  local t
  for t in "${order[@]}"; do use_tool "$t"; timed "$t" init -- "${CMD_INIT[@]}"; done
  for t in "${order[@]}"; do do_backup "$t" backup-initial; done
  for t in "${order[@]}"; do do_backup "$t" backup-unchanged; done
  log "applying the deterministic ~5% change to $DATA"
  "$PY" "$HERE/corpus.py" modify --dir "$DATA" > "$OUT/logs/r$ROUND-modify.json" || die "corpus.py modify failed"
  for t in "${order[@]}"; do do_backup "$t" backup-changed; done
  for t in "${order[@]}"; do do_restore "$t"; done
  for t in "${order[@]}"; do use_tool "$t"; timed "$t" check -- "${CMD_CHECK[@]}"; done
  if [[ $KEEP == 0 || $ROUND -lt $REPEAT ]]; then reset_state; fi
}

for ((ROUND = 1; ROUND <= REPEAT; ROUND++)); do
  run_round
done

meta load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
REPORT=$HERE/out/results-$STAMP.md
"$PY" "$HERE/report.py" "$OUT" > "$REPORT" || die "report.py failed"
cat "$REPORT"
log "report: $REPORT (raw data in $OUT/)"
